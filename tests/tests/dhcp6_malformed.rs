//! Malformed DHCPv6 datagrams sent to ff02::1:2 on the lab link (a short header, an option
//! running past the end, a RELAY-FORW without a Relay Message, a REQUEST for another server)
//! are dropped and counted, the server keeps running, and dhclient -6 still gets a lease.

use std::time::Duration;

use ringmasq_tests::lab6::{CLIENT_IF, Lab6, usable};

#[test]
fn dropped_counted_and_still_serving() {
    if !usable(&["dhclient", "bash"]) {
        return;
    }
    let mut lab = Lab6::new("dmf", &["fd00:68::1/64"]);
    let leasefile = format!("--dhcp-leasefile={}", lab.path("leases").display());
    lab.start_ringmasq(&["--dhcp-range=fd00:68::100,fd00:68::1ff", &leasefile]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    lab.wait_link_local();
    let bad = [
        r"\x01\x02",
        r"\x01\x00\x00\x01\x00\x01\x00\x40\x00",
        r"\x0c\x00\xfd\x00\x00\x68\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x12\x00\x01\x07",
        r"\x03\x00\x00\x01\x00\x01\x00\x02\xaa\xbb\x00\x02\x00\x02\xcc\xdd",
    ];
    for b in bad {
        let script = format!("printf '{b}' > /dev/udp/ff02::1:2%{CLIENT_IF}/547");
        let out = lab.in_client(&["bash", "-c", &script]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    lab.wait_log(
        "4 malformed or unusable packet(s) dropped",
        Duration::from_secs(5),
    );
    let log = lab.log();
    for why in ["Malformed", "ServerId"] {
        assert!(log.contains(&format!("dropped: {why}")), "{log}");
    }
    let out = lab.dhclient6("", &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert!(
        got.contains("iaaddr fd00:68::1"),
        "{out}\n{got}\n{}",
        lab.log()
    );
}
