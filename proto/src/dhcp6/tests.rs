//! DHCPv6 server scenarios on client messages built with dhcproto (an independent encoder),
//! replies decoded with it too.

use std::net::{Ipv6Addr, SocketAddrV6};

use dhcproto::v6::{self, DhcpOption, IAAddr, IANA, Message, MessageType, OptionCode};
use dhcproto::{Decodable, Decoder, Encodable};

use super::config::{Config6, Host6, Ipv6Net, Link6, Range6};
use super::server::{Action6, Change6, INFINITY, Server6};
use super::stats::Drop6;
use super::wire;

pub(super) const SERVER_DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 1];
pub(super) const WALL: u64 = 1_800_000_000;

pub(super) fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub(super) fn range(start: &str, end: Option<&str>) -> Range6 {
    Range6 {
        start: a(start),
        end: end.map(a),
        prefix_len: 64,
        constructor: None,
        lease: Some(3600),
        deprecated: false,
        stateful: end.is_some(),
        match_tags: Vec::new(),
        set_tag: None,
    }
}

pub(super) fn server(ranges: Vec<Range6>, hosts: Vec<Host6>) -> Server6 {
    Server6::new(Config6 {
        ranges,
        hosts,
        server_duid: SERVER_DUID.to_vec(),
        domain: Some("lan".into()),
        ..Config6::default()
    })
    .unwrap()
}

const ADDRS: [Ipv6Net; 2] = [
    Ipv6Net {
        addr: Ipv6Addr::new(0xfd00, 6, 0, 0, 0, 0, 0, 1),
        prefix: 64,
    },
    Ipv6Net {
        addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        prefix: 64,
    },
];

pub(super) fn link() -> Link6<'static> {
    Link6 {
        index: 2,
        name: "veth0",
        addrs: &ADDRS,
    }
}

pub(super) fn src() -> SocketAddrV6 {
    SocketAddrV6::new(a("fe80::2"), 546, 0, 2)
}

pub(super) fn client(
    t: MessageType,
    duid: &[u8],
    iaid: u32,
    addr: Option<Ipv6Addr>,
    server: bool,
) -> Vec<u8> {
    let mut m = Message::new_with_id(t, [1, 2, 3]);
    m.opts_mut().insert(DhcpOption::ClientId(duid.to_vec()));
    if server {
        m.opts_mut()
            .insert(DhcpOption::ServerId(SERVER_DUID.to_vec()));
    }
    let mut ia = IANA {
        id: iaid,
        t1: 0,
        t2: 0,
        opts: Default::default(),
    };
    if let Some(addr) = addr {
        ia.opts.insert(DhcpOption::IAAddr(IAAddr {
            addr,
            preferred_life: 0,
            valid_life: 0,
            opts: Default::default(),
        }));
    }
    m.opts_mut().insert(DhcpOption::IANA(ia));
    m.to_vec().unwrap()
}

pub(super) fn reply(action: &Action6) -> Message {
    let Action6::Reply { bytes, .. } = action else {
        panic!("no reply: {action:?}");
    };
    Message::decode(&mut Decoder::new(bytes)).unwrap()
}

pub(super) fn ia_addr(m: &Message) -> Option<IAAddr> {
    let Some(DhcpOption::IANA(ia)) = m.opts().get(OptionCode::IANA) else {
        return None;
    };
    match ia.opts.get(OptionCode::IAAddr) {
        Some(DhcpOption::IAAddr(x)) => Some(x.clone()),
        _ => None,
    }
}

fn ia_status(m: &Message) -> Option<v6::Status> {
    let Some(DhcpOption::IANA(ia)) = m.opts().get(OptionCode::IANA) else {
        return None;
    };
    match ia.opts.get(OptionCode::StatusCode) {
        Some(DhcpOption::StatusCode(s)) => Some(s.status),
        _ => None,
    }
}

pub(super) const DUID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x22];

