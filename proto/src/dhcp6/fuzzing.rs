//! Entry point for the `dhcp6_request` fuzz target and its corpus replay: any datagram is
//! handled by a server with a pool, a fixed host, tag matchers, a tagged range and tagged
//! options, and must neither panic nor produce a reply that fails to decode.

use std::net::{Ipv6Addr, SocketAddrV6};

use super::config::{Config6, Host6, Ipv6Net, Link6, Option6, Range6};
use super::server::{Action6, Server6};
use super::tags::{MatchRule6, Matcher6};
use super::wire;
use crate::dhcp::config::TagCond;
use crate::dhcp::matching::{MatchValue, TagIf};

fn range(start: &str, end: &str, need: &[&str], set: Option<&str>) -> Range6 {
    Range6 {
        start: start.parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
        end: end.parse().ok(),
        prefix_len: 64,
        constructor: None,
        lease: Some(3600),
        deprecated: false,
        stateful: true,
        match_tags: need.iter().map(|t| t.to_string()).collect(),
        set_tag: set.map(str::to_string),
    }
}

fn cond(tag: &str, negated: bool) -> TagCond {
    TagCond {
        tag: tag.into(),
        negated,
    }
}

fn rule(tag: &str, matcher: Matcher6) -> MatchRule6 {
    MatchRule6 {
        tag: tag.into(),
        matcher,
    }
}

/// A server like the end-to-end tests' (fd00:6::/64, pool ::100-::1ff, one fixed host), with
/// a range for tagged clients (::10-::1f), every kind of matcher, `--tag-if`, `--dhcp-ignore`
/// and tagged options.
pub fn server() -> Server6 {
    let cfg = Config6 {
        ranges: vec![
            range("fd00:6::10", "fd00:6::1f", &["vip"], Some("vipnet")),
            range("fd00:6::100", "fd00:6::1ff", &[], Some("lan")),
        ],
        hosts: vec![Host6 {
            duids: vec![vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 9]],
            addr: "fd00:6::9".parse().ok(),
            name: Some("fixed".into()),
            set_tags: vec!["vip".into()],
            ..Host6::default()
        }],
        server_duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
        domain: Some("lan".into()),
        options: vec![
            Option6 {
                code: 23,
                value: "fd00:6::53"
                    .parse::<Ipv6Addr>()
                    .map_or(vec![], |a| a.octets().to_vec()),
                tags: vec![cond("vip", false)],
            },
            Option6 {
                code: 24,
                value: vec![3, b'v', b'i', b'p', 0],
                tags: vec![cond("vip", true), cond("lan", false)],
            },
            Option6 {
                code: 56,
                value: vec![
                    0, 1, 0, 16, 0xfd, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x23,
                ],
                tags: vec![],
            },
        ],
        matches: vec![
            rule("uc", Matcher6::UserClass(b"office".to_vec())),
            rule(
                "vc",
                Matcher6::VendorClass {
                    enterprise: Some(4491),
                    class: b"docsis".to_vec(),
                },
            ),
            rule(
                "o39",
                Matcher6::Option {
                    code: 39,
                    value: MatchValue::Prefix(vec![Some(0), None]),
                },
            ),
            rule("rid", Matcher6::RemoteId(b"r1".to_vec())),
            rule("sid", Matcher6::SubscriberId(b"s1".to_vec())),
            rule("nm", Matcher6::Name("pc-*".into())),
        ],
        tag_ifs: vec![TagIf {
            set: vec!["vip".into()],
            when: vec![cond("uc", false), cond("vc", true)],
        }],
        ignore: vec![vec![cond("sid", false), cond("rid", false)]],
        ignore_names: vec![vec![cond("nm", false)]],
        ..Config6::default()
    };
    Server6::new(cfg).expect("fuzz configuration")
}

/// Feeds `data` to [`server`] as if it arrived on-link, checking the reply decodes.
pub fn check_request6(data: &[u8]) {
    let mut s = server();
    let addrs = [
        Ipv6Net {
            addr: "fd00:6::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            prefix: 64,
        },
        Ipv6Net {
            addr: "fe80::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            prefix: 64,
        },
    ];
    let link = Link6 {
        index: 2,
        name: "eth0",
        addrs: &addrs,
    };
    let src = SocketAddrV6::new(
        "fe80::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
        546,
        0,
        2,
    );
    for wall in [1_000_000, 1_000_100] {
        if let Action6::Reply { bytes, .. } = s.handle(wall, &link, src, data) {
            assert!(wire::decode_reply(&bytes).is_ok(), "reply does not decode");
        }
    }
}
