//! `--all-servers`: every query is sent to all upstreams at once.

use anyhow::ensure;
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
    // The losing upstream may answer just after the client got its reply.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (da, db) = (a.query_count()? - a0, b.query_count()? - b0);
    ensure!(
        da == 3 && db == 3,
        "upstreams saw {da} and {db} queries, expected 3 each"
    );
    Ok(())
}

backend_tests!(all_servers);
