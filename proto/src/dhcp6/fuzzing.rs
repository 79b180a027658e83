//! Entry point for the `dhcp6_request` fuzz target and its corpus replay: any datagram is
//! handled by a server with a pool, a fixed host and options, and must neither panic nor
//! produce a reply that fails to decode.

use std::net::{Ipv6Addr, SocketAddrV6};

use super::config::{Config6, Host6, Ipv6Net, Link6, Range6};
use super::server::{Action6, Server6};
use super::wire;

/// A server like the end-to-end tests' (fd00:6::/64, pool ::100-::1ff, one fixed host).
pub fn server() -> Server6 {
    Server6::new(Config6 {
        ranges: vec![Range6 {
            start: "fd00:6::100".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            end: "fd00:6::1ff".parse().ok(),
            prefix_len: 64,
            constructor: None,
            lease: Some(3600),
            deprecated: false,
            stateful: true,
        }],
        hosts: vec![Host6 {
            duids: vec![vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 9]],
            addr: "fd00:6::9".parse().ok(),
            name: Some("fixed".into()),
            ..Host6::default()
        }],
        server_duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
        domain: Some("lan".into()),
        ..Config6::default()
    })
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
