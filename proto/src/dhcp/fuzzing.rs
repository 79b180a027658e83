//! Invariants the `dhcp_request` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::OnceLock;

use super::config::{DhcpConfig, HwAddrPattern, OptionSpec, Range, TagCond};
use super::matching::{MatchRule, MatchValue, Matcher, TagIf};
use super::packet::{HEADER_LEN, OptionTable, parse};
use super::server::{Action, InterfaceInfo, Ipv4Net, Scratch, Server};
use crate::time::Instant;

fn cond(tag: &str) -> Vec<TagCond> {
    vec![TagCond {
        tag: tag.into(),
        negated: false,
    }]
}

/// A server using every request-reading feature: matchers of each kind, tag-if, ignore,
/// ignored and generated names, option 81, a relayed range, and options big enough to need
/// overload.
fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(|| {
        let mut far = Range::new(Ipv4Addr::new(10, 88, 0, 10), Ipv4Addr::new(10, 88, 0, 200));
        far.netmask = Some(Ipv4Addr::new(255, 255, 255, 0));
        let rule = |tag: &str, matcher| MatchRule {
            tag: tag.into(),
            matcher,
        };
        let cfg = DhcpConfig {
            ranges: vec![
                Range::new(Ipv4Addr::new(10, 77, 0, 50), Ipv4Addr::new(10, 77, 0, 200)),
                far,
            ],
            matches: vec![
                rule(
                    "o",
                    Matcher::Option {
                        code: 93,
                        value: MatchValue::Element(vec![0, 7]),
                    },
                ),
                rule(
                    "p",
                    Matcher::Option {
                        code: 60,
                        value: MatchValue::Prefix(vec![Some(b'P'), None]),
                    },
                ),
                rule(
                    "v",
                    Matcher::ViEncap {
                        enterprise: 3561,
                        value: MatchValue::Substring(b"x".to_vec()),
                    },
                ),
                rule("u", Matcher::UserClass(b"office".to_vec())),
                rule(
                    "c",
                    Matcher::Agent {
                        sub: 1,
                        value: b"port".to_vec(),
                    },
                ),
                rule(
                    "m",
                    Matcher::Mac(HwAddrPattern {
                        htype: None,
                        bytes: vec![None, Some(0), None, None, None, None],
                    }),
                ),
            ],
            tag_ifs: vec![TagIf {
                set: vec!["q".into()],
                when: cond("o"),
            }],
            ignore: vec![cond("p")],
            ignore_names: vec![cond("u")],
            generate_names: vec![vec![]],
            reply_delay: vec![(cond("c"), 1)],
            domain: Some("lab.test".into()),
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
            authoritative: true,
            rapid_commit: true,
            bootp_dynamic: true,
            lease_max: 100_000,
            ..DhcpConfig::default()
        };
        Server::new(cfg).expect("fuzz configuration")
    })
}

/// Hands `data` to the server as a request; a reply must be a BOOTREPLY of at most 1500 bytes
/// whose options (followed through overload) parse. Panics on a broken invariant.
pub fn check_request(data: &[u8]) {
    let addrs = [Ipv4Net {
        addr: Ipv4Addr::new(10, 77, 0, 1),
        prefix: 24,
    }];
    let iface = InterfaceInfo {
        index: 2,
        name: "eth0",
        addrs: &addrs,
    };
    let mut sc = Scratch::default();
    let src = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
    let action = server().handle(
        &mut sc,
        Instant::default(),
        1_700_000_000,
        &iface,
        src,
        data,
    );
    if let Action::Reply { bytes, .. } | Action::Probe { bytes, .. } = action {
        assert!(bytes.len() >= 300 && bytes.len() <= 1500);
        assert_eq!(bytes[0], 2);
        let mut back = bytes.to_vec();
        back[0] = 1;
        let mut t = OptionTable::default();
        parse(&back, &mut t).expect("our reply's options parse");
        assert!(back.len() > HEADER_LEN);
    }
}
