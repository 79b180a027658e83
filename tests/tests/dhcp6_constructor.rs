//! `constructor:` DHCPv6 ranges follow the interface: a lease in the interface's prefix; after
//! a new prefix is added to the server's interface (and the old one removed), a new client gets
//! a lease in the new prefix, without a restart.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, SERVER_IF, last_iaaddr, usable};

fn lease_addr(lab: &Lab6) -> String {
    last_iaaddr(&std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default())
        .unwrap_or_default()
}

#[test]
fn leases_follow_a_new_prefix() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("dcn", &["fd00:69::1/64"]);
    let leasefile = format!("--dhcp-leasefile={}", lab.path("leases").display());
    lab.start_ringmasq(&[
        "--dhcp-range=::100,::1ff,constructor:rmq6*,64,1h",
        &leasefile,
    ]);
    lab.wait_log(
        "DHCPv6, IP range ::100 -- ::1ff on constructor:rmq6*",
        Duration::from_secs(5),
    );
    let out = lab.dhclient6("", &[]);
    let first = lease_addr(&lab);
    assert!(
        first.starts_with("fd00:69::1"),
        "{first:?}\n{out}\n{}",
        lab.log()
    );
    lab.kill_dhclient6();
    let _ = std::fs::remove_file(lab.dhclient6_leases());
    lab.add_server_addr("fd00:6a::1/64");
    let del = lab.in_server(&["ip", "addr", "del", "fd00:69::1/64", "dev", SERVER_IF]);
    assert!(del.status.success());
    // DHCPv6 reads the interface addresses on its tick (every 1-1.25 s): let one pass, so that
    // no SOLICIT is answered from the old prefix.
    std::thread::sleep(Duration::from_millis(1500));
    // A new client (another DUID-LL than the first client's DUID-LLT).
    let out = lab.dhclient6("", &["-D", "LL"]);
    let second = lease_addr(&lab);
    assert!(
        second.starts_with("fd00:6a::1"),
        "{second:?}\n{out}\n{}",
        lab.log()
    );
    let last = u128::from(second.parse::<std::net::Ipv6Addr>().unwrap()) & 0xffff;
    assert!((0x100..=0x1ff).contains(&last), "{second}");
}
