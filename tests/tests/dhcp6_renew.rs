//! A timed DHCPv6 RENEW with ISC dhclient -6: the range's lease is dnsmasq's minimum (two
//! minutes), so the IA_NA carries T1 = 60 s and T2 = 105 s (RFC 8415 §21.4, as dnsmasq); the
//! client renews on its own at T1 (RENEW, not a new SOLICIT), keeps its address, and the lease
//! file's expiry for it moves forward by the time that passed. dhclient honours no shorter T1
//! than the server sends, and neither dnsmasq nor ringmasq accepts a lease under two minutes,
//! so this test waits about a minute.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ringmasq_tests::lab6::{Lab6, usable};

fn wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `(expiry, address)` of the v6 lease lines (after the `duid` line).
fn v6_leases(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .skip_while(|l| !l.starts_with("duid "))
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.first()?.parse().ok()?, f.get(2)?.to_string()))
        })
        .collect()
}

#[test]
fn dhclient_renews_at_t1() {
    if !usable(&["dhclient"]) {
        return;
    }
    let mut lab = Lab6::new("rw", &["fd00:67::1/64"]);
    let leases = lab.path("leases");
    let leasefile = format!("--dhcp-leasefile={}", leases.display());
    lab.start_ringmasq(&[
        "--port=0",
        "--dhcp-range=fd00:67::100,fd00:67::1ff,64,2m",
        &leasefile,
    ]);
    lab.wait_log("DHCPv6, IP range", Duration::from_secs(5));
    // dhclient stays in the background (no -1 exit after the lease: it must renew).
    let out = lab.dhclient6("", &[]);
    let got = std::fs::read_to_string(lab.dhclient6_leases()).unwrap_or_default();
    assert!(
        got.contains("renew 60;") && got.contains("rebind 105;"),
        "T1/T2 in the lease:\n{got}\n{out}"
    );
    assert!(got.contains("max-life 120;"), "{got}");
    let t0 = wall();
    assert!(!lab.log().contains("DHCPRENEW"), "{}", lab.log());
    // T1 is 60 s after the REPLY; allow dhclient's jitter.
    let end = Instant::now() + Duration::from_secs(80);
    while !lab.log().contains("DHCPRENEW(rmq6s)") {
        assert!(Instant::now() < end, "no RENEW within 80 s:\n{}", lab.log());
        std::thread::sleep(Duration::from_millis(250));
    }
    let renewed_at = wall();
    assert!(
        renewed_at >= t0 + 50,
        "renewed too early: {}",
        renewed_at - t0
    );
    let log = lab.log();
    assert_eq!(
        log.matches("DHCPSOLICIT(").count(),
        1,
        "one SOLICIT only:\n{log}"
    );
    // The renewal is durable once answered: a clean stop writes the lease file.
    std::thread::sleep(Duration::from_millis(500));
    lab.kill_dhclient6();
    lab.stop_ringmasq();
    let text = std::fs::read_to_string(&leases).unwrap();
    let v6 = v6_leases(&text);
    assert_eq!(v6.len(), 1, "{text}");
    let (expiry, addr) = &v6[0];
    assert!(addr.starts_with("fd00:67::1"), "{text}");
    // Granted at the renewal: two minutes from then, not from the first REPLY.
    assert!(
        (renewed_at + 115..=renewed_at + 125).contains(expiry),
        "expiry {expiry} vs renewal at {renewed_at} (first lease at {t0}):\n{text}"
    );
    assert!(*expiry >= t0 + 170, "{text}");
}
