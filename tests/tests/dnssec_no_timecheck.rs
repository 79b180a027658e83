//! `--dnssec-no-timecheck`: signature validity periods are ignored (the lab's expired zone
//! validates) until SIGINT, which switches the checks on and clears the cache instead of
//! stopping the server; a second SIGINT stops it (dnsmasq's behaviour).

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Ringmasq, SignedLab, backend_tests};

fn dnssec_no_timecheck(backend: Backend) -> anyhow::Result<()> {
    let lab = SignedLab::start()?;
    let mut rm = Ringmasq::builder(backend)
        .server(lab.knot.server_spec())
        .arg("--dnssec")
        .arg(format!("--trust-anchor={}", lab.anchor))
        .arg("--dnssec-no-timecheck")
        .spawn()?;
    for round in ["upstream", "cache"] {
        let a = rm.dig("www.expired.test.").opt("+dnssec").run()?;
        ensure!(
            a.status == "NOERROR" && a.has_flag("ad"),
            "{round}: expired signatures must validate without time checks: {a:?}"
        );
    }
    rm.signal(libc::SIGINT)?;
    ensure!(
        rm.wait_log(
            "now checking DNSSEC signature timestamps",
            Duration::from_secs(5)
        ),
        "SIGINT did not switch time checks on: {}",
        rm.log()
    );
    // The switch is logged before the cache is cleared; "cleared cache" after.
    ensure!(
        rm.wait_log("cleared cache", Duration::from_secs(5)),
        "SIGINT did not clear the cache: {}",
        rm.log()
    );
    rm.check_running()?;
    // The cache was cleared: the answer validated without time checks is not served again.
    let a = rm.dig("www.expired.test.").opt("+dnssec").run()?;
    ensure!(a.status == "SERVFAIL" && a.ede == Some(7), "{a:?}");
    let a = rm.dig("www.sec.test.").opt("+dnssec").run()?;
    ensure!(a.status == "NOERROR" && a.has_flag("ad"), "{a:?}");
    // Now SIGINT stops the server.
    rm.signal(libc::SIGINT)?;
    let stopped = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || rm.check_running().is_err().then_some(()),
    );
    ensure!(stopped.is_some(), "second SIGINT did not stop the server");
    Ok(())
}

backend_tests!(dnssec_no_timecheck);
