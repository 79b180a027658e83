//! Server tests on real captured client packets (dhclient 4.4 and udhcpc 1.35 talking to
//! dnsmasq 2.90 on a veth pair; see `testdata/`), with time passed as arguments: the fixtures
//! the other server test files share, and DISCOVER/REQUEST (DORA, server selection, static
//! hosts, options, rapid commit). Lease life after the ACK is in `tests_lease.rs`; relayed
//! requests, INFORM, BOOTP, ignored clients and malformed input in `tests_inform.rs`.

use std::net::{Ipv4Addr, SocketAddrV4};

use dhcproto::{Decodable, Decoder, v4};

use super::packet::{HEADER_LEN, MAGIC, code, msg};
use super::*;
use crate::time::Instant;

pub(super) const DHCLIENT_DISCOVER: &[u8] = include_bytes!("testdata/dhclient_discover.bin");
pub(super) const DHCLIENT_REQUEST: &[u8] = include_bytes!("testdata/dhclient_request.bin");
pub(super) const UDHCPC_DISCOVER: &[u8] = include_bytes!("testdata/udhcpc_discover.bin");
pub(super) const UDHCPC_REQUEST: &[u8] = include_bytes!("testdata/udhcpc_request.bin");
pub(super) const WALL: u64 = 1_700_000_000;
pub(super) const SERVER: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

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

/// `--dhcp-no-override`: forced options too long for the options field are carried in `file`
/// and `sname` (option 52) by default, and left out with the flag; the header fields stay empty.
#[test]
fn no_override_keeps_options_out_of_file_and_sname() {
    let offer = |no_override: bool| {
        let cfg = DhcpConfig {
            options: vec![
                OptionSpec {
                    force: true,
                    ..OptionSpec::new(17, vec![b'r'; 250])
                },
                OptionSpec {
                    force: true,
                    ..OptionSpec::new(18, vec![b'e'; 120])
                },
            ],
            no_override,
            ..config()
        };
        let s = Server::new(cfg).unwrap();
        let d = build(
            msg::DISCOVER,
            [2, 0, 0, 0, 0, 9],
            Ipv4Addr::UNSPECIFIED,
            &[],
        );
        run(&s, 1_000, &d).unwrap().1
    };
    let root_path = |m: &v4::Message| m.opts().get(v4::OptionCode::RootPath).is_some();
    let overloaded = offer(false);
    assert!(
        overloaded
            .opts()
            .get(v4::OptionCode::OptionOverload)
            .is_some()
    );
    assert!(root_path(&overloaded));
    let plain = offer(true);
    assert_eq!(msg_type(&plain), Some(v4::MessageType::Offer));
    assert!(plain.opts().get(v4::OptionCode::OptionOverload).is_none());
    assert!(
        plain.fname().is_none_or(|f| f.is_empty()),
        "{:?}",
        plain.fname()
    );
    assert!(
        plain.sname().is_none_or(|f| f.is_empty()),
        "{:?}",
        plain.sname()
    );
    // The options field (576-byte reply) holds one of the two long options, not both.
    let extensions = plain.opts().get(v4::OptionCode::ExtensionsPath).is_some();
    assert!(root_path(&plain) ^ extensions, "{plain:?}");
}
