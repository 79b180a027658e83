//! A slow disk stalls only ACKs: strace attached to the server makes every `fdatasync` (the
//! lease journal's sync) take [`DELAY`]. A client's DISCOVER still gets its OFFER at once, its
//! REQUEST gets the ACK only after the sync (the lease is in the journal before the ACK
//! leaves), and a second client's DISCOVER sent while that ACK waits is answered at once too
//! (before, the DHCP thread itself waited in `fdatasync` and answered nothing).

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use ringmasq_tests::dhcp_lab::{self, CLIENT_IF, DhcpLab, usable};
use ringmasq_tests::netns::find_tool;
use ringmasq_tests::process::ChildGuard;
use ringmasq_tests::pxe_client::{PxeClient, Reply, parse};
use ringmasq_tests::wait::poll_until;

/// How long each `fdatasync` is made to take.
const DELAY: Duration = Duration::from_secs(3);

/// Sends `packet` from a fresh client socket and waits (at most 10 s, no retransmission) for
/// the reply of message type `kind` with the client's xid; returns it and how long it took.
fn exchange(c: &PxeClient, packet: Vec<u8>, kind: u8) -> Option<(Reply, Duration)> {
    let s = PxeClient::socket(CLIENT_IF).expect("client socket");
    let start = Instant::now();
    s.send_to(&packet, (Ipv4Addr::BROADCAST, 67)).expect("send");
    let mut buf = [0u8; 1500];
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok((n, from)) = s.recv_from(&mut buf)
            && buf[4..8] == c.xid.to_be_bytes()
            && let Some(r) = parse(&buf[..n], from)
            && r.kind() == Some(kind)
        {
            return Some((r, start.elapsed()));
        }
    }
    None
}

/// The `/proc` directories of the threads of process `pid`.
fn threads(pid: u32) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.filter_map(|t| Some(t.ok()?.path())).collect())
        .unwrap_or_default()
}

/// Whether every thread of process `pid` has a tracer (strace has attached to all of them).
fn all_traced(pid: u32) -> bool {
    let t = threads(pid);
    !t.is_empty()
        && t.iter().all(|t| {
            std::fs::read_to_string(t.join("status")).is_ok_and(|s| {
                s.lines().any(|l| {
                    l.starts_with("TracerPid:") && l.split_whitespace().nth(1) != Some("0")
                })
            })
        })
}

/// Whether a thread of process `pid` is inside `fdatasync` (held there by strace).
fn in_fdatasync(pid: u32) -> bool {
    threads(pid).iter().any(|t| {
        std::fs::read_to_string(t.join("syscall")).is_ok_and(|s| {
            s.split_whitespace().next() == Some(libc::SYS_fdatasync.to_string().as_str())
        })
    })
}

fn client(last: u8) -> PxeClient {
    let mut mac = dhcp_lab::parse_mac(dhcp_lab::CLIENT_MAC);
    mac[5] = last;
    PxeClient {
        mac,
        arch: 0,
        xid: 0x5d15_0000 + u32::from(last),
    }
}

#[test]
fn offers_keep_flowing_while_the_journal_sync_is_slow() {
    if !usable() {
        return;
    }
    assert!(
        find_tool("strace").is_some(),
        "strace is required (.ci/run installs it)"
    );
    let lab = DhcpLab::new("sd");
    // No ping check: it holds a new address's OFFER for a second by design.
    let server = lab.ringmasq(&["--no-ping"]);
    let journal = lab.dir.join("leases.journal");
    let strace_log = lab.dir.join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-e", "trace=fdatasync", "-e"])
        .arg(format!(
            "inject=fdatasync:delay_enter={}",
            DELAY.as_micros()
        ))
        .args(["-o", "/dev/null", "-p"])
        .arg(server.pid().to_string());
    let _strace = ChildGuard::spawn("strace", cmd, &strace_log).expect("spawn strace");
    let attached = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        500,
        || all_traced(server.pid()).then_some(()),
    );
    assert!(
        attached.is_some(),
        "strace did not attach: {:?}",
        std::fs::read_to_string(&strace_log)
    );

    let a = client(0x21);
    let discover = a.packet(1, Ipv4Addr::UNSPECIFIED, &[]);
    let aa = a.clone();
    let (offer, offer_took) = lab
        .client
        .run_in(move || exchange(&aa, discover, 2))
        .unwrap_or_else(|| panic!("no OFFER\n{}", lab.log()));
    let addr = offer.yiaddr;
    assert_ne!(addr, Ipv4Addr::UNSPECIFIED);

    // The REQUEST: its ACK waits for the slow sync, on a thread of its own.
    let mut extra = vec![50, 4];
    extra.extend_from_slice(&addr.octets());
    extra.extend_from_slice(&[54, 4, 10, 77, 0, 1]);
    let request = a.packet(3, Ipv4Addr::UNSPECIFIED, &extra);
    let aa = a.clone();
    let client_ns = lab.client.name().to_string();
    let acked = std::thread::spawn(move || {
        ringmasq_tests::netns::run_in_named(&client_ns, move || exchange(&aa, request, 5))
    });
    // Once the server's journal sync is held by strace, a second client asks.
    let pid = server.pid();
    let stalled = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(5),
        1000,
        || in_fdatasync(pid).then_some(()),
    );
    assert!(
        stalled.is_some(),
        "no thread waits in fdatasync\n{}",
        lab.log()
    );
    let b = client(0x22);
    let discover = b.packet(1, Ipv4Addr::UNSPECIFIED, &[]);
    let bb = b.clone();
    let (_, other_offer_took) = lab
        .client
        .run_in(move || exchange(&bb, discover, 2))
        .unwrap_or_else(|| panic!("no OFFER for the second client while the sync waits"));
    let (ack, ack_took) = acked
        .join()
        .unwrap()
        .unwrap_or_else(|| panic!("no ACK\n{}", lab.log()));
    println!(
        "slow fdatasync {DELAY:?}: OFFER after {offer_took:?}, ACK after {ack_took:?}, \
         second client's OFFER during the sync after {other_offer_took:?}"
    );
    assert_eq!(ack.yiaddr, addr);
    assert!(
        offer_took < DELAY / 3,
        "OFFER took {offer_took:?}\n{}",
        lab.log()
    );
    assert!(
        other_offer_took < DELAY / 3,
        "OFFER during the sync took {other_offer_took:?}\n{}",
        lab.log()
    );
    assert!(
        ack_took >= DELAY - Duration::from_millis(100),
        "ACK before the slow sync ended: {ack_took:?}"
    );
    // The ACK left after its record was durable: the journal holds it.
    let len = std::fs::metadata(&journal).map_or(0, |m| m.len());
    assert!(len > 0, "ACK sent but the journal is empty");
}
