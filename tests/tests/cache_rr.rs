//! `--cache-rr` (dnsmasq 2.90): accepted with types by name and number, and the types it names
//! are cached — ringmasq caches every type, so a TXT and an MX answer asked twice reach knot
//! once each, with or without the option. (Bad types are refused: `config/tests/guard_options.rs`.)

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn cache_rr(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--cache-rr=TXT,15")
        .arg("--cache-rr=ANY")
        .spawn()?;
    for (name, rtype) in [("txt.lab.test", "TXT"), ("lab.test", "MX")] {
        let seen0 = knot.query_count()?;
        let hits0 = rm.counter("hits.bind")?;
        let first = rm.dig(name).rtype(rtype).run()?;
        let second = rm.dig(name).rtype(rtype).run()?;
        ensure!(
            first.status == "NOERROR" && !first.answers.is_empty(),
            "{first:?}"
        );
        ensure!(second.answer_keys() == first.answer_keys(), "{second:?}");
        ensure!(
            knot.query_count()? == seen0 + 1,
            "{name} {rtype}: knot saw {} queries",
            knot.query_count()? - seen0
        );
        ensure!(
            rm.counter("hits.bind")? > hits0,
            "{name} {rtype}: no cache hit"
        );
    }
    Ok(())
}

backend_tests!(cache_rr);
