//! DHCPv4 with udhcpc: a lease, the same address on renewal, kill -9 right after an ACK loses
//! nothing, malformed packets are dropped and counted while service goes on, a static host gets
//! its fixed address.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

#[test]
fn udhcpc_static_host_kill9_restart_and_malformed_packets() {
    if !dhcp_lab::usable() {
        return;
    }
    let net = DhcpLab::new("u");
    let host = format!("--dhcp-host={CLIENT_MAC},10.77.0.20,statichost");
    let server = net.ringmasq(&[]);
    let addr = net.udhcpc();
    assert!(addr.starts_with("10.77.0."), "{addr}");
    // Renew: the same client gets the same address.
    assert_eq!(net.udhcpc(), addr);
    // kill -9 right after the ACK: the journal already holds the lease.
    server.stop(libc::SIGKILL);
    let server = net.ringmasq(&[]);
    net.wait_log("1 lease(s) loaded");
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
    assert_eq!(net.udhcpc(), addr);
    // Malformed packets: too short, bad option length, zero hlen; all dropped and counted.
    let mut bad_len = vec![0u8; 300];
    bad_len[0] = 1;
    bad_len[1] = 1;
    bad_len[2] = 6;
    bad_len[236..240].copy_from_slice(&[99, 130, 83, 99]);
    bad_len[240..243].copy_from_slice(&[53, 200, 1]);
    let mut zero_hlen = bad_len.clone();
    zero_hlen[2] = 0;
    zero_hlen[240..244].copy_from_slice(&[53, 1, 1, 255]);
    net.send_raw(vec![vec![1, 2, 3], bad_len, zero_hlen]);
    net.wait_log("3 malformed or unusable packet(s) dropped so far");
    // Service goes on.
    assert_eq!(net.udhcpc(), addr);
    server.stop(libc::SIGTERM);
    // A static host gets its fixed address.
    let server = net.ringmasq(&[&host]);
    assert_eq!(net.udhcpc(), "10.77.0.20");
    server.stop(libc::SIGTERM);
}
