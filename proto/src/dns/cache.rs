//! The DNS answer cache shared by all worker threads.
//!
//! Built on `quick_cache::sync::Cache` (sharded, lock per shard, CLOCK-Pro-like eviction that keeps
//! entries which are read again over ones inserted once). Keys are the lowercase question plus
//! the DO bit (a DO=1 answer may carry DNSSEC records a DO=0 client must not get, RFC 3225 §3);
//! values are `Arc<CacheEntry>` so a hit clones a pointer, never the bytes.
//!
//! Memory is hard-bounded by weight: each entry weighs its real byte footprint (key + entry +
//! stored message + TTL table + a fixed overhead), and the total weight capacity is
//! `max_entries * AVERAGE_ENTRY_BYTES`. So `max_entries` (dnsmasq `--cache-size`) is the
//! number of typical entries held; many large answers make the cache hold fewer.
//!
//! Time is always an argument: an entry is fresh until `expires`, then, with `use_stale_secs`,
//! stale for that many more seconds (RFC 8767 §4; 0 = no limit, as dnsmasq's `--use-stale-cache=0`).

use core::hash::{Hash, Hasher};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use core::hash::BuildHasher;
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Equivalent, Lifecycle, OptionsBuilder, Weighter};

use super::answer::StoredAnswer;
use super::packet::QuestionKey;
use crate::time::Instant;

/// Weight budget per configured entry, in bytes (see the module docs).
pub const AVERAGE_ENTRY_BYTES: u64 = 640;
/// Fixed per-entry overhead counted on top of the measured sizes (Arc header, shard slot, hash).
const ENTRY_OVERHEAD: usize = 64;
/// Number of counter stripes (threads are spread over them to avoid sharing a cache line).
const STRIPES: usize = 16;

/// Cache settings (from dnsmasq `--cache-size`, `--use-stale-cache`, `--no-negcache`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// dnsmasq cache-size; 0 = disabled
    pub max_entries: usize,
    /// Serve expired entries for this many seconds past expiry (0 = without limit); `None` = never.
    pub use_stale_secs: Option<u32>,
    /// Do not cache NXDOMAIN / NODATA answers.
    pub no_negcache: bool,
}

impl Default for CacheConfig {
    /// dnsmasq's defaults: 150 entries, no stale serving, negative caching on.
    fn default() -> Self {
        CacheConfig {
            max_entries: 150,
            use_stale_secs: None,
            no_negcache: false,
        }
    }
}

/// One cached answer and when it was stored.
///
/// Aligned to a cache line, times first and then the answer's hot fields (`repr(C)`): the
/// freshness check and the reply's header fields read one line of the entry. Unaligned, the
/// 80-byte entry behind an `Arc`'s counters straddled two lines on most hits.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct CacheEntry {
    /// When it stops being fresh: `inserted + answer.cache_ttl()`.
    pub expires: Instant,
    /// When it was inserted (TTL countdown starts here).
    pub inserted: Instant,
    /// The normalised answer.
    pub answer: StoredAnswer,
}

impl CacheEntry {
    /// Whole seconds since insertion, to pass as `elapsed_secs` to [`StoredAnswer::write_reply`].
    #[inline]
    pub fn elapsed_secs(&self, now: Instant) -> u32 {
        u32::try_from((now - self.inserted).as_secs()).unwrap_or(u32::MAX)
    }
}

/// Result of a cache lookup.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// Within its TTL.
    Fresh(Arc<CacheEntry>),
    /// Expired but within the stale-serving window: answer, then refresh (RFC 8767 §4).
    Stale(Arc<CacheEntry>),
    /// Not cached (or expired).
    Miss,
}

/// Counters for logs and the CHAOS `*.bind` queries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Entries currently held.
    pub size: usize,
    /// Configured capacity (`max_entries`).
    pub capacity: usize,
    /// Successful insertions.
    pub insertions: u64,
    /// Live entries pushed out before expiry to make room.
    pub evictions: u64,
    /// Lookups answered (fresh or stale).
    pub hits: u64,
    /// Of `hits`, those answered from expired (stale) entries.
    pub stale_hits: u64,
    /// Lookups not answered.
    pub misses: u64,
}

