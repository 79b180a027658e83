//! Which interfaces DHCPv6 and router advertisements serve, as dnsmasq: `--no-dhcpv6-interface`
//! stops both there but keeps DHCPv4; `--no-dhcp-interface` stops all three;
//! `--no-dhcpv4-interface` leaves DHCPv6 and RA alone; `-I/--except-interface` stops DHCPv6.
//! Each dropped SOLICIT is counted ("dropped: Interface" in the debug log).

use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{CLIENT_IF, Lab6, usable};

const V6_RANGE: &str = "--dhcp-range=fd00:69::100,fd00:69::1ff,64,1h";
const V4_RANGE: &str = "--dhcp-range=10.69.0.50,10.69.0.150,1h";

/// A DHCPv6 exchange with dhclient -6 for at most `secs` seconds: the address it got, if any.
/// dhclient waits up to a second before its first SOLICIT and collects advertisements for
/// another, so 3 s shows a server that does not answer; a lease that should come gets 10.
fn dhcpv6(lab: &Lab6, secs: u32) -> Option<String> {
    let secs = secs.to_string();
    lab.wait_link_local();
    let lf = lab.path("dh6.leases");
    let _ = std::fs::remove_file(&lf);
    let (lf, pf) = (
        lf.display().to_string(),
        lab.path("dh6.pid").display().to_string(),
    );
    let out = lab.in_client(&[
        "timeout",
        &secs,
        "dhclient",
        "-6",
        "-v",
        "-1",
        "-d",
        "-cf",
        "/dev/null",
        "-lf",
        &lf,
        "-pf",
        &pf,
        "-sf",
        "/bin/true",
        CLIENT_IF,
    ]);
    let _ = out;
    std::fs::read_to_string(&lf)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.trim().strip_prefix("iaaddr "))
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
}

/// One router solicitation (rdisc6, 1 s): whether an advertisement answered.
fn advertised(lab: &Lab6) -> bool {
    lab.wait_link_local();
    let out = lab.in_client(&["rdisc6", "-1", "-r", "2", "-w", "500", CLIENT_IF]);
    String::from_utf8_lossy(&out.stdout).contains("\n from ")
}

/// A DHCPv4 lease with udhcpc (about 2 s at most): whether one came.
fn dhcpv4(lab: &Lab6) -> bool {
    lab.udhcpc_tries(2, 1, &[]).0.is_some()
}

fn wait_drop(lab: &Lab6) {
    let end = Instant::now() + Duration::from_secs(5);
    while !lab.log().contains("dropped: Interface") {
        assert!(Instant::now() < end, "no counted drop:\n{}", lab.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dhcpv6_and_ra_follow_the_interface_options() {
    if !usable(&["dhclient", "rdisc6", "udhcpc", "timeout"]) {
        return;
    }
    let mut lab = Lab6::new("if", &["fd00:69::1/64", "10.69.0.1/24"]);
    let lf = format!("--dhcp-leasefile={}", lab.path("leases").display());
    let base = ["--port=0", "--enable-ra", V6_RANGE, V4_RANGE, lf.as_str()];
    let start = |lab: &mut Lab6, extra: &str| {
        let mut args = base.to_vec();
        args.push(extra);
        // A fresh log for each server (the harness appends).
        let _ = std::fs::remove_file(lab.path("server.log"));
        lab.start_ringmasq(&args);
        lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    };

    // --no-dhcpv6-interface: no DHCPv6, no RA, DHCPv4 still served.
    start(&mut lab, "--no-dhcpv6-interface=rmq6*");
    assert_eq!(dhcpv6(&lab, 3), None, "{}", lab.log());
    wait_drop(&lab);
    assert!(!advertised(&lab), "RA on a --no-dhcpv6-interface");
    assert!(dhcpv4(&lab), "DHCPv4 must stay:\n{}", lab.log());
    lab.stop_ringmasq();

    // --no-dhcp-interface covers DHCPv6 and RA too.
    start(&mut lab, "--no-dhcp-interface=rmq6s");
    assert_eq!(dhcpv6(&lab, 3), None, "{}", lab.log());
    wait_drop(&lab);
    assert!(!advertised(&lab), "RA on a --no-dhcp-interface");
    lab.stop_ringmasq();

    // --no-dhcpv4-interface leaves DHCPv6 and RA alone.
    start(&mut lab, "--no-dhcpv4-interface=rmq6s");
    let a = dhcpv6(&lab, 10).unwrap_or_else(|| panic!("no DHCPv6 lease:\n{}", lab.log()));
    assert!(a.starts_with("fd00:69::1"), "{a}");
    assert!(advertised(&lab));
    lab.stop_ringmasq();

    // -I: no DHCPv6 there.
    start(&mut lab, "--except-interface=rmq6s");
    assert_eq!(dhcpv6(&lab, 3), None, "{}", lab.log());
    wait_drop(&lab);
}
