//! `-0/--dns-forward-max`: at most N queries are in flight upstream at once. With a black-hole
//! upstream and N = 2, six different client queries reach the upstream as at most two distinct
//! questions, and the server stays responsive (its CHAOS counters still answer).

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query, next_id};
use ringmasq_tests::{Backend, BlackHole, Ringmasq, backend_tests};

fn dns_forward_max(backend: Backend) -> anyhow::Result<()> {
    let hole = BlackHole::new()?;
    let mut rm = Ringmasq::builder(backend)
        .server(hole.server_spec())
        .arg("--dns-forward-max=2")
        .spawn()?;
    let fire = rm.client().timeout(Duration::from_millis(20));
    for i in 1..=6 {
        let q = make_query(
            next_id(),
            &format!("n{i}.lab.test."),
            RecordType::A,
            DNSClass::IN,
        )?;
        let _ = fire.exchange_raw(&encode(&q)?)?;
    }
    std::thread::sleep(Duration::from_millis(700));
    let names = hole.names();
    ensure!(
        !names.is_empty() && names.len() <= 2,
        "with --dns-forward-max=2 the upstream saw {} distinct questions: {names:?}",
        names.len()
    );
    rm.check_running()?;
    ensure!(rm.counter("cachesize.bind")? == 150, "server unresponsive");
    Ok(())
}

backend_tests!(dns_forward_max);
