//! DHCPv6 tags: `set:`/`tag:` on ranges and hosts, the matchers, `--tag-if`, `--dhcp-ignore`,
//! `--dhcp-ignore-names` and the choice among tagged options. Client messages come from
//! dhcproto (options it encodes wrongly, User/Vendor Class, are given as raw RFC 8415 bytes).

use std::net::Ipv6Addr;

use dhcproto::v6::{DhcpOption, Message, MessageType, OptionCode, UnknownOption};
use dhcproto::{Decodable, Decoder, Encodable};

use super::config::{Config6, Host6, Option6, Range6};
use super::script::Request6Info;
use super::server::{Action6, Server6};
use super::stats::Drop6;
use super::tags::{MatchRule6, Matcher6};
use super::tests::{DUID, SERVER_DUID, WALL, a, client, ia_addr, link, range, reply, src};
use super::wire;
use crate::dhcp::config::{HwAddrPattern, TagCond};
use crate::dhcp::matching::{MatchValue, TagIf};

/// The tagged client's DUID-LL (MAC 02:00:00:00:00:aa).
const VIP: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa];

fn tagged(start: &str, end: &str, need: &[&str], set: Option<&str>) -> Range6 {
    Range6 {
        match_tags: need.iter().map(|t| t.to_string()).collect(),
        set_tag: set.map(str::to_string),
        ..range(start, Some(end))
    }
}

fn cond(c: &str) -> TagCond {
    match c.strip_prefix('!') {
        Some(t) => TagCond {
            tag: t.into(),
            negated: true,
        },
        None => TagCond {
            tag: c.into(),
            negated: false,
        },
    }
}

fn opt(code: u16, value: &[u8], tags: &[&str]) -> Option6 {
    Option6 {
        code,
        value: value.to_vec(),
        tags: tags.iter().map(|t| cond(t)).collect(),
    }
}

