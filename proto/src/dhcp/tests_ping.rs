//! The ping check before an OFFER: which OFFERs wait for a probe, and a whole exchange driven
//! through [`PingCheck`] as the engine does, with made-up instants.

use std::net::Ipv4Addr;

use dhcproto::{Decodable, Decoder, v4};

use super::packet::code;
use super::ping::{Decision, PingCheck, Skip, WAIT};
use super::tests::{DHCLIENT_DISCOVER, WALL, addrs, build, config, iface, run, src};
use super::*;
use crate::time::Instant;

const MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

/// `(probed address, offered yiaddr)` of handling `bytes`; `None` for a plain reply.
fn probe_of(s: &Server, wall: u64, bytes: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let mut sc = Scratch::default();
    let a = addrs();
    match s.handle(&mut sc, Instant::default(), wall, &iface(&a), src(), bytes) {
        Action::Probe { addr, bytes, .. } => {
            let m = v4::Message::decode(&mut Decoder::new(bytes)).unwrap();
            assert_eq!(m.opts().msg_type(), Some(v4::MessageType::Offer));
            Some((addr, m.yiaddr()))
        }
        Action::Reply { .. } => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn new_address_is_probed_unless_no_ping() {
    let s = Server::new(config()).unwrap();
    let (addr, yiaddr) = probe_of(&s, WALL, DHCLIENT_DISCOVER).expect("probe");
    assert_eq!(addr, Ipv4Addr::new(10, 77, 0, 107));
    assert_eq!(yiaddr, addr);
    let s = Server::new(DhcpConfig {
        ping: false,
        ..config()
    })
    .unwrap();
    assert_eq!(probe_of(&s, WALL, DHCLIENT_DISCOVER), None);
}

#[test]
fn own_lease_static_host_and_requested_address_are_not_probed() {
    let s = Server::new(config()).unwrap();
    let sid = [10, 77, 0, 1];
    let (a, _) = probe_of(&s, WALL, &build(1, MAC, Ipv4Addr::UNSPECIFIED, &[])).unwrap();
    let req = build(
        3,
        MAC,
        Ipv4Addr::UNSPECIFIED,
        &[(code::REQUESTED_IP, &a.octets()), (code::SERVER_ID, &sid)],
    );
    run(&s, WALL, &req).unwrap();
    // The client's own (bound) lease.
    assert_eq!(
        probe_of(&s, WALL + 5, &build(1, MAC, Ipv4Addr::UNSPECIFIED, &[])),
        None
    );
    // An address the DISCOVER asks for.
    let other = [0x52, 0x54, 0, 9, 9, 9];
    let want = Ipv4Addr::new(10, 77, 0, 140);
    let d = build(
        1,
        other,
        Ipv4Addr::UNSPECIFIED,
        &[(code::REQUESTED_IP, &want.octets())],
    );
    assert_eq!(probe_of(&s, WALL, &d), None);
    // A static host.
    let mut cfg = config();
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern::exact(&[0x52, 0x54, 0, 7, 7, 7])],
        addr: Some(Ipv4Addr::new(10, 77, 0, 77)),
        ..Host::default()
    });
    let s = Server::new(cfg).unwrap();
    let d = build(1, [0x52, 0x54, 0, 7, 7, 7], Ipv4Addr::UNSPECIFIED, &[]);
    assert_eq!(probe_of(&s, WALL, &d), None);
}

/// The engine's side of an exchange: OFFERs held in a [`PingCheck`], addresses in `in_use`
/// answering every echo after `rtt` ms. Returns the address offered and when.
fn exchange(s: &Server, in_use: &[Ipv4Addr], rtt: u64) -> (Ipv4Addr, u64, PingCheck<u8>) {
    let mut p: PingCheck<u8> = PingCheck::new();
    let a = addrs();
    let mut tries = 0u8;
    let mut now = 0u64;
    let mut sc = Scratch::default();
    loop {
        let t = Instant::from_millis(now);
        match s.handle(
            &mut sc,
            t,
            WALL,
            &iface(&a),
            src(),
            &build(1, MAC, Ipv4Addr::UNSPECIFIED, &[]),
        ) {
            Action::Probe { addr, client, .. } => match p.check(t, addr, client, tries) {
                Decision::Probe => p.start(t, addr, client, tries),
                Decision::Offer(_) => return (addr, now, p),
                Decision::Duplicate => unreachable!("one request at a time"),
            },
            Action::Reply { .. } => panic!("a new address is probed"),
            other => panic!("unexpected {other:?}"),
        }
        // Time passes in 50 ms steps until an echo is answered or the wait ends.
        let mut echoes = Vec::new();
        let mut asked = None;
        loop {
            p.due(Instant::from_millis(now), &mut echoes);
            if asked.is_none()
                && let Some(e) = echoes.iter().find(|e| in_use.contains(&e.addr))
            {
                asked = Some((e.addr, now));
            }
            now += 50;
            if let Some((addr, at)) = asked
                && now >= at + rtt
            {
                let n = p.answered(addr).expect("held offer");
                assert!(s.ping_answered(addr, WALL));
                tries = n + 1;
                break;
            }
            let mut out = Vec::new();
            p.expired(Instant::from_millis(now), &mut out);
            if let Some((addr, _)) = out.pop() {
                return (addr, now, p);
            }
        }
    }
}

