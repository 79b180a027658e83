//! `ra-stateless`: the router advertisement says SLAAC (A bit) plus "other configuration" (O
//! bit), not managed; dhclient -6 -S (INFORMATION-REQUEST) gets the DNS server and search list.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, rdisc6_field, usable};

#[test]
fn information_request_on_a_stateless_link() {
    if !usable(&["dhclient", "rdisc6"]) {
        return;
    }
    let mut lab = Lab6::new("dsl", &["fd00:6d::1/64"]);
    let leasefile = format!("--dhcp-leasefile={}", lab.path("leases").display());
    lab.start_ringmasq(&[
        "--enable-ra",
        "--dhcp-range=fd00:6d::,ra-stateless,1h",
        "--dhcp-option=option6:dns-server,[fd00:6d::53]",
        "--domain=stateless.test",
        &leasefile,
    ]);
    lab.wait_log("DHCPv6 stateless on fd00:6d::", Duration::from_secs(5));
    let ra = lab.rdisc6();
    assert_eq!(
        rdisc6_field(&ra, "Stateful address conf."),
        Some("No"),
        "{ra}"
    );
    assert_eq!(
        rdisc6_field(&ra, "Stateful other conf."),
        Some("Yes"),
        "{ra}"
    );
    assert_eq!(
        rdisc6_field(&ra, "Autonomous address conf."),
        Some("Yes"),
        "{ra}"
    );
    // dhclient hands what it got to its script: the script keeps its environment.
    let env = lab.path("script.env");
    let script = lab.path("script.sh");
    std::fs::write(&script, format!("#!/bin/sh\nenv >> {}\n", env.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = lab.dhclient6("", &["-S", "-sf", &script.display().to_string()]);
    let got = std::fs::read_to_string(&env).unwrap_or_default();
    assert!(
        got.contains("new_dhcp6_name_servers=fd00:6d::53"),
        "{out}\n{got}\n{}",
        lab.log()
    );
    assert!(
        got.contains("new_dhcp6_domain_search=stateless.test."),
        "{got}"
    );
    assert!(!got.contains("new_ip6_address"), "{got}");
    // The log is written by the logger thread: the line may follow the reply by a moment.
    lab.wait_log("DHCPINFORMATION-REQUEST(rmq6s)", Duration::from_secs(5));
}
