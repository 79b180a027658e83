//! The system clock stepped a day forward, then two days back (libfaketime with a timestamp
//! file that ringmasq re-reads; `CLOCK_BOOTTIME` and `CLOCK_MONOTONIC` stay real): ringmasq
//! logs each step, no lease expires in bulk, every expiry in the lease file moves with the
//! clock (each lease keeps its remaining time), and the client renews the same address.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::dhcp_lab::{CLIENT_MAC, DhcpLab, usable};
use ringmasq_tests::lease_check::{LoadRun, json_count, wide_args, widen};
use ringmasq_tests::wait::poll_until;

const DAY: i64 = 86_400;

fn libfaketime() -> Option<PathBuf> {
    let dirs = std::fs::read_dir("/usr/lib").ok()?;
    dirs.flatten()
        .map(|d| d.path().join("faketime/libfaketimeMT.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")])
        .find(|p| p.is_file())
}

fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Expiry of every lease in the lease file, by MAC.
fn expiries(lab: &DhcpLab) -> BTreeMap<String, i64> {
    std::fs::read_to_string(lab.lease_file())
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((f.get(1)?.to_string(), f.first()?.parse().ok()?))
        })
        .collect()
}

/// Waits for the `n`-th "system clock stepped by" line; returns its step.
fn wait_step(lab: &DhcpLab, n: usize) -> i64 {
    lab.wait_log_count("system clock stepped by", n);
    let log = lab.log();
    let t = log.split("system clock stepped by ").nth(n).unwrap();
    t.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_day_either_way_moves_leases_and_expires_none() {
    if !usable() {
        return;
    }
    let Some(lib) = libfaketime() else {
        println!("note: needs libfaketime (apt faketime); skipping");
        return;
    };
    let lab = DhcpLab::new("ck");
    widen(&lab);
    let offset = lab.dir.join("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let mut cmd = lab
        .server
        .command(&ringmasq_bin().unwrap().to_string_lossy());
    cmd.args(wide_args(&lab))
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let server = lab.start("ringmasq", cmd);
    lab.wait_log("0 lease(s) loaded");
    let (json, acks) = LoadRun::start(&lab, 20, 100, 12, 6, Duration::from_secs(20))
        .finish(Duration::from_secs(40));
    assert_eq!(acks.len(), 20, "{json}");
    assert_eq!(json_count(&json, "lease_timeouts"), 0);
    let addr = lab.udhcpc();

    let mut expected_shift = 0;
    for (n, (file_offset, step)) in [("+1d", DAY), ("-1d", -2 * DAY)].into_iter().enumerate() {
        // Force the lease file up to date, then step the clock.
        let before = expiries(&lab);
        std::fs::write(&offset, format!("{file_offset}\n")).unwrap();
        let seen = wait_step(&lab, n + 1);
        assert!((seen - step).abs() <= 2, "step {seen}, expected {step}");
        expected_shift += step;
        // The file is rewritten (by the writer thread, synced, then renamed) with every lease
        // moved by the step: wait for a file with every lease in the new time base.
        let moved = |a: &BTreeMap<String, i64>| {
            let now = real_now() + expected_shift;
            a.len() == 21 && a.values().all(|exp| (3300..=3610).contains(&(exp - now)))
        };
        let after = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            400,
            || Some(expiries(&lab)).filter(moved),
        )
        .unwrap_or_else(|| expiries(&lab));
        assert_eq!(after.len(), 21, "leases lost at the step:\n{}", lab.log());
        let now = real_now() + expected_shift;
        for (mac, exp) in &after {
            // Each lease keeps (about) its remaining hour in the new time base.
            let left = exp - now;
            assert!(
                (3300..=3610).contains(&left),
                "{mac}: {left} s left after a step of {seen}"
            );
            if let Some(old) = before.get(mac) {
                assert!((exp - old - seen).abs() <= 30, "{mac}: {old} -> {exp}");
            }
        }
        // The client renews its address.
        assert_eq!(lab.udhcpc(), addr);
        let exp = expiries(&lab);
        assert!(exp.contains_key(CLIENT_MAC));
    }
    let log = lab.log();
    assert!(!log.contains("panicked"), "{log}");
    server.stop(libc::SIGTERM);
}
