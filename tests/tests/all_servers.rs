//! `--all-servers`: every query is sent to all upstreams at once.

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn all_servers(backend: Backend) -> anyhow::Result<()> {
    let a = Knot::start_lab()?;
    let b = Knot::start_lab()?;
    let rm = Ringmasq::builder(backend)
        .server(a.server_spec())
        .server(b.server_spec())
        .arg("--all-servers")
        .spawn()?;
    let (a0, b0) = (a.query_count()?, b.query_count()?);
    for name in ["n1.lab.test", "n2.lab.test", "n3.lab.test"] {
        let d = rm.dig(name).run()?;
        ensure!(
            d.status == "NOERROR" && d.answers.len() == 1,
            "{name}: {d:?}"
        );
    }
    // The losing upstream may see its copy just after the client got its reply.
    let mut counts = (0, 0);
    let _ = poll_until(
        Duration::from_secs(2),
        Duration::from_millis(50),
        40,
        || {
            counts = (a.query_count().ok()? - a0, b.query_count().ok()? - b0);
            (counts.0 >= 3 && counts.1 >= 3).then_some(())
        },
    );
    let (da, db) = counts;
    ensure!(
        da == 3 && db == 3,
        "upstreams saw {da} and {db} queries, expected 3 each"
    );
    Ok(())
}

backend_tests!(all_servers);
