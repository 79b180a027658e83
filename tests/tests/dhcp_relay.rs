//! A relayed request (RFC 1542, RFC 3046): udhcpc in its own namespace behind a relay agent
//! namespace gets an address from the range of the relay's network (chosen by giaddr, not the
//! server's own), the reply goes back to the relay's port 67 with option 82 echoed unchanged,
//! and `--dhcp-circuitid` / `--dhcp-remoteid` tags from that option select options.

use std::net::Ipv4Addr;

use ringmasq_tests::dhcp_lab::{self, DhcpLab, RELAY_CLIENT_IF, RELAY_GIADDR};
use ringmasq_tests::dhcp_relay::TestRelay;

#[test]
fn relayed_request_gets_the_relay_network_and_option_82_back() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::with_relay("y");
    let mut agent = vec![1, 5];
    agent.extend_from_slice(b"port7");
    agent.extend_from_slice(&[2, 3]);
    agent.extend_from_slice(b"rid");
    let relay = TestRelay::start(
        lab.relay.as_ref().expect("relay namespace"),
        RELAY_CLIENT_IF,
        RELAY_GIADDR.parse().unwrap(),
        Ipv4Addr::new(10, 77, 0, 1),
        agent.clone(),
    );
    let server = lab.ringmasq(&[
        "--dhcp-range=10.78.0.50,10.78.0.99,255.255.255.0,1h",
        "--dhcp-circuitid=set:p7,port7",
        "--dhcp-option=tag:p7,option:ntp-server,10.78.0.9",
        "--dhcp-remoteid=set:rid,rid",
        "--dhcp-option=tag:rid,option:router,10.78.0.1",
        "--dhcp-remoteid=set:other,nope",
        "--dhcp-option=tag:other,option:dns-server,10.78.0.66",
    ]);
    let (addr, env) = lab.udhcpc_env(&[]);
    assert!(addr.starts_with("10.78.0."), "{addr}\n{}", lab.log());
    assert!(env.contains("ntpsrv=10.78.0.9"), "circuit-id tag:\n{env}");
    assert!(env.contains("router=10.78.0.1"), "remote-id tag:\n{env}");
    assert!(
        !env.contains("10.78.0.66"),
        "a remote-id that differs:\n{env}"
    );
    let log = relay.log.lock().unwrap();
    assert!(log.requests >= 2, "DISCOVER and REQUEST relayed");
    assert!(
        log.echoed.len() >= 2,
        "OFFER and ACK came back to the relay"
    );
    for e in &log.echoed {
        assert_eq!(e.as_deref(), Some(&agent[..]), "option 82 echoed unchanged");
    }
    drop(log);
    server.stop(libc::SIGTERM);
    let file = std::fs::read_to_string(lab.lease_file()).unwrap();
    assert!(file.contains(&format!(" {addr} ")), "{file}");
}
