//! `--quiet-dhcp`: udhcpc still gets its lease (and the lease file records it) but no routine
//! line per reply is logged; without it every reply is logged (dnsmasq's default), and
//! `--log-dhcp` overrides it, as in dnsmasq. A routine line reads as dnsmasq's:
//! `DHCPACK(iface) ADDR MAC`.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

/// Routine lines of a DORA.
const ROUTINE: [&str; 2] = ["DHCPOFFER(", "DHCPACK("];

#[test]
fn quiet_dhcp_silences_routine_lines_only() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("q");
    // Default: every reply logged.
    let server = lab.ringmasq(&[]);
    let addr = lab.udhcpc();
    lab.wait_log(&format!("DHCPACK(rmqv0) {addr} {CLIENT_MAC}"));
    lab.wait_log(&format!("DHCPOFFER(rmqv0) {addr} {CLIENT_MAC}"));
    server.stop(libc::SIGTERM);

    // --quiet-dhcp: the lease is given and recorded, nothing routine is logged (the log is
    // read after a clean stop, when every queued line has been written).
    let server = lab.ringmasq(&["--quiet-dhcp"]);
    let addr = lab.udhcpc();
    server.stop(libc::SIGTERM);
    let leases = std::fs::read_to_string(lab.lease_file()).unwrap_or_default();
    assert!(leases.contains(&format!(" {addr} ")), "{leases}");
    let log = lab.log();
    for line in ROUTINE {
        assert!(
            !log.contains(line),
            "{line} logged with --quiet-dhcp:\n{log}"
        );
    }

    // --log-dhcp wins over --quiet-dhcp.
    let server = lab.ringmasq(&["--quiet-dhcp", "--log-dhcp"]);
    let addr = lab.udhcpc();
    lab.wait_log(&format!("DHCPACK(rmqv0) {addr}"));
    server.stop(libc::SIGTERM);
}