#[test]
fn silent_address_offered_after_the_wait() {
    let s = Server::new(config()).unwrap();
    let (addr, at, p) = exchange(&s, &[], 10);
    assert_eq!(at, WAIT.as_millis() as u64);
    assert_eq!(p.stats.probes, 1);
    assert_eq!(p.stats.free, 1);
    // The offer is held for the client: its REQUEST is acknowledged.
    let sid = [10, 77, 0, 1];
    let req = build(
        3,
        MAC,
        Ipv4Addr::UNSPECIFIED,
        &[
            (code::REQUESTED_IP, &addr.octets()),
            (code::SERVER_ID, &sid),
        ],
    );
    let (_, ack, _) = run(&s, WALL, &req).unwrap();
    assert_eq!(ack.yiaddr(), addr);
}

#[test]
fn answering_address_quarantined_and_next_offered() {
    let s = Server::new(config()).unwrap();
    let (first, _, _) = exchange(&s, &[], 10);
    // Same client on a fresh server: its first pick now answers pings.
    let s = Server::new(config()).unwrap();
    let (addr, at, p) = exchange(&s, &[first], 10);
    assert_ne!(addr, first);
    assert!(s.allocator().quarantined(first, WALL));
    assert!(!s.allocator().quarantined(first, WALL + 601));
    assert_eq!((p.stats.probes, p.stats.in_use, p.stats.free), (2, 1, 1));
    // Answered after 50 ms, then a full wait for the second address.
    assert_eq!(at, 50 + WAIT.as_millis() as u64);
}

#[test]
fn after_max_tries_in_use_the_next_address_goes_unprobed() {
    // Every address answers: three are probed and quarantined, the fourth is offered as is.
    let s = Server::new(config()).unwrap();
    let all: Vec<Ipv4Addr> = (50..=150).map(|i| Ipv4Addr::new(10, 77, 0, i)).collect();
    let (addr, _, p) = exchange(&s, &all, 10);
    assert_eq!(p.stats.in_use, u64::from(ping::MAX_TRIES));
    assert_eq!(p.stats.tries, 1);
    assert!(!s.allocator().quarantined(addr, WALL));
}

#[test]
fn retransmitted_discover_is_a_duplicate_and_a_later_one_cached() {
    let s = Server::new(config()).unwrap();
    let mut p: PingCheck<()> = PingCheck::new();
    let d = build(1, MAC, Ipv4Addr::UNSPECIFIED, &[]);
    let a = addrs();
    let mut sc = Scratch::default();
    let mut step = |p: &mut PingCheck<()>, ms: u64| -> Decision {
        let t = Instant::from_millis(ms);
        let Action::Probe { addr, client, .. } = s.handle(&mut sc, t, WALL, &iface(&a), src(), &d)
        else {
            panic!("probe expected")
        };
        let dec = p.check(t, addr, client, 0);
        if dec == Decision::Probe {
            p.start(t, addr, client, ());
        }
        dec
    };
    assert_eq!(step(&mut p, 0), Decision::Probe);
    assert_eq!(step(&mut p, 500), Decision::Duplicate);
    let mut out = Vec::new();
    p.expired(Instant::from_millis(1000), &mut out);
    assert_eq!(out.len(), 1);
    // The client did not take the offer and asks again within the cache time.
    assert_eq!(step(&mut p, 5000), Decision::Offer(Skip::Cached));
}

#[test]
fn bound_address_is_not_quarantined_by_a_late_answer() {
    let s = Server::new(config()).unwrap();
    let (addr, _) = probe_of(&s, WALL, &build(1, MAC, Ipv4Addr::UNSPECIFIED, &[])).unwrap();
    let sid = [10, 77, 0, 1];
    let req = build(
        3,
        MAC,
        Ipv4Addr::UNSPECIFIED,
        &[
            (code::REQUESTED_IP, &addr.octets()),
            (code::SERVER_ID, &sid),
        ],
    );
    run(&s, WALL, &req).unwrap();
    assert!(!s.ping_answered(addr, WALL));
    assert!(!s.allocator().quarantined(addr, WALL));
}
