//! The lease store checked from outside: `ringmasq-load dhcp` clients run in the lab's client
//! namespace while the server is killed, starved of disk or has its clock stepped, and the
//! ACKs they saw are compared with the leases a clean restart finds in the lease file.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use crate::binary::workspace_bin;
use crate::dhcp_lab::{DhcpLab, LabServer};
use crate::process::ChildGuard;
use crate::wait::poll_until;

/// A wide subnet on both ends of the lab link, for runs of more than 200 clients.
pub const WIDE_SERVER: &str = "10.80.0.1/20";
/// The clients' address in [`WIDE_SERVER`]'s subnet (unicast renewals need one).
pub const WIDE_CLIENT: &str = "10.80.0.2/20";
/// A range of 3,800 addresses in [`WIDE_SERVER`]'s subnet.
pub const WIDE_RANGE: &str = "--dhcp-range=10.80.1.0,10.80.15.200,255.255.240.0,1h";

/// Adds the wide subnet to the lab link.
pub fn widen(lab: &DhcpLab) {
    lab.server.must_ip(&[
        "addr",
        "add",
        WIDE_SERVER,
        "dev",
        crate::dhcp_lab::SERVER_IF,
    ]);
    lab.client.must_ip(&[
        "addr",
        "add",
        WIDE_CLIENT,
        "dev",
        crate::dhcp_lab::CLIENT_IF,
    ]);
}

/// The server arguments for the wide range: foreground, no DNS, the lab's lease file.
pub fn wide_args(lab: &DhcpLab) -> Vec<String> {
    vec![
        "-d".into(),
        "--port=0".into(),
        "--conf-file=/dev/null".into(),
        WIDE_RANGE.into(),
        format!("--dhcp-leasefile={}", lab.lease_file().display()),
    ]
}

/// `ringmasq-load dhcp` running in the client namespace (DORA only, leases kept, each ACK
/// printed as `MAC address`); killed by PID if dropped before it ends.
#[derive(Debug)]
pub struct LoadRun {
    child: ChildGuard,
}

impl LoadRun {
    /// Starts `clients` clients at `rate` per second (MACs `02:52:SEED:..`), retransmitting
    /// from 250 ms up to `tries` times, bounded by `limit`.
    pub fn start(
        lab: &DhcpLab,
        clients: u32,
        rate: u32,
        seed: u8,
        tries: u32,
        limit: Duration,
    ) -> Self {
        let bin = workspace_bin("ringmasq-load").expect("ringmasq-load binary");
        let mut cmd = Command::new("timeout");
        cmd.arg(format!("{}", limit.as_secs() + 10))
            .args(["ip", "netns", "exec", lab.client.name()])
            .arg(bin)
            .args(["dhcp", "--server", "10.80.0.1", "--json", "--print-leases"])
            .args(["--interface", crate::dhcp_lab::CLIENT_IF])
            .args(["--no-renew", "--no-release", "--retransmit", "250ms"])
            .arg(format!("--tries={tries}"))
            .arg(format!("--clients={clients}"))
            .arg(format!("--rate={rate}"))
            .arg(format!("--seed={seed}"))
            .arg(format!("--duration={}s", limit.as_secs()));
        let out = lab.dir.join(&format!("load-{seed}.out"));
        let child = ChildGuard::spawn("ringmasq-load", cmd, &out).expect("spawn ringmasq-load");
        LoadRun { child }
    }

    /// Whether the run is still going.
    pub fn running(&mut self) -> bool {
        self.child.check_running().is_ok()
    }

    /// Waits for the end (at most `limit`); returns the JSON report line and the
    /// `MAC address` of every ACK the clients saw.
    pub fn finish(mut self, limit: Duration) -> (String, BTreeSet<String>) {
        let done = poll_until(limit, Duration::from_millis(50), 100_000, || {
            (!self.running()).then_some(())
        });
        let text = std::fs::read_to_string(self.child.output_path()).unwrap_or_default();
        assert!(done.is_some(), "ringmasq-load did not finish:\n{text}");
        let mut lines = text.lines();
        let json = lines.next().unwrap_or_default().to_string();
        let acks = lines
            .filter(|l| l.starts_with("02:52:"))
            .map(str::to_string)
            .collect();
        (json, acks)
    }
}

/// The `MAC address` pairs of the load tool's clients in the lease file after a clean restart
/// of ringmasq on it (start, then SIGTERM, which folds the journal into the file). Panics if
/// the file or journal had a damaged line (not a torn journal tail, which a kill leaves).
pub fn leases_after_restart(lab: &DhcpLab, args: &[String]) -> BTreeSet<String> {
    let server = lab.ringmasq_args(args);
    lab.wait_log("lease(s) loaded");
    let log = lab.log();
    assert!(
        !log.contains("line skipped"),
        "unreadable lease file:\n{log}"
    );
    server.stop(libc::SIGTERM);
    lease_lines(&std::fs::read_to_string(lab.lease_file()).expect("lease file"))
}

/// `MAC address` of each load-tool client lease in the text of a lease file.
pub fn lease_lines(file: &str) -> BTreeSet<String> {
    file.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[1].starts_with("02:52:")).then(|| format!("{} {}", f[1], f[2]))
        })
        .collect()
}

/// The number in `"key":N` of a one-line JSON report.
pub fn json_count(json: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    json.split(&pat)
        .nth(1)
        .and_then(|t| {
            let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
            t[..end].parse().ok()
        })
        .unwrap_or_else(|| panic!("{key} missing in {json}"))
}

/// Kills `server` with SIGKILL and waits until it is gone.
pub fn kill9(server: LabServer) {
    server.stop(libc::SIGKILL);
}
