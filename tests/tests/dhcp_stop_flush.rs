//! An orderly stop loses no lease change: RELEASEs that reach the server's socket just before
//! SIGTERM are handled and made durable before it exits, and every lease acknowledged before
//! the signal is in the lease file, also after a restart.

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::process::Command;

use ringmasq_tests::binary::workspace_bin;
use ringmasq_tests::dhcp_lab::{
    CLIENT_IF, DhcpLab, LabServer, SERVER_ADDR, release_packet, usable,
};

/// Clients leased before the stop; the first [`RELEASED`] of them release just before it.
const CLIENTS: usize = 150;
const RELEASED: usize = 100;

fn server(lab: &DhcpLab) -> LabServer {
    lab.ringmasq_args(&[
        "-d".into(),
        "--port=0".into(),
        "--conf-file=/dev/null".into(),
        "--dhcp-range=10.77.0.10,10.77.0.250,255.255.255.0,1h".into(),
        format!("--dhcp-leasefile={}", lab.lease_file().display()),
    ])
}

/// `MAC address` of every DHCPv4 lease in the lease file.
fn leases_in_file(lab: &DhcpLab) -> BTreeSet<String> {
    let file = std::fs::read_to_string(lab.lease_file()).expect("lease file");
    file.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[1].starts_with("02:52:")).then(|| format!("{} {}", f[1], f[2]))
        })
        .collect()
}

#[test]
fn releases_queued_at_sigterm_are_kept_and_acked_leases_survive() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("sf");
    lab.client
        .must_ip(&["addr", "add", "10.77.0.2/24", "dev", CLIENT_IF]);
    let srv = server(&lab);

    // CLIENTS leases acknowledged (DORA only, kept).
    let bin = workspace_bin("ringmasq-load").expect("ringmasq-load binary");
    let out = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", lab.client.name()])
        .arg(bin)
        .args(["dhcp", "--server", SERVER_ADDR, "--interface", CLIENT_IF])
        .args(["--clients", &CLIENTS.to_string(), "--seed", "7"])
        .args(["--no-renew", "--no-release", "--print-leases", "--json"])
        .args(["--retransmit", "500ms", "--duration", "30s"])
        .output()
        .expect("run ringmasq-load");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "ringmasq-load:\n{text}\n{}",
        lab.log()
    );
    let leased: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    assert_eq!(leased.len(), CLIENTS, "{text}");

    // RELEASED of them release; SIGTERM follows the last datagram at once, while the server
    // is still working through them.
    let packets: Vec<Vec<u8>> = leased[..RELEASED]
        .iter()
        .map(|l| {
            let (mac, addr) = l.split_once(' ').expect("MAC address line");
            release_packet(mac, addr)
        })
        .collect();
    let pid = srv.pid() as i32;
    lab.client.run_in(move || {
        let s = UdpSocket::bind("10.77.0.2:0").expect("bind");
        for p in &packets {
            s.send_to(p, (SERVER_ADDR, 67)).expect("send RELEASE");
        }
        // SAFETY: signals the ringmasq this test started, by its PID.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    });
    srv.stop(libc::SIGTERM);

    let kept: BTreeSet<String> = leased[RELEASED..].iter().cloned().collect();
    let in_file = leases_in_file(&lab);
    let released_left: Vec<&String> = leased[..RELEASED]
        .iter()
        .filter(|l| in_file.contains(*l))
        .collect();
    assert!(
        released_left.is_empty(),
        "{} released lease(s) still in the file after SIGTERM: {released_left:?}\n{}",
        released_left.len(),
        lab.log()
    );
    assert_eq!(in_file, kept, "acknowledged leases after SIGTERM");

    // After a restart the server holds exactly the kept leases (and writes them back).
    let srv = server(&lab);
    lab.wait_log(&format!("DHCP: {} lease(s) loaded", CLIENTS - RELEASED));
    assert_eq!(leases_in_file(&lab), kept, "lease file after restart");
    srv.stop(libc::SIGTERM);
    assert_eq!(
        leases_in_file(&lab),
        kept,
        "lease file after the second stop"
    );
}
