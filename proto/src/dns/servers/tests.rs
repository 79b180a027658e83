use super::*;

fn wire(s: &str) -> Vec<u8> {
    let mut w = dotted_to_wire_suffix(s);
    w.push(0);
    w
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn longest_suffix_wins() {
    let mut b = ServerTableBuilder::new();
    b.add_default(addr("127.0.0.1:53"));
    b.add_domain(
        &DomainPattern::Suffix("example.com".into()),
        DomainAction::Forward(addr("127.0.0.2:53")),
    );
    b.add_domain(
        &DomainPattern::Suffix("a.example.com".into()),
        DomainAction::Forward(addr("127.0.0.3:53")),
    );
    b.add_domain(
        &DomainPattern::Suffix("local.example.com".into()),
        DomainAction::LocalOnly,
    );
    b.add_domain(
        &DomainPattern::Suffix("def.example.com".into()),
        DomainAction::UseDefault,
    );
    let t = b.build();
    let server_of = |name: &str| match t.route(&wire(name)) {
        Route::Group(g) => t.servers()[t.group(g)[0]].addr,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(server_of("www.example.com"), addr("127.0.0.2:53"));
    assert_eq!(
        server_of("EXAMPLE.com".to_lowercase().as_str()),
        addr("127.0.0.2:53")
    );
    assert_eq!(server_of("x.a.example.com"), addr("127.0.0.3:53"));
    assert_eq!(server_of("x.def.example.com"), addr("127.0.0.1:53"));
    assert_eq!(server_of("other.org"), addr("127.0.0.1:53"));
    // "xexample.com" is not under "example.com": matching is label-wise.
    assert_eq!(server_of("xexample.com"), addr("127.0.0.1:53"));
    assert_eq!(t.route(&wire("h.local.example.com")), Route::LocalOnly);
}

#[test]
fn wildcard_matches_text_suffix() {
    let mut b = ServerTableBuilder::new();
    b.add_default(addr("127.0.0.1:53"));
    b.add_domain(
        &DomainPattern::Wildcard("google.com".into()),
        DomainAction::Forward(addr("127.0.0.9:53")),
    );
    let t = b.build();
    let first = |name: &str| match t.route(&wire(name)) {
        Route::Group(g) => t.servers()[t.group(g)[0]].addr,
        other => panic!("{other:?}"),
    };
    assert_eq!(first("supergoogle.com"), addr("127.0.0.9:53"));
    assert_eq!(first("www.google.com"), addr("127.0.0.9:53"));
    assert_eq!(first("google.org"), addr("127.0.0.1:53"));
}

#[test]
fn unqualified_and_no_servers() {
    let mut b = ServerTableBuilder::new();
    b.add_domain(&DomainPattern::Unqualified, DomainAction::LocalOnly);
    let t = b.build();
    assert_eq!(t.route(&wire("printer")), Route::LocalOnly);
    assert_eq!(t.route(&wire("printer.lan")), Route::NoServers);
}

/// The precedence dnsmasq 2.90 was observed to use (see tests/tests/local_records.rs).
#[test]
fn address_rules_follow_dnsmasq_precedence() {
    let mut b = ServerTableBuilder::new();
    b.add_default(addr("127.0.0.1:53"));
    let sfx = |s: &str| DomainPattern::Suffix(s.into());
    b.add_domain(
        &sfx("addr.test"),
        DomainAction::Address("192.0.2.1".parse().unwrap()),
    );
    b.add_domain(
        &sfx("addr.test"),
        DomainAction::Address("2001:db8::1".parse().unwrap()),
    );
    b.add_domain(
        &sfx("sub.addr.test"),
        DomainAction::Address("192.0.2.9".parse().unwrap()),
    );
    b.add_domain(
        &sfx("srv.addr.test"),
        DomainAction::Forward(addr("127.0.0.5:53")),
    );
    b.add_domain(&sfx("null.test"), DomainAction::NullAddress);
    b.add_domain(&sfx("nx.test"), DomainAction::LocalOnly);
    b.add_domain(
        &sfx("mixed.test"),
        DomainAction::Address("192.0.2.3".parse().unwrap()),
    );
    b.add_domain(&sfx("mixed.test"), DomainAction::LocalOnly);
    let t = b.build();
    assert!(t.answers_locally());
    let r = |n: &str, q: u16| t.route_for(&wire(n), q);
    let v4 = |n: &str, q: u16| match r(n, q) {
        Route::Address(a) => t.address_v4(a).to_vec(),
        other => panic!("{n}: {other:?}"),
    };
    let v6 = |n: &str, q: u16| match r(n, q) {
        Route::Address(a) => t.address_v6(a).to_vec(),
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(
        v4("x.addr.test", 1),
        ["192.0.2.1".parse::<Ipv4Addr>().unwrap()]
    );
    assert_eq!(
        v6("addr.test", 28),
        ["2001:db8::1".parse::<Ipv6Addr>().unwrap()]
    );
    // ANY takes the IPv6 addresses only, as dnsmasq.
    assert_eq!(v6("addr.test", 255).len(), 1);
    assert_eq!(v4("addr.test", 255).len(), 0);
    // MX is not an address question: forwarded.
    assert_eq!(r("addr.test", 15), Route::Group(0));
    // A more specific domain with only IPv4 leaves AAAA to the parent's rules.
    assert_eq!(
        v4("a.sub.addr.test", 1),
        ["192.0.2.9".parse::<Ipv4Addr>().unwrap()]
    );
    assert_eq!(v6("a.sub.addr.test", 28).len(), 1);
    assert!(matches!(r("srv.addr.test", 1), Route::Group(g) if g != 0));
    assert!(matches!(r("null.test", 28), Route::Address(a) if a.kind == AddressKind::Null));
    assert_eq!(r("null.test", 16), Route::Group(0));
    assert_eq!(r("a.nx.test", 1), Route::LocalOnly);
    assert_eq!(r("mixed.test", 28), Route::LocalOnly);
    assert_eq!(v4("mixed.test", 1).len(), 1);
    // route() without a type ignores addresses.
    assert_eq!(t.route(&wire("addr.test")), Route::Group(0));
}

#[test]
fn under_address_counts_address_rules_only() {
    let mut b = ServerTableBuilder::new();
    b.add_default(addr("127.0.0.2:53"));
    let sfx = |s: &str| DomainPattern::Suffix(s.into());
    b.add_domain(
        &sfx("addr.test"),
        DomainAction::Address("192.0.2.1".parse().unwrap()),
    );
    b.add_domain(
        &sfx("srv.addr.test"),
        DomainAction::Forward(addr("127.0.0.3:53")),
    );
    b.add_domain(&sfx("null.test"), DomainAction::NullAddress);
    b.add_domain(&sfx("loc.test"), DomainAction::LocalOnly);
    b.add_domain(
        &DomainPattern::Wildcard("wild.test".into()),
        DomainAction::Address("::1".parse().unwrap()),
    );
    let t = b.build();
    for n in [
        "addr.test",
        "x.addr.test",
        "srv.addr.test",
        "null.test",
        "a.null.test",
        "xwild.test",
    ] {
        assert!(t.under_address(&wire(n)), "{n}");
    }
    for n in ["test", "other.test", "loc.test", "x.loc.test", "ild.test"] {
        assert!(!t.under_address(&wire(n)), "{n}");
    }
}

#[test]
fn in_flight_limit() {
    let s = Server::new(addr("127.0.0.1:53"), Egress::Pool);
    assert!(s.try_reserve(2));
    assert!(s.try_reserve(2));
    assert!(!s.try_reserve(2));
    s.release();
    assert!(s.try_reserve(2));
}
