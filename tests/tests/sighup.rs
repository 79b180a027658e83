//! SIGHUP clears the cache: after it, the same query goes upstream again.

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn sighup(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    let k0 = knot.query_count()?;
    for _ in 0..2 {
        let a = rm.dig("www.lab.test").run()?;
        ensure!(a.status == "NOERROR" && a.answers.len() == 1, "{a:?}");
    }
    ensure!(
        knot.query_count()? == k0 + 1,
        "second query not served from cache"
    );

    // "cleared cache" is logged once the cache is empty: wait for one more of them.
    let before = rm.log_count("cleared cache");
    rm.signal(libc::SIGHUP)?;
    ensure!(
        rm.wait_log_count("cleared cache", before + 1, Duration::from_secs(10)),
        "no \"cleared cache\" after SIGHUP: {}",
        rm.log()
    );
    rm.check_running()?;
    ensure!(
        rm.counter("cachesize.bind")? == 150,
        "cachesize.bind after SIGHUP"
    );

    let a = rm.dig("www.lab.test").run()?;
    ensure!(
        a.status == "NOERROR" && a.answers.len() == 1,
        "after SIGHUP: {a:?}"
    );
    ensure!(
        knot.query_count()? == k0 + 2,
        "query after SIGHUP did not go upstream (cache not cleared)"
    );
    let a = rm.dig("www.lab.test").run()?;
    ensure!(a.status == "NOERROR", "{a:?}");
    ensure!(
        knot.query_count()? == k0 + 2,
        "cache not refilled after SIGHUP"
    );
    Ok(())
}

backend_tests!(sighup);
