//! A DHCP random-MAC flood and a DECLINE storm (dhcpig-style, from the clients' namespace)
//! leave a reserved client and a renewing client served: 2,000 REQUESTs from random MACs take
//! every free address of the range, then 500 DECLINEs from random MACs name every address of
//! the range — the renewing client's and the reserved one included. The server stays up, the
//! client that held its lease before the flood gets the same address again, and the client
//! with a `--dhcp-host` reservation gets its reserved address.

use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, CLIENT_IF, DhcpLab};
use ringmasq_tests::wait::poll_until;

const RESERVED_MAC: &str = "02:77:00:00:00:99";
const RESERVED_ADDR: &str = "10.77.0.60";

/// A BOOTREQUEST (RFC 2131 §2) of DHCP message type `kind` from `mac`, asking for `addr`
/// (option 50) from the lab server (option 54), with client identifier type 1 + MAC.
fn request(kind: u8, mac: [u8; 6], xid: u32, addr: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 240];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[28..34].copy_from_slice(&mac);
    p[236..240].copy_from_slice(&[99, 130, 83, 99]);
    p.extend_from_slice(&[53, 1, kind, 50, 4]);
    p.extend_from_slice(&addr);
    p.extend_from_slice(&[54, 4, 10, 77, 0, 1, 61, 7, 1]);
    p.extend_from_slice(&mac);
    p.push(255);
    p
}

/// A deterministic pseudo-random MAC (locally administered, unicast) for `i`.
fn mac(i: u32) -> [u8; 6] {
    let h = i.wrapping_mul(2_654_435_761).to_be_bytes();
    [0x06, 0x5a, h[0], h[1], h[2], h[3]]
}

#[test]
fn flood_and_decline_storm_leave_known_clients_served() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("fl");
    let reserve = format!("--dhcp-host={RESERVED_MAC},{RESERVED_ADDR}");
    let server = lab.ringmasq(&[&reserve]);
    let mine = lab.udhcpc();

    let mut flood = Vec::new();
    for i in 0..2000u32 {
        let last = 50 + (i % 50) as u8;
        flood.push(request(3, mac(i), i, [10, 77, 0, last]));
    }
    for i in 0..500u32 {
        let last = 50 + (i % 50) as u8;
        flood.push(request(4, mac(10_000 + i), 10_000 + i, [10, 77, 0, last]));
    }
    lab.send_raw(flood);
    // The flood takes the 48 free addresses (50, less the reserved and the client's): count
    // the ACKs it got from the log.
    let acks = || {
        lab.log()
            .lines()
            .filter(|l| l.contains("DHCPACK("))
            .count()
            .saturating_sub(1) // the renewing client's own
    };
    let flood_leases = poll_until(
        Duration::from_secs(3),
        Duration::from_millis(50),
        60,
        || (acks() >= 48).then_some(()),
    )
    .map_or_else(acks, |_| acks());
    assert!(
        flood_leases >= 48,
        "the flood got only {flood_leases} leases\n{}",
        lab.log()
    );
    assert!(
        running(server.pid()),
        "server died during the flood:\n{}",
        lab.log()
    );

    // The renewing client: the address it held before the flood.
    let again = lab.udhcpc_with(&["-r", &mine]);
    assert_eq!(
        again,
        mine,
        "renewing client lost its address\n{}",
        lab.log()
    );
    // The reserved client: its address, whatever the flood did to the range.
    lab.client
        .must_ip(&["link", "set", CLIENT_IF, "address", RESERVED_MAC]);
    let reserved = lab.udhcpc();
    lab.client
        .must_ip(&["link", "set", CLIENT_IF, "address", dhcp_lab::CLIENT_MAC]);
    assert_eq!(reserved, RESERVED_ADDR, "reserved client\n{}", lab.log());
    eprintln!(
        "2,000 random-MAC REQUESTs + 500 DECLINEs: {flood_leases} flood ACKs (the range has 50 addresses); renewing client kept {mine}, reserved client got {reserved}"
    );
    server.stop(libc::SIGTERM);
}

/// True while `pid` exists.
fn running(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
