//! A rack booting at once (issue 6): 3,000 clients send DISCOVER in the same instant on the
//! server's link; every one is leased, no client gives up, no address is given twice, and
//! the lease file then holds all of them. Retransmissions are allowed, as real clients make
//! them (1 s, doubling). The full 10,000 is the documented run in benches/dhcp/run.sh.

use std::process::Command;

use ringmasq_tests::binary::workspace_bin;
use ringmasq_tests::dhcp_lab::{CLIENT_IF, DhcpLab, SERVER_IF, usable};

const CLIENTS: u64 = 3000;

#[test]
fn burst_of_clients_all_leased() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("bu");
    lab.server
        .must_ip(&["addr", "add", "10.80.0.1/16", "dev", SERVER_IF]);
    lab.client
        .must_ip(&["addr", "add", "10.80.0.2/16", "dev", CLIENT_IF]);
    let server = lab.ringmasq_args(&[
        "-d".into(),
        "--port=0".into(),
        "--conf-file=/dev/null".into(),
        "--dhcp-range=10.80.1.0,10.80.200.255,255.255.0.0,1h".into(),
        "--dhcp-lease-max=100000".into(),
        format!("--dhcp-leasefile={}", lab.lease_file().display()),
    ]);
    let bin = workspace_bin("ringmasq-load").expect("ringmasq-load binary");
    let out = Command::new("timeout")
        .args(["90", "ip", "netns", "exec", lab.client.name()])
        .arg(bin)
        .args([
            "dhcp",
            "--server",
            "10.80.0.1",
            "--interface",
            CLIENT_IF,
            "--json",
        ])
        .args([
            "--clients",
            &CLIENTS.to_string(),
            "--no-renew",
            "--no-release",
        ])
        .args(["--duration", "60s"])
        .output()
        .expect("run ringmasq-load");
    let text = String::from_utf8_lossy(&out.stdout);
    let r: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no report ({e}): {text}\nserver:\n{}", lab.log()));
    let n = |k: &str| {
        r[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {r}"))
    };
    assert_eq!(n("leased"), CLIENTS, "{r}");
    for k in [
        "lease_timeouts",
        "naks",
        "duplicate_addresses",
        "unexpected",
        "malformed",
    ] {
        assert_eq!(n(k), 0, "{k} in {r}");
    }
    println!("burst of {CLIENTS}: {r}");
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).expect("lease file");
    let leased = file
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|m| m.starts_with("02:52:"))
        })
        .count() as u64;
    assert_eq!(leased, CLIENTS);
}
