//! DHCP lease names in DNS: a client's hostname answers A and PTR under `--domain` with
//! `--dhcp-ttl`, `--log-dhcp` logs requests and replies, and a DHCPRELEASE removes the name.

use std::process::Command;
use std::time::{Duration, Instant};

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab, release_packet};

#[test]
fn lease_names_in_dns() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("n");
    let server = net.ringmasq(&[
        "--port=53",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--dhcp-ttl=77",
        "--log-dhcp",
    ]);
    let addr = net.udhcpc_with(&["-x", "hostname:nbook"]);
    // --log-dhcp: every request with its client and wishes, every reply's options.
    net.wait_log("requested options:");
    // The logger thread writes the lines in order: wait for the last one looked at below.
    net.wait_log("DHCPREQUEST(");
    net.wait_log("sent size:   4 option:  54");
    let log = net.log();
    assert!(
        log.lines()
            .any(|l| l.contains("DHCPDISCOVER(") && l.contains(" nbook")),
        "{log}"
    );
    assert!(log.contains("DHCPREQUEST("), "{log}");
    assert!(log.contains("sent size:   4 option:  54"), "{log}");
    // The name is published within a moment of the ACK.
    let end = Instant::now() + Duration::from_secs(5);
    while net.dig(&["nbook.lab.test"]) != addr {
        assert!(
            Instant::now() < end,
            "no A for nbook.lab.test:\n{}",
            net.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(net.dig(&["nbook"]), addr);
    assert_eq!(net.dig(&["-x", &addr]), "nbook.lab.test.");
    let full = Command::new("ip")
        .args(["netns", "exec", net.server.name(), "dig", "@127.0.0.1"])
        .args(["+noall", "+answer", "nbook.lab.test"])
        .output()
        .unwrap();
    let full = String::from_utf8_lossy(&full.stdout).into_owned();
    assert!(full.contains("\t77\tIN\tA\t"), "{full}");
    // DHCPRELEASE (RFC 2131 §4.4.6) from the client: the name leaves DNS with the lease.
    net.send_raw(vec![release_packet(CLIENT_MAC, &addr)]);
    let end = Instant::now() + Duration::from_secs(5);
    while net.dig(&["nbook.lab.test"]).contains(&addr) {
        assert!(
            Instant::now() < end,
            "nbook.lab.test still answered:\n{}",
            net.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop(libc::SIGTERM);
}
