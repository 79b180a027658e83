//! `ra-names` end to end: a dual-stack client (accept_ra=2, SLAAC from ringmasq's RA) takes a
//! DHCPv4 lease with a host name; ringmasq guesses its SLAAC address from the MAC, pings it,
//! and only once it answers does `dig AAAA name` give that address (and the PTR the name).
//! While the client ignores echo requests, the name has no AAAA.

use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{Lab6, usable};

/// The client's SLAAC address: EUI-64 of 02:66:00:00:00:02 in 2001:db8:62::/64.
const SLAAC: &str = "2001:db8:62:0:66:ff:fe00:2";

fn dig(lab: &Lab6, args: &[&str]) -> String {
    let mut a = vec![
        "dig",
        "@127.0.0.1",
        "-p",
        "5399",
        "+short",
        "+time=1",
        "+tries=1",
    ];
    a.extend_from_slice(args);
    let out = lab.in_server(&a);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_dig(lab: &Lab6, args: &[&str], want: &str, limit: Duration) {
    let end = Instant::now() + limit;
    while dig(lab, args) != want {
        assert!(
            Instant::now() < end,
            "{args:?} does not answer {want:?} (got {:?}):\n{}",
            dig(lab, args),
            lab.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn echo_ignore(lab: &Lab6, on: bool) {
    let v = format!("net.ipv6.icmp.echo_ignore_all={}", u8::from(on));
    let out = lab.in_client(&["sysctl", "-qw", &v]);
    assert!(out.status.success(), "{v}: {:?}", out);
}

#[test]
fn slaac_address_of_a_dhcpv4_host_is_named_once_it_answers() {
    if !usable(&["udhcpc", "dig", "sysctl"]) {
        return;
    }
    let mut lab = Lab6::new("rn", &["2001:db8:62::1/64", "10.67.0.1/24"]);
    let leases = lab.path("leases");
    let leases = format!("--dhcp-leasefile={}", leases.display());
    lab.start_ringmasq(&[
        "--port=5399",
        "--no-resolv",
        "--domain=lab",
        "--local=/lab/",
        "--enable-ra",
        "--dhcp-range=::,constructor:rmq6s,ra-names",
        "--dhcp-range=10.67.0.50,10.67.0.150,1h",
        &leases,
    ]);
    let (addr, ..) = lab.wait_client_addr("2001:db8:62:0:", Duration::from_secs(20));
    assert_eq!(addr, format!("{SLAAC}/64"));
    // The host does not answer pings yet.
    echo_ignore(&lab, true);
    let (v4, text) = lab.udhcpc(&["-x", "hostname:dual"]);
    let v4 = v4.unwrap_or_else(|| panic!("udhcpc got no lease:\n{text}\n{}", lab.log()));
    wait_dig(&lab, &["A", "dual.lab"], &v4, Duration::from_secs(5));
    // Two echo requests went unanswered: still no AAAA.
    lab.wait_log(
        &format!("ra-names: echo request 1 to {SLAAC}"),
        Duration::from_secs(10),
    );
    assert_eq!(dig(&lab, &["AAAA", "dual.lab"]), "", "{}", lab.log());
    // Once the host answers (the next request, 2 s later), its SLAAC address is named.
    echo_ignore(&lab, false);
    wait_dig(&lab, &["AAAA", "dual.lab"], SLAAC, Duration::from_secs(10));
    wait_dig(&lab, &["-x", SLAAC], "dual.lab.", Duration::from_secs(2));
    assert!(lab.log().contains(&format!("ra-names: {SLAAC} answers")));
}
