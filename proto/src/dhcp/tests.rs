//! Server tests on real captured client packets (dhclient 4.4 and udhcpc 1.35 talking to
//! dnsmasq 2.90 on a veth pair; see `testdata/`), with time passed as arguments.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use dhcproto::{Decodable, Decoder, v4};
use proptest::prelude::*;

use super::packet::{HEADER_LEN, MAGIC, code, msg};
use super::*;
use crate::time::Instant;

pub(super) const DHCLIENT_DISCOVER: &[u8] = include_bytes!("testdata/dhclient_discover.bin");
const DHCLIENT_REQUEST: &[u8] = include_bytes!("testdata/dhclient_request.bin");
pub(super) const UDHCPC_DISCOVER: &[u8] = include_bytes!("testdata/udhcpc_discover.bin");
const UDHCPC_REQUEST: &[u8] = include_bytes!("testdata/udhcpc_request.bin");
pub(super) const WALL: u64 = 1_700_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

pub(super) fn addrs() -> [Ipv4Net; 1] {
    [Ipv4Net {
        addr: SERVER,
        prefix: 24,
    }]
}

pub(super) fn iface(a: &[Ipv4Net]) -> InterfaceInfo<'_> {
    InterfaceInfo {
        index: 2,
        name: "rmqd0",
        addrs: a,
    }
}

pub(super) fn config() -> DhcpConfig {
    let mut r = Range::new(Ipv4Addr::new(10, 77, 0, 50), Ipv4Addr::new(10, 77, 0, 150));
    r.lease_time = LeaseTime::Secs(43200);
    DhcpConfig {
        ranges: vec![r],
        authoritative: true,
        ..DhcpConfig::default()
    }
}

pub(super) fn src() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68)
}

/// Decoded reply plus where it goes and whether a journal record came with it.
pub(super) fn run(
    s: &Server,
    wall: u64,
    bytes: &[u8],
) -> Result<(ReplyTo, v4::Message, Vec<u8>), DropReason> {
    let mut sc = Scratch::default();
    let a = addrs();
    match s.handle(
        &mut sc,
        Instant::from_secs(5),
        wall,
        &iface(&a),
        src(),
        bytes,
    ) {
        // An OFFER waiting for its ping check is the reply once the address stayed silent.
        Action::Probe { to, bytes, .. } => Ok((
            to,
            v4::Message::decode(&mut Decoder::new(bytes)).unwrap(),
            Vec::new(),
        )),
        Action::Reply { to, bytes, journal } => Ok((
            to,
            v4::Message::decode(&mut Decoder::new(bytes)).unwrap(),
            journal.to_vec(),
        )),
        Action::NoReply { journal } => {
            Ok((ReplyTo::Broadcast, v4::Message::default(), journal.to_vec()))
        }
        Action::Drop(r) => Err(r),
    }
}

pub(super) fn msg_type(m: &v4::Message) -> Option<v4::MessageType> {
    m.opts().msg_type()
}

