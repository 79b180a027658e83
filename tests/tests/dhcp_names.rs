//! Lease names: a client's own name in DNS; `--dhcp-ignore-names` (by tag) drops it and
//! `--dhcp-generate-names` names the client after its MAC instead; `--dhcp-fqdn` publishes
//! only NAME.DOMAIN; a client's option 81 (dhclient `send fqdn.fqdn`) names it and gets the
//! server's option 81 back.

use std::time::{Duration, Instant};

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

fn wait_dig(lab: &DhcpLab, name: &str, want: &str) {
    let end = Instant::now() + Duration::from_secs(5);
    while lab.dig(&[name]) != want {
        assert!(
            Instant::now() < end,
            "{name} does not answer {want:?} (got {:?}):\n{}",
            lab.dig(&[name]),
            lab.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// DNS on 127.0.0.1:53, lab.test answered locally only (no upstream in the namespace).
const DNS: [&str; 5] = [
    "--port=53",
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--local=/lab.test/",
];

#[test]
fn ignored_generated_and_qualified_names() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("m");
    let mut args = DNS.to_vec();
    args.extend([
        "--dhcp-vendorclass=set:quiet,quiet",
        "--dhcp-ignore-names=tag:quiet",
        "--dhcp-generate-names",
    ]);
    let server = lab.ringmasq(&args);
    let addr = lab.udhcpc_with(&["-x", "hostname:nbook"]);
    wait_dig(&lab, "nbook.lab.test", &addr);
    // Without --dhcp-fqdn the bare name answers too.
    assert_eq!(lab.dig(&["nbook"]), addr);
    // Its name ignored, the client is named after its MAC.
    let addr = lab.udhcpc_with(&["-x", "hostname:nbook", "-V", "quiet"]);
    wait_dig(&lab, "02-77-00-00-00-02.lab.test", &addr);
    wait_dig(&lab, "nbook.lab.test", "");
    server.stop(libc::SIGTERM);

    let mut args = DNS.to_vec();
    args.push("--dhcp-fqdn");
    let server = lab.ringmasq(&args);
    let out = lab.dhclient_conf(
        "send fqdn.fqdn \"pc1\";\nsend fqdn.encoded on;\nsend fqdn.server-update on;\n\
         request subnet-mask, routers;\n",
        &["-1"],
    );
    let addr = out
        .split("DHCPACK of ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ACK:\n{out}\n{}", lab.log()))
        .to_string();
    wait_dig(&lab, "pc1.lab.test", &addr);
    assert_eq!(lab.dig(&["pc1"]), "", "--dhcp-fqdn: no bare name");
    assert_eq!(lab.dig(&["-x", &addr]), "pc1.lab.test.");
    // RFC 4702: the server's option 81 tells the client not to update DNS (N set, O set as
    // it asked the server to, S clear) and carries the qualified name.
    let leases = std::fs::read_to_string(lab.dhclient_leases()).unwrap();
    assert!(leases.contains("option fqdn."), "{leases}");
    server.stop(libc::SIGTERM);
}
