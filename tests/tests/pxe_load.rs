//! `ringmasq-load pxe` against ringmasq in the DHCP lab: a handful of simulated machines (own
//! MACs, PXE options 60/93) do DORA and fetch their boot file and an image by TFTP; the tool
//! reports every machine booted and exits 0.

use std::process::Command;

use ringmasq_tests::binary::workspace_bin;
use ringmasq_tests::dhcp_lab::{self, CLIENT_IF, DhcpLab};
use ringmasq_tests::pxe_lab::{boot_root, client_address};
use ringmasq_tests::{Backend, backend_tests};

fn simulated_machines_all_boot(b: Backend) -> anyhow::Result<()> {
    if !dhcp_lab::usable() {
        return Ok(());
    }
    let lab = DhcpLab::new(match b {
        Backend::Uring => "plu",
        Backend::Epoll => "ple",
    });
    let root = lab.dir.join("tftp");
    boot_root(&root);
    let root_arg = format!("--tftp-root={}", root.display());
    let backend = format!("--io-backend={}", b.as_arg());
    let server = lab.ringmasq(&[
        "--enable-tftp",
        &root_arg,
        "--dhcp-boot=pxelinux.0",
        &backend,
    ]);
    client_address(&lab, "10.77.0.200");
    let load = workspace_bin("ringmasq-load").expect("ringmasq-load binary");
    let out = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", lab.client.name()])
        .arg(&load)
        .args(["pxe", "--interface", CLIENT_IF, "--clients", "8"])
        .args(["--image", "efi/grubx64.efi", "--timeout", "30", "--json"])
        .output()
        .expect("run ringmasq-load");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        lab.log()
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("json report");
    assert_eq!(v["booted"], 8, "{text}");
    assert_eq!(v["failed"], 0, "{text}");
    // Each machine fetched pxelinux.0 (42,000 bytes) and the image (150,000 bytes).
    assert_eq!(v["bytes"], 8 * (42_000 + 150_000), "{text}");
    server.stop(libc::SIGTERM);
    Ok(())
}

backend_tests!(simulated_machines_all_boot);
