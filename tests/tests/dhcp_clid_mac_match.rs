//! A lease held without a client identifier is the same client's when it later sends one
//! (issue 6, as dnsmasq matches by MAC): udhcpc first without option 61 (`-C`), then with it,
//! gets the same address, and the lease file then records the client id.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

#[test]
fn lease_without_client_id_matched_by_mac() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("cm");
    let server = lab.ringmasq(&[]);
    let first = lab.udhcpc_with(&["-C"]);
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(
        file.contains(&format!("{CLIENT_MAC} {first} * *")),
        "stored without a client id:\n{file}"
    );
    // Restarted from that file: the client now sends its client id (01 + MAC by default).
    let server = lab.ringmasq(&[]);
    lab.wait_log("1 lease(s) loaded");
    assert_eq!(lab.udhcpc(), first, "{}", lab.log());
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    let lines: Vec<&str> = file.lines().filter(|l| l.contains(CLIENT_MAC)).collect();
    assert_eq!(lines.len(), 1, "one lease for the client:\n{file}");
    assert!(
        lines[0].ends_with(&format!("{first} * 01:{CLIENT_MAC}")),
        "the lease gained the client id:\n{file}"
    );
}
