//! SIGUSR1 writes cache and per-server statistics to the log file (`-8`).

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn sigusr1(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    rm.dig("www.lab.test").run()?;
    let before = rm.log().len();
    rm.signal(libc::SIGUSR1)?;
    let ok = rm.wait_log("cache size", Duration::from_secs(3));
    ensure!(
        ok,
        "no 'cache size' line in the log after SIGUSR1:\n{}",
        rm.log()
    );
    // The per-server lines follow the first one (the logger thread writes them in order):
    // wait for the server's line among the lines written since the signal.
    let fresh = |rm: &Ringmasq| {
        let log = rm.log();
        log[before.min(log.len())..].to_string()
    };
    let found = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || fresh(&rm).contains(&knot.server_spec()).then_some(()),
    );
    rm.check_running()?;
    ensure!(
        found.is_some(),
        "per-server statistics for {} missing from SIGUSR1 output:\n{}",
        knot.server_spec(),
        fresh(&rm)
    );
    Ok(())
}

backend_tests!(sigusr1);