#[derive(Clone, PartialEq, Eq)]
struct CacheKey {
    q: QuestionKey,
    do_bit: bool,
}

impl Hash for CacheKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.q.hash(state);
        state.write_u8(u8::from(self.do_bit));
    }
}

/// Borrowed form of [`CacheKey`] so lookups need not copy the 255-byte name.
struct KeyRef<'a> {
    q: &'a QuestionKey,
    do_bit: bool,
}

impl Hash for KeyRef<'_> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.q.hash(state);
        state.write_u8(u8::from(self.do_bit));
    }
}

impl Equivalent<CacheKey> for KeyRef<'_> {
    #[inline]
    fn equivalent(&self, key: &CacheKey) -> bool {
        key.do_bit == self.do_bit && key.q == *self.q
    }
}

#[derive(Clone, Copy)]
struct ByteWeighter;

impl Weighter<CacheKey, Arc<CacheEntry>> for ByteWeighter {
    #[inline]
    fn weight(&self, _key: &CacheKey, val: &Arc<CacheEntry>) -> u64 {
        (core::mem::size_of::<CacheKey>()
            + core::mem::size_of::<CacheEntry>()
            + val.answer.mem_size()
            + ENTRY_OVERHEAD) as u64
    }
}

#[repr(align(64))]
#[derive(Default)]
struct Stripe {
    hits: AtomicU64,
    stale_hits: AtomicU64,
    misses: AtomicU64,
    insertions: AtomicU64,
}

#[derive(Default)]
struct Shared {
    stripes: [Stripe; STRIPES],
    /// Bumped by `clear()`; [`LocalCache`]s drop their slots when it changes.
    generation: Generation,
    evictions: AtomicU64,
    /// Latest `now` seen by insert, to tell live from expired entries when they are evicted.
    last_now: AtomicU64,
}

/// Read on every [`LocalCache`] lookup, written only by `clear()`: kept on its own cache line.
#[repr(align(64))]
#[derive(Default)]
struct Generation(AtomicU64);

#[derive(Clone)]
struct EvictionCounter(Arc<Shared>);

impl Lifecycle<CacheKey, Arc<CacheEntry>> for EvictionCounter {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _key: CacheKey, val: Arc<CacheEntry>) {
        if val.expires.as_millis() > self.0.last_now.load(Ordering::Relaxed) {
            self.0.evictions.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Adds one to a stripe counter without a locked read-modify-write: each thread owns its stripe
/// (threads are spread round-robin over 16 stripes), so a plain load + store is exact unless more
/// than 16 threads share the cache, in which case a rare increment may be lost. Stats only.
#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|s| *s)
}

type Inner = Cache<CacheKey, Arc<CacheEntry>, ByteWeighter, DefaultHashBuilder, EvictionCounter>;

/// The shared, sharded, memory-bounded DNS cache. `Send + Sync`; share it with `Arc`.
pub struct DnsCache {
    inner: Option<Inner>,
    cfg: CacheConfig,
    shared: Arc<Shared>,
}

impl core::fmt::Debug for DnsCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DnsCache")
            .field("cfg", &self.cfg)
            .field("stats", &self.stats())
            .finish()
    }
}

