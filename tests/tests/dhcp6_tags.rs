//! DHCPv6 tags with ISC dhclient -6 in a namespace: two clients with different DUIDs (a
//! DUID-LL named by a `--dhcp-host=id:...,set:vip`, and a DUID-LLT nobody names). The first
//! range (`tag:vip`) serves only the tagged client; the other gets the second range. Tagged
//! `option6:dns-server` / `option6:domain-search` (and `tag:!vip`) give each its own servers
//! and search list; `--dhcp-match=set:fq,option6:39` tags the client that sends a Client FQDN
//! option. The `--dhcp-script` sees each lease's tags in DNSMASQ_TAGS.

use std::path::Path;
use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, last_iaaddr, usable};
use ringmasq_tests::script_log::{ScriptLog, var};

/// The newest `iaaddr` of a dhclient -6 lease file.
fn leased(file: &Path) -> Option<String> {
    last_iaaddr(&std::fs::read_to_string(file).unwrap_or_default())
}

fn low16(a: &str) -> u128 {
    u128::from(a.parse::<std::net::Ipv6Addr>().unwrap()) & 0xffff
}

#[test]
fn host_tag_selects_range_options_and_script_tags() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("tg", &["fd00:69::1/64"]);
    let leases = lab.path("leases");
    let script = ScriptLog::new(&lab.path(""));
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    let scriptarg = script.arg();
    lab.start_ringmasq(&[
        "--dhcp-range=tag:vip,set:vipnet,fd00:69::10,fd00:69::1f,64,1h",
        "--dhcp-range=set:lan,fd00:69::100,fd00:69::1ff,64,1h",
        // DUID-LL (type 3, hardware type 1) of the lab client's MAC 02:66:00:00:00:02.
        "--dhcp-host=id:00:03:00:01:02:66:00:00:00:02,set:vip",
        "--dhcp-match=set:fq,option6:39",
        "--dhcp-option=option6:dns-server,[fd00:69::99]",
        "--dhcp-option=tag:vip,option6:dns-server,[::],[fd00:69::53]",
        "--dhcp-option=tag:!vip,option6:domain-search,lan.test",
        "--dhcp-option=tag:vip,option6:domain-search,vip.test",
        &leasefile,
        &scriptarg,
    ]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));

    // The named client (DUID-LL).
    let out = lab.dhclient6("", &["-D", "LL"]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    let vip = leased(&lab.dhclient6_leases())
        .unwrap_or_else(|| panic!("no lease:\n{out}\n{}", lab.log()));
    assert!((0x10..=0x1f).contains(&low16(&vip)), "{vip}\n{got}");
    assert!(
        got.contains("option dhcp6.name-servers fd00:69::1,fd00:69::53;"),
        "{got}"
    );
    assert!(
        got.contains("option dhcp6.domain-search \"vip.test.\";"),
        "{got}"
    );
    let (_, env) = script.wait_run(|a| a.starts_with("add ") && a.contains(&vip), || lab.log());
    assert_eq!(
        var(&env, "DNSMASQ_TAGS"),
        Some("known lan vip vipnet"),
        "{env:?}"
    );
    lab.kill_dhclient6();

    // Another client (DUID-LLT, its own lease file), sending a Client FQDN option.
    let other = lab.path("other.leases");
    let other_lf = other.display().to_string();
    let conf = "send fqdn.fqdn \"guest6\";\nsend fqdn.server-update on;\n";
    let out = lab.dhclient6(conf, &["-D", "LLT", "-lf", &other_lf]);
    let got = std::fs::read_to_string(&other).unwrap_or_default();
    let guest = leased(&other).unwrap_or_else(|| panic!("no lease:\n{out}\n{}", lab.log()));
    assert!((0x100..=0x1ff).contains(&low16(&guest)), "{guest}\n{got}");
    assert!(
        got.contains("option dhcp6.name-servers fd00:69::99;"),
        "{got}"
    );
    assert!(
        got.contains("option dhcp6.domain-search \"lan.test.\";"),
        "{got}"
    );
    let (_, env) = script.wait_run(
        |a| a.starts_with("add ") && a.contains(&guest),
        || lab.log(),
    );
    assert_eq!(var(&env, "DNSMASQ_TAGS"), Some("fq lan"), "{env:?}");
    assert_eq!(
        var(&env, "DNSMASQ_SUPPLIED_HOSTNAME"),
        Some("guest6"),
        "{env:?}"
    );
    assert!(
        var(&env, "DNSMASQ_REQUESTED_OPTIONS").is_some_and(|o| o.split(',').any(|c| c == "23")),
        "{env:?}"
    );
    lab.kill_dhclient6();
}
