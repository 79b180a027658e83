//! `--script-arp`: a neighbour (ARP) entry appearing in the server's namespace runs the
//! lease-change script with `arp-add MAC IP`, its removal with `arp-del MAC IP` (dnsmasq's
//! man page); without the option the script hears nothing of it.

use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, DhcpLab, SERVER_IF};
use ringmasq_tests::wait::poll_until;

fn script(lab: &DhcpLab, name: &str) -> (String, std::path::PathBuf) {
    let out = lab.dir.join(&format!("{name}.out"));
    let path = lab.dir.join(&format!("{name}.sh"));
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$*\" >> {}\nexit 0\n", out.display()),
    )
    .expect("write script");
    let mut perm = std::fs::metadata(&path).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&path, perm).expect("chmod");
    (path.to_string_lossy().into_owned(), out)
}

fn wait_for(out: &std::path::Path, line: &str) {
    let found = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        1000,
        || {
            let t = std::fs::read_to_string(out).unwrap_or_default();
            t.lines().any(|l| l.starts_with(line)).then_some(())
        },
    );
    assert!(
        found.is_some(),
        "no `{line}` from the script:\n{}",
        std::fs::read_to_string(out).unwrap_or_default()
    );
}

#[test]
fn neighbour_entries_run_arp_add_and_arp_del() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("sa");
    let (path, out) = script(&lab, "arp");
    let _server = lab.ringmasq(&[&format!("--dhcp-script={path}"), "--script-arp"]);
    lab.server.must_ip(&[
        "neigh",
        "add",
        "10.77.0.60",
        "lladdr",
        "02:77:00:00:00:60",
        "dev",
        SERVER_IF,
        "nud",
        "permanent",
    ]);
    wait_for(&out, "arp-add 02:77:00:00:00:60 10.77.0.60");
    lab.server
        .must_ip(&["neigh", "del", "10.77.0.60", "dev", SERVER_IF]);
    wait_for(&out, "arp-del 02:77:00:00:00:60 10.77.0.60");
}

#[test]
fn without_script_arp_no_arp_events() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("sn");
    let (path, out) = script(&lab, "noarp");
    let _server = lab.ringmasq(&[&format!("--dhcp-script={path}")]);
    lab.server.must_ip(&[
        "neigh",
        "add",
        "10.77.0.61",
        "lladdr",
        "02:77:00:00:00:61",
        "dev",
        SERVER_IF,
        "nud",
        "permanent",
    ]);
    // A lease afterwards proves the script runs; by then two neighbour polls have passed.
    std::thread::sleep(Duration::from_millis(1200));
    let addr = lab.udhcpc();
    wait_for(&out, &format!("add 02:77:00:00:00:02 {addr}"));
    let t = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(!t.contains("arp-"), "{t}");
}
