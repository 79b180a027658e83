//! Server tests of requests other than a plain DORA: relayed requests, DHCPINFORM, BOOTP,
//! ignored clients, and malformed or random packets (dropped and counted, never a panic).

use std::net::Ipv4Addr;

use dhcproto::{Decodable, Decoder, v4};
use proptest::prelude::*;

use super::packet::{HEADER_LEN, MAGIC, msg};
use super::tests::*;
use super::*;
use crate::time::Instant;

#[test]
fn relay_inform_bootp_and_ignore() {
    let mut cfg = config();
    let mut far = Range::new(Ipv4Addr::new(10, 88, 0, 10), Ipv4Addr::new(10, 88, 0, 20));
    far.netmask = Some(Ipv4Addr::new(255, 255, 255, 0));
    cfg.ranges.push(far);
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern::exact(&[2, 0, 0, 0, 0, 0x66])],
        ignore: true,
        ..Host::default()
    });
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern::exact(&[2, 0, 0, 0, 0, 0x77])],
        addr: Some(Ipv4Addr::new(10, 77, 0, 222)),
        ..Host::default()
    });
    let s = Server::new(cfg).unwrap();
    // Relayed DISCOVER: range from giaddr, option 82 echoed last, reply to the relay.
    let mut p = build(
        msg::DISCOVER,
        [2, 0, 0, 0, 0, 1],
        Ipv4Addr::UNSPECIFIED,
        &[(82, &[1, 3, b'e', b't', b'h'])],
    );
    p[24..28].copy_from_slice(&[10, 88, 0, 1]);
    let mut sc = Scratch::default();
    let a = addrs();
    let (Action::Reply { to, bytes, .. } | Action::Probe { to, bytes, .. }) =
        s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &p)
    else {
        panic!()
    };
    assert_eq!(to, ReplyTo::Relay(Ipv4Addr::new(10, 88, 0, 1)));
    let m = v4::Message::decode(&mut Decoder::new(bytes)).unwrap();
    assert!((10..=20).contains(&m.yiaddr().octets()[3]) && m.yiaddr().octets()[..3] == [10, 88, 0]);
    let end = bytes[240..].iter().rposition(|b| *b == 255).unwrap() + 240;
    assert_eq!(&bytes[end - 7..end], &[82, 5, 1, 3, b'e', b't', b'h']);
    // INFORM: ACK without lease time, unicast to ciaddr.
    let ci = Ipv4Addr::new(10, 77, 0, 9);
    let (to, ack, j) = run(&s, WALL, &build(msg::INFORM, [2, 0, 0, 0, 0, 2], ci, &[])).unwrap();
    assert_eq!(to, ReplyTo::Unicast(ci));
    assert!(ack.opts().get(v4::OptionCode::AddressLeaseTime).is_none());
    assert!(j.is_empty());
    // BOOTP: static host gets its address; unknown BOOTP client is dropped.
    let mut bootp = build(0, [2, 0, 0, 0, 0, 0x77], Ipv4Addr::UNSPECIFIED, &[]);
    bootp.truncate(HEADER_LEN + 4);
    bootp.resize(300, 0);
    let (_, r, j) = run(&s, WALL, &bootp).unwrap();
    assert_eq!(r.yiaddr(), Ipv4Addr::new(10, 77, 0, 222));
    assert!(!j.is_empty());
    bootp[33] = 0x78;
    assert_eq!(
        run(&s, WALL, &bootp).unwrap_err(),
        DropReason::BootpNoAddress
    );
    assert_eq!(
        run(
            &s,
            WALL,
            &build(
                msg::DISCOVER,
                [2, 0, 0, 0, 0, 0x66],
                Ipv4Addr::UNSPECIFIED,
                &[]
            )
        )
        .unwrap_err(),
        DropReason::Ignored
    );
    // No address on the interface's network: NoRange.
    let other = [Ipv4Net {
        addr: Ipv4Addr::new(192, 168, 1, 1),
        prefix: 24,
    }];
    let mut sc = Scratch::default();
    let r = s.handle(
        &mut sc,
        Instant::default(),
        WALL,
        &iface(&other),
        src(),
        DHCLIENT_DISCOVER,
    );
    assert_eq!(r, Action::Drop(DropReason::NoRange));
}

#[test]
fn malformed_packets_dropped_and_counted() {
    let s = Server::new(config()).unwrap();
    let mut zero = DHCLIENT_DISCOVER.to_vec();
    zero[2] = 0;
    assert_eq!(run(&s, WALL, &zero).unwrap_err(), DropReason::ZeroHlen);
    let mut bad = DHCLIENT_DISCOVER.to_vec();
    bad[241] = 200;
    assert_eq!(
        run(&s, WALL, &bad).unwrap_err(),
        DropReason::BadOptionLength
    );
    assert_eq!(s.stats.total_drops(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn random_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..700), valid_head in any::<bool>()) {
        let s = Server::new(config()).unwrap();
        if valid_head && b.len() >= 243 {
            // Mostly-valid requests reach deep into the state machine.
            b[0] = 1;
            b[2] = 6;
            b[236..240].copy_from_slice(&MAGIC);
            b[240] = 53;
            b[241] = 1;
            b[242] = 1 + b[242] % 8;
        }
        let mut sc = Scratch::default();
        let a = addrs();
        let _ = s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &b);
    }
}
