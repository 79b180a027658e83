//! DNSSEC in the forwarder, with the captured answers of the signed lab
//! (proto/src/dns/dnssec/testdata/lab.txt) as the upstream: a validated (secure) cache hit
//! against a plain cache hit of the same answer, and a cold validation (empty key store: the
//! answer plus the DS/DNSKEY chain from the root, five sub-queries, every signature checked).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use ringmasq_benches::{UPSTREAM, client, query};
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::dnssec::{TrustAnchor, ValidatorConfig};
use ringmasq_proto::dns::forward::{DnssecForwarding, Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::outbox::{Destination, Outbox, Transmit};
use ringmasq_proto::dns::servers::ServerTableBuilder;
use ringmasq_proto::dns::stats::StatsRegistry;
use ringmasq_proto::time::Instant;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

const LAB: &str = include_str!("../../proto/src/dns/dnssec/testdata/lab.txt");
const ANCHOR: &str =
    ".,56486,13,2,1eb40c42778d14f1b5a81107e9c7dd39068637bccb94bb4429f0f62a38f0eeac";

type Captures = HashMap<(String, u16), Vec<u8>>;

fn captures() -> Captures {
    LAB.lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let name = format!("{}.", it.next().unwrap().trim_end_matches('.')).to_lowercase();
            let t: RecordType = it.next().unwrap().parse().unwrap();
            let hex = it.next().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            ((name, u16::from(t)), bytes)
        })
        .collect()
}

fn forwarder(validate: bool) -> Forwarder {
    let mut b = ServerTableBuilder::new();
    b.add_default(UPSTREAM.parse().unwrap());
    let registry = Arc::new(StatsRegistry::new(1));
    let dnssec = validate.then(|| DnssecForwarding {
        validator: Arc::new(ValidatorConfig {
            anchors: vec![TrustAnchor::parse(ANCHOR).unwrap()],
            check_unsigned: true,
            ..ValidatorConfig::default()
        }),
        // 2030-01-01 at Instant 0: inside the captured signatures' validity.
        unix_at_zero: 1_893_456_000,
    });
    Forwarder::new(
        ForwarderConfig {
            upstream_slots: 32,
            dnssec,
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
        [7; 32],
    )
}

/// Feeds the client query, answers every upstream query from the captures, returns the
/// client's answer.
fn resolve(fwd: &mut Forwarder, caps: &Captures, q: &[u8], out: &mut Outbox) -> Vec<u8> {
    let now = Instant(1_000);
    fwd.handle_query(now, client(), q, out);
    let mut sent: Vec<Transmit> = Vec::new();
    for _ in 0..64 {
        out.take_pending(&mut sent);
        if sent.is_empty() {
            break;
        }
        for t in sent.drain(..) {
            match t.to {
                Destination::Client(_) => return t.data().to_vec(),
                Destination::Upstream { slot, server } => {
                    let m = Message::from_vec(t.data()).unwrap();
                    let qq = &m.queries[0];
                    let key = (
                        qq.name().to_lowercase().to_ascii(),
                        u16::from(qq.query_type()),
                    );
                    let mut a = caps[&key].clone();
                    a[..2].copy_from_slice(&t.data()[..2]);
                    fwd.handle_upstream(now, slot, server, &a, out);
                }
                other => panic!("{other:?}"),
            }
        }
    }
    panic!("no answer");
}

fn do_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::from_vec(&query(id, name, RecordType::A)).unwrap();
    let mut e = hickory_proto::op::Edns::new();
    e.set_dnssec_ok(true);
    m.set_edns(e);
    m.to_vec().unwrap()
}

fn bench(c: &mut Criterion) {
    let caps = captures();
    let mut g = c.benchmark_group("dnssec");
    g.throughput(Throughput::Elements(1));
    let q = do_query(0x4242, "www.sec.test.");
    let mut out = Outbox::new();
    let mut sent = Vec::new();
    for (label, validate) in [("plain_cache_hit", false), ("validated_cache_hit", true)] {
        let mut fwd = forwarder(validate);
        let a = resolve(&mut fwd, &caps, &q, &mut out);
        assert_eq!(a[3] & 0x20 != 0, validate, "AD only when validated");
        g.bench_function(label, |b| {
            b.iter(|| {
                fwd.handle_query(Instant(1_000), client(), black_box(&q), &mut out);
                out.take_pending(&mut sent);
                for t in sent.drain(..) {
                    black_box(t.len);
                    out.recycle(t.buf);
                }
            })
        });
    }
    g.bench_function("cold_validation", |b| {
        b.iter(|| {
            let mut fwd = forwarder(true);
            let a = resolve(&mut fwd, &caps, black_box(&q), &mut out);
            assert!(a[3] & 0x20 != 0);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
