//! The ICMP echo check before an OFFER (issue 6): an address the range would give first is
//! squatted by another host that answers pings; by default the client is offered another
//! address (the squatted one quarantined and logged), with `--no-ping` it gets the squatted one.

use ringmasq_tests::dhcp_lab::{self, DhcpLab, SERVER_ADDR};

/// Removes the lease file and its journal, so each server starts with no lease.
fn forget_leases(lab: &DhcpLab) {
    let file = lab.lease_file();
    let _ = std::fs::remove_file(&file);
    let mut journal = file.into_os_string();
    journal.push(".journal");
    let _ = std::fs::remove_file(journal);
}

#[test]
fn squatted_address_is_not_offered() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("pg");
    // The address this client gets first from a fresh server.
    let server = lab.ringmasq(&["--no-ping"]);
    let first = lab.udhcpc();
    server.stop(libc::SIGTERM);
    forget_leases(&lab);

    // A squatter in the client namespace: `first` on an interface of its own (one end of a
    // veth pair), answering ARP and echo requests on the link (the route lets its replies
    // back to the server).
    lab.client.must_ip(&[
        "link", "add", "squat0", "type", "veth", "peer", "name", "squat1",
    ]);
    lab.client
        .must_ip(&["addr", "add", &format!("{first}/32"), "dev", "squat0"]);
    lab.client.must_ip(&["link", "set", "squat0", "up"]);
    lab.client.must_ip(&["link", "set", "squat1", "up"]);
    lab.client
        .must_ip(&["route", "add", SERVER_ADDR, "dev", dhcp_lab::CLIENT_IF]);

    // Default: the squatted address answers the ping check; another one is offered.
    let server = lab.ringmasq(&[]);
    let got = lab.udhcpc();
    assert_ne!(got, first, "squatted address offered:\n{}", lab.log());
    assert!(got.starts_with("10.77.0."), "{got}");
    lab.wait_log(&format!("DHCP: {first} answers a ping"));
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(file.contains(&format!(" {got} ")), "{file}");
    assert!(!file.contains(&format!(" {first} ")), "{file}");
    forget_leases(&lab);

    // --no-ping: no check, the squatted address is offered.
    let server = lab.ringmasq(&["--no-ping"]);
    assert_eq!(lab.udhcpc(), first);
    assert!(!lab.log().contains("answers a ping"), "{}", lab.log());
    server.stop(libc::SIGTERM);
}
