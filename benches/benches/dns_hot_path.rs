//! The DNS cache-hit hot path: query bytes in, answer bytes out.
//!
//! `parse_query` + `DnsCache::lookup` + `StoredAnswer::write_reply` on a real `dig` query and a
//! real knotd answer (captured on loopback). Before benchmarking, a counting global allocator
//! checks that the hot path performs zero heap allocations; the bench aborts if it does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group};
use ringmasq_proto::dns::answer::{NormalizeOptions, normalize_response};
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache, LocalCache, LocalLookup, Lookup};
use ringmasq_proto::dns::packet::parse_query;
use ringmasq_proto::time::Instant;

/// Counts allocations so the hot path can be checked allocation-free.
struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator; only adds a relaxed counter.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `dig ALIAS.Example.com A` (EDNS, cookie) and knotd's CNAME + 2 A reply.
const QUERY: &str = "2e110120000100000000000105414c494153074578616d706c6503636f6d000001000100002904d000000000000c000a000876128dc376c42aa4";
const REPLY: &str = "2e118500000100030000000105414c494153074578616d706c6503636f6d0000010001c00c0005000100000e10000603777777c012c02f0001000100000e100004c0000201c02f0001000100000e100004c000020200002904d0000000000000";

const T0: Instant = Instant(5_000_000);
const NOW: Instant = Instant(5_123_456);

fn filled_cache(query: &[u8]) -> DnsCache {
    let cache = DnsCache::new(CacheConfig {
        max_entries: 10_000,
        use_stale_secs: None,
        no_negcache: false,
    });
    let key = parse_query(query).unwrap().key;
    let (ans, _) = normalize_response(&hex(REPLY), &key, &NormalizeOptions::default()).unwrap();
    assert!(cache.insert(key, false, ans, T0));
    // Some neighbours so the shard is not trivially empty.
    for i in 0..5_000u32 {
        let q = hex(QUERY);
        let mut k = parse_query(&q).unwrap().key;
        let mut name = k.name_wire().to_vec();
        name[1] = b'a' + (i % 26) as u8;
        name[2] = b'a' + (i / 26 % 26) as u8;
        name[3] = b'a' + (i / 676 % 26) as u8;
        k = ringmasq_proto::dns::packet::QuestionKey::new(&name, 1, 1);
        let (ans, _) = normalize_response(
            &hex(REPLY),
            &parse_query(&q).unwrap().key,
            &NormalizeOptions::default(),
        )
        .unwrap();
        cache.insert(k, false, ans, T0);
    }
    cache
}

/// The full hot path once: returns the reply length.
#[inline(always)]
fn hot_path(cache: &DnsCache, query: &[u8], out: &mut [u8]) -> usize {
    // Borrow the query out of the Result: moving it out would copy its 262-byte key.
    let parsed = parse_query(query);
    let Ok(q) = &parsed else { return 0 };
    match cache.lookup(&q.key, q.do_bit(), NOW) {
        Lookup::Fresh(e) | Lookup::Stale(e) => {
            e.answer
                .write_reply(q, e.elapsed_secs(NOW), None, 1232, true, out)
        }
        Lookup::Miss => 0,
    }
}

/// The hot path through a per-worker [`LocalCache`] front.
#[inline(always)]
fn hot_path_local(local: &mut LocalCache, cache: &DnsCache, query: &[u8], out: &mut [u8]) -> usize {
    let parsed = parse_query(query);
    let Ok(q) = &parsed else { return 0 };
    match local.lookup(cache, &q.key, q.do_bit(), NOW) {
        LocalLookup::Fresh(e) => {
            e.answer
                .write_reply(q, e.elapsed_secs(NOW), None, 1232, true, out)
        }
        LocalLookup::Stale(e) => {
            e.answer
                .write_reply(q, e.elapsed_secs(NOW), None, 1232, true, out)
        }
        LocalLookup::Miss => 0,
    }
}

fn check_no_alloc() {
    let query = hex(QUERY);
    let cache = filled_cache(&query);
    let mut out = [0u8; 1232];
    assert!(hot_path(&cache, &query, &mut out) > 0);
    let mut local = LocalCache::new(1024);
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..100_000 {
        black_box(hot_path(&cache, black_box(&query), &mut out));
    }
    for _ in 0..100_000 {
        black_box(hot_path_local(
            &mut local,
            &cache,
            black_box(&query),
            &mut out,
        ));
    }
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let t = std::time::Instant::now();
    for _ in 0..2_000_000 {
        black_box(hot_path(&cache, black_box(&query), &mut out));
    }
    eprintln!(
        "hot path: {:.1} ns per cache hit (plain loop, 2M iterations)",
        t.elapsed().as_nanos() as f64 / 2e6
    );
    eprintln!("hot path: {allocs} heap allocations in 100000 cache hits");
    assert_eq!(allocs, 0, "the cache-hit hot path allocated");
}

/// Two threads hitting the same hot entry: shows the cost of sharing the entry's refcount and
/// the shard lock's cache lines between cores (bounded: 1M hits per thread).
fn two_threads_same_key() {
    let query = hex(QUERY);
    let cache = filled_cache(&query);
    let t = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut out = [0u8; 1232];
                for _ in 0..1_000_000 {
                    black_box(hot_path(&cache, black_box(&query), &mut out));
                }
            });
        }
    });
    eprintln!(
        "hot path: 2 threads, same key: {:.1} ns wall per hit per thread (1M hits each)",
        t.elapsed().as_nanos() as f64 / 1e6
    );
    let t = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut out = [0u8; 1232];
                let mut local = LocalCache::new(1024);
                for _ in 0..1_000_000 {
                    black_box(hot_path_local(
                        &mut local,
                        &cache,
                        black_box(&query),
                        &mut out,
                    ));
                }
            });
        }
    });
    eprintln!(
        "hot path: 2 threads, same key, LocalCache front: {:.1} ns wall per hit per thread (1M hits each)",
        t.elapsed().as_nanos() as f64 / 1e6
    );
}

fn bench(c: &mut Criterion) {
    let query = hex(QUERY);
    let reply = hex(REPLY);
    let cache = filled_cache(&query);
    let mut out = [0u8; 1232];
    let parsed = parse_query(&query).unwrap();
    let Lookup::Fresh(entry) = cache.lookup(&parsed.key, false, NOW) else {
        panic!("not cached")
    };

    let mut g = c.benchmark_group("dns_hot_path");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_query", |b| {
        b.iter(|| black_box(parse_query(black_box(&query)).is_ok()))
    });
    g.bench_function("cache_lookup_hit", |b| {
        b.iter(|| {
            black_box(matches!(
                cache.lookup(black_box(&parsed.key), false, NOW),
                Lookup::Fresh(_)
            ))
        })
    });
    g.bench_function("write_reply", |b| {
        b.iter(|| {
            black_box(
                entry
                    .answer
                    .write_reply(black_box(&parsed), 123, None, 1232, true, &mut out),
            )
        })
    });
    g.bench_function("cache_hit_total", |b| {
        b.iter(|| black_box(hot_path(&cache, black_box(&query), &mut out)))
    });
    let mut local = LocalCache::new(1024);
    g.bench_function("cache_hit_total_local_front", |b| {
        b.iter(|| {
            black_box(hot_path_local(
                &mut local,
                &cache,
                black_box(&query),
                &mut out,
            ))
        })
    });
    g.bench_function("normalize_response_slow_path", |b| {
        b.iter(|| {
            black_box(
                normalize_response(black_box(&reply), &parsed.key, &NormalizeOptions::default())
                    .is_ok(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    check_no_alloc();
    two_threads_same_key();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
