//! `ringmasq-load dhcp` against ringmasq in the lab namespaces, with exact counts: clients on
//! the server's link (broadcast DORA, unicast renewal answered through the tool's ARP replies)
//! and through a relay address; the lease file after a clean stop holds exactly the leases the
//! tool was told and none of the released ones.

use std::collections::BTreeSet;
use std::process::Command;

use ringmasq_tests::binary::workspace_bin;
use ringmasq_tests::dhcp_lab::{CLIENT_IF, DhcpLab, SERVER_ADDR, usable};

/// Runs `ringmasq-load dhcp` in the client namespace; returns its JSON report and the
/// `MAC address` lines it printed.
fn load(lab: &DhcpLab, args: &[&str]) -> (serde_json::Value, BTreeSet<String>) {
    let bin = workspace_bin("ringmasq-load").expect("ringmasq-load binary");
    let out = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", lab.client.name()])
        .arg(bin)
        .args(["dhcp", "--server", SERVER_ADDR, "--json", "--print-leases"])
        .args(["--retransmit", "500ms", "--duration", "30s"])
        .args(args)
        .output()
        .expect("run ringmasq-load");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let json = lines.next().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}):\n{text}\n{}\nserver:\n{}",
            String::from_utf8_lossy(&out.stderr),
            lab.log()
        )
    });
    assert!(out.status.success(), "ringmasq-load failed: {report}");
    (report, lines.map(str::to_string).collect())
}

fn count(r: &serde_json::Value, k: &str) -> u64 {
    r[k].as_u64()
        .unwrap_or_else(|| panic!("{k} missing in {r}"))
}

#[test]
fn load_tool_dora_renew_release_exact_counts() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("ld");
    lab.client
        .must_ip(&["addr", "add", "10.77.0.2/24", "dev", CLIENT_IF]);
    let server = lab.ringmasq_args(&[
        "-d".into(),
        "--port=0".into(),
        "--conf-file=/dev/null".into(),
        "--dhcp-range=10.77.0.10,10.77.0.250,255.255.255.0,1h".into(),
        format!("--dhcp-leasefile={}", lab.lease_file().display()),
    ]);

    // 120 clients on the link at once: DORA + renewal, leases kept.
    let (r, kept) = load(
        &lab,
        &[
            "--interface",
            CLIENT_IF,
            "--clients",
            "120",
            "--seed",
            "1",
            "--no-release",
        ],
    );
    for (k, v) in [("leased", 120), ("renewed", 120), ("released", 0)] {
        assert_eq!(count(&r, k), v, "{k} in {r}");
    }
    for k in [
        "lease_timeouts",
        "renew_timeouts",
        "naks",
        "duplicate_addresses",
        "renew_moved",
    ] {
        assert_eq!(count(&r, k), 0, "{k} in {r}");
    }
    assert!(count(&r, "arp_answered") >= 1, "renewal ACKs need ARP: {r}");
    assert!(r["time_to_all_leased_s"].as_f64().is_some(), "{r}");
    assert_eq!(kept.len(), 120);

    // 60 more at 300 per second, released at the end.
    let (r, released) = load(
        &lab,
        &[
            "--interface",
            CLIENT_IF,
            "--clients",
            "60",
            "--rate",
            "300",
            "--seed",
            "2",
        ],
    );
    for (k, v) in [
        ("leased", 60),
        ("renewed", 60),
        ("released", 60),
        ("lease_timeouts", 0),
    ] {
        assert_eq!(count(&r, k), v, "{k} in {r}");
    }

    // 50 through a relay agent at 10.77.0.2 (giaddr), DORA only.
    let (r, relayed) = load(
        &lab,
        &[
            "--relay",
            "10.77.0.2",
            "--clients",
            "50",
            "--seed",
            "3",
            "--no-renew",
            "--no-release",
        ],
    );
    for (k, v) in [
        ("leased", 50),
        ("renewed", 0),
        ("lease_timeouts", 0),
        ("naks", 0),
    ] {
        assert_eq!(count(&r, k), v, "{k} in {r}");
    }

    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).expect("lease file");
    let in_file: BTreeSet<String> = file
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[1].starts_with("02:52:")).then(|| format!("{} {}", f[1], f[2]))
        })
        .collect();
    let expected: BTreeSet<String> = kept.union(&relayed).cloned().collect();
    assert_eq!(
        in_file.symmetric_difference(&expected).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "lease file against the leases the tool was given:\n{file}"
    );
    assert!(released.iter().all(|l| !in_file.contains(l)));
}