#[test]
fn solicit_request_renew_release() {
    let mut s = server(vec![range("fd00:6::100", Some("fd00:6::1ff"))], vec![]);
    let adv = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Solicit, &DUID, 7, None, false),
    );
    let m = reply(&adv);
    assert_eq!(m.msg_type(), MessageType::Advertise);
    assert_eq!(m.xid(), [1, 2, 3]);
    let offered = ia_addr(&m).unwrap();
    assert!((0x100..=0x1ff).contains(&(u128::from(offered.addr) & 0xffff)));
    assert_eq!((offered.preferred_life, offered.valid_life), (3600, 3600));
    assert!(
        matches!(m.opts().get(OptionCode::DomainNameServers), Some(DhcpOption::DomainNameServers(v)) if v == &[a("fd00:6::1")])
    );
    assert!(s.snapshot().is_empty(), "an ADVERTISE commits nothing");
    let req = client(MessageType::Request, &DUID, 7, Some(offered.addr), true);
    let act = s.handle(WALL, &link(), src(), &req);
    let Action6::Reply { changes, to, .. } = &act else {
        panic!()
    };
    assert_eq!(*to, src());
    assert!(
        matches!(&changes[..], [Change6::Upsert(l)] if l.addr == offered.addr && l.expires == WALL + 3600 && l.iaid == 7)
    );
    let m = reply(&act);
    assert_eq!(m.msg_type(), MessageType::Reply);
    let Some(DhcpOption::IANA(ia)) = m.opts().get(OptionCode::IANA) else {
        panic!()
    };
    assert_eq!((ia.t1, ia.t2), (1800, 3150));
    // RENEW later extends it.
    let act = s.handle(
        WALL + 1800,
        &link(),
        src(),
        &client(MessageType::Renew, &DUID, 7, Some(offered.addr), true),
    );
    assert_eq!(ia_addr(&reply(&act)).unwrap().addr, offered.addr);
    assert_eq!(s.snapshot()[0].expires, WALL + 1800 + 3600);
    // Another client asking for the same address gets another one.
    let other = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x33];
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Request, &other, 1, Some(offered.addr), true),
    );
    assert_ne!(ia_addr(&reply(&act)).unwrap().addr, offered.addr);
    // RELEASE frees it.
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Release, &DUID, 7, Some(offered.addr), true),
    );
    let Action6::Reply { changes, .. } = &act else {
        panic!()
    };
    assert_eq!(changes, &[Change6::Remove(offered.addr)]);
    assert!(
        matches!(reply(&act).opts().get(OptionCode::StatusCode), Some(DhcpOption::StatusCode(st)) if st.status == v6::Status::Success)
    );
    assert_eq!(s.snapshot().len(), 1);
    // RENEW of a released binding: NoBinding is not given when the address is free again
    // (the binding is recreated), but an address outside every range gets lifetimes 0.
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Renew, &DUID, 7, Some(a("fd99::5")), true),
    );
    let x = ia_addr(&reply(&act)).unwrap();
    assert_eq!((x.addr, x.valid_life), (a("fd99::5"), 0));
}

#[test]
fn rapid_commit_fixed_host_and_infinite() {
    let mut r = range("fd00:6::100", Some("fd00:6::1ff"));
    r.lease = None;
    let host = Host6 {
        duids: vec![DUID.to_vec()],
        addr: Some(a("fd00:6::9")),
        name: Some("fixed".into()),
        ..Host6::default()
    };
    let mut s = server(vec![r], vec![host]);
    let mut m = Message::decode(&mut Decoder::new(&client(
        MessageType::Solicit,
        &DUID,
        1,
        None,
        false,
    )))
    .unwrap();
    m.opts_mut().insert(DhcpOption::RapidCommit);
    let act = s.handle(WALL, &link(), src(), &m.to_vec().unwrap());
    let m = reply(&act);
    assert_eq!(m.msg_type(), MessageType::Reply);
    assert!(m.opts().get(OptionCode::RapidCommit).is_some());
    let x = ia_addr(&m).unwrap();
    assert_eq!(
        (x.addr, x.valid_life, x.preferred_life),
        (a("fd00:6::9"), INFINITY, INFINITY)
    );
    let l = &s.snapshot()[0];
    assert_eq!((l.expires, l.hostname.as_deref()), (0, Some("fixed")));
    assert_eq!(s.names(), [(a("fd00:6::9"), "fixed".to_string())]);
    // The reserved address never goes to another client.
    let other = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x44];
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Request, &other, 1, Some(a("fd00:6::9")), true),
    );
    assert_ne!(ia_addr(&reply(&act)).unwrap().addr, a("fd00:6::9"));
}

