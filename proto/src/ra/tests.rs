use std::net::{IpAddr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::iface::{INFINITE, IfAddr, Interface};

fn addr(a: &str, len: u8) -> IfAddr {
    IfAddr {
        addr: a.parse().unwrap(),
        prefix_len: len,
        permanent: true,
        tentative: false,
        deprecated: false,
        temporary: false,
        valid_secs: INFINITE,
        preferred_secs: INFINITE,
    }
}

fn eth0() -> Interface {
    Interface {
        index: 2,
        name: "eth0".into(),
        mac: vec![2, 0, 0, 0, 0, 1],
        mtu: 1500,
        up: true,
        loopback: false,
        addrs: vec![
            addr("192.168.1.1", 24),
            addr("2001:db8:1::1", 64),
            addr("fe80::1", 64),
        ],
    }
}

fn range(start: &str, constructor: Option<&str>, flags: RangeFlags, lease: u32) -> RaRange {
    RaRange {
        start: start.parse().unwrap(),
        constructor: constructor.map(Into::into),
        prefix_len: 64,
        flags,
        lease_secs: lease,
    }
}

fn ra_only() -> RangeFlags {
    RangeFlags {
        slaac: true,
        ..RangeFlags::default()
    }
}

fn cfg(ranges: Vec<RaRange>) -> RaConfig {
    RaConfig {
        ranges,
        dns_enabled: true,
        ..RaConfig::default()
    }
}

#[test]
fn ra_only_constructor_with_infinite_lease() {
    let c = cfg(vec![range("::", Some("eth*"), ra_only(), INFINITE)]);
    let a = advert_for(&c, &RaParams::default(), &eth0()).unwrap();
    assert!(!a.managed && !a.other);
    assert_eq!(a.router_lifetime, 1800);
    assert_eq!(a.mtu, Some(1500));
    assert_eq!(a.source_lla.as_deref(), Some(&[2, 0, 0, 0, 0, 1][..]));
    assert_eq!(
        a.prefixes,
        vec![PrefixInfo {
            prefix: "2001:db8:1::".parse().unwrap(),
            len: 64,
            on_link: true,
            autonomous: true,
            router_address: false,
            valid: INFINITE,
            preferred: INFINITE,
        }]
    );
    // dnsmasq's default RDNSS: the interface's link-local address.
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    assert_eq!(a.rdnss, Some((1800, vec![ll])));
}

#[test]
fn no_default_rdnss_without_a_dns_server() {
    let mut c = cfg(vec![range("::", Some("eth0"), ra_only(), INFINITE)]);
    c.dns_enabled = false;
    let a = advert_for(&c, &RaParams::default(), &eth0()).unwrap();
    assert_eq!(a.rdnss, None);
    assert_eq!(a.dnssl, None);
}

#[test]
fn modes_set_the_flags() {
    let managed = RangeFlags {
        managed: true,
        ..RangeFlags::default()
    };
    let c = cfg(vec![range("2001:db8:1::10", None, managed, 600)]);
    let a = advert_for(&c, &RaParams::default(), &eth0()).unwrap();
    assert!(a.managed && a.other && !a.prefixes[0].autonomous);
    // The lease is raised to three intervals.
    assert_eq!(a.prefixes[0].valid, 1800);
    let stateless = RangeFlags {
        slaac: true,
        other: true,
        advrouter: true,
        off_link: true,
        deprecated: true,
        ..RangeFlags::default()
    };
    let c = cfg(vec![range("2001:db8:1::", None, stateless, 7200)]);
    let a = advert_for(&c, &RaParams::default(), &eth0()).unwrap();
    assert!(!a.managed && a.other);
    let p = &a.prefixes[0];
    assert!(p.autonomous && !p.on_link && p.router_address);
    assert_eq!(p.prefix, "2001:db8:1::1".parse::<Ipv6Addr>().unwrap());
    assert_eq!((p.valid, p.preferred), (7200, 0));
}

#[test]
fn no_advert_without_a_matching_prefix_or_link_local() {
    let c = cfg(vec![range("2001:db8:9::", None, ra_only(), INFINITE)]);
    assert!(advert_for(&c, &RaParams::default(), &eth0()).is_none());
    let c = cfg(vec![range("::", Some("wlan0"), ra_only(), INFINITE)]);
    assert!(advert_for(&c, &RaParams::default(), &eth0()).is_none());
    let mut no_ll = eth0();
    no_ll
        .addrs
        .retain(|a| a.addr != "fe80::1".parse::<IpAddr>().unwrap());
    let c = cfg(vec![range("::", Some("eth0"), ra_only(), INFINITE)]);
    assert!(advert_for(&c, &RaParams::default(), &no_ll).is_none());
}

#[test]
fn constructor_follows_every_prefix_and_its_lifetime() {
    let mut i = eth0();
    let mut second = addr("2001:db8:2::1", 64);
    second.valid_secs = 5000;
    second.preferred_secs = 4000;
    i.addrs.push(second);
    let mut temp = addr("2001:db8:3::1234", 64);
    temp.temporary = true;
    i.addrs.push(temp);
    let c = cfg(vec![range("::", Some("eth0"), ra_only(), 86_400)]);
    let a = advert_for(&c, &RaParams::default(), &i).unwrap();
    let got: Vec<_> = a
        .prefixes
        .iter()
        .map(|p| (p.prefix.to_string(), p.valid, p.preferred))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2001:db8:1::".to_string(), 86_400, 86_400),
            ("2001:db8:2::".to_string(), 5000, 4000)
        ]
    );
}

