//! `--dhcp-name-match`: the name a client supplies (udhcpc `-x hostname:`) sets a tag, exactly
//! (ignoring case) or by a trailing `*`; with `--dhcp-ignore` the client is refused, as in
//! dnsmasq's man page example, and a prefix match selects an option.

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

#[test]
fn supplied_names_set_tags() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("nm");
    let _server = lab.ringmasq(&[
        "--dhcp-name-match=set:wpad-ignore,wpad",
        "--dhcp-ignore=tag:wpad-ignore",
        "--dhcp-name-match=set:lab,lab-*",
        "--dhcp-option=tag:lab,option:ntp-server,10.77.0.21",
    ]);
    let (_, env) = lab.udhcpc_env(&["-x", "hostname:lab-7"]);
    assert!(env.contains("ntpsrv=10.77.0.21"), "{env}");
    let (_, env) = lab.udhcpc_env(&["-x", "hostname:other"]);
    assert!(env.contains("ntpsrv=10.77.0.7"), "{env}");
    let out = lab.udhcpc_output(&["-x", "hostname:WPAD"]);
    assert!(
        !out.contains("lease of"),
        "ignored client got a lease:\n{out}"
    );
    assert!(lab.log().contains("DHCPOFFER"), "{}", lab.log());
}
