//! The whole per-query protocol cost through the worker's forwarder, as the engine calls it:
//! a cache hit (query bytes in, answer bytes out of the outbox), and a cache miss (query in,
//! upstream query out, upstream answer in, client answer out, cache insert).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::forward::{Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::outbox::{ClientEndpoint, Destination, Outbox};
use ringmasq_proto::dns::servers::ServerTableBuilder;
use ringmasq_proto::dns::stats::StatsRegistry;
use ringmasq_proto::time::Instant;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

const UPSTREAM: &str = "127.0.0.1:5300";

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    m.to_vec().unwrap()
}

fn answer_for(upstream_query: &[u8]) -> Vec<u8> {
    let q = Message::from_vec(upstream_query).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    let hq = q.queries[0].clone();
    let name = hq.name().clone();
    m.add_query(hq);
    m.add_answer(Record::from_rdata(
        name,
        300,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
    ));
    m.to_vec().unwrap()
}

fn forwarder(cache_entries: usize) -> Forwarder {
    let mut b = ServerTableBuilder::new();
    b.add_default(UPSTREAM.parse().unwrap());
    let registry = Arc::new(StatsRegistry::new(1));
    Forwarder::new(
        ForwarderConfig {
            upstream_slots: 32,
            ..ForwarderConfig::default()
        },
        Shared {
            cache: (cache_entries > 0).then(|| {
                Arc::new(DnsCache::new(CacheConfig {
                    max_entries: cache_entries,
                    use_stale_secs: None,
                    no_negcache: false,
                }))
            }),
            registry: Arc::clone(&registry),
        },
        registry.worker(0),
        Arc::new(b.build()),
        [9; 32],
    )
}

fn client() -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        local: None,
        ifindex: 0,
        socket: 0,
        tcp: None,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("forwarder");
    g.throughput(Throughput::Elements(1));

    // Cache hit: the whole handle_query path, answer taken from the outbox and recycled.
    let mut fwd = forwarder(100_000);
    let mut out = Outbox::new();
    let q = query(0x4242, "www.example.com.");
    let now = Instant(1_000_000);
    fwd.handle_query(now, client(), &q, &mut out);
    let mut sent: Vec<_> = Vec::new();
    out.take_pending(&mut sent);
    let (slot, server, uq) = match &sent[0].to {
        Destination::Upstream { slot, server } => (*slot, *server, sent[0].data().to_vec()),
        other => panic!("{other:?}"),
    };
    for t in sent.drain(..) {
        out.recycle(t.buf);
    }
    fwd.handle_upstream(now, slot, server, &answer_for(&uq), &mut out);
    out.take_pending(&mut sent);
    for t in sent.drain(..) {
        out.recycle(t.buf);
    }
    g.bench_function("cache_hit", |b| {
        b.iter(|| {
            fwd.handle_query(now, client(), black_box(&q), &mut out);
            out.take_pending(&mut sent);
            for t in sent.drain(..) {
                black_box(t.len);
                out.recycle(t.buf);
            }
        })
    });

    // Cache miss: query out, upstream answer in, answer out (no cache, so every query misses).
    let mut fwd = forwarder(0);
    let q = query(0x4343, "miss.example.com.");
    let mut answer = Vec::new();
    g.bench_function("forward_round_trip", |b| {
        b.iter(|| {
            fwd.handle_query(now, client(), black_box(&q), &mut out);
            out.take_pending(&mut sent);
            let t = sent.pop().expect("upstream query");
            let Destination::Upstream { slot, server } = t.to else {
                panic!("expected an upstream query")
            };
            if answer.is_empty() {
                answer = answer_for(t.data());
            }
            // Same answer bytes each time, with this attempt's ID.
            answer[..2].copy_from_slice(&t.data()[..2]);
            out.recycle(t.buf);
            fwd.handle_upstream(now, slot, server, &answer, &mut out);
            out.take_pending(&mut sent);
            for t in sent.drain(..) {
                black_box(t.len);
                out.recycle(t.buf);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