fn names(n: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    wire::put_names(&mut v, &n.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    v
}

/// The lab of the end-to-end test: a range only for `vip` clients first, then the general
/// one; the VIP host sets `vip`; DNS servers, search list and NTP chosen by tags.
fn lab() -> Config6 {
    Config6 {
        ranges: vec![
            tagged("fd00:6::10", "fd00:6::1f", &["vip"], Some("vipnet")),
            tagged("fd00:6::100", "fd00:6::1ff", &[], Some("lan")),
        ],
        hosts: vec![Host6 {
            duids: vec![VIP.to_vec()],
            set_tags: vec!["vip".into()],
            ..Host6::default()
        }],
        server_duid: SERVER_DUID.to_vec(),
        dns_servers: Some(vec![a("fd00:6::99")]),
        options: vec![
            opt(23, &a("fd00:6::53").octets(), &["vip"]),
            opt(24, &names(&["lan.test"]), &["lan"]),
            opt(24, &names(&["vip.test"]), &["vip"]),
            opt(242, &[0, 1, 0, 16], &["!vip"]),
            opt(32, &[0, 0, 0, 60], &[]),
            opt(32, &[0, 0, 1, 0], &["known"]),
        ],
        ..Config6::default()
    }
}

fn dns(m: &Message) -> Vec<Ipv6Addr> {
    match m.opts().get(OptionCode::DomainNameServers) {
        Some(DhcpOption::DomainNameServers(v)) => v.clone(),
        _ => vec![],
    }
}

fn raw(m: &Message, code: u16) -> Option<Vec<u8>> {
    let mut e = Vec::new();
    m.opts()
        .iter()
        .find(|o| u16::from(OptionCode::from(*o)) == code)?
        .encode(&mut dhcproto::Encoder::new(&mut e))
        .ok()?;
    Some(e[4..].to_vec())
}

#[test]
fn host_tag_picks_range_and_most_specific_options() {
    let mut s = Server6::new(lab()).unwrap();
    let solicit = client(MessageType::Solicit, &VIP, 1, None, false);
    let m = reply(&s.handle(WALL, &link(), src(), &solicit));
    assert!((0x10..=0x1f).contains(&(u128::from(ia_addr(&m).unwrap().addr) & 0xffff)));
    assert_eq!(dns(&m), [a("fd00:6::53")]);
    // `vip` (a host tag) beats `lan` (a range tag): range tags are second class.
    assert_eq!(raw(&m, 24).unwrap(), names(&["vip.test"]));
    assert!(raw(&m, 242).is_none(), "tag:!vip not sent to vip");
    assert_eq!(raw(&m, 32).unwrap(), [0, 0, 1, 0], "tagged beats untagged");
    assert_eq!(s.last_tag_names(), ["known", "lan", "vip", "vipnet"]);

    // Another client: kept out of the vip range although it comes first.
    let solicit = client(MessageType::Solicit, &DUID, 1, None, false);
    let m = reply(&s.handle(WALL, &link(), src(), &solicit));
    assert!((0x100..=0x1ff).contains(&(u128::from(ia_addr(&m).unwrap().addr) & 0xffff)));
    assert_eq!(dns(&m), [a("fd00:6::99")]);
    assert_eq!(raw(&m, 24).unwrap(), names(&["lan.test"]));
    assert_eq!(raw(&m, 242).unwrap(), [0, 1, 0, 16]);
    assert_eq!(raw(&m, 32).unwrap(), [0, 0, 0, 60]);
    assert_eq!(s.last_tag_names(), ["lan"]);

    // Asking for an address of the vip range does not get it either.
    let hint = client(MessageType::Solicit, &DUID, 2, Some(a("fd00:6::11")), false);
    let m = reply(&s.handle(WALL, &link(), src(), &hint));
    assert!((0x100..=0x1ff).contains(&(u128::from(ia_addr(&m).unwrap().addr) & 0xffff)));

    // Only a tagged range: the untagged client finds none.
    let mut cfg = lab();
    cfg.ranges.truncate(1);
    let mut s = Server6::new(cfg).unwrap();
    assert_eq!(
        s.handle(WALL, &link(), src(), &solicit),
        Action6::Drop(Drop6::NoRange)
    );
    assert_eq!(s.stats.drops(Drop6::NoRange), 1);
}

#[test]
fn tagged_host_entries_win_and_interface_tag() {
    let mut cfg = lab();
    cfg.hosts = vec![
        Host6 {
            duids: vec![DUID.to_vec()],
            addr: Some(a("fd00:6::150")),
            ..Host6::default()
        },
        Host6 {
            duids: vec![DUID.to_vec()],
            addr: Some(a("fd00:6::151")),
            match_tags: vec!["veth0".into()],
            ..Host6::default()
        },
    ];
    let mut s = Server6::new(cfg).unwrap();
    let solicit = client(MessageType::Solicit, &DUID, 1, None, false);
    let m = reply(&s.handle(WALL, &link(), src(), &solicit));
    assert_eq!(ia_addr(&m).unwrap().addr, a("fd00:6::151"));
    assert_eq!(s.last_tag_names(), ["known", "lan", "veth0"]);
}

/// A SOLICIT from `duid` with extra raw options.
fn solicit_with(duid: &[u8], extra: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = Message::decode(&mut Decoder::new(&client(
        MessageType::Solicit,
        duid,
        1,
        None,
        false,
    )))
    .unwrap();
    for (code, v) in extra {
        m.opts_mut().insert(DhcpOption::Unknown(UnknownOption::new(
            (*code).into(),
            v.clone(),
        )));
    }
    m.to_vec().unwrap()
}

/// `msg` inside a RELAY-FORW from link fd00:6::1 with a Remote-ID and a Subscriber-ID.
fn relayed(msg: &[u8], remote: &[u8], subscriber: &[u8]) -> Vec<u8> {
    let mut b = vec![12, 0];
    b.extend_from_slice(&a("fd00:6::1").octets());
    b.extend_from_slice(&a("fe80::77").octets());
    wire::put(&mut b, 37, remote);
    wire::put(&mut b, 38, subscriber);
    wire::put(&mut b, 9, msg);
    b
}

fn rule(tag: &str, matcher: Matcher6) -> MatchRule6 {
    MatchRule6 {
        tag: tag.into(),
        matcher,
    }
}

#[test]
fn matchers_tag_if_and_ignore() {
    let mut cfg = lab();
    cfg.matches = vec![
        rule("uc", Matcher6::UserClass(b"office".to_vec())),
        rule(
            "vc",
            Matcher6::VendorClass {
                enterprise: Some(4491),
                class: b"docsis".to_vec(),
            },
        ),
        rule(
            "vany",
            Matcher6::VendorClass {
                enterprise: None,
                class: b"docsis".to_vec(),
            },
        ),
        rule(
            "v311",
            Matcher6::VendorClass {
                enterprise: Some(311),
                class: b"docsis".to_vec(),
            },
        ),
        rule(
            "fq",
            Matcher6::Option {
                code: 39,
                value: MatchValue::Present,
            },
        ),
        rule("nm", Matcher6::Name("pc-*".into())),
        rule(
            "mac",
            Matcher6::Mac(HwAddrPattern {
                htype: None,
                bytes: vec![Some(2), None, None, None, None, Some(0x22)],
            }),
        ),
        rule("rid", Matcher6::RemoteId(b"port7".to_vec())),
        rule("sid", Matcher6::SubscriberId(b"sub9".to_vec())),
    ];
    cfg.tag_ifs = vec![TagIf {
        set: vec!["vip".into()],
        when: vec![cond("uc"), cond("vc"), cond("!v311")],
    }];
    cfg.ignore = vec![vec![cond("sid"), cond("!known")]];
    let mut s = Server6::new(cfg).unwrap();
    // User Class "office" (RFC 8415 §21.15: 2-byte length, data), Vendor Class of enterprise
    // 4491 (§21.16), Client FQDN "pc-7" (RFC 4704: flags, then the name).
    let uc = [&[0u8, 6][..], b"office"].concat();
    let vc = [&[0u8, 0, 0x11, 0x8b, 0, 9][..], b"docsis3.1"].concat();
    let fqdn = [&[0u8, 4][..], b"pc-7", &[0]].concat();
    let msg = solicit_with(&DUID, &[(15, uc.clone()), (16, vc.clone()), (39, fqdn)]);
    let m = reply(&s.handle(WALL, &link(), src(), &msg));
    assert_eq!(
        s.last_tag_names(),
        [
            "fq", "lan", "mac", "nm", "uc", "vany", "vc", "vip", "vipnet"
        ]
    );
    // The tag-if's `vip` opens the vip range (first) and its options.
    assert!((0x10..=0x1f).contains(&(u128::from(ia_addr(&m).unwrap().addr) & 0xffff)));
    assert_eq!(dns(&m), [a("fd00:6::53")]);

    // Relayed with a Remote-ID (enterprise 9, "port7") and a Subscriber-ID: ignored (unknown).
    let inner = client(MessageType::Solicit, &DUID, 1, None, false);
    let rid = [&[0u8, 0, 0, 9][..], b"port7"].concat();
    let msg = relayed(&inner, &rid, b"sub9");
    assert_eq!(
        s.handle(WALL, &link(), src(), &msg),
        Action6::Drop(Drop6::Ignored)
    );
    assert_eq!(s.last_tag_names(), ["lan", "mac", "rid", "sid"]);
    // A Subscriber-ID that differs: answered.
    let msg = relayed(&inner, &rid, b"sub8");
    assert!(matches!(
        s.handle(WALL, &link(), src(), &msg),
        Action6::Reply { .. }
    ));
    assert_eq!(s.last_tag_names(), ["lan", "mac", "rid"]);
}

#[test]
fn ignore_names_drops_the_supplied_name_not_the_hosts() {
    let mut cfg = lab();
    cfg.ignore_names = vec![vec![cond("lan")]];
    let mut s = Server6::new(cfg).unwrap();
    let fqdn = [&[0u8, 4][..], b"pc-7", &[0]].concat();
    let mut req = Message::decode(&mut Decoder::new(&solicit_with(&DUID, &[(39, fqdn)]))).unwrap();
    req.set_msg_type(MessageType::Request);
    req.opts_mut()
        .insert(DhcpOption::ServerId(SERVER_DUID.to_vec()));
    let act = s.handle(WALL, &link(), src(), &req.to_vec().unwrap());
    let Action6::Reply { changes, .. } = act else {
        panic!("{act:?}")
    };
    assert_eq!(changes.len(), 1);
    assert!(s.names().is_empty(), "{:?}", s.names());
}

#[test]
fn script_info_from_a_message() {
    let uc = [&[0u8, 6][..], b"office", &[0, 2], b"hq"].concat();
    let vc = [&[0u8, 0, 0x11, 0x8b, 0, 9][..], b"docsis3.1"].concat();
    let fqdn = [&[0u8, 4][..], b"pc-7", &[0]].concat();
    let msg = solicit_with(
        &DUID,
        &[(15, uc), (16, vc), (39, fqdn), (6, vec![0, 23, 0, 24])],
    );
    let msg = relayed(&msg, &[0, 0, 0, 9, 1], b"s");
    let inb = wire::decode(&msg).unwrap();
    let r = Request6Info::from_message("eth0", &inb, vec!["lan".into()]);
    assert_eq!(r.interface, "eth0");
    assert_eq!(r.supplied_hostname.as_deref(), Some("pc-7"));
    assert_eq!(r.user_classes, ["office", "hq"]);
    assert_eq!(r.vendor_class, Some((4491, vec!["docsis3.1".to_string()])));
    assert_eq!(r.requested_options, [23, 24]);
    assert_eq!(r.relay, Some(a("fd00:6::1")));
    assert_eq!(r.tags, ["lan"]);
    // Truncated class lists end where the data does.
    assert_eq!(wire::opaque_items(&[0, 5, b'a']).count(), 0);
    assert_eq!(wire::opaque_items(&[0, 1, b'a', 0]).count(), 1);
}
