//! DHCPv6 `--dhcp-host` by DUID: dhclient -6 with a DUID-LL (`-D LL`, built from its MAC) gets
//! the host's fixed address and name, outside the pool; the options arrive: DNS servers
//! (`[::]` standing for the server's address on the link) and the domain search list.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, usable};

#[test]
fn fixed_address_name_and_options() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("dst", &["fd00:67::1/64"]);
    let leases = lab.path("leases");
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    lab.start_ringmasq(&[
        "--dhcp-range=fd00:67::100,fd00:67::1ff,64,1h",
        // DUID-LL (type 3, hardware type 1) of the lab client's MAC 02:66:00:00:00:02.
        "--dhcp-host=id:00:03:00:01:02:66:00:00:00:02,[fd00:67::42],fixed6",
        "--dhcp-option=option6:dns-server,[::],[fd00:67::53]",
        "--dhcp-option=option6:domain-search,lab6,example.test",
        &leasefile,
    ]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    let out = lab.dhclient6("", &["-D", "LL"]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert!(
        got.contains("iaaddr fd00:67::42 "),
        "{out}\n{got}\n{}",
        lab.log()
    );
    assert!(
        got.contains("option dhcp6.name-servers fd00:67::1,fd00:67::53;"),
        "{got}"
    );
    assert!(
        got.contains("option dhcp6.domain-search \"lab6.\", \"example.test.\";"),
        "{got}"
    );
    // The log is written by the logger thread: the line may follow the reply by a moment.
    lab.wait_log(
        "DHCPREQUEST(rmq6s) fd00:67::42 00:03:00:01:02:66:00:00:00:02",
        Duration::from_secs(5),
    );
    lab.stop_ringmasq();
    let text = std::fs::read_to_string(&leases).unwrap();
    assert!(
        text.lines()
            .any(|l| l.ends_with(" fd00:67::42 fixed6 00:03:00:01:02:66:00:00:00:02")),
        "{text}"
    );
}