#[test]
fn identifiers_checked_and_drops_counted() {
    let mut s = server(vec![range("fd00:6::100", Some("fd00:6::1ff"))], vec![]);
    // REQUEST without our server id, SOLICIT with one, garbage, an ADVERTISE.
    assert_eq!(
        s.handle(
            WALL,
            &link(),
            src(),
            &client(MessageType::Request, &DUID, 1, None, false)
        ),
        Action6::Drop(Drop6::ServerId)
    );
    assert_eq!(
        s.handle(
            WALL,
            &link(),
            src(),
            &client(MessageType::Solicit, &DUID, 1, None, true)
        ),
        Action6::Drop(Drop6::ServerId)
    );
    assert_eq!(
        s.handle(WALL, &link(), src(), &[1, 2, 3, 4, 0, 1, 0, 9, 1]),
        Action6::Drop(Drop6::Malformed)
    );
    assert_eq!(
        s.handle(
            WALL,
            &link(),
            src(),
            &client(MessageType::Advertise, &DUID, 1, None, false)
        ),
        Action6::Drop(Drop6::NotClientMessage)
    );
    assert_eq!(s.stats.total(), 4);
    // A link without any range.
    let other = [Ipv6Net {
        addr: a("fd77::1"),
        prefix: 64,
    }];
    let l = Link6 {
        index: 3,
        name: "x",
        addrs: &other,
    };
    assert_eq!(
        s.handle(
            WALL,
            &l,
            src(),
            &client(MessageType::Solicit, &DUID, 1, None, false)
        ),
        Action6::Drop(Drop6::NoRange)
    );
}

#[test]
fn pool_exhaustion_and_decline() {
    let mut s = server(vec![range("fd00:6::100", Some("fd00:6::101"))], vec![]);
    let mut got = Vec::new();
    for i in 0..3u8 {
        let d = [0, 3, 0, 1, 2, 0, 0, 0, 1, i];
        let act = s.handle(
            WALL,
            &link(),
            src(),
            &client(MessageType::Request, &d, 1, None, true),
        );
        got.push(ia_addr(&reply(&act)).map(|x| x.addr));
        if i == 2 {
            assert_eq!(ia_status(&reply(&act)), Some(v6::Status::NoAddrsAvail));
        }
    }
    assert_eq!(got.iter().flatten().count(), 2);
    // The first client declines its address: it is freed but not handed out again.
    let d0 = [0, 3, 0, 1, 2, 0, 0, 0, 1, 0];
    let declined = got[0].unwrap();
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Decline, &d0, 1, Some(declined), true),
    );
    assert!(
        matches!(&act, Action6::Reply { changes, .. } if changes == &[Change6::Remove(declined)])
    );
    let d9 = [0, 3, 0, 1, 2, 0, 0, 0, 1, 9];
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Request, &d9, 1, None, true),
    );
    assert_eq!(ia_status(&reply(&act)), Some(v6::Status::NoAddrsAvail));
}

#[test]
fn confirm_and_information_request() {
    let mut s = server(
        vec![range("fd00:6::100", Some("fd00:6::1ff")), range("::", None)],
        vec![],
    );
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(
            MessageType::Confirm,
            &DUID,
            1,
            Some(a("fd00:6::123")),
            false,
        ),
    );
    assert!(
        matches!(reply(&act).opts().get(OptionCode::StatusCode), Some(DhcpOption::StatusCode(st)) if st.status == v6::Status::Success)
    );
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Confirm, &DUID, 1, Some(a("fd01::1")), false),
    );
    assert!(
        matches!(reply(&act).opts().get(OptionCode::StatusCode), Some(DhcpOption::StatusCode(st)) if st.status == v6::Status::NotOnLink)
    );
    let mut m = Message::new_with_id(MessageType::InformationRequest, [9, 9, 9]);
    m.opts_mut().insert(DhcpOption::ClientId(DUID.to_vec()));
    let act = s.handle(WALL, &link(), src(), &m.to_vec().unwrap());
    let r = reply(&act);
    assert!(r.opts().get(OptionCode::IANA).is_none());
    assert!(
        matches!(r.opts().get(OptionCode::DomainSearchList), Some(DhcpOption::DomainSearchList(n)) if n[0].to_string() == "lan.")
    );
}

