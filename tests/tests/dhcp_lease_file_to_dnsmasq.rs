//! ringmasq's lease file read by dnsmasq: a client keeps the address ringmasq gave it (and,
//! as a control, gets another one from either server without the file).

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

#[test]
fn lease_file_to_dnsmasq() {
    if !dhcp_lab::usable() || !dhcp_lab::have_dnsmasq() {
        return;
    }
    let net = DhcpLab::new("fr");
    let server = net.ringmasq(&["--dhcp-sequential-ip"]);
    let addr = net.udhcpc();
    assert_eq!(addr, "10.77.0.50");
    // A clean stop folds the journal into the lease file dnsmasq reads.
    server.stop(libc::SIGTERM);
    let dm = net.dnsmasq(&[]);
    assert_eq!(net.udhcpc(), addr, "{}", net.log());
    dm.stop(libc::SIGTERM);
    // Control: without the lease file dnsmasq picks another address for this client.
    std::fs::remove_file(net.lease_file()).unwrap();
    let dm = net.dnsmasq(&[]);
    assert_ne!(net.udhcpc(), addr);
    dm.stop(libc::SIGTERM);
    std::fs::remove_file(net.lease_file()).unwrap();
    let server = net.ringmasq(&[]);
    assert_ne!(net.udhcpc(), addr);
    server.stop(libc::SIGTERM);
}
