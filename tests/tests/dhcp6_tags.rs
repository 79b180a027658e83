//! DHCPv6 tags with ISC dhclient -6 in a namespace: two clients with different DUIDs (a
//! DUID-LL named by a `--dhcp-host=id:...,set:vip`, and a DUID-LLT nobody names). The first
//! range (`tag:vip`) serves only the tagged client; the other gets the second range. Tagged
//! `option6:dns-server` / `option6:domain-search` (and `tag:!vip`) give each its own servers
//! and search list; `--dhcp-match=set:fq,option6:39` tags the client that sends a Client FQDN
//! option. The `--dhcp-script` sees each lease's tags in DNSMASQ_TAGS.

use std::path::Path;
use std::time::{Duration, Instant};

use ringmasq_tests::lab6::{Lab6, usable};

/// The `DNSMASQ_*` lines of the script's finished `add` run for `addr`.
fn add_run(lab: &Lab6, log: &Path, addr: &str) -> Vec<String> {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let mut parts: Vec<&str> = text.split("END\n").collect();
        // The last part is a run still being written (or empty).
        parts.pop();
        if let Some(run) = parts
            .iter()
            .find(|r| r.starts_with("ARGS add ") && r.lines().next().unwrap_or("").contains(addr))
        {
            return run.lines().skip(1).map(str::to_string).collect();
        }
        assert!(
            Instant::now() < end,
            "no add run for {addr}:\n{text}\n{}",
            lab.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn var<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

/// The last `iaaddr` of a dhclient -6 lease file.
fn leased(file: &Path) -> Option<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("iaaddr "))
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
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
    let log = lab.path("script.log");
    let script = lab.path("script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ echo \"ARGS $*\"; env | grep '^DNSMASQ_' | sort; echo END; }} >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    let scriptarg = format!("--dhcp-script={}", script.display());
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
    let env = add_run(&lab, &log, &vip);
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
    let env = add_run(&lab, &log, &guest);
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
