//! `--dhcp-alternate-port`: the server answers on 1067 and replies to 1068 (dhclient `-p 1068`
//! talks to 1067), and a client on the standard ports gets no offer. Namespaces as in the
//! other DHCP tests.

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

#[test]
fn dhcp_on_the_alternate_ports() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("ap");
    let server = lab.ringmasq(&["--dhcp-alternate-port"]);
    let out = lab.dhclient(&["-1", "-p", "1068"]);
    assert!(out.contains("DHCPACK"), "{out}");
    assert!(out.contains("bound to 10.77.0."), "{out}");
    // The standard ports are not served: one short try (no lease to ask for again) gets no
    // offer.
    std::fs::remove_file(lab.dhclient_leases()).unwrap();
    let out = lab.dhclient_conf("timeout 3;\nrequest subnet-mask, routers;\n", &["-1"]);
    assert!(out.contains("No DHCPOFFERS received"), "{out}");
    assert!(!out.contains("bound to"), "{out}");
    server.stop(libc::SIGTERM);
}
