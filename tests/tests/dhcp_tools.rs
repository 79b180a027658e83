//! `ringmasq-lease-time` and `ringmasq-release` (dnsmasq's dhcp_lease_time and dhcp_release) in
//! the namespace lab: the time left on a udhcpc lease, no lease for an unused address, a release
//! that frees the lease; and both directions against dnsmasq 2.90 and its own tools.

use std::process::Output;

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::dhcp_lab::{CLIENT_MAC, DhcpLab, SERVER_IF, have_dnsmasq, usable};
use ringmasq_tests::netns::find_tool;

fn tool(lab: &DhcpLab, name: &str, args: &[&str]) -> Output {
    let program = if name.starts_with("ringmasq") {
        let bin = ringmasq_bin().unwrap();
        bin.with_file_name(name).to_string_lossy().into_owned()
    } else {
        name.to_string()
    };
    let mut c = lab.server.command("timeout");
    c.arg("10").arg(program).args(args);
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The lease time printed for an hour-long lease just granted: `1h` or `59mNNs`.
fn about_an_hour(o: &Output) -> bool {
    let t = text(o);
    o.status.success() && (t == "1h" || (t.starts_with("59m") && t.ends_with('s')))
}

#[test]
fn lease_time_and_release_tools() {
    if !usable() {
        return;
    }
    let lab = DhcpLab::new("tl");
    let server = lab.ringmasq(&[]);
    let addr = lab.udhcpc();
    let clid = format!("01:{CLIENT_MAC}");
    let t = tool(&lab, "ringmasq-lease-time", &[&addr]);
    assert!(about_an_hour(&t), "{t:?}\n{}", lab.log());
    let none = tool(&lab, "ringmasq-lease-time", &["10.77.0.98"]);
    assert!(!none.status.success() && text(&none).is_empty(), "{none:?}");
    // dnsmasq's own tool reads ringmasq's answer the same way.
    if find_tool("dhcp_lease_time").is_some() {
        let t = tool(&lab, "dhcp_lease_time", &[&addr]);
        assert!(about_an_hour(&t), "{t:?}");
    }
    let r = tool(
        &lab,
        "ringmasq-release",
        &[SERVER_IF, &addr, CLIENT_MAC, &clid],
    );
    assert!(r.status.success(), "{r:?}");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while tool(&lab, "ringmasq-lease-time", &[&addr]).status.success() {
        assert!(
            std::time::Instant::now() < end,
            "not released\n{}",
            lab.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Bad arguments are refused with a message.
    let bad = tool(&lab, "ringmasq-release", &[SERVER_IF, &addr, "zz:00"]);
    assert!(!bad.status.success());
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(!file.contains(&addr), "{file}");
}

#[test]
fn release_tool_against_dnsmasq() {
    if !usable() || !have_dnsmasq() {
        return;
    }
    let lab = DhcpLab::new("td");
    let server = lab.dnsmasq(&[]);
    let addr = lab.udhcpc();
    let leased = || std::fs::read_to_string(lab.lease_file()).unwrap_or_default();
    assert!(leased().contains(&addr), "{}", leased());
    let clid = format!("01:{CLIENT_MAC}");
    let r = tool(
        &lab,
        "ringmasq-release",
        &[SERVER_IF, &addr, CLIENT_MAC, &clid],
    );
    assert!(r.status.success(), "{r:?}");
    lab.wait_log("DHCPRELEASE");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while leased().contains(&addr) {
        assert!(
            std::time::Instant::now() < end,
            "{}\n{}",
            leased(),
            lab.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.stop(libc::SIGTERM);
}
