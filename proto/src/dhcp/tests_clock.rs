//! A system-clock step of a day either way, with time passed as arguments: the lease clock
//! reports the step, the allocator moves every expiry by it, nothing expires in bulk, every
//! client renews its address, and leases still end after their own duration.

use std::net::Ipv4Addr;

use dhcproto::v4;

use super::lease_clock::LeaseClock;
use super::packet::msg;
use super::tests::{WALL, build, config, msg_type, run};
use super::*;
use crate::time::Instant;

const DAY: i64 = 86_400;
const LEASE: u64 = 43_200;

fn mac(i: u8) -> [u8; 6] {
    [2, 0, 0, 0, 7, i]
}

/// 40 clients bound at `WALL`; their addresses.
fn bound(s: &Server) -> Vec<Ipv4Addr> {
    (0..40)
        .map(|i| {
            let (_, offer, _) = run(
                s,
                WALL,
                &build(msg::DISCOVER, mac(i), Ipv4Addr::UNSPECIFIED, &[]),
            )
            .unwrap();
            let ip = offer.yiaddr();
            let sid = Ipv4Addr::new(10, 77, 0, 1).octets();
            let req = build(
                msg::REQUEST,
                mac(i),
                Ipv4Addr::UNSPECIFIED,
                &[(50, &ip.octets()), (54, &sid)],
            );
            let (_, ack, _) = run(s, WALL, &req).unwrap();
            assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
            ip
        })
        .collect()
}

#[test]
fn a_day_forward_moves_leases_instead_of_expiring_them() {
    let s = Server::new(config()).unwrap();
    let ips = bound(&s);
    let mut clock = LeaseClock::new(WALL, Instant::from_secs(100));
    // Ten minutes later the system clock jumps a day ahead.
    let mono = Instant::from_secs(700);
    let wall = WALL + 600 + DAY as u64;
    let step = clock.check(wall, mono).expect("a step");
    assert_eq!(step, DAY);
    assert_eq!(s.allocator().shift(step), 40);
    let now = clock.now(mono);
    assert_eq!(s.allocator().expire(now), 0, "mass expiry");
    let snap = s.allocator().snapshot(now);
    assert_eq!(snap.len(), 40);
    // Each lease keeps its remaining 11 h 50 min.
    assert!(
        snap.iter().all(|l| l.expires == now + LEASE - 600),
        "{snap:?}"
    );
    // Every client renews (RENEWING: unicast, ciaddr) and keeps its address.
    for (i, ip) in ips.iter().enumerate() {
        let (_, ack, _) = run(&s, now, &build(msg::REQUEST, mac(i as u8), *ip, &[])).unwrap();
        assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
        assert_eq!(ack.yiaddr(), *ip);
    }
    assert!(
        s.allocator()
            .snapshot(now)
            .iter()
            .all(|l| l.expires == now + LEASE)
    );
}

#[test]
fn without_the_shift_a_forward_day_would_expire_everything() {
    let s = Server::new(config()).unwrap();
    bound(&s);
    assert_eq!(s.allocator().expire(WALL + 600 + DAY as u64), 40);
}

#[test]
fn a_day_back_does_not_stretch_leases() {
    let s = Server::new(config()).unwrap();
    let ips = bound(&s);
    let mut clock = LeaseClock::new(WALL, Instant::from_secs(0));
    let mono = Instant::from_secs(600);
    let step = clock.check(WALL + 600 - DAY as u64, mono).expect("a step");
    assert_eq!(step, -DAY);
    s.allocator().shift(step);
    let now = clock.now(mono);
    assert_eq!(s.allocator().expire(now), 0);
    // A new client is not given an address that is still leased.
    let (_, offer, _) = run(
        &s,
        now,
        &build(msg::DISCOVER, mac(200), Ipv4Addr::UNSPECIFIED, &[]),
    )
    .unwrap();
    assert!(!ips.contains(&offer.yiaddr()));
    // The leases end after their remaining time, not a day later.
    let before = clock.now(Instant::from_secs(LEASE - 1));
    assert_eq!(s.allocator().snapshot(before).len(), 40);
    let end = clock.now(Instant::from_secs(LEASE + 1));
    s.allocator().expire(end);
    assert!(s.allocator().snapshot(end).is_empty());
}
