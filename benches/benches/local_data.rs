//! Answers from local data against a cache hit, through the whole per-worker path
//! (`Forwarder::handle_query`: parse, local lookups, reply written into an outbox buffer).
//!
//! Four cases on one forwarder: a name from a 100,000-name hosts table, a local record
//! (`--mx-host`), an `--address` domain answer, and a cache hit for a forwarded name (the
//! hosts table and local records are installed, so the cache hit pays for their misses first,
//! as it does in the server).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::rr::RecordType;
use ringmasq_benches::{UPSTREAM, answer_for, client, query};
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::forward::{Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::hosts::HostsTable;
use ringmasq_proto::dns::local::LocalDataBuilder;
use ringmasq_proto::dns::outbox::{Destination, Outbox, Transmit};
use ringmasq_proto::dns::servers::{DomainAction, DomainPattern, ServerTableBuilder};
use ringmasq_proto::dns::stats::StatsRegistry;
use ringmasq_proto::time::Instant;
use std::hint::black_box;
use std::sync::Arc;

const NOW: Instant = Instant(1_000_000);

fn forwarder() -> Forwarder {
    let mut b = ServerTableBuilder::new();
    b.add_default(UPSTREAM.parse().unwrap());
    b.add_domain(
        &DomainPattern::Suffix("ads.example".into()),
        DomainAction::Address("0.0.0.0".parse().unwrap()),
    );
    let registry = Arc::new(StatsRegistry::new(1));
    let mut fwd = Forwarder::new(
        ForwarderConfig {
            upstream_slots: 32,
            local_ttl: 0,
            ..ForwarderConfig::default()
        },
        Shared {
            cache: Some(Arc::new(DnsCache::new(CacheConfig {
                max_entries: 10_000,
                use_stale_secs: None,
                no_negcache: false,
            }))),
            registry: Arc::clone(&registry),
            in_flight: None,
        },
        registry.worker(0),
        Arc::new(b.build()),
        [9; 32],
    );
    let mut text = String::with_capacity(100_000 * 32);
    for i in 0..100_000u32 {
        let [_, b, c, d] = i.to_be_bytes();
        text.push_str(&format!("10.{b}.{c}.{d} host{i}.lan host{i}\n"));
    }
    let mut hosts = HostsTable::new();
    assert!(hosts.load_str(&text, "bench").is_empty());
    let mut l = LocalDataBuilder::new();
    l.mx("mx.lan", 10, "mail.lan").unwrap();
    l.txt("txt.lan", &[b"hello".to_vec()]).unwrap();
    fwd.set_local(Some(Arc::new(l.build(0, Some(&hosts)))));
    fwd.set_hosts(Some(Arc::new(hosts)));
    fwd
}

/// Answers one query; checks it was answered here, not sent upstream.
#[inline(always)]
fn once(fwd: &mut Forwarder, q: &[u8], out: &mut Outbox, sent: &mut Vec<Transmit>) {
    fwd.handle_query(NOW, client(), black_box(q), out);
    out.take_pending(sent);
    for t in sent.drain(..) {
        debug_assert!(matches!(t.to, Destination::Client(_)));
        black_box(t.len);
        out.recycle(t.buf);
    }
}

fn bench(c: &mut Criterion) {
    let mut fwd = forwarder();
    let mut out = Outbox::new();
    let mut sent: Vec<Transmit> = Vec::new();
    // Fill the cache with one forwarded name.
    let cached = query(0x4242, "www.example.com.", RecordType::A);
    fwd.handle_query(NOW, client(), &cached, &mut out);
    out.take_pending(&mut sent);
    let t = sent.pop().expect("upstream query");
    let Destination::Upstream { slot, server } = t.to else {
        panic!("expected an upstream query")
    };
    let answer = answer_for(t.data());
    out.recycle(t.buf);
    fwd.handle_upstream(NOW, slot, server, &answer, &mut out);
    out.take_pending(&mut sent);
    for t in sent.drain(..) {
        out.recycle(t.buf);
    }
    let cases = [
        ("hosts_name", query(0x4242, "host54321.lan.", RecordType::A)),
        ("local_record_mx", query(0x4242, "mx.lan.", RecordType::MX)),
        (
            "address_domain",
            query(0x4242, "x.ads.example.", RecordType::A),
        ),
        ("cache_hit", cached),
    ];
    // Every case must be answered locally (never upstream).
    for (name, q) in &cases {
        fwd.handle_query(NOW, client(), q, &mut out);
        out.take_pending(&mut sent);
        assert_eq!(sent.len(), 1, "{name}");
        assert!(matches!(sent[0].to, Destination::Client(_)), "{name}");
        for t in sent.drain(..) {
            out.recycle(t.buf);
        }
    }
    let mut g = c.benchmark_group("local_data");
    g.throughput(Throughput::Elements(1));
    for (name, q) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| once(&mut fwd, q, &mut out, &mut sent));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
