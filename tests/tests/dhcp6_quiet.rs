//! `--quiet-dhcp6`: dhclient -6 still gets its address but no routine line per reply is
//! logged; without it each exchange is logged, and `--log-dhcp` overrides it, as in dnsmasq.

use std::time::Duration;

use ringmasq_tests::lab6::{Lab6, usable};

const RANGE: &str = "--dhcp-range=fd00:69::100,fd00:69::1ff,64,1h";
const ROUTINE: [&str; 2] = ["DHCPSOLICIT(", "DHCPREQUEST("];

#[test]
fn quiet_dhcp6_silences_routine_lines_only() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("q6", &["fd00:69::1/64"]);
    let leasefile = format!("--dhcp-leasefile={}", lab.path("leases").display());
    lab.start_ringmasq(&[RANGE, &leasefile, "--quiet-dhcp6"]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    let out = lab.dhclient6("", &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert!(
        got.contains("iaaddr fd00:69::"),
        "{out}\n{got}\n{}",
        lab.log()
    );
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let log = lab.log();
    for line in ROUTINE {
        assert!(
            !log.contains(line),
            "{line} logged with --quiet-dhcp6:\n{log}"
        );
    }

    // Without it (a fresh log), and with --log-dhcp overriding it, the exchanges are logged.
    for extra in [&[][..], &["--quiet-dhcp6", "--log-dhcp"][..]] {
        std::fs::remove_file(lab.path("server.log")).expect("remove log");
        std::fs::remove_file(lab.dhclient6_leases()).expect("remove client leases");
        let mut args = vec![RANGE, leasefile.as_str()];
        args.extend_from_slice(extra);
        lab.start_ringmasq(&args);
        lab.dhclient6("", &[]);
        lab.kill_dhclient6();
        lab.wait_log("DHCPREQUEST(", Duration::from_secs(5));
        lab.stop_ringmasq();
    }
}
