//! Queries prepared ahead of their turn are answered exactly as queries that were not, and a
//! buffer is never taken for the query it held before.

use super::super::tests::{answer_for, query};
use super::*;
use crate::dns::cache::CacheConfig;
use crate::dns::servers::ServerTableBuilder;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use std::net::Ipv4Addr;

const T0: Instant = Instant(1_000_000);

fn client() -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], 4000)),
        local: None,
        ifindex: 0,
        socket: 0,
        tcp: None,
    }
}

fn forwarder() -> Forwarder {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    let registry = Arc::new(StatsRegistry::new(1));
    Forwarder::new(
        ForwarderConfig {
            upstream_slots: 8,
            ..ForwarderConfig::default()
        },
        Shared {
            cache: Some(Arc::new(DnsCache::new(CacheConfig {
                max_entries: 1000,
                use_stale_secs: None,
                no_negcache: false,
            }))),
            registry: Arc::clone(&registry),
            in_flight: None,
        },
        registry.worker(0),
        Arc::new(b.build()),
        [7; 32],
    )
}

/// Everything the forwarder sent since the last call.
fn sent(out: &mut Outbox) -> Vec<(Destination, Vec<u8>)> {
    out.drain().map(|t| (t.to, t.data().to_vec())).collect()
}

/// Asks `name` once and answers from "upstream" with `ip`, so the cache and the front hold it.
fn cached(fwd: &mut Forwarder, out: &mut Outbox, name: &str, ip: Ipv4Addr) {
    fwd.handle_query(T0, client(), &query(1, name, RecordType::A), out);
    let s = sent(out);
    let Destination::Upstream { slot, server } = s[0].0 else {
        panic!("expected an upstream query, got {:?}", s[0].0)
    };
    fwd.handle_upstream(T0, slot, server, &answer_for(&s[0].1, ip, 300), out);
    assert_eq!(sent(out).len(), 1, "the client's answer");
    fwd.handle_query(T0, client(), &query(2, name, RecordType::A), out);
    assert!(matches!(sent(out)[0].0, Destination::Client(_)), "a hit");
}

fn answer_ip(reply: &[u8]) -> String {
    let m = Message::from_vec(reply).unwrap();
    m.answers[0].data.to_string()
}

#[test]
fn a_prepared_query_is_answered_byte_for_byte_as_an_unprepared_one() {
    let mut fwd = forwarder();
    let mut out = Outbox::new();
    cached(
        &mut fwd,
        &mut out,
        "www.example.com.",
        Ipv4Addr::new(192, 0, 2, 1),
    );
    let q = query(0x1111, "WwW.Example.COM.", RecordType::A);

    assert!(
        fwd.prepare_query(&q).is_some(),
        "a hit-shaped query is prepared"
    );
    let mut entries = Vec::new();
    fwd.prepared_entries(&mut |addr, size| entries.push((addr, size)));
    assert_eq!(entries.len(), 1, "its set points at its entry");
    assert_eq!(entries[0].1, core::mem::size_of::<CacheEntry>());
    fwd.handle_query(T0, client(), &q, &mut out);
    fwd.clear_prepared();
    let prepared = sent(&mut out);

    fwd.handle_query(T0, client(), &q, &mut out);
    let unprepared = sent(&mut out);
    assert_eq!(prepared.len(), 1);
    assert_eq!(prepared[0].1, unprepared[0].1);
    let m = Message::from_vec(&prepared[0].1).unwrap();
    assert_eq!(m.metadata.id, 0x1111);
    assert_eq!(m.queries[0].name().to_ascii(), "WwW.Example.COM.");
}

#[test]
fn a_datagram_that_never_reached_the_forwarder_is_passed_over() {
    let mut fwd = forwarder();
    let mut out = Outbox::new();
    cached(
        &mut fwd,
        &mut out,
        "a.example.",
        Ipv4Addr::new(192, 0, 2, 1),
    );
    cached(
        &mut fwd,
        &mut out,
        "b.example.",
        Ipv4Addr::new(192, 0, 2, 2),
    );
    let (qa, qb) = (
        query(0x0a0a, "a.example.", RecordType::A),
        query(0x0b0b, "b.example.", RecordType::A),
    );
    assert!(fwd.prepare_query(&qa).is_some());
    assert!(fwd.prepare_query(&qb).is_some());
    // `qa` is dropped on the way (say, by --local-service): `qb` still finds its own parse.
    fwd.handle_query(T0, client(), &qb, &mut out);
    assert_eq!(answer_ip(&sent(&mut out)[0].1), "192.0.2.2");
    // Handled late after all, `qa` is parsed afresh and answered all the same.
    fwd.handle_query(T0, client(), &qa, &mut out);
    assert_eq!(answer_ip(&sent(&mut out)[0].1), "192.0.2.1");
    fwd.clear_prepared();
}

#[test]
fn a_buffer_reused_after_the_batch_is_parsed_again() {
    let mut fwd = forwarder();
    let mut out = Outbox::new();
    cached(
        &mut fwd,
        &mut out,
        "a.example.",
        Ipv4Addr::new(192, 0, 2, 1),
    );
    cached(
        &mut fwd,
        &mut out,
        "b.example.",
        Ipv4Addr::new(192, 0, 2, 2),
    );
    // One receive buffer, the same header and length twice, a different name.
    let mut buf = query(0x4242, "a.example.", RecordType::A);
    assert!(fwd.prepare_query(&buf).is_some());
    fwd.handle_query(T0, client(), &buf, &mut out);
    fwd.clear_prepared();
    assert_eq!(answer_ip(&sent(&mut out)[0].1), "192.0.2.1");
    let next = query(0x4242, "b.example.", RecordType::A);
    assert_eq!(next.len(), buf.len());
    buf.copy_from_slice(&next);
    fwd.handle_query(T0, client(), &buf, &mut out);
    assert_eq!(answer_ip(&sent(&mut out)[0].1), "192.0.2.2");
}

#[test]
fn queries_the_cache_would_not_answer_are_not_prepared() {
    let mut fwd = forwarder();
    let q = query(1, "www.example.com.", RecordType::A);
    assert!(
        fwd.prepare_query(&q[..11]).is_none(),
        "shorter than a header"
    );
    assert!(
        fwd.prepare_query(&q[..20]).is_none(),
        "cut inside the question"
    );
    let mut no_rd = q.clone();
    no_rd[2] &= !0x01;
    assert!(
        fwd.prepare_query(&no_rd).is_none(),
        "RD clear: never from the cache"
    );
    let mut response = q.clone();
    response[2] |= 0x80;
    assert!(fwd.prepare_query(&response).is_none(), "QR set");
    let batch: Vec<Vec<u8>> = (0..=PREPARED_MAX)
        .map(|i| query(i as u16, "www.example.com.", RecordType::A))
        .collect();
    let kept = batch
        .iter()
        .filter(|b| fwd.prepare_query(b).is_some())
        .count();
    assert_eq!(kept, PREPARED_MAX, "a batch keeps at most PREPARED_MAX");
    fwd.clear_prepared();
    assert!(
        fwd.prepare_query(&q).is_some(),
        "room again after the batch"
    );
}
