//! Server tests of tags and names: matchers, `--tag-if`, `--dhcp-ignore`, host names
//! (ignored, generated, option 81), interface filtering, reply delay and relay-agent matches.

use std::net::Ipv4Addr;

use dhcproto::{Decodable, Decoder, v4};

use super::matching::{MatchRule, MatchValue, Matcher, TagIf};
use super::packet::{code, msg};
use super::tests::{
    DHCLIENT_DISCOVER, UDHCPC_DISCOVER, WALL, addrs, build, config, iface, run, src,
};
use super::*;
use crate::time::Instant;

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x31];

fn cond(tag: &str, negated: bool) -> TagCond {
    TagCond {
        tag: tag.into(),
        negated,
    }
}

fn tagged_option(tag: &str, code: u8, value: &[u8]) -> OptionSpec {
    OptionSpec {
        tags: vec![cond(tag, false)],
        force: true,
        ..OptionSpec::new(code, value.to_vec())
    }
}

fn rule(tag: &str, matcher: Matcher) -> MatchRule {
    MatchRule {
        tag: tag.into(),
        matcher,
    }
}

/// The raw reply to `p`.
fn reply(s: &Server, p: &[u8]) -> Vec<u8> {
    let mut sc = Scratch::default();
    let a = addrs();
    match s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), p) {
        Action::Reply { bytes, .. } | Action::Probe { bytes, .. } => bytes.to_vec(),
        other => panic!("no reply: {other:?}"),
    }
}

/// The value of option `c` in the raw reply `wire`.
fn raw_opt(wire: &[u8], c: u8) -> Option<Vec<u8>> {
    let mut i = 240;
    while i + 1 < wire.len() {
        match wire[i] {
            0 => i += 1,
            255 => break,
            x => {
                let len = usize::from(wire[i + 1]);
                if x == c {
                    return Some(wire[i + 2..i + 2 + len].to_vec());
                }
                i += 2 + len;
            }
        }
    }
    None
}

/// The value of option `c` in a decoded reply.
fn opt(m: &v4::Message, c: u8) -> Option<Vec<u8>> {
    use dhcproto::{Encodable, Encoder};
    let mut wire = Vec::new();
    m.encode(&mut Encoder::new(&mut wire)).ok()?;
    raw_opt(&wire, c)
}

#[test]
fn vendor_user_class_and_match_tags_select_options() {
    let mut cfg = config();
    cfg.matches = vec![
        rule("vc", Matcher::VendorClass(b"udvend".to_vec())),
        rule("uc", Matcher::UserClass(b"office".to_vec())),
        rule(
            "arch",
            Matcher::Option {
                code: 93,
                value: MatchValue::Element(vec![0, 7]),
            },
        ),
        rule(
            "vm",
            Matcher::Mac(HwAddrPattern {
                htype: None,
                bytes: vec![Some(2), None, None, None, None, Some(0x31)],
            }),
        ),
    ];
    cfg.tag_ifs = vec![TagIf {
        set: vec!["both".into()],
        when: vec![cond("uc", false), cond("arch", false)],
    }];
    cfg.options = vec![
        tagged_option("vc", 3, &[10, 77, 0, 3]),
        tagged_option("uc", 42, &[10, 77, 0, 42]),
        tagged_option("both", 4, &[10, 77, 0, 4]),
        tagged_option("vm", 9, &[10, 77, 0, 9]),
    ];
    let s = Server::new(cfg).unwrap();
    // The captured udhcpc DISCOVER carries vendor class "udvendor" (udhcpc -V udvendor).
    let (_, offer, _) = run(&s, WALL, UDHCPC_DISCOVER).unwrap();
    assert_eq!(opt(&offer, 3), Some(vec![10, 77, 0, 3]));
    assert_eq!(opt(&offer, 42), None);
    // dhclient's has none: no tag, no option.
    let (_, offer, _) = run(&s, WALL, DHCLIENT_DISCOVER).unwrap();
    assert_ne!(opt(&offer, 3), Some(vec![10, 77, 0, 3]));
    // A user class alone gives its option; with client-arch 7 too, tag-if sets "both".
    let uc: &[u8] = &[6, b'o', b'f', b'f', b'i', b'c', b'e'];
    let (_, offer, _) = run(
        &s,
        WALL,
        &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[(77, uc)]),
    )
    .unwrap();
    assert_eq!(opt(&offer, 42), Some(vec![10, 77, 0, 42]));
    assert_eq!(opt(&offer, 4), None);
    assert_eq!(
        opt(&offer, 9),
        Some(vec![10, 77, 0, 9]),
        "dhcp-mac wildcard"
    );
    let p = build(
        msg::DISCOVER,
        MAC,
        Ipv4Addr::UNSPECIFIED,
        &[(77, uc), (93, &[0, 0, 0, 7])],
    );
    let (_, offer, _) = run(&s, WALL, &p).unwrap();
    assert_eq!(opt(&offer, 4), Some(vec![10, 77, 0, 4]));
}

