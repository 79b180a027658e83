//! `--clear-on-reload`: when the polled resolv-file changes, the cache is cleared, so a cached
//! name is asked upstream again; without the option it stays cached.

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::port::free_loopback_addr;
use ringmasq_tests::{Backend, Knot, Ringmasq, TempDir, backend_tests, zone};

/// Upstream queries knot sees for one name asked three times: twice before a resolv-file change
/// (a miss, then a hit), once after it.
fn upstream_queries(backend: Backend, clear: bool) -> anyhow::Result<u64> {
    let ip = free_loopback_addr(53)?;
    let knot = Knot::builder()
        .ip(ip)
        .port(53)
        .zone(zone::LAB, zone::lab_zone())
        .start()?;
    let dir = TempDir::new("clear")?;
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, format!("nameserver {ip}\n"))?;
    let mut b = Ringmasq::builder(backend).resolv_file(&resolv);
    if clear {
        b = b.arg("--clear-on-reload");
    }
    let rm = b.spawn()?;
    let before = knot.query_count()?;
    for _ in 0..2 {
        let a = rm.dig("www.lab.test").run()?;
        ensure!(a.status == "NOERROR" && !a.answers.is_empty(), "{a:?}");
    }
    ensure!(
        knot.query_count()? == before + 1,
        "second question was not a cache hit"
    );
    // A new mtime (>= 1 s later) and new contents: the poller re-reads the file.
    std::thread::sleep(Duration::from_millis(1100));
    let tmp = dir.join("resolv.tmp");
    std::fs::write(&tmp, format!("# changed\nnameserver {ip}\n"))?;
    std::fs::rename(&tmp, &resolv)?;
    ensure!(
        rm.wait_log(
            &format!("reading {}", resolv.display()),
            Duration::from_secs(5)
        ),
        "resolv-file change not noticed: {}",
        rm.log()
    );
    // "reading" is logged before the cache is cleared; "cleared cache" after.
    ensure!(
        !clear || rm.wait_log("cleared cache", Duration::from_secs(5)),
        "cache not cleared on the resolv-file change: {}",
        rm.log()
    );
    let a = rm.dig("www.lab.test").run()?;
    ensure!(a.status == "NOERROR" && !a.answers.is_empty(), "{a:?}");
    Ok(knot.query_count()? - before)
}

fn clear_on_reload(backend: Backend) -> anyhow::Result<()> {
    let with = upstream_queries(backend, true)?;
    ensure!(
        with == 2,
        "with --clear-on-reload knot saw {with} queries, want 2"
    );
    let without = upstream_queries(backend, false)?;
    ensure!(
        without == 1,
        "without the option knot saw {without} queries, want 1"
    );
    Ok(())
}

backend_tests!(clear_on_reload);