/// Build a request from scratch (fields per RFC 2131 §4.4.1 table 5).
pub(super) fn build(t: u8, mac: [u8; 6], ciaddr: Ipv4Addr, extra: &[(u8, &[u8])]) -> Vec<u8> {
    let mut p = vec![0u8; HEADER_LEN];
    p[0] = 1;
    p[1] = 1;
    p[2] = 6;
    p[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    p[12..16].copy_from_slice(&ciaddr.octets());
    p[28..34].copy_from_slice(&mac);
    p.extend_from_slice(&MAGIC);
    p.extend_from_slice(&[code::MESSAGE_TYPE, 1, t]);
    for (c, v) in extra {
        p.push(*c);
        p.push(v.len() as u8);
        p.extend_from_slice(v);
    }
    p.push(255);
    p
}

#[test]
fn dora_with_real_dhclient_packets_matches_dnsmasq() {
    let s = Server::new(config()).unwrap();
    let (to, offer, j) = run(&s, WALL, DHCLIENT_DISCOVER).unwrap();
    assert_eq!(msg_type(&offer), Some(v4::MessageType::Offer));
    // dnsmasq 2.90 offered 10.77.0.107 to this client from the same range.
    assert_eq!(offer.yiaddr(), Ipv4Addr::new(10, 77, 0, 107));
    assert!(j.is_empty(), "an OFFER needs no journal record");
    assert!(
        matches!(to, ReplyTo::UnicastToClientHw { ip, .. } if ip == Ipv4Addr::new(10, 77, 0, 107))
    );
    // Same option sequence as dnsmasq's captured OFFER (testdata/dnsmasq_offer.bin), minus DNS.
    let theirs = include_bytes!("testdata/dnsmasq_offer.bin");
    let mut sc = Scratch::default();
    let a = addrs();
    let (Action::Reply { bytes, .. } | Action::Probe { bytes, .. }) = s.handle(
        &mut sc,
        Instant::default(),
        WALL,
        &iface(&a),
        src(),
        DHCLIENT_DISCOVER,
    ) else {
        panic!("no offer");
    };
    assert_eq!(
        &bytes[..HEADER_LEN],
        &theirs[..HEADER_LEN],
        "header equal to dnsmasq's"
    );
    let ours_opts = &bytes[240..];
    let n = theirs[240..].iter().position(|b| *b == 255).unwrap();
    assert_eq!(
        &ours_opts[..n],
        &theirs[240..240 + n],
        "options equal to dnsmasq's"
    );

    let (_, ack, j) = run(&s, WALL + 1, DHCLIENT_REQUEST).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 107));
    let (rec, _) = journal::decode(&j).unwrap();
    let journal::Record::Upsert(l) = rec else {
        panic!()
    };
    assert_eq!(l.addr, Ipv4Addr::new(10, 77, 0, 107));
    assert_eq!(l.hostname.as_deref(), Some("vm"));
    assert_eq!(l.expires, WALL + 1 + 43200);
    assert_eq!(s.allocator().snapshot(WALL + 1).len(), 1);
}

#[test]
fn dora_with_real_udhcpc_packets() {
    let s = Server::new(config()).unwrap();
    let (_, offer, _) = run(&s, WALL, UDHCPC_DISCOVER).unwrap();
    assert_eq!(
        offer.yiaddr(),
        Ipv4Addr::new(10, 77, 0, 145),
        "dnsmasq gave .145"
    );
    let (_, ack, j) = run(&s, WALL, UDHCPC_REQUEST).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert!(!j.is_empty());
    let snap = s.allocator().snapshot(WALL);
    assert_eq!(
        snap[0].client_id.as_deref(),
        Some(&[1, 0x52, 0x54, 0, 0xab, 0xcd, 0xef][..])
    );
    assert_eq!(snap[0].hostname.as_deref(), Some("udhost"));
}

