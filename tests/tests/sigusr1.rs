//! SIGUSR1 writes cache and per-server statistics to the log file (`-8`).

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn sigusr1(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    rm.dig("www.lab.test").run()?;
    let before = rm.log().len();
    let server_lines = rm.log_count(&knot.server_spec());
    rm.signal(libc::SIGUSR1)?;
    let ok = rm.wait_log("cache size", Duration::from_secs(3));
    ensure!(
        ok,
        "no 'cache size' line in the log after SIGUSR1:\n{}",
        rm.log()
    );
    // The per-server lines follow the first one (the logger thread writes them in order):
    // wait for one more line naming the server than there was before the signal.
    let found = rm.wait_log_count(
        &knot.server_spec(),
        server_lines + 1,
        Duration::from_secs(5),
    );
    rm.check_running()?;
    let log = rm.log();
    ensure!(
        found,
        "per-server statistics for {} missing from SIGUSR1 output:\n{}",
        knot.server_spec(),
        &log[before.min(log.len())..]
    );
    Ok(())
}

backend_tests!(sigusr1);
