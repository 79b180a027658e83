//! dnsmasq's lease file read by ringmasq: a client keeps the address dnsmasq gave it.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

#[test]
fn lease_file_from_dnsmasq() {
    if !dhcp_lab::usable() || !dhcp_lab::have_dnsmasq() {
        return;
    }
    let net = DhcpLab::new("fd");
    // dnsmasq hands out the lowest free address (sequential), which ringmasq's own choice for
    // this client (derived from its identity) is not: only the lease file can carry it over.
    let dm = net.dnsmasq(&["--dhcp-sequential-ip"]);
    let addr = net.udhcpc();
    assert_eq!(addr, "10.77.0.50");
    dm.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
    let server = net.ringmasq(&[]);
    net.wait_log("1 lease(s) loaded");
    assert_eq!(net.udhcpc(), addr);
    server.stop(libc::SIGTERM);
}
