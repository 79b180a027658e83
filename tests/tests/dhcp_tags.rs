//! Tags select options: `-U/--dhcp-vendorclass` (udhcpc -V), `-j/--dhcp-userclass` (udhcpc
//! `-x 0x4d:...` and dhclient `send user-class`), `--dhcp-match` on client-arch, `--tag-if`
//! combining two tags, `tag:!x` conditions; `--dhcp-reply-delay` holds back a tagged OFFER.

use std::time::{Duration, Instant};

use ringmasq_tests::dhcp_lab::{self, DhcpLab};

/// RFC 3004 user class "office": one length-prefixed class.
const USER_CLASS: &str = "0x4d:066f6666696365";
/// RFC 4578 client architecture 7 (EFI BC).
const CLIENT_ARCH: &str = "0x5d:0007";

#[test]
fn vendor_and_user_classes_match_and_tag_if_select_options() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("t");
    let server = lab.ringmasq(&[
        "--dhcp-vendorclass=set:va,vendorA",
        "--dhcp-option=tag:va,option:ntp-server,10.77.0.11",
        "--dhcp-userclass=set:uc,office",
        "--dhcp-option=tag:uc,tag:!arch,option:ntp-server,10.77.0.12",
        "--dhcp-match=set:arch,option:client-arch,7",
        "--tag-if=set:both,tag:uc,tag:arch",
        "--dhcp-option=tag:both,option:ntp-server,10.77.0.13",
        "--dhcp-reply-delay=tag:va,1",
    ]);
    // No tag: the untagged option.
    let (_, env) = lab.udhcpc_env(&[]);
    assert!(env.contains("ntpsrv=10.77.0.7"), "{env}");
    // Vendor class: its option, and its OFFER held back a second.
    let start = Instant::now();
    let (_, env) = lab.udhcpc_env(&["-V", "vendorA"]);
    assert!(env.contains("ntpsrv=10.77.0.11"), "{env}");
    assert!(start.elapsed() >= Duration::from_secs(1), "reply delay");
    // User class without client-arch 7.
    let (_, env) = lab.udhcpc_env(&["-x", USER_CLASS]);
    assert!(env.contains("ntpsrv=10.77.0.12"), "{env}\n{}", lab.log());
    // Both: tag-if sets "both", whose option has more tags and wins.
    let (_, env) = lab.udhcpc_env(&["-x", USER_CLASS, "-x", CLIENT_ARCH]);
    assert!(env.contains("ntpsrv=10.77.0.13"), "{env}");
    // dhclient's own user-class statement.
    let out = lab.dhclient_conf(
        "send user-class \"office\";\nrequest subnet-mask, routers, ntp-servers;\n",
        &["-1"],
    );
    assert!(out.contains("DHCPACK"), "{out}");
    let leases = std::fs::read_to_string(lab.dhclient_leases()).unwrap();
    assert!(
        leases.contains("option ntp-servers 10.77.0.12;"),
        "{leases}"
    );
    server.stop(libc::SIGTERM);
}
