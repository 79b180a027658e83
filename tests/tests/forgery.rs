//! Cache-poisoning resistance: the upstream relay sends forged answers (wrong ID, wrong source
//! port, wrong question) before the genuine one. ringmasq must ignore the forgeries, answer with
//! the real data, and count them in rejected.bind.

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;

use anyhow::ensure;
use hickory_proto::rr::{RData, RecordType};
use ringmasq_tests::forger::FORGED_ADDR;
use ringmasq_tests::{Backend, ForgingRelay, Knot, Ringmasq, backend_tests};

fn forgery(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let relay = ForgingRelay::start(knot.addr())?;
    let rm = Ringmasq::start(backend, &relay.server_spec())?;
    // Read now, checked last, so the poisoning checks run even without the counter.
    let rejected0 = rm.counter("rejected.bind");

    let forged = RData::A(FORGED_ADDR.into());
    for (name, last) in [
        ("www.lab.test.", 1u8),
        ("n1.lab.test.", 101),
        ("n2.lab.test.", 102),
    ] {
        let want = RData::A(Ipv4Addr::new(192, 0, 2, last).into());
        for round in 0..2 {
            // Round 0 goes upstream through the relay; round 1 comes from the cache.
            let m = rm.client().query_retry(name, RecordType::A, 3)?;
            ensure!(
                !m.answers.iter().any(|r| r.data == forged),
                "{name} (round {round}): forged answer accepted: {:?}",
                m.answers
            );
            ensure!(
                m.answers.iter().any(|r| r.data == want),
                "{name} (round {round}): real answer missing: {:?}",
                m.answers
            );
        }
    }
    let c = relay.counts();
    ensure!(
        c.forged.load(Ordering::Relaxed) >= 9,
        "relay sent too few forgeries"
    );
    ensure!(
        c.relayed.load(Ordering::Relaxed) >= 3,
        "relay relayed too few answers"
    );
    let rejected0 = rejected0?;
    let rejected = rm.counter("rejected.bind")?;
    ensure!(
        rejected > rejected0,
        "rejected.bind did not increase ({rejected0} -> {rejected})"
    );
    Ok(())
}

backend_tests!(forgery);
