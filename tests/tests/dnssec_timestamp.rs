//! `--dnssec-timestamp=FILE` (dnsmasq's meaning): while the clock is before the file's mtime,
//! signature validity periods are not checked (the lab's expired zone validates); once it
//! passes, the file is touched, the cache is cleared and expired signatures are bogus. A
//! missing file is created, and since the clock is past 2015 checks start at once.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Ringmasq, SignedLab, TempDir, backend_tests};

/// How far in the future the file's mtime is set: the server must start and answer before.
const AHEAD: Duration = Duration::from_secs(6);

fn mtime(p: &Path) -> anyhow::Result<SystemTime> {
    Ok(std::fs::metadata(p)?.modified()?)
}

fn dnssec_timestamp(backend: Backend) -> anyhow::Result<()> {
    let lab = SignedLab::start()?;
    let dir = TempDir::new("dnssec-timestamp")?;
    let stamp = dir.join("timestamp");
    std::fs::write(&stamp, b"")?;
    // A mtime late in its second (x.9): a server comparing whole seconds would start checks
    // up to 0.9 s early, and the assertion after the poll below catches that.
    let ahead = (SystemTime::now() + AHEAD).duration_since(UNIX_EPOCH)?;
    let until = UNIX_EPOCH + Duration::from_secs(ahead.as_secs()) + Duration::from_millis(900);
    std::fs::File::options()
        .write(true)
        .open(&stamp)?
        .set_modified(until)?;
    let rm = Ringmasq::builder(backend)
        .server(lab.knot.server_spec())
        .arg("--dnssec")
        .arg(format!("--trust-anchor={}", lab.anchor))
        .arg(format!("--dnssec-timestamp={}", stamp.display()))
        .spawn()?;
    let a = rm.dig("www.expired.test.").opt("+dnssec").run()?;
    ensure!(
        SystemTime::now() < until,
        "the first query ended after the timestamp (machine too slow for this test)"
    );
    ensure!(
        a.status == "NOERROR" && a.has_flag("ad"),
        "before the timestamp, expired signatures must validate: {a:?}\n{}",
        rm.log()
    );
    ensure!(
        mtime(&stamp)? >= until - Duration::from_secs(1),
        "file touched early"
    );
    // After the mtime: checks on, cache cleared (the secure answer above is gone).
    let limit = AHEAD + Duration::from_secs(10);
    let bogus = poll_until(limit, Duration::from_millis(200), 200, || {
        let a = rm.dig("www.expired.test.").opt("+dnssec").run().ok()?;
        (a.status == "SERVFAIL").then_some(a)
    })
    .with_context(|| format!("expired signatures still accepted; log:\n{}", rm.log()))?;
    ensure!(SystemTime::now() >= until, "time checks started early");
    ensure!(bogus.ede == Some(7), "EDE {:?} (want 7)", bogus.ede);
    ensure!(
        rm.wait_log(
            "now checking DNSSEC signature timestamps",
            Duration::from_secs(2)
        ),
        "no log line: {}",
        rm.log()
    );
    ensure!(
        mtime(&stamp)? >= until,
        "timestamp file not touched when the time became valid"
    );
    let a = rm.dig("www.sec.test.").opt("+dnssec").run()?;
    ensure!(a.status == "NOERROR" && a.has_flag("ad"), "{a:?}");
    drop(rm);

    // A missing file: created (dnsmasq dates it 2015-01-01), then touched since the clock is
    // past that; signature times are checked from the start.
    let missing = dir.join("new-timestamp");
    let before = SystemTime::now() - Duration::from_secs(2);
    let rm = Ringmasq::builder(backend)
        .server(lab.knot.server_spec())
        .arg("--dnssec")
        .arg(format!("--trust-anchor={}", lab.anchor))
        .arg(format!("--dnssec-timestamp={}", missing.display()))
        .spawn()?;
    ensure!(
        mtime(&missing)? >= before,
        "created file not touched to now"
    );
    let a = rm.dig("www.expired.test.").opt("+dnssec").run()?;
    ensure!(a.status == "SERVFAIL" && a.ede == Some(7), "{a:?}");
    Ok(())
}

backend_tests!(dnssec_timestamp);