impl DnsCache {
    /// Creates the cache; `max_entries == 0` gives a disabled cache that stores nothing.
    pub fn new(cfg: CacheConfig) -> Self {
        let shared = Arc::new(Shared::default());
        let inner = (cfg.max_entries > 0).then(|| {
            let opts = OptionsBuilder::new()
                .estimated_items_capacity(cfg.max_entries)
                .weight_capacity((cfg.max_entries as u64).saturating_mul(AVERAGE_ENTRY_BYTES))
                .build()
                .expect("estimated_items_capacity and weight_capacity are set");
            Cache::with_options(
                opts,
                ByteWeighter,
                DefaultHashBuilder::default(),
                EvictionCounter(shared.clone()),
            )
        });
        DnsCache { inner, cfg, shared }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &CacheConfig {
        &self.cfg
    }

    #[inline]
    fn stripe(&self) -> &Stripe {
        &self.shared.stripes[stripe_index()]
    }

    /// Looks `key` (+ DO bit) up at time `now`. Counts a hit or a miss. Does not allocate.
    #[inline]
    pub fn lookup(&self, key: &QuestionKey, do_bit: bool, now: Instant) -> Lookup {
        let stripe = self.stripe();
        let Some(inner) = &self.inner else {
            bump(&stripe.misses);
            return Lookup::Miss;
        };
        let kref = KeyRef { q: key, do_bit };
        let Some(e) = inner.get(&kref) else {
            bump(&stripe.misses);
            return Lookup::Miss;
        };
        if now < e.expires {
            bump(&stripe.hits);
            return Lookup::Fresh(e);
        }
        let stale_ok = match self.cfg.use_stale_secs {
            Some(0) => true,
            Some(s) => now < e.expires.saturating_add(Duration::from_secs(u64::from(s))),
            None => false,
        };
        if stale_ok {
            bump(&stripe.hits);
            bump(&stripe.stale_hits);
            Lookup::Stale(e)
        } else {
            bump(&stripe.misses);
            // Expired for good: free the room now (only if it is still the same entry).
            let _ = inner.remove_if(&kref, |v| Arc::ptr_eq(v, &e));
            Lookup::Miss
        }
    }

    /// Stores `answer` for `key` (+ DO bit) at time `now`, replacing any previous entry.
    /// Returns false if not cacheable (ttl 0 / disabled / negative with negcache off).
    pub fn insert(
        &self,
        key: QuestionKey,
        do_bit: bool,
        answer: StoredAnswer,
        now: Instant,
    ) -> bool {
        let Some(inner) = &self.inner else {
            return false;
        };
        let ttl = answer.cache_ttl();
        if ttl == 0 || (answer.is_negative() && self.cfg.no_negcache) {
            return false;
        }
        let expires = now.saturating_add(Duration::from_secs(u64::from(ttl)));
        self.shared
            .last_now
            .fetch_max(now.as_millis(), Ordering::Relaxed);
        inner.insert(
            CacheKey { q: key, do_bit },
            Arc::new(CacheEntry {
                answer,
                inserted: now,
                expires,
            }),
        );
        bump(&self.stripe().insertions);
        true
    }

    /// Removes every entry (dnsmasq SIGHUP / cache flush). Counters are kept.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.clear();
        }
        self.shared.generation.0.fetch_add(1, Ordering::Release);
    }

    /// Counts a hit served by a [`LocalCache`] in front of this cache.
    #[inline]
    fn count_local_hit(&self) {
        bump(&self.stripe().hits);
    }

    /// Changes whenever the cache is cleared.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.shared.generation.0.load(Ordering::Acquire)
    }

    /// Current counters (summed over stripes; relaxed, so only approximately simultaneous).
    pub fn stats(&self) -> CacheStats {
        let mut s = CacheStats {
            size: self.len(),
            capacity: self.cfg.max_entries,
            evictions: self.shared.evictions.load(Ordering::Relaxed),
            ..CacheStats::default()
        };
        for st in &self.shared.stripes {
            s.hits += st.hits.load(Ordering::Relaxed);
            s.stale_hits += st.stale_hits.load(Ordering::Relaxed);
            s.misses += st.misses.load(Ordering::Relaxed);
            s.insertions += st.insertions.load(Ordering::Relaxed);
        }
        s
    }

    /// Number of entries held (fresh and expired-but-not-yet-evicted).
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |c| c.len())
    }

    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Ways per set of a [`LocalCache`]: four 16-byte slots fill one 64-byte cache line.
const LOCAL_WAYS: usize = 4;

/// One slot of a [`LocalCache`]: the key's hash with the DO bit in its lowest bit (0 = empty),
/// and the shared entry (whose stored question is compared on hit, so the 262-byte key is not
/// kept twice).
#[derive(Default)]
struct LocalSlot {
    tag: u64,
    entry: Option<Arc<CacheEntry>>,
}

/// One set: [`LOCAL_WAYS`] slots on one cache line, most recently filled first.
#[derive(Default)]
#[repr(align(64))]
struct LocalSet([LocalSlot; LOCAL_WAYS]);

