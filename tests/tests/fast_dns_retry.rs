//! `--fast-dns-retry`: ringmasq retransmits an unanswered upstream query by itself. With a
//! black-hole upstream and a single client query, the black hole sees more than one datagram;
//! without the option it sees exactly one (dnsmasq leaves retries to the client).

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query, next_id};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, BlackHole, Ringmasq, backend_tests};

/// Sends one query for a fresh name and returns how many datagrams the black hole got
/// within `wait`.
fn upstream_sends(backend: Backend, extra: Option<&str>, wait: Duration) -> anyhow::Result<u64> {
    let hole = BlackHole::new()?;
    let mut b = Ringmasq::builder(backend).server(hole.server_spec());
    if let Some(a) = extra {
        b = b.arg(a);
    }
    let rm = b.spawn()?;
    let q = make_query(next_id(), "n7.lab.test.", RecordType::A, DNSClass::IN)?;
    // Fire and forget: the client never retries.
    let _ = rm
        .client()
        .timeout(Duration::from_millis(100))
        .exchange_raw(&encode(&q)?)?;
    let _ = poll_until(wait, Duration::from_millis(50), 200, || {
        (extra.is_some() && hole.received() >= 2).then_some(())
    });
    Ok(hole.received())
}

fn fast_dns_retry(backend: Backend) -> anyhow::Result<()> {
    let with = upstream_sends(
        backend,
        Some("--fast-dns-retry=200,3000"),
        Duration::from_millis(2500),
    )?;
    ensure!(
        with >= 2,
        "with --fast-dns-retry=200,3000 the upstream got {with} datagram(s) in 2.5 s"
    );
    let without = upstream_sends(backend, None, Duration::from_millis(1500))?;
    ensure!(
        without == 1,
        "without --fast-dns-retry the upstream got {without} datagrams for one client query"
    );
    Ok(())
}

backend_tests!(fast_dns_retry);
