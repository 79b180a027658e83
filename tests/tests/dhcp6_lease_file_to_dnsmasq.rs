//! ringmasq's DHCPv6 leases read by dnsmasq 2.90: after a clean stop, dnsmasq started on the
//! same lease file takes ringmasq's server DUID from the `duid` line and gives the client (same
//! DUID, no lease of its own any more) the address ringmasq had leased it.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, last_iaaddr, usable};

fn leased(lab: &Lab6) -> (String, String) {
    let text = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    let addr = last_iaaddr(&text).unwrap_or_default();
    let server = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("option dhcp6.server-id "))
        .unwrap_or("")
        .trim_end_matches(';')
        .to_string();
    (addr, server)
}

#[test]
fn dnsmasq_reads_v6_leases_and_duid() {
    if !usable(&["dhclient", "dnsmasq"]) {
        return;
    }
    let mut lab = Lab6::new("dlf", &["fd00:6c::1/64"]);
    let leases = lab.path("leases");
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    let range = "--dhcp-range=fd00:6c::100,fd00:6c::1ff,64,1h";
    lab.start_ringmasq(&[range, &leasefile]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    let out = lab.dhclient6("", &["-D", "LL"]);
    let (addr, server_id) = leased(&lab);
    assert!(addr.starts_with("fd00:6c::"), "{out}\n{}", lab.log());
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let text = std::fs::read_to_string(&leases).unwrap();
    let duid = text
        .lines()
        .find_map(|l| l.strip_prefix("duid "))
        .unwrap()
        .to_string();
    // The client forgets its lease; dnsmasq on ringmasq's file gives the same address back.
    std::fs::remove_file(lab.dhclient6_leases()).unwrap();
    lab.start_dnsmasq(&[range, &leasefile], "DHCPv6, IP range");
    let out = lab.dhclient6("", &["-D", "LL"]);
    let (again, server_again) = leased(&lab);
    let dlog = std::fs::read_to_string(lab.path("dnsmasq.log")).unwrap_or_default();
    assert_eq!(again, addr, "{out}\n{dlog}");
    // dhclient writes the server id as colon hex without leading zeros; both runs the same.
    assert_eq!(server_again, server_id, "{out}");
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let after = std::fs::read_to_string(&leases).unwrap();
    assert!(after.contains(&format!("duid {duid}")), "{after}");
}
