//! Cache hits on memory the core's caches no longer hold, as in the server: between two hits on
//! one name (1,000 names at 100k queries/s: every 10 ms), the kernel's network stack runs over
//! far more memory than L1 and L2 keep, while the memory every batch uses stays warm.
//!
//! Before each batch (five queries for names picked at random among 1,000 cached, copied into
//! receive buffers as the kernel would write them), [`POLLUTE_BYTES`] are written: the next
//! window of a region far larger than L2. Only the batch is timed. A batch goes one of two
//! ways: one query after another through `handle_query`, or prepared, as the io_uring worker
//! does (every query parsed and its front set prefetched, then the entries those sets point
//! to, then every query handled).

use crate::{UPSTREAM, answer_for, client, query};
use hickory_proto::rr::RecordType;
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::forward::{Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::outbox::{Destination, Outbox, Transmit};
use ringmasq_proto::dns::servers::ServerTableBuilder;
use ringmasq_proto::dns::stats::StatsRegistry;
use ringmasq_proto::time::Instant;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// Names in the cache.
pub const NAMES: usize = 1000;
/// Queries per batch (about what one wake-up of a worker brings at 100k queries/s).
pub const BATCH: usize = 5;
/// Memory written between two batches.
pub const POLLUTE_BYTES: usize = 128 << 10;
/// The region those writes move through.
const POLLUTE_REGION: usize = 64 << 20;

/// A forwarder whose cache, and front, hold the answers to [`NAMES`] names, and the means to
/// time batches of hits on it.
pub struct ColdHits {
    fwd: Forwarder,
    out: Outbox,
    sent: Vec<Transmit>,
    queries: Vec<Vec<u8>>,
    received: [([u8; 512], usize); BATCH],
    pollute: Vec<u8>,
    window: usize,
    seed: u64,
    now: Instant,
}

impl Default for ColdHits {
    fn default() -> Self {
        Self::new()
    }
}

impl ColdHits {
    /// Fills the cache: every name asked, answered by "upstream", then asked again so that the
    /// worker's front holds it too.
    pub fn new() -> Self {
        let now = Instant(1_000_000);
        let mut s = ColdHits {
            fwd: forwarder(),
            out: Outbox::new(),
            sent: Vec::new(),
            queries: (0..NAMES)
                .map(|i| query(i as u16, &format!("n{i}.example.com."), RecordType::A))
                .collect(),
            received: [([0u8; 512], 0); BATCH],
            pollute: vec![0u8; POLLUTE_REGION],
            window: 0,
            seed: 0x9E37_79B9_7F4A_7C15,
            now,
        };
        for i in 0..NAMES {
            s.fwd.handle_query(now, client(), &s.queries[i], &mut s.out);
            s.out.take_pending(&mut s.sent);
            let t = s.sent.pop().expect("an upstream query");
            let Destination::Upstream { slot, server } = t.to else {
                panic!("expected an upstream query")
            };
            let answer = answer_for(t.data());
            s.out.recycle(t.buf);
            s.fwd
                .handle_upstream(now, slot, server, &answer, &mut s.out);
            s.drain();
            s.fwd.handle_query(now, client(), &s.queries[i], &mut s.out);
            assert_eq!(s.drain(), 1, "a cache hit is answered at once");
        }
        s
    }

    /// Answers taken from the outbox (and their buffers recycled); how many.
    fn drain(&mut self) -> usize {
        self.out.take_pending(&mut self.sent);
        let n = self.sent.len();
        for t in self.sent.drain(..) {
            black_box(t.len);
            self.out.recycle(t.buf);
        }
        n
    }

    /// Writes the next window of the pollution region and puts a new batch of queries in the
    /// receive buffers; not timed.
    fn next_batch(&mut self) {
        self.window = (self.window + POLLUTE_BYTES) % POLLUTE_REGION;
        let stamp = self.seed as u8;
        self.pollute[self.window..self.window + POLLUTE_BYTES]
            .iter_mut()
            .step_by(64)
            .for_each(|b| *b = b.wrapping_add(stamp));
        black_box(&self.pollute);
        for (buf, len) in &mut self.received {
            self.seed = self
                .seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let q = &self.queries[(self.seed >> 33) as usize % NAMES];
            buf[..q.len()].copy_from_slice(q);
            *len = q.len();
        }
    }

    /// Pollutes, then answers one batch of [`BATCH`] hits, `prepared` or one by one; returns
    /// the time the batch took.
    pub fn batch(&mut self, prepared: bool) -> Duration {
        self.next_batch();
        let t0 = std::time::Instant::now();
        if prepared {
            for (buf, len) in &self.received {
                if let Some(set) = self.fwd.prepare_query(&buf[..*len]) {
                    prefetch(set);
                }
            }
            self.fwd.prepared_entries(&mut |addr, size| {
                for o in (0..size).step_by(64) {
                    prefetch(addr.wrapping_add(o));
                }
            });
        }
        for (buf, len) in &self.received {
            self.fwd
                .handle_query(self.now, client(), &buf[..*len], &mut self.out);
        }
        let answered = self.drain();
        self.fwd.clear_prepared();
        let took = t0.elapsed();
        assert_eq!(answered, BATCH, "every query of the batch is a hit");
        took
    }
}

/// The forwarder of one worker, with a 100,000-entry cache.
fn forwarder() -> Forwarder {
    let mut b = ServerTableBuilder::new();
    b.add_default(UPSTREAM.parse().unwrap());
    let registry = Arc::new(StatsRegistry::new(1));
    Forwarder::new(
        ForwarderConfig {
            upstream_slots: 32,
            ..ForwarderConfig::default()
        },
        Shared {
            cache: Some(Arc::new(DnsCache::new(CacheConfig {
                max_entries: 100_000,
                use_stale_secs: None,
                no_negcache: false,
            }))),
            registry: Arc::clone(&registry),
            in_flight: None,
        },
        registry.worker(0),
        Arc::new(b.build()),
        [9; 32],
    )
}

/// A prefetch of the line at `addr`, as the engine's (a hint: it never faults).
fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is an architectural hint; it neither faults nor reads memory in the
    // program's sense, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}
