//! The whole per-query protocol cost through the worker's forwarder, as the engine calls it:
//! a cache hit (query bytes in, answer bytes out of the outbox), and a cache miss (query in,
//! upstream query out, upstream answer in, client answer out, cache insert).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::rr::RecordType;
use ringmasq_benches::{UPSTREAM, answer_for, client, query};
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::forward::{Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::outbox::{Destination, Outbox};
use ringmasq_proto::dns::servers::ServerTableBuilder;
use ringmasq_proto::dns::stats::StatsRegistry;
use ringmasq_proto::time::Instant;
use std::hint::black_box;
use std::sync::Arc;

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
            in_flight: None,
        },
        registry.worker(0),
        Arc::new(b.build()),
        [9; 32],
    )
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("forwarder");
    g.throughput(Throughput::Elements(1));

    // Cache hit: the whole handle_query path, answer taken from the outbox and recycled.
    let mut fwd = forwarder(100_000);
    let mut out = Outbox::new();
    let q = query(0x4242, "www.example.com.", RecordType::A);
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
    let q = query(0x4343, "miss.example.com.", RecordType::A);
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
