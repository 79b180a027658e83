//! The ping check's state machine with made-up instants, and the echo wire format.

use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;

const A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 60);
const B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 61);

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

#[test]
fn silent_address_is_offered_after_the_wait() {
    let mut p: PingCheck<&str> = PingCheck::new();
    assert_eq!(p.check(ms(0), A, 7, 0), Decision::Probe);
    p.start(ms(0), A, 7, "offer A");
    let mut echoes = Vec::new();
    p.due(ms(0), &mut echoes);
    assert_eq!(echoes.len(), 1);
    assert_eq!(echoes[0].addr, A);
    // The next echo is due one interval later; nothing expires before the wait.
    assert_eq!(p.next_due(), Some(ms(400)));
    let mut out = Vec::new();
    p.expired(ms(999), &mut out);
    assert!(out.is_empty());
    p.due(ms(400), &mut echoes);
    p.due(ms(800), &mut echoes);
    p.due(ms(900), &mut echoes);
    assert_eq!(echoes.len(), usize::from(ECHOES));
    assert_eq!(p.next_due(), Some(ms(1000)));
    p.expired(ms(1000), &mut out);
    assert_eq!(out, vec![(A, "offer A")]);
    assert!(p.is_empty());
    assert_eq!(p.next_due(), None);
    assert_eq!(p.stats.free, 1);
    assert_eq!(p.stats.echoes, u64::from(ECHOES));
}

#[test]
fn answered_address_returns_the_offer_for_another_try() {
    let mut p: PingCheck<u8> = PingCheck::new();
    p.start(ms(0), A, 7, 0);
    assert_eq!(p.answered(A), Some(0));
    assert_eq!(p.stats.in_use, 1);
    // The next address of the same exchange is probed in turn, until MAX_TRIES were in use.
    assert_eq!(p.check(ms(5), B, 7, 1), Decision::Probe);
    p.start(ms(5), B, 7, 1);
    assert_eq!(p.answered(B), Some(1));
    let c = Ipv4Addr::new(10, 77, 0, 62);
    assert_eq!(
        p.check(ms(9), c, 7, MAX_TRIES),
        Decision::Offer(Skip::Tries)
    );
    assert_eq!(p.stats.tries, 1);
    // An address found in use is not "recently free": a later offer of it is probed again.
    assert_eq!(p.check(ms(10), A, 7, 0), Decision::Probe);
}

#[test]
fn a_reply_after_the_wait_or_from_elsewhere_is_stray() {
    let mut p: PingCheck<u8> = PingCheck::new();
    p.start(ms(0), A, 7, 0);
    let mut out = Vec::new();
    p.expired(ms(1000), &mut out);
    assert_eq!(p.answered(A), None);
    assert_eq!(p.answered(B), None);
    assert_eq!(p.stats.stray, 2);
}

#[test]
fn retransmitted_discover_waits_for_the_probe_under_way() {
    let mut p: PingCheck<u32> = PingCheck::new();
    p.start(ms(0), A, 7, 1);
    assert_eq!(p.check(ms(300), A, 7, 0), Decision::Duplicate);
    *p.pending_mut(A).unwrap() = 2;
    assert_eq!(p.stats.duplicates, 1);
    let mut out = Vec::new();
    p.expired(ms(1000), &mut out);
    assert_eq!(out, vec![(A, 2)]);
}

#[test]
fn free_result_is_remembered_for_the_same_client_only() {
    let mut p: PingCheck<()> = PingCheck::new();
    p.start(ms(0), A, 7, ());
    let mut out = Vec::new();
    p.expired(ms(1000), &mut out);
    assert_eq!(p.check(ms(20_000), A, 7, 0), Decision::Offer(Skip::Cached));
    assert_eq!(p.check(ms(20_000), A, 8, 0), Decision::Probe);
    // Forgotten after the cache time.
    assert_eq!(p.check(ms(31_000), A, 7, 0), Decision::Probe);
    assert_eq!(p.stats.cached, 1);
}

#[test]
fn a_storm_beyond_the_budget_goes_unprobed_then_probing_resumes() {
    let mut p: PingCheck<()> = PingCheck::new();
    for i in 0..BUDGET as u32 {
        let a = Ipv4Addr::from(0x0a4d_0100 + i);
        assert_eq!(p.check(ms(u64::from(i)), a, i, 0), Decision::Probe);
        p.start(ms(u64::from(i)), a, i, ());
    }
    let late = Ipv4Addr::new(10, 77, 9, 9);
    assert_eq!(p.check(ms(500), late, 1, 0), Decision::Offer(Skip::Busy));
    // Probes run concurrently: all end one wait after they started, not one after another.
    let mut out = Vec::new();
    p.expired(ms(1000 + BUDGET as u64), &mut out);
    assert_eq!(out.len(), BUDGET);
    assert_eq!(p.check(ms(20_000), late, 1, 0), Decision::Offer(Skip::Busy));
    assert_eq!(p.check(ms(31_000), late, 1, 0), Decision::Probe);
    assert_eq!(p.stats.busy, 2);
}

#[test]
fn echo_request_bytes() {
    // Type 8, code 0, RFC 1071 checksum (0x2427, summed independently), id 0x1234, seq 1,
    // then the payload.
    let m = echo_request(0x1234, 1);
    assert_eq!(&m[..8], &[8, 0, 0x24, 0x27, 0x12, 0x34, 0x00, 0x01]);
    assert_eq!(&m[8..], b"ringmasq");
    assert_eq!(checksum(&m), 0);
}

#[test]
fn decodes_reply_from_raw_socket() {
    // An echo reply as a raw socket returns it: IPv4 header (IHL 5, protocol 1), then ICMP.
    let mut d = vec![
        0x45, 0, 0, 36, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 77, 0, 60, 10, 77, 0, 1,
    ];
    let mut r = echo_request(0xbeef, 9);
    r[0] = ECHO_REPLY;
    d.extend_from_slice(&r);
    assert_eq!(decode_echo_reply(&d, true), Some((0xbeef, 9)));
    assert_eq!(decode_echo_reply(&d[20..], false), Some((0xbeef, 9)));
    assert_eq!(decode_echo_reply(&d, false), None);
    d[9] = 17;
    assert_eq!(decode_echo_reply(&d, true), None);
}

proptest! {
    #[test]
    fn echo_round_trip(id: u16, seq: u16, ip in any::<bool>()) {
        let mut r = echo_request(id, seq).to_vec();
        prop_assert_eq!(checksum(&r), 0);
        r[0] = ECHO_REPLY;
        if ip {
            let mut h = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1];
            h.extend_from_slice(&r);
            r = h;
        }
        prop_assert_eq!(decode_echo_reply(&r, ip), Some((id, seq)));
    }

    #[test]
    fn echo_reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        super::super::ping_fuzzing::check_echo_reply(&data);
    }
}