#[test]
fn relayed_twice() {
    let mut s = server(vec![range("fd00:9::100", Some("fd00:9::1ff"))], vec![]);
    let inner = client(MessageType::Solicit, &DUID, 1, None, false);
    // Two relays: the inner one on the client's link fd00:9::/64.
    let mut r1 = vec![wire::msg::RELAY_FORW, 0];
    r1.extend_from_slice(&a("fd00:9::1").octets());
    r1.extend_from_slice(&a("fe80::77").octets());
    wire::put(&mut r1, wire::opt::INTERFACE_ID, b"port7");
    wire::put(&mut r1, wire::opt::RELAY_MSG, &inner);
    let mut r2 = vec![wire::msg::RELAY_FORW, 1];
    r2.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
    r2.extend_from_slice(&a("fd00:5::2").octets());
    wire::put(&mut r2, wire::opt::RELAY_MSG, &r1);
    let relay = SocketAddrV6::new(a("fd00:6::2"), 547, 0, 0);
    let act = s.handle(WALL, &link(), relay, &r2);
    let Action6::Reply { to, bytes, .. } = &act else {
        panic!("{act:?}")
    };
    assert_eq!(*to, relay);
    let d = wire::decode_reply(bytes).unwrap();
    assert_eq!(d.relays.len(), 2);
    assert_eq!(d.relays[1].interface_id.as_deref(), Some(&b"port7"[..]));
    assert_eq!(
        (d.relays[0].hop_count, d.relays[1].peer),
        (1, a("fe80::77"))
    );
    assert_eq!(d.msg_type, wire::msg::ADVERTISE);
    let ia = wire::Options::find(d.options, wire::opt::IA_NA).unwrap();
    let addr = wire::Options::find(&ia[12..], wire::opt::IAADDR).unwrap();
    assert_eq!(&addr[..8], &a("fd00:9::").octets()[..8]);
}

#[test]
fn constructor_follows_link_prefixes() {
    let mut r = range("::10", Some("::20"));
    r.constructor = Some("veth*".into());
    let mut s = server(vec![r], vec![]);
    let act = s.handle(
        WALL,
        &link(),
        src(),
        &client(MessageType::Request, &DUID, 1, None, true),
    );
    let x = ia_addr(&reply(&act)).unwrap().addr;
    assert_eq!(x.segments()[..4], [0xfd00, 6, 0, 0]);
    assert!((0x10..=0x20).contains(&(u128::from(x) & 0xffff)));
    let no_global = [ADDRS[1]];
    let l = Link6 {
        index: 2,
        name: "veth0",
        addrs: &no_global,
    };
    assert_eq!(
        s.handle(
            WALL,
            &l,
            src(),
            &client(MessageType::Solicit, &DUID, 2, None, false)
        ),
        Action6::Drop(Drop6::NoRange)
    );
}

#[test]
fn fuzz_corpus_seeds_do_not_panic() {
    for seed in [
        client(MessageType::Solicit, &DUID, 1, None, false),
        client(MessageType::Request, &DUID, 1, Some(a("fd00:6::150")), true),
        vec![12, 0],
        vec![12; 200],
        vec![1, 0, 0, 0, 0, 3, 0, 2, 0],
    ] {
        super::fuzzing::check_request6(&seed);
        for cut in 0..seed.len() {
            super::fuzzing::check_request6(&seed[..cut]);
        }
    }
}