#[test]
fn params_and_dns_options() {
    let mut c = cfg(vec![range("::", Some("eth0"), ra_only(), INFINITE)]);
    c.dns_servers = vec!["2001:db8::53".parse().unwrap(), Ipv6Addr::UNSPECIFIED];
    c.domains = vec!["lan.example".into()];
    let p = RaParams {
        interval_secs: 60,
        router_lifetime: 0,
        preference: Preference::High,
        mtu: MtuChoice::Value(1280),
    };
    let a = advert_for(&c, &p, &eth0()).unwrap();
    assert_eq!(a.router_lifetime, 0);
    // A router that is not a default router advertises medium preference (RFC 4191 2.2).
    assert_eq!(a.preference, Preference::Medium);
    assert_eq!(a.mtu, Some(1280));
    assert_eq!(a.rdnss.as_ref().unwrap().0, 180);
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    assert_eq!(a.rdnss.as_ref().unwrap().1[1], ll);
    assert_eq!(a.dnssl, Some((180, vec!["lan.example".to_string()])));
    let bytes = a.encode();
    assert_eq!(Advert::decode(&bytes).unwrap(), a);
}

/// A Router Solicitation as rdisc6 (ndisc6 1.0.5) sent it on a veth, captured with a raw ICMPv6
/// socket: type 133, code 0, checksum 0x7dbe, reserved, no options.
const RDISC6_RS: [u8; 8] = [0x85, 0x00, 0x7d, 0xbe, 0x00, 0x00, 0x00, 0x00];

/// The same with a source link-layer address option (02:77:00:00:00:02) appended, as the
/// kernel's own solicitations carry.
fn rs_with_lla() -> Vec<u8> {
    let mut b = RDISC6_RS.to_vec();
    b.extend_from_slice(&[0x01, 0x01, 0x02, 0x77, 0x00, 0x00, 0x00, 0x02]);
    b
}

#[test]
fn captured_solicitation_decodes() {
    assert_eq!(Solicitation::decode(&RDISC6_RS).unwrap().source_lla, None);
    let s = Solicitation::decode(&rs_with_lla()).unwrap();
    assert_eq!(s.source_lla, Some(vec![2, 0x77, 0, 0, 0, 2]));
}

#[test]
fn malformed_messages_are_rejected() {
    assert_eq!(
        Solicitation::decode(&RDISC6_RS[..7]),
        Err(MessageError::Short)
    );
    let mut zero_len = rs_with_lla();
    zero_len[9] = 0;
    assert_eq!(
        Solicitation::decode(&zero_len),
        Err(MessageError::BadOption)
    );
    let mut overrun = rs_with_lla();
    overrun[9] = 2;
    assert_eq!(Solicitation::decode(&overrun), Err(MessageError::BadOption));
    let mut wrong = rs_with_lla();
    wrong[1] = 1;
    assert_eq!(Solicitation::decode(&wrong), Err(MessageError::WrongType));
    assert!(Advert::decode(&rs_with_lla()).is_err());
}

fn arb_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]{1,10}", 1..4).prop_map(|l| l.join("."))
}

fn arb_advert() -> impl Strategy<Value = Advert> {
    let prefix = (
        any::<u128>(),
        0u8..=128,
        any::<[bool; 3]>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(p, len, f, valid, preferred)| PrefixInfo {
            prefix: Ipv6Addr::from(p),
            len,
            on_link: f[0],
            autonomous: f[1],
            router_address: f[2],
            valid,
            preferred,
        });
    (
        (
            any::<u8>(),
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            any::<u16>(),
        ),
        (any::<u32>(), any::<u32>()),
        prop::option::of(prop::collection::vec(any::<u8>(), 6..=6)),
        prop::option::of(1280u32..65535),
        prop::collection::vec(prefix, 0..3),
        prop::option::of((
            any::<u32>(),
            prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from), 1..3),
        )),
        prop::option::of((any::<u32>(), prop::collection::vec(arb_name(), 1..3))),
    )
        .prop_map(
            |((hop, m, o, pref, life), (reach, retrans), lla, mtu, prefixes, rdnss, dnssl)| {
                Advert {
                    hop_limit: hop,
                    managed: m,
                    other: o,
                    preference: [Preference::High, Preference::Medium, Preference::Low]
                        [pref as usize],
                    router_lifetime: life,
                    reachable_ms: reach,
                    retrans_ms: retrans,
                    source_lla: lla,
                    mtu,
                    prefixes,
                    rdnss,
                    dnssl,
                }
            },
        )
}

proptest! {
    #[test]
    fn advert_round_trips(a in arb_advert()) {
        let bytes = a.encode();
        prop_assert_eq!(bytes.len() % 8, 0);
        prop_assert_eq!(Advert::decode(&bytes).unwrap(), a);
    }

    #[test]
    fn solicitation_round_trips(lla in prop::option::of(prop::collection::vec(any::<u8>(), 6..=6))) {
        let s = Solicitation { source_lla: lla };
        prop_assert_eq!(Solicitation::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn decoding_never_panics(b in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Advert::decode(&b);
        let _ = Solicitation::decode(&b);
    }
}
