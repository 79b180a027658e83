//! The seed's example (the Gentoo wiki's dnsmasq.conf "Enabling IPv6 and IPv4 leases"): IPv6
//! address configuration through router advertisement and IPv4 through DHCP, both with an
//! infinite lease, from one configuration file. A client in its own namespace gets a SLAAC
//! address that never expires and an IPv4 lease that never expires (udhcpc).

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, usable};

#[test]
fn ra_and_dhcpv4_with_infinite_leases() {
    if !usable(&["udhcpc"]) {
        return;
    }
    let mut lab = Lab6::new("sd", &["2001:db8:60::1/64", "10.66.0.1/24"]);
    let conf = lab.path("dnsmasq.conf");
    let leases = lab.path("leases");
    std::fs::write(
        &conf,
        format!(
            "# IPv6 through router advertisement, IPv4 through DHCP, both infinite\n\
             enable-ra\n\
             dhcp-range=::,constructor:rmq6s,ra-only,infinite\n\
             dhcp-range=10.66.0.50,10.66.0.150,infinite\n\
             dhcp-leasefile={}\n",
            leases.display()
        ),
    )
    .unwrap();
    lab.start_ringmasq(&["--port=0", &format!("--conf-file={}", conf.display())]);
    let (_, valid, preferred) = lab.wait_client_addr("2001:db8:60:0:", Duration::from_secs(20));
    assert_eq!((valid.as_str(), preferred.as_str()), ("forever", "forever"));
    let (addr, text) = lab.udhcpc(&[]);
    let addr = addr.unwrap_or_else(|| panic!("udhcpc got no lease:\n{text}\n{}", lab.log()));
    assert!(addr.starts_with("10.66.0."), "{addr}");
    // An infinite lease: option 51 is 0xffffffff (RFC 2131 3.3).
    assert!(text.contains("lease time 4294967295"), "{text}");
}