/// ISC dhclient 4.4.3 -6 against ringmasq, captured with tcpdump: SOLICIT, REQUEST (for
/// fd00:66::197, with a Client FQDN "client6"), CONFIRM on restart, RELEASE.
#[test]
fn captured_dhclient_exchange() {
    let solicit = include_bytes!("testdata/dhclient_solicit.bin");
    let request = include_bytes!("testdata/dhclient_request.bin");
    let confirm = include_bytes!("testdata/dhclient_confirm.bin");
    let release = include_bytes!("testdata/dhclient_release.bin");
    let mut s = Server6::new(Config6 {
        ranges: vec![range("fd00:66::100", Some("fd00:66::1ff"))],
        server_duid: vec![
            0, 1, 0, 1, 0x32, 0x9a, 0x1e, 0x07, 0x06, 0x9b, 0x76, 0xac, 0x21, 0x5b,
        ],
        ..Config6::default()
    })
    .unwrap();
    let addrs = [
        Ipv6Net {
            addr: a("fd00:66::1"),
            prefix: 64,
        },
        ADDRS[1],
    ];
    let l = Link6 {
        index: 2,
        name: "rmq6s",
        addrs: &addrs,
    };
    let m = reply(&s.handle(WALL, &l, src(), solicit));
    assert_eq!(m.msg_type(), MessageType::Advertise);
    assert!(ia_addr(&m).is_some());
    let act = s.handle(WALL, &l, src(), request);
    let m = reply(&act);
    assert_eq!(m.msg_type(), MessageType::Reply);
    assert_eq!(ia_addr(&m).unwrap().addr, a("fd00:66::197"));
    assert_eq!(s.names(), [(a("fd00:66::197"), "client6".to_string())]);
    let l6 = &s.snapshot()[0];
    assert_eq!((l6.iaid, l6.duid.len()), (2, 14));
    let m = reply(&s.handle(WALL, &l, src(), confirm));
    assert!(
        matches!(m.opts().get(OptionCode::StatusCode), Some(DhcpOption::StatusCode(st)) if st.status == v6::Status::Success)
    );
    let act = s.handle(WALL, &l, src(), release);
    assert!(
        matches!(&act, Action6::Reply { changes, .. } if changes == &[Change6::Remove(a("fd00:66::197"))])
    );
    assert!(s.snapshot().is_empty());
}

#[test]
fn interface_filters_drop_and_count() {
    let ranges = vec![range("fd00:6::100", Some("fd00:6::1ff"))];
    let solicit = client(MessageType::Solicit, &DUID, 1, None, false);
    for filter in [
        ("only", vec!["eth*".to_string()]),
        ("except", vec!["veth0".to_string()]),
        ("no_dhcp", vec!["veth*".to_string()]),
    ] {
        let mut s = server(ranges.clone(), vec![]);
        let mut cfg = s.config().clone();
        match filter.0 {
            "only" => cfg.interfaces.only = filter.1,
            "except" => cfg.interfaces.except = filter.1,
            _ => cfg.interfaces.no_dhcp = filter.1,
        }
        s = Server6::new(cfg).unwrap();
        assert_eq!(
            s.handle(WALL, &link(), src(), &solicit),
            Action6::Drop(Drop6::Interface),
            "{}",
            filter.0
        );
        assert_eq!(s.stats.drops(Drop6::Interface), 1);
    }
    let mut s = server(ranges, vec![]);
    let mut cfg = s.config().clone();
    cfg.interfaces.only = vec!["veth0".into()];
    cfg.interfaces.no_dhcp = vec!["eth1".into()];
    s = Server6::new(cfg).unwrap();
    assert!(matches!(
        s.handle(WALL, &link(), src(), &solicit),
        Action6::Reply { .. }
    ));
}

#[test]
fn client_fqdn_echoed() {
    let mut s = server(vec![range("fd00:6::100", Some("fd00:6::1ff"))], vec![]);
    let mut m = Message::decode(&mut Decoder::new(&client(
        MessageType::Request,
        &DUID,
        1,
        None,
        true,
    )))
    .unwrap();
    // dhclient's `send fqdn.fqdn "pc6"; send fqdn.server-update on;` (S bit).
    m.opts_mut()
        .insert(DhcpOption::Unknown(v6::UnknownOption::new(
            OptionCode::ClientFqdn,
            b"\x01\x03pc6".to_vec(),
        )));
    let act = s.handle(WALL, &link(), src(), &m.to_vec().unwrap());
    let Action6::Reply { bytes, changes, .. } = &act else {
        panic!("{act:?}");
    };
    let inb = wire::decode(bytes).unwrap();
    let echoed = wire::Options::find(inb.options, wire::opt::CLIENT_FQDN).unwrap();
    assert_eq!(echoed, b"\x06\x03pc6\x03lan\x00");
    assert!(matches!(&changes[0], Change6::Upsert(l) if l.hostname.as_deref() == Some("pc6")));
    // No option sent, none back.
    let plain = client(MessageType::Renew, &DUID, 1, None, true);
    let act = s.handle(WALL, &link(), src(), &plain);
    let Action6::Reply { bytes, .. } = &act else {
        panic!("{act:?}");
    };
    let inb = wire::decode(bytes).unwrap();
    assert!(wire::Options::find(inb.options, wire::opt::CLIENT_FQDN).is_none());
}