#[test]
fn ignore_by_tags_and_known() {
    let mut cfg = config();
    cfg.hosts.push(Host {
        macs: vec![HwAddrPattern::exact(&MAC)],
        ..Host::default()
    });
    cfg.ignore = vec![vec![cond("known", true)]];
    let s = Server::new(cfg).unwrap();
    let stranger = build(
        msg::DISCOVER,
        [2, 0, 0, 0, 0, 0x99],
        Ipv4Addr::UNSPECIFIED,
        &[],
    );
    assert_eq!(run(&s, WALL, &stranger).unwrap_err(), DropReason::Ignored);
    let known = build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[]);
    assert!(run(&s, WALL, &known).is_ok());
    assert_eq!(s.stats.drops_for(DropReason::Ignored), 1);
}

fn lease_name(s: &Server, mac: [u8; 6], extra: &[(u8, &[u8])]) -> Option<String> {
    let d = build(msg::DISCOVER, mac, Ipv4Addr::UNSPECIFIED, extra);
    let (_, offer, _) = run(s, WALL, &d).unwrap();
    let ip = offer.yiaddr().octets();
    let mut ex = extra.to_vec();
    ex.push((code::REQUESTED_IP, &ip));
    let (_, ack, _) = run(
        s,
        WALL,
        &build(msg::REQUEST, mac, Ipv4Addr::UNSPECIFIED, &ex),
    )
    .unwrap();
    assert_eq!(ack.opts().msg_type(), Some(v4::MessageType::Ack));
    s.allocator()
        .snapshot(WALL)
        .into_iter()
        .find(|l| l.addr == offer.yiaddr())
        .and_then(|l| l.hostname)
}

#[test]
fn names_ignored_generated_and_from_option_81() {
    let mut cfg = config();
    cfg.ignore_names = vec![vec![cond("noname", false)]];
    cfg.generate_names = vec![vec![]];
    cfg.matches = vec![rule("noname", Matcher::VendorClass(b"quiet".to_vec()))];
    let s = Server::new(cfg).unwrap();
    assert_eq!(
        lease_name(&s, [2, 0, 0, 0, 0, 1], &[(12, b"laptop")]).as_deref(),
        Some("laptop")
    );
    // Its name ignored, the client is named after its MAC.
    assert_eq!(
        lease_name(&s, [2, 0, 0, 0, 0, 2], &[(12, b"laptop2"), (60, b"quiet")]).as_deref(),
        Some("02-00-00-00-00-02")
    );
    // Option 81 in wire format (E flag), preferred to option 12.
    let fqdn: &[u8] = &[0x05, 0, 0, 3, b'p', b'c', b'3', 3, b'l', b'a', b'b', 0];
    assert_eq!(
        lease_name(&s, [2, 0, 0, 0, 0, 3], &[(81, fqdn), (12, b"other")]).as_deref(),
        Some("pc3")
    );
}

#[test]
fn option_81_reply_flags() {
    let mut cfg = config();
    cfg.domain = Some("lab.test".into());
    let s = Server::new(cfg).unwrap();
    // Client asks the server to update (S) in wire format (E): N and O set, S clear.
    let fqdn: &[u8] = &[0x05, 0, 0, 2, b'p', b'c', 0];
    let r = reply(
        &s,
        &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[(81, fqdn)]),
    );
    let v = raw_opt(&r, 81).unwrap();
    assert_eq!(&v[..3], &[0x04 | 0x08 | 0x02, 255, 255]);
    assert_eq!(
        &v[3..],
        &[
            2, b'p', b'c', 3, b'l', b'a', b'b', 4, b't', b'e', b's', b't', 0
        ]
    );
    // --dhcp-client-update: the client's own wish (S clear) stands; ASCII stays ASCII.
    let mut cfg = config();
    cfg.client_update = true;
    cfg.domain = Some("lab.test".into());
    let s = Server::new(cfg).unwrap();
    let ascii: &[u8] = &[0x00, 0, 0, b'p', b'c'];
    let r = reply(
        &s,
        &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[(81, ascii)]),
    );
    assert_eq!(raw_opt(&r, 81).unwrap(), b"\x00\xff\xffpc.lab.test");
    // No option 81 asked: none sent.
    let r = reply(&s, &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[]));
    assert_eq!(raw_opt(&r, 81), None);
}

#[test]
fn interfaces_not_served_and_reply_delay() {
    let mut cfg = config();
    cfg.interfaces.no_dhcp = vec!["rmqd*".into()];
    let s = Server::new(cfg).unwrap();
    assert_eq!(
        run(&s, WALL, DHCLIENT_DISCOVER).unwrap_err(),
        DropReason::InterfaceNotServed
    );
    let mut cfg = config();
    cfg.interfaces.only = vec!["rmqd0".into()];
    cfg.reply_delay = vec![(vec![cond("vc", false)], 3)];
    cfg.matches = vec![rule("vc", Matcher::VendorClass(b"udvend".to_vec()))];
    let s = Server::new(cfg).unwrap();
    let mut sc = Scratch::default();
    let a = addrs();
    for (p, delay) in [(UDHCPC_DISCOVER, 3), (DHCLIENT_DISCOVER, 0)] {
        let r = s.handle(&mut sc, Instant::default(), WALL, &iface(&a), src(), p);
        let (Action::Reply { bytes, .. } | Action::Probe { bytes, .. }) = r else {
            panic!("no reply")
        };
        let len = bytes.len();
        assert_eq!(sc.reply_delay(), delay);
        assert_eq!(sc.last_reply().len(), len);
    }
}