#[test]
fn renew_rebind_release_decline() {
    let s = Server::new(config()).unwrap();
    let mac = [2, 0, 0, 0, 0, 9];
    let (_, offer, _) = run(
        &s,
        WALL,
        &build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, &[]),
    )
    .unwrap();
    let ip = offer.yiaddr();
    let sid = SERVER.octets();
    let (_, ack, _) = run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip.octets()), (54, &sid)],
        ),
    )
    .unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    // RENEWING at T1: unicast, ciaddr set, no 50/54 -> ACK unicast to ciaddr.
    let (to, ack, j) = run(&s, WALL + 21600, &build(msg::REQUEST, mac, ip, &[])).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(to, ReplyTo::Unicast(ip));
    assert_eq!(ack.ciaddr(), ip);
    let journal::Record::Upsert(l) = journal::decode(&j).unwrap().0 else {
        panic!()
    };
    assert_eq!(l.expires, WALL + 21600 + 43200);
    // REBINDING after expiry of the hold but with the lease still ours.
    let (_, ack, _) = run(&s, WALL + 60000, &build(msg::REQUEST, mac, ip, &[])).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    // INIT-REBOOT asking for a wrong-network address -> NAK, broadcast.
    let (to, nak, _) = run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &[192, 168, 9, 9])],
        ),
    )
    .unwrap();
    assert_eq!(msg_type(&nak), Some(v4::MessageType::Nak));
    assert_eq!(to, ReplyTo::Broadcast);
    // Another client asking for our address -> NAK.
    let (_, nak, _) = run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            [2, 0, 0, 0, 0, 8],
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip.octets())],
        ),
    )
    .unwrap();
    assert_eq!(msg_type(&nak), Some(v4::MessageType::Nak));
    // RELEASE removes the lease and journals a removal.
    let (_, _, j) = run(&s, WALL, &build(msg::RELEASE, mac, ip, &[(54, &sid)])).unwrap();
    assert_eq!(journal::decode(&j).unwrap().0, journal::Record::Remove(ip));
    assert!(s.allocator().snapshot(WALL).is_empty());
    assert_eq!(
        run(&s, WALL, &build(msg::RELEASE, mac, ip, &[])).unwrap_err(),
        DropReason::NotHeld
    );
    // DECLINE quarantines: the next DISCOVER gets another address.
    let (_, offer, _) = run(
        &s,
        WALL,
        &build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, &[]),
    )
    .unwrap();
    let ip2 = offer.yiaddr();
    run(
        &s,
        WALL,
        &build(
            msg::REQUEST,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip2.octets()), (54, &sid)],
        ),
    )
    .unwrap();
    let (_, _, j) = run(
        &s,
        WALL,
        &build(
            msg::DECLINE,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip2.octets()), (54, &sid)],
        ),
    )
    .unwrap();
    assert_eq!(journal::decode(&j).unwrap().0, journal::Record::Remove(ip2));
    assert!(s.allocator().quarantined(ip2, WALL + 1));
    let (_, offer, _) = run(
        &s,
        WALL + 1,
        &build(
            msg::DISCOVER,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(50, &ip2.octets())],
        ),
    )
    .unwrap();
    assert_ne!(offer.yiaddr(), ip2);
}

#[test]
fn selecting_another_server_and_non_authoritative() {
    let mut cfg = config();
    cfg.authoritative = false;
    let s = Server::new(cfg).unwrap();
    let mac = [2, 0, 0, 0, 0, 7];
    assert_eq!(
        run(
            &s,
            WALL,
            &build(
                msg::REQUEST,
                mac,
                Ipv4Addr::UNSPECIFIED,
                &[(50, &[10, 77, 0, 60]), (54, &[10, 77, 0, 2])]
            )
        )
        .unwrap_err(),
        DropReason::OtherServer
    );
    // INIT-REBOOT with no record and not authoritative: silent (RFC 2131 §4.3.2).
    assert_eq!(
        run(
            &s,
            WALL,
            &build(
                msg::REQUEST,
                mac,
                Ipv4Addr::UNSPECIFIED,
                &[(50, &[10, 77, 0, 60])]
            )
        )
        .unwrap_err(),
        DropReason::NotAuthoritative
    );
    assert_eq!(s.stats.drops_for(DropReason::OtherServer), 1);
}