/// A hit from [`LocalCache::lookup`].
#[derive(Debug)]
pub enum LocalLookup<'a> {
    /// Within its TTL; borrowed from the worker's own slot, so no shared cache line was written.
    Fresh(&'a CacheEntry),
    /// Expired but within the stale window (from the shared cache; refresh it).
    Stale(Arc<CacheEntry>),
    /// Not cached.
    Miss,
}

/// A small per-worker, set-associative front for a shared [`DnsCache`] (one per worker thread,
/// not shared).
///
/// A hit in the shared cache clones an `Arc` and takes a shard read lock: four atomic
/// read-modify-writes on cache lines that every core hitting the same hot name also writes, so
/// hot names bounce those lines between cores. A hit here reads only this worker's memory (and
/// the shared cache's clear-generation, a line that is written only by `clear()`).
///
/// Slots come in sets of four on one cache line, so a lookup reads one line of the front, and
/// names whose hashes share a set do not push each other out (a direct-mapped front of 4,096
/// slots sent about a fifth of the lookups for 1,000 hot names on to the shared cache).
/// A set that is full drops the entry filled longest ago.
///
/// Semantics match the shared cache: only fresh entries are served from the slot; expiry, stale
/// serving and misses go to the shared cache; `DnsCache::clear` empties every local cache on its
/// next lookup. A newer answer inserted in the shared cache for a key is seen here once the slot's
/// copy expires or is displaced. Memory: `slots` Arc pointers, which may keep up to `slots`
/// entries alive after the shared cache evicted them.
pub struct LocalCache {
    sets: Box<[LocalSet]>,
    mask: usize,
    hasher: DefaultHashBuilder,
    generation: u64,
}

impl core::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalCache")
            .field("slots", &(self.sets.len() * LOCAL_WAYS))
            .finish()
    }
}

impl LocalCache {
    /// A front with about `slots` slots (rounded up to a power of two, at least one set of
    /// four).
    pub fn new(slots: usize) -> Self {
        let n = slots.div_ceil(LOCAL_WAYS).max(1).next_power_of_two();
        LocalCache {
            sets: (0..n).map(|_| LocalSet::default()).collect(),
            mask: n - 1,
            hasher: DefaultHashBuilder::default(),
            generation: 0,
        }
    }

    /// Looks `key` (+ DO bit) up here, then in `shared`; a fresh shared hit is kept in this
    /// worker's set. Counts hits and misses in `shared`'s stats. Does not allocate.
    #[inline]
    pub fn lookup<'a>(
        &'a mut self,
        shared: &DnsCache,
        key: &QuestionKey,
        do_bit: bool,
        now: Instant,
    ) -> LocalLookup<'a> {
        let generation = shared.generation();
        if generation != self.generation {
            self.sets.iter_mut().for_each(|s| *s = LocalSet::default());
            self.generation = generation;
        }
        let hash = self.hasher.hash_one(KeyRef { q: key, do_bit });
        // Never 0 (the empty tag): the low bit is the DO bit, the next one always set.
        let tag = (hash & !3) | 2 | u64::from(do_bit);
        // Sets are picked by the high bits, which the tag's low bits do not disturb.
        let set = &mut self.sets[((hash >> 32) as usize) & self.mask];
        let way = set.0.iter().position(|s| {
            s.tag == tag
                && s.entry
                    .as_ref()
                    .is_some_and(|e| now < e.expires && e.answer.answers(key))
        });
        let way = match way {
            Some(w) => {
                shared.count_local_hit();
                w
            }
            None => match shared.lookup(key, do_bit, now) {
                Lookup::Fresh(entry) => {
                    // An expired copy of this key goes; else the set's oldest fill.
                    let w = set
                        .0
                        .iter()
                        .position(|s| s.tag == tag)
                        .unwrap_or(LOCAL_WAYS - 1);
                    set.0[..=w].rotate_right(1);
                    set.0[0] = LocalSlot {
                        tag,
                        entry: Some(entry),
                    };
                    0
                }
                Lookup::Stale(e) => return LocalLookup::Stale(e),
                Lookup::Miss => return LocalLookup::Miss,
            },
        };
        match &set.0[way].entry {
            Some(e) => LocalLookup::Fresh(e),
            None => LocalLookup::Miss,
        }
    }
}

#[cfg(test)]
mod tests;
