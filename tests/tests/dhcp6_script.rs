//! `--dhcp-script` for DHCPv6 leases, with ISC dhclient -6 in a namespace: a lease runs the
//! script with `add DUID ADDR NAME` and dnsmasq's v6 environment (DNSMASQ_IAID,
//! DNSMASQ_SERVER_DUID = the lease file's `duid` line, DNSMASQ_MAC from the client's DUID,
//! DNSMASQ_INTERFACE, DNSMASQ_SUPPLIED_HOSTNAME from the Client FQDN option, expiry); the
//! REPLY echoes the Client FQDN option (RFC 4704) with the name under `--domain`; a restart
//! runs `old` with DNSMASQ_DATA_MISSING; `dhclient -6 -r` runs `del`.

use std::time::Duration;

use ringmasq_tests::lab6::{CLIENT_MAC, Lab6, usable};
use ringmasq_tests::script_log::{ScriptLog, var};

#[test]
fn add_old_del_with_v6_environment() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("sc", &["fd00:68::1/64"]);
    let leases = lab.path("leases");
    let script = ScriptLog::new(&lab.path(""));
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    let scriptarg = script.arg();
    let args = [
        "--port=0",
        "--domain=lab6",
        "--dhcp-range=fd00:68::100,fd00:68::1ff,64,2h",
        &leasefile,
        &scriptarg,
    ];
    lab.start_ringmasq(&args);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    let conf = "send fqdn.fqdn \"client6\";\nsend fqdn.server-update on;\n\
                request dhcp6.fqdn;\n";
    let out = lab.dhclient6(conf, &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    let addr = got
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("iaaddr "))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no lease:\n{out}\n{}", lab.log()))
        .to_string();
    // The Client FQDN option came back: flags N|O (ringmasq names the client in its own
    // DNS, overriding the client's S), then client6.lab6. in wire format.
    assert!(
        got.contains("option dhcp6.fqdn"),
        "no FQDN option in the reply:\n{got}"
    );
    assert!(got.contains("client6.lab6"), "{got}");
    let (a, env) = script.wait_run(|a| a.starts_with("add "), || lab.log());
    let f: Vec<&str> = a.split(' ').collect();
    assert_eq!((f[2], f[3]), (addr.as_str(), "client6"), "{a}");
    assert!(f[1].ends_with(CLIENT_MAC), "DUID argument: {a}");
    let iaid = var(&env, "DNSMASQ_IAID").expect("IAID");
    assert!(iaid.parse::<u32>().is_ok(), "{env:?}");
    assert_eq!(var(&env, "DNSMASQ_MAC"), Some(CLIENT_MAC), "{env:?}");
    assert_eq!(var(&env, "DNSMASQ_INTERFACE"), Some("rmq6s"), "{env:?}");
    assert_eq!(
        var(&env, "DNSMASQ_SUPPLIED_HOSTNAME"),
        Some("client6"),
        "{env:?}"
    );
    assert_eq!(var(&env, "DNSMASQ_DOMAIN"), Some("lab6"), "{env:?}");
    let remaining: u64 = var(&env, "DNSMASQ_TIME_REMAINING")
        .unwrap()
        .parse()
        .unwrap();
    assert!((7100..=7200).contains(&remaining), "{env:?}");
    let server_duid = var(&env, "DNSMASQ_SERVER_DUID").unwrap().to_string();
    // A restart: `old` for the stored lease, data missing, same server DUID.
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let file = std::fs::read_to_string(&leases).unwrap();
    assert!(
        file.contains(&format!("duid {server_duid}\n")),
        "{file}\n{server_duid}"
    );
    lab.start_ringmasq(&args);
    let (a, env) = script.wait_run(|a| a.starts_with("old "), || lab.log());
    assert!(a.contains(&addr), "{a}");
    assert_eq!(var(&env, "DNSMASQ_DATA_MISSING"), Some("1"), "{env:?}");
    assert_eq!(var(&env, "DNSMASQ_IAID"), Some(iaid), "{env:?}");
    // Released: `del`.
    let out = lab.dhclient6(conf, &["-r"]);
    let (a, _) = script.wait_run(|a| a.starts_with("del "), || lab.log());
    assert!(a.contains(&addr), "{a}\n{out}");
}