#[test]
fn static_host_options_order_and_rapid_commit() {
    let mut cfg = config();
    cfg.rapid_commit = true;
    cfg.domain = Some("lan".into());
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern {
            htype: None,
            bytes: vec![Some(2), Some(0), None, None, None, Some(5)],
        }],
        addr: Some(Ipv4Addr::new(10, 77, 0, 200)),
        name: Some("fixed".into()),
        set_tags: vec!["fx".into()],
        ..Host::default()
    });
    let routes = routes::encode_classless_routes(&[routes::ClasslessRoute {
        dest: Ipv4Addr::new(10, 9, 0, 0),
        prefix: 16,
        router: SERVER,
    }]);
    cfg.options.push(OptionSpec::new(121, routes.clone()));
    cfg.options.push(OptionSpec::new(42, vec![10, 77, 0, 3]));
    let mut tagged = OptionSpec::new(42, vec![10, 77, 0, 4]);
    tagged.tags.push(TagCond {
        tag: "fx".into(),
        negated: false,
    });
    cfg.options.push(tagged);
    let mut forced = OptionSpec::new(252, b"http://wpad/".to_vec());
    forced.force = true;
    cfg.options.push(forced);
    let mut vendor = OptionSpec::new(1, vec![7, 7]);
    vendor.vendor_class = Some("udvendor".into());
    cfg.options.push(vendor);
    let s = Server::new(cfg).unwrap();
    let mac = [2, 0, 0xaa, 0xbb, 0xcc, 5];
    let prl: &[u8] = &[121, 42, 15, 43, 1];
    let (_, ack, j) = run(
        &s,
        WALL,
        &build(
            msg::DISCOVER,
            mac,
            Ipv4Addr::UNSPECIFIED,
            &[(80, &[]), (55, prl), (60, b"xudvendorx")],
        ),
    )
    .unwrap();
    assert_eq!(
        msg_type(&ack),
        Some(v4::MessageType::Ack),
        "rapid commit: DISCOVER -> ACK"
    );
    assert!(!j.is_empty());
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 200));
    let o = ack.opts();
    assert!(o.get(v4::OptionCode::RapidCommit).is_some());
    assert_eq!(
        o.get(v4::OptionCode::DomainName),
        Some(&v4::DhcpOption::DomainName("lan".into()))
    );
    assert_eq!(
        o.get(v4::OptionCode::Hostname),
        Some(&v4::DhcpOption::Hostname("fixed".into()))
    );
    // Tagged option wins for a host carrying the tag.
    assert_eq!(
        o.get(v4::OptionCode::NtpServers),
        Some(&v4::DhcpOption::NtpServers(vec![Ipv4Addr::new(
            10, 77, 0, 4
        )]))
    );
    assert!(
        o.get(v4::OptionCode::Unknown(252)).is_some() || o.iter().any(|(c, _)| u8::from(*c) == 252)
    );
    // Requested ones appear in the client's order after the fixed block.
    let mut sc = Scratch::default();
    let a = addrs();
    let req = build(
        msg::DISCOVER,
        mac,
        Ipv4Addr::UNSPECIFIED,
        &[(80, &[]), (55, prl), (60, b"xudvendorx")],
    );
    let Action::Reply { bytes, .. } =
        s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &req)
    else {
        panic!()
    };
    let mut codes = Vec::new();
    let mut i = 240;
    while bytes[i] != 255 {
        codes.push(bytes[i]);
        if let Some(at) = (bytes[i] == 43).then_some(i) {
            assert_eq!(&bytes[at + 2..at + 6], &[1, 2, 7, 7], "vendor sub-option");
        }
        if bytes[i] == 121 {
            assert_eq!(&bytes[i + 2..i + 2 + routes.len()], routes.as_slice());
        }
        i += 2 + bytes[i + 1] as usize;
    }
    let pos = |c: u8| codes.iter().position(|x| *x == c).unwrap();
    assert!(
        pos(53) < pos(54)
            && pos(15) < pos(121)
            && pos(121) < pos(42)
            && pos(42) < pos(43)
            && pos(43) < pos(252)
    );
    // A client without the host entry does not get the static address.
    let (_, offer, _) = run(
        &s,
        WALL,
        &build(
            msg::DISCOVER,
            [2, 0, 0, 0, 0, 6],
            Ipv4Addr::UNSPECIFIED,
            &[(50, &[10, 77, 0, 200])],
        ),
    )
    .unwrap();
    assert_ne!(offer.yiaddr(), Ipv4Addr::new(10, 77, 0, 200));
}

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

