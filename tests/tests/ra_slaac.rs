//! A client namespace with `accept_ra=2` configures a SLAAC address (RFC 4862) from ringmasq's
//! router advertisement for a `constructor:` range, with the infinite lifetimes the range asks
//! for, and learns ringmasq as its default router.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, usable};

#[test]
fn client_autoconfigures_from_our_advertisement() {
    if !usable(&[]) {
        return;
    }
    let mut lab = Lab6::new("sl", &["2001:db8:5::1/64"]);
    lab.start_ringmasq(&[
        "--port=0",
        "--enable-ra",
        "--dhcp-range=::,constructor:rmq6s,ra-only,infinite",
    ]);
    // EUI-64 from the client's MAC 02:66:00:00:00:02 (RFC 4291 appendix A).
    let (addr, valid, preferred) = lab.wait_client_addr("2001:db8:5:0:", Duration::from_secs(20));
    assert_eq!(addr, "2001:db8:5:0:66:ff:fe00:2/64");
    assert_eq!((valid.as_str(), preferred.as_str()), ("forever", "forever"));
    let routes = lab.in_client(&["ip", "-6", "route", "show", "default"]);
    let routes = String::from_utf8_lossy(&routes.stdout);
    assert!(
        routes.contains("via fe80::") && routes.contains("proto ra"),
        "no default route from our RA: {routes}"
    );
}
