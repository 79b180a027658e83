//! SIGUSR1 writes cache and per-server statistics to the log file (`-8`).

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn sigusr1(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    rm.dig("www.lab.test").run()?;
    let before = rm.log().len();
    rm.signal(libc::SIGUSR1)?;
    let ok = rm.wait_log("cache size", Duration::from_secs(3));
    rm.check_running()?;
    let log = rm.log();
    ensure!(ok, "no 'cache size' line in the log after SIGUSR1:\n{log}");
    let fresh = &log[before.min(log.len())..];
    ensure!(
        fresh.contains(&knot.server_spec()),
        "per-server statistics for {} missing from SIGUSR1 output:\n{fresh}",
        knot.server_spec()
    );
    Ok(())
}

backend_tests!(sigusr1);
