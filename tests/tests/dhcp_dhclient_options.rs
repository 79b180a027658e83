//! DHCPv4 with dhclient: obtain (router, DNS, domain and NTP options arrive), renew with the
//! same address, release (the lease leaves the file).

use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, CLIENT_IF, DhcpLab};

#[test]
fn dhclient_obtain_renew_release_and_options() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("d");
    let server = net.ringmasq(&[]);
    let out = net.dhclient(&["-1"]);
    let addr = out
        .split("DHCPACK of ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ACK:\n{out}\n{}", net.log()))
        .to_string();
    let leases = std::fs::read_to_string(net.dhclient_leases()).unwrap();
    for needle in [
        "option routers 10.77.0.1;".to_string(),
        "option domain-name-servers 10.77.0.1;".into(),
        "option domain-name \"lab.test\";".into(),
        "option ntp-servers 10.77.0.7;".into(),
        format!("fixed-address {addr};"),
    ] {
        assert!(leases.contains(&needle), "{needle} missing in\n{leases}");
    }
    // Renew: a second run requests the recorded address and is ACKed with it.
    let out = net.dhclient(&["-1"]);
    assert!(out.contains(&format!("DHCPACK of {addr}")), "{out}");
    // Release: the lease leaves the file. The address is configured first, as a real
    // dhclient-script would have done (-sf /bin/true does not), so the unicast release routes.
    let cidr = format!("{addr}/24");
    net.client
        .must_ip(&["addr", "add", &cidr, "dev", CLIENT_IF]);
    let out = net.dhclient(&["-r"]);
    assert!(out.contains("DHCPRELEASE"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(!file.contains(&addr), "{file}\n{out}\n{}", net.log());
}
