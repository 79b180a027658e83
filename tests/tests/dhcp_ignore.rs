//! Clients left unanswered: `--dhcp-ignore=tag:!known` ignores clients without a
//! `--dhcp-host` (and serves those with one), `--no-dhcp-interface` and `-I` stop DHCP on an
//! interface; every ignored request is counted.

use ringmasq_tests::dhcp_lab::{self, CLIENT_MAC, DhcpLab};

/// udhcpc giving up quickly: two DISCOVERs a second apart.
const SHORT: [&str; 4] = ["-t", "2", "-T", "1"];

#[test]
fn ignored_clients_and_interfaces_get_nothing() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("i");
    let other = "--dhcp-host=02:77:00:00:00:99,10.77.0.30";
    let server = lab.ringmasq(&["--dhcp-ignore=tag:!known", other]);
    let out = lab.udhcpc_output(&SHORT);
    assert!(!out.contains("lease of"), "{out}");
    lab.wait_log("malformed or unusable packet(s) dropped so far");
    server.stop(libc::SIGTERM);
    // Known (a dhcp-host line without an address): served from the range.
    let mine = format!("--dhcp-host={CLIENT_MAC},set:mine");
    let server = lab.ringmasq(&["--dhcp-ignore=tag:!known", other, &mine]);
    assert!(lab.udhcpc().starts_with("10.77.0."));
    server.stop(libc::SIGTERM);
    for flag in ["--no-dhcp-interface=rmqv0", "--except-interface=rmqv0"] {
        let server = lab.ringmasq(&[flag]);
        let out = lab.udhcpc_output(&SHORT);
        assert!(!out.contains("lease of"), "{flag}: {out}");
        lab.wait_log("malformed or unusable packet(s) dropped so far");
        server.stop(libc::SIGTERM);
    }
    // Control: the same server without them answers.
    let server = lab.ringmasq(&["--interface=rmqv0"]);
    assert!(lab.udhcpc().starts_with("10.77.0."));
    server.stop(libc::SIGTERM);
}