#[test]
fn relay_agent_suboptions_tag_the_request() {
    let mut cfg = config();
    let mut far = Range::new(Ipv4Addr::new(10, 88, 0, 10), Ipv4Addr::new(10, 88, 0, 20));
    far.netmask = Some(Ipv4Addr::new(255, 255, 255, 0));
    cfg.ranges.push(far);
    cfg.matches = vec![
        rule(
            "c",
            Matcher::Agent {
                sub: 1,
                value: b"port7".to_vec(),
            },
        ),
        rule(
            "r",
            Matcher::Agent {
                sub: 2,
                value: vec![0xaa, 0xbb],
            },
        ),
        rule(
            "s",
            Matcher::Agent {
                sub: 6,
                value: b"sub".to_vec(),
            },
        ),
    ];
    cfg.options = vec![
        tagged_option("c", 42, &[1, 1, 1, 1]),
        tagged_option("r", 4, &[2, 2, 2, 2]),
        tagged_option("s", 9, &[3, 3, 3, 3]),
    ];
    let s = Server::new(cfg).unwrap();
    let agent: &[u8] = &[
        1, 5, b'p', b'o', b'r', b't', b'7', 2, 2, 0xaa, 0xbb, 6, 3, b's', b'u', b'x',
    ];
    let mut p = build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[(82, agent)]);
    p[24..28].copy_from_slice(&[10, 88, 0, 1]);
    let (to, offer, _) = run(&s, WALL, &p).unwrap();
    assert_eq!(to, ReplyTo::Relay(Ipv4Addr::new(10, 88, 0, 1)));
    assert_eq!(offer.yiaddr().octets()[..3], [10, 88, 0]);
    assert_eq!(opt(&offer, 42), Some(vec![1, 1, 1, 1]));
    assert_eq!(opt(&offer, 4), Some(vec![2, 2, 2, 2]));
    assert_eq!(opt(&offer, 9), None, "subscriber-id differs");
    let m = v4::Message::decode(&mut Decoder::new(&p)).unwrap();
    assert!(
        m.opts()
            .get(v4::OptionCode::RelayAgentInformation)
            .is_some()
    );
}

#[test]
fn tagged_bootp_dynamic() {
    let mut cfg = config();
    cfg.bootp_dynamic = true;
    cfg.bootp_dynamic_tags = vec!["lab".into()];
    cfg.matches = vec![rule(
        "lab",
        Matcher::Mac(HwAddrPattern {
            htype: None,
            bytes: vec![Some(2), Some(0xb0), None, None, None, None],
        }),
    )];
    let s = Server::new(cfg).unwrap();
    let bootp = |mac: [u8; 6]| {
        let mut p = build(0, mac, Ipv4Addr::UNSPECIFIED, &[]);
        p.truncate(super::packet::HEADER_LEN + 4);
        p.resize(300, 0);
        p
    };
    let (_, r, _) = run(&s, WALL, &bootp([2, 0xb0, 0, 0, 0, 1])).unwrap();
    assert_eq!(r.yiaddr().octets()[..3], [10, 77, 0]);
    assert_eq!(
        run(&s, WALL, &bootp([2, 0xb1, 0, 0, 0, 1])).unwrap_err(),
        DropReason::BootpNoAddress
    );
}

#[test]
fn dhcp_broadcast_needs_all_tags_of_a_line() {
    let mut cfg = config();
    cfg.matches = vec![
        rule("a", Matcher::VendorClass(b"aa".to_vec())),
        rule("b", Matcher::UserClass(b"bb".to_vec())),
    ];
    cfg.broadcast = vec![vec![cond("a", false), cond("b", false)]];
    let s = Server::new(cfg).unwrap();
    let to = |extra: &[(u8, &[u8])]| {
        run(
            &s,
            WALL,
            &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, extra),
        )
        .unwrap()
        .0
    };
    assert!(matches!(
        to(&[(60, b"aa")]),
        ReplyTo::UnicastToClientHw { .. }
    ));
    assert_eq!(to(&[(60, b"aa"), (77, b"bb")]), ReplyTo::Broadcast);
    let mut cfg = config();
    cfg.broadcast = vec![vec![]];
    let s = Server::new(cfg).unwrap();
    let (to, _, _) = run(
        &s,
        WALL,
        &build(msg::DISCOVER, MAC, Ipv4Addr::UNSPECIFIED, &[]),
    )
    .unwrap();
    assert_eq!(to, ReplyTo::Broadcast);
}
