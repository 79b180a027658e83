//! `-q` (`--log-queries`): each client query is written to the log file.

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn log_queries(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("-q")
        .spawn()?;
    let d = rm.dig("c2.lab.test").rtype("AAAA").run()?;
    ensure!(d.status == "NOERROR", "{d:?}");
    ensure!(
        rm.wait_log("c2.lab.test", Duration::from_secs(3)),
        "query for c2.lab.test not in the log:\n{}",
        rm.log()
    );
    Ok(())
}

backend_tests!(log_queries);
