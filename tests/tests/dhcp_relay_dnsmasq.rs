//! A relayed request through a real relay agent: dnsmasq 2.90 `--dhcp-relay` in the relay
//! namespace forwards udhcpc's broadcasts to ringmasq with giaddr = its client-side address;
//! ringmasq answers from the range of the relay's network (RFC 1542 §4.1, RFC 2131 §4.1) back
//! to the relay, which hands the reply to the client.

use std::process::Command;

use ringmasq_tests::dhcp_lab::{self, DhcpLab, RELAY_GIADDR};
use ringmasq_tests::process::ChildGuard;

#[test]
fn udhcpc_through_dnsmasq_relay_gets_the_relay_network() {
    if !dhcp_lab::usable() || !dhcp_lab::have_dnsmasq() {
        return;
    }
    let lab = DhcpLab::with_relay("dr");
    let relay_ns = lab.relay.as_ref().expect("relay namespace");
    let mut cmd: Command = relay_ns.command("dnsmasq");
    cmd.args([
        "-d",
        "--port=0",
        "--conf-file=/dev/null",
        "--log-facility=-",
    ])
    .arg("--user=root")
    .arg(format!(
        "--pid-file={}",
        lab.dir.join("relay.pid").display()
    ))
    .arg(format!("--dhcp-relay={RELAY_GIADDR},10.77.0.1"))
    .arg("--log-dhcp");
    let relay_log = lab.dir.join("relay.log");
    let _relay = ChildGuard::spawn("dnsmasq relay", cmd, &relay_log).expect("start dnsmasq");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&relay_log)
        .unwrap_or_default()
        .contains("DHCP relay")
    {
        assert!(
            std::time::Instant::now() < end,
            "dnsmasq relay did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let server = lab.ringmasq(&["--dhcp-range=10.78.0.50,10.78.0.99,255.255.255.0,1h"]);
    let (addr, env) = lab.udhcpc_env(&[]);
    assert!(
        addr.starts_with("10.78.0."),
        "{addr}\nserver:\n{}\nrelay:\n{}",
        lab.log(),
        std::fs::read_to_string(&relay_log).unwrap_or_default()
    );
    assert!(env.contains("serverid=10.77.0.1"), "{env}");
    // The log is written by the logger thread: the line may follow the reply by a moment.
    lab.wait_log(&format!("DHCPACK(rmqv0) {addr}"));
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(file.contains(&format!(" {addr} ")), "{file}");
}
