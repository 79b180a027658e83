//! `--dhcp-alternate-port` in its three forms and its bad values (refused with the value), and
//! `--domain-suffix` read as `--domain`.

use std::ffi::OsString;

use ringmasq_config::{Config, ConfigErrors, load_with_default};

fn load(list: &[&str]) -> Result<Config, ConfigErrors> {
    let args: Vec<OsString> = list.iter().map(OsString::from).collect();
    load_with_default(&args, None)
}

#[test]
fn alternate_ports_in_every_form() {
    assert_eq!(load(&[]).unwrap().dhcp.alternate_ports, None);
    for (arg, want) in [
        ("--dhcp-alternate-port", (1067, 1068)),
        ("--dhcp-alternate-port=2067", (2067, 2068)),
        ("--dhcp-alternate-port=3067,4068", (3067, 4068)),
    ] {
        assert_eq!(
            load(&[arg]).unwrap().dhcp.alternate_ports,
            Some(want),
            "{arg}"
        );
    }
}

#[test]
fn bad_alternate_ports_are_refused() {
    for arg in [
        "--dhcp-alternate-port=0",
        "--dhcp-alternate-port=65535",
        "--dhcp-alternate-port=67,68,69",
        "--dhcp-alternate-port=x",
        "--dhcp-alternate-port=67,",
    ] {
        let e = load(&[arg]).expect_err(arg).to_string();
        let value = arg.split_once('=').unwrap().1;
        assert!(e.contains(value), "{arg}: {e}");
    }
}

#[test]
fn domain_suffix_is_domain() {
    // dnsmasq's hidden alias of -s/--domain, in both of its forms.
    let c = load(&["--domain-suffix=lan.test"]).unwrap();
    assert_eq!(c.domain.as_deref(), Some("lan.test"));
    let c = load(&["--domain-suffix=lab.test,eth1"]).unwrap();
    assert_eq!(c.domain_interfaces, [("lab.test".into(), "eth1".into())]);
    assert_eq!(
        load(&["--domain=lan.test"]).unwrap().domain,
        load(&["--domain-suffix=lan.test"]).unwrap().domain
    );
}
