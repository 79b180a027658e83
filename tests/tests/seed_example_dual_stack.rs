//! The seed's example (the Gentoo wiki's "Enabling IPv6 and IPv4 leases": IPv6 through router
//! advertisement and IPv4 through DHCP, both with an infinite lease) in its stateful reading,
//! from one configuration file: `enable-ra`, an IPv6 range with a pool built on the
//! interface's prefix (`constructor:`) in `slaac` mode, and an IPv4 range, both `infinite`.
//! One client in its own namespace gets a SLAAC address that never expires (A bit), a DHCPv6
//! lease (M bit, ISC dhclient -6) and an IPv4 lease (udhcpc), both infinite; after a clean
//! stop the lease file holds the IPv4 line, the `duid` line and the IPv6 line, each with
//! expiry 0 (never), as dnsmasq writes them. (`ra_seed_example.rs` covers the `ra-only`
//! reading.)

use std::time::Duration;

use ringmasq_tests::lab6::{CLIENT_MAC, Lab6, last_iaaddr, rdisc6_field, usable};

#[test]
fn slaac_dhcpv6_and_dhcpv4_all_infinite() {
    if !usable(&["udhcpc", "dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("sx", &["2001:db8:63::1/64", "10.68.0.1/24"]);
    let conf = lab.path("dnsmasq.conf");
    let leases = lab.path("leases");
    std::fs::write(
        &conf,
        format!(
            "# IPv6 through router advertisement (SLAAC and DHCPv6), IPv4 through DHCP,\n\
             # both with an infinite lease\n\
             enable-ra\n\
             dhcp-range=::100,::1ff,constructor:rmq6s,slaac,64,infinite\n\
             dhcp-range=10.68.0.50,10.68.0.150,infinite\n\
             dhcp-leasefile={}\n",
            leases.display()
        ),
    )
    .unwrap();
    lab.start_ringmasq(&["--port=0", &format!("--conf-file={}", conf.display())]);
    // SLAAC from the advertisement: EUI-64 of the client's MAC, lifetimes infinite.
    let (slaac, valid, preferred) =
        lab.wait_client_addr("2001:db8:63:0:66:", Duration::from_secs(20));
    assert_eq!(slaac, "2001:db8:63:0:66:ff:fe00:2/64");
    assert_eq!((valid.as_str(), preferred.as_str()), ("forever", "forever"));
    let ra = lab.rdisc6();
    assert_eq!(
        rdisc6_field(&ra, "Stateful address conf."),
        Some("Yes"),
        "M bit:\n{ra}"
    );
    // DHCPv6: an address from the pool, infinite lifetimes (0xffffffff).
    let out = lab.dhclient6("", &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    let v6 = last_iaaddr(&got).unwrap_or_else(|| panic!("no DHCPv6 lease:\n{out}\n{}", lab.log()));
    assert!(v6.starts_with("2001:db8:63::1"), "{v6}");
    assert!(got.contains("max-life 4294967295;"), "{got}");
    // DHCPv4: an infinite lease (option 51 = 0xffffffff, RFC 2131 §3.3).
    let (v4, text) = lab.udhcpc(&[]);
    let v4 = v4.unwrap_or_else(|| panic!("udhcpc got no lease:\n{text}\n{}", lab.log()));
    assert!(v4.starts_with("10.68.0."), "{v4}");
    assert!(text.contains("lease time 4294967295"), "{text}");
    // The lease file after a clean stop: v4 line, duid line, v6 line; expiry 0 = never.
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let file = std::fs::read_to_string(&leases).unwrap();
    let lines: Vec<Vec<&str>> = file
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 3, "{file}");
    assert_eq!(
        &lines[0][..4],
        ["0", CLIENT_MAC, v4.as_str(), "*"],
        "{file}"
    );
    assert_eq!(lines[1][0], "duid", "{file}");
    assert!(lines[1][1].starts_with("00:01:00:01:"), "{file}");
    assert_eq!(lines[2][0], "0", "{file}");
    assert!(lines[2][1].parse::<u32>().is_ok(), "IAID: {file}");
    assert_eq!(lines[2][2], v6, "{file}");
    // The client's DUID (dhclient: DUID-LLT or DUID-LL with its MAC).
    assert!(lines[2][4].ends_with("02:66:00:00:00:02"), "{file}");
}
