//! The query and answer guard options from the command line and from a configuration file.

use std::ffi::OsString;

use ringmasq_config::{AddrPrefix, Config, ConfigErrors, load_with_default};

fn load(list: &[&str]) -> Result<Config, ConfigErrors> {
    let args: Vec<OsString> = list.iter().map(OsString::from).collect();
    load_with_default(&args, None)
}

#[test]
fn flags_and_values_from_the_command_line() {
    let c = load(&[
        "-D",
        "-b",
        "-f",
        "--stop-dns-rebind",
        "--rebind-localhost-ok",
        "--rebind-domain-ok=/Lan/corp.example./",
        "--rebind-domain-ok=home",
        "-B",
        "64.94.110.11",
        "--bogus-nxdomain=2001:db8::/32",
        "--ignore-address=203.0.113.0/24",
        "--filter-A",
        "--filter-AAAA",
        "--filter-rr=TXT,any,99",
        "--no-round-robin",
        "--cache-rr=TXT,mx,99",
    ])
    .unwrap();
    assert_eq!(c.cache_rr, [16, 15, 99]);
    assert!(c.domain_needed && c.bogus_priv && c.filterwin2k);
    assert!(c.stop_dns_rebind && c.rebind_localhost_ok);
    assert_eq!(c.rebind_domain_ok, ["lan", "corp.example", "home"]);
    assert_eq!(
        c.bogus_nxdomain,
        [
            AddrPrefix {
                addr: "64.94.110.11".parse().unwrap(),
                prefix: 32
            },
            AddrPrefix {
                addr: "2001:db8::".parse().unwrap(),
                prefix: 32
            }
        ]
    );
    assert_eq!(c.ignore_address[0].prefix, 24);
    assert!(c.filter_a && c.filter_aaaa && c.no_round_robin);
    assert_eq!(c.filter_rr, [16, 255, 99]);
}

#[test]
fn defaults_guard_nothing() {
    let c = load(&[]).unwrap();
    assert!(!c.domain_needed && !c.bogus_priv && !c.filterwin2k && !c.stop_dns_rebind);
    assert!(c.bogus_nxdomain.is_empty() && c.ignore_address.is_empty());
    assert!(!c.filter_a && !c.filter_aaaa && c.filter_rr.is_empty());
}

#[test]
fn bad_values_are_errors() {
    for bad in [
        "--bogus-nxdomain=foo",
        "--ignore-address=1.2.3.4/33",
        "--filter-rr=FOO",
        "--cache-rr=FOO",
        "--cache-rr=70000",
        "--rebind-domain-ok=/a",
        "--filter-A=1",
    ] {
        assert!(load(&[bad]).is_err(), "{bad}");
    }
}

#[test]
fn config_file_keys() {
    let dir = std::env::temp_dir().join(format!("ringmasq-guard-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guards.conf");
    std::fs::write(
        &file,
        "domain-needed\nbogus-priv\nfilterwin2k\nstop-dns-rebind\nrebind-domain-ok=/lan/\n\
         bogus-nxdomain=198.51.100.66\nignore-address=203.0.113.99\nfilter-AAAA\nfilter-rr=MX\n",
    )
    .unwrap();
    let c = load(&["-C", file.to_str().unwrap()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(c.domain_needed && c.bogus_priv && c.filterwin2k && c.stop_dns_rebind);
    assert_eq!(c.rebind_domain_ok, ["lan"]);
    assert_eq!(c.bogus_nxdomain.len(), 1);
    assert_eq!(c.ignore_address.len(), 1);
    assert!(c.filter_aaaa && !c.filter_a);
    assert_eq!(c.filter_rr, [15]);
}
