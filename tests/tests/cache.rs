//! A second identical query is served from the cache: TTL not higher after >= 1 s, knot saw
//! exactly one query, and hits.bind / insertions.bind went up.

use std::time::Duration;

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn cache(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    let hits0 = rm.counter("hits.bind")?;
    let ins0 = rm.counter("insertions.bind")?;
    let seen0 = knot.query_count()?;

    let first = rm.dig("www.lab.test").run()?;
    ensure!(
        first.status == "NOERROR" && first.answers.len() == 1,
        "first: {first:?}"
    );
    std::thread::sleep(Duration::from_millis(1100));
    let second = rm.dig("www.lab.test").run()?;
    ensure!(second.status == "NOERROR", "second: {second:?}");
    ensure!(
        second.answer_keys() == first.answer_keys(),
        "answers differ: {first:?} / {second:?}"
    );
    ensure!(
        second.answers[0].ttl <= first.answers[0].ttl,
        "cached TTL {} higher than first {}",
        second.answers[0].ttl,
        first.answers[0].ttl
    );
    ensure!(second.answers[0].ttl > 0, "cached TTL is zero");

    let seen = knot.query_count()? - seen0;
    ensure!(
        seen == 1,
        "upstream saw {seen} queries for two identical client queries"
    );
    let hits = rm.counter("hits.bind")?;
    ensure!(
        hits > hits0,
        "hits.bind did not increase ({hits0} -> {hits})"
    );
    let ins = rm.counter("insertions.bind")?;
    ensure!(
        ins > ins0,
        "insertions.bind did not increase ({ins0} -> {ins})"
    );
    ensure!(
        rm.counter("cachesize.bind")? == 150,
        "cachesize.bind != --cache-size"
    );

    // A short-TTL record counts down too (30 s TTL in the zone).
    let s1 = rm.dig("short.lab.test").run()?;
    std::thread::sleep(Duration::from_millis(2100));
    let s2 = rm.dig("short.lab.test").run()?;
    ensure!(
        s1.answers.len() == 1 && s2.answers.len() == 1,
        "short: {s1:?} {s2:?}"
    );
    ensure!(
        s2.answers[0].ttl < s1.answers[0].ttl && s1.answers[0].ttl <= 30,
        "TTL did not count down: {} then {}",
        s1.answers[0].ttl,
        s2.answers[0].ttl
    );
    Ok(())
}

backend_tests!(cache);