#[test]
fn two_workers_race_on_the_same_clients() {
    let s = Arc::new(
        Server::new(DhcpConfig {
            lease_max: 10_000,
            ..config()
        })
        .unwrap(),
    );
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut sc = Scratch::default();
                let a = addrs();
                let mut got = Vec::new();
                for i in 0..60u8 {
                    let mac = [2, 1, 0, 0, 0, i];
                    let d = build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, &[]);
                    let (Action::Reply { bytes, .. } | Action::Probe { bytes, .. }) =
                        s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &d)
                    else {
                        panic!()
                    };
                    let ip = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
                    let r = build(
                        msg::REQUEST,
                        mac,
                        Ipv4Addr::UNSPECIFIED,
                        &[(50, &ip.octets()), (54, &SERVER.octets())],
                    );
                    match s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), &r) {
                        Action::Reply { bytes, .. } => {
                            assert_eq!(
                                bytes[242],
                                msg::ACK,
                                "the same client's concurrent requests agree"
                            );
                            got.push(ip);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                got
            })
        })
        .collect();
    let res: Vec<Vec<Ipv4Addr>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(res[0], res[1]);
    let mut all = res[0].clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60);
    assert_eq!(s.allocator().snapshot(WALL).len(), 60);
}

#[test]
fn lease_file_and_journal_restore() {
    let s = Server::new(config()).unwrap();
    run(&s, WALL, DHCLIENT_DISCOVER).unwrap();
    let (_, _, j1) = run(&s, WALL, DHCLIENT_REQUEST).unwrap();
    run(&s, WALL, UDHCPC_DISCOVER).unwrap();
    let (_, _, j2) = run(&s, WALL, UDHCPC_REQUEST).unwrap();
    let file = lease_file::emit(&s.allocator().snapshot(WALL), &[]);
    let mut journal_bytes = [j1, j2].concat();
    journal_bytes.truncate(journal_bytes.len() - 3);
    // Restart: file + journal (torn tail) into a fresh allocator.
    let s2 = Server::new(config()).unwrap();
    for l in lease_file::parse(&file).leases {
        assert!(s2.allocator().restore(&l, false, WALL));
    }
    let r = journal::replay(&journal_bytes);
    assert_eq!(r.records.len(), 1);
    for rec in &r.records {
        if let journal::Record::Upsert(l) = rec {
            s2.allocator().restore(l, false, WALL);
        }
    }
    assert_eq!(s2.allocator().snapshot(WALL), s.allocator().snapshot(WALL));
    // The restored client renews its address.
    let (_, ack, _) = run(&s2, WALL + 10, DHCLIENT_REQUEST).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(ack.yiaddr(), Ipv4Addr::new(10, 77, 0, 107));
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

#[test]
fn static_address_leased_to_another_client_falls_back_to_the_range() {
    let mac = [2, 0, 0, 0, 0, 5];
    let fixed = Ipv4Addr::new(10, 77, 0, 20);
    let mut cfg = config();
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern {
            htype: None,
            bytes: mac.iter().map(|b| Some(*b)).collect(),
        }],
        addr: Some(fixed),
        ..Host::default()
    });
    let s = Server::new(cfg).unwrap();
    let wall = 1_000_000;
    let server_id = SERVER.octets();
    // The same machine with a client identifier takes the fixed address first.
    let clid = [1, 2, 0, 0, 0, 0, 5];
    let (_, offer, _) = run(
        &s,
        wall,
        &build(1, mac, Ipv4Addr::UNSPECIFIED, &[(61, &clid)]),
    )
    .unwrap();
    assert_eq!(offer.yiaddr(), fixed);
    let req = build(
        3,
        mac,
        Ipv4Addr::UNSPECIFIED,
        &[(61, &clid), (50, &fixed.octets()), (54, &server_id)],
    );
    let (_, ack, _) = run(&s, wall, &req).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    // Without the identifier it is another client: served from the range, not ignored.
    let (_, offer, _) = run(&s, wall, &build(1, mac, Ipv4Addr::UNSPECIFIED, &[])).unwrap();
    let dynamic = offer.yiaddr();
    assert_ne!(dynamic, fixed);
    assert!(dynamic >= Ipv4Addr::new(10, 77, 0, 50), "{dynamic}");
    let req = build(
        3,
        mac,
        Ipv4Addr::UNSPECIFIED,
        &[(50, &dynamic.octets()), (54, &server_id)],
    );
    let (_, ack, _) = run(&s, wall, &req).unwrap();
    assert_eq!(msg_type(&ack), Some(v4::MessageType::Ack));
    assert_eq!(ack.yiaddr(), dynamic);
}
