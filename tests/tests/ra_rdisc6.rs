//! Router advertisements seen by rdisc6 (ndisc6) on a veth link in namespaces the test creates:
//! the prefix of an explicit `ra-only` range with `ra-advrouter`, the M/O flags, the
//! `--ra-param` MTU, preference and lifetimes, and RDNSS/DNSSL (RFC 8106) from the DHCPv6
//! `dns-server`/`domain-search` options — then a `constructor:` range with the defaults: the
//! link-local address as RDNSS.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, SERVER_IF, rdisc6_field, usable};

#[test]
fn rdisc6_sees_prefix_flags_rdnss_and_lifetimes() {
    if !usable(&["rdisc6"]) {
        return;
    }
    let mut lab = Lab6::new("rd", &["2001:db8:1::1/64"]);
    let param = format!("--ra-param={SERVER_IF},mtu:1400,high,30,90");
    lab.start_ringmasq(&[
        "--enable-ra",
        "--domain=lab.test",
        "--dhcp-option=option6:dns-server,[2001:db8:1::53],[::]",
        "--dhcp-option=option6:domain-search,corp.test",
        "--dhcp-range=2001:db8:1::,ra-only,ra-advrouter,2h",
        &param,
    ]);
    lab.wait_log("router advertisement on rmq6s", Duration::from_secs(10));
    let out = lab.rdisc6();
    let f = |n: &str| rdisc6_field(&out, n).unwrap_or_else(|| panic!("no {n} in:\n{out}"));
    assert_eq!(f("Stateful address conf."), "No", "{out}");
    assert_eq!(f("Stateful other conf."), "No", "{out}");
    assert_eq!(f("Router preference"), "high", "{out}");
    assert!(f("Router lifetime").starts_with("90 "), "{out}");
    assert!(f("MTU").starts_with("1400 bytes"), "{out}");
    // ra-advrouter: the router's own address in the prefix option (RFC 6275 7.2).
    assert_eq!(f("Prefix"), "2001:db8:1::1/64", "{out}");
    assert_eq!(f("On-link"), "Yes", "{out}");
    assert_eq!(f("Autonomous address conf."), "Yes", "{out}");
    assert!(f("Valid time").starts_with("7200 "), "{out}");
    assert!(f("Pref. time").starts_with("7200 "), "{out}");
    // The configured server, then `[::]`: the link-local address the advertisement comes from.
    let from = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("from "))
        .expect("sender");
    let servers: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Recursive DNS server"))
        .map(|l| l.trim_start_matches([' ', ':']).trim())
        .collect();
    assert_eq!(servers, vec!["2001:db8:1::53", from], "{out}");
    assert!(f("DNS server").starts_with("90 "), "{out}");
    // domain-search wins over --domain.
    assert_eq!(f("DNS search list"), "corp.test", "{out}");
    drop(lab);

    // A constructor range, default parameters: the link-local address as RDNSS, no DNSSL.
    let mut lab = Lab6::new("rd2", &["2001:db8:7::1/64"]);
    lab.start_ringmasq(&[
        "--enable-ra",
        "--dhcp-range=::,constructor:rmq6*,ra-only,infinite",
    ]);
    lab.wait_log("router advertisement on rmq6s", Duration::from_secs(10));
    let out = lab.rdisc6();
    let f = |n: &str| rdisc6_field(&out, n).unwrap_or_else(|| panic!("no {n} in:\n{out}"));
    assert_eq!(f("Prefix"), "2001:db8:7::/64", "{out}");
    assert!(f("Valid time").starts_with("infinite"), "{out}");
    assert!(f("Router lifetime").starts_with("1800 "), "{out}");
    assert_eq!(f("Router preference"), "medium", "{out}");
    assert!(f("MTU").starts_with("1500 bytes"), "{out}");
    let from = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("from "))
        .expect("sender");
    assert_eq!(f("Recursive DNS server"), from, "{out}");
    assert!(f("DNS server").starts_with("1800 "), "{out}");
    assert!(rdisc6_field(&out, "DNS search list").is_none(), "{out}");
}
