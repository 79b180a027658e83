//! Which addresses of the configured pools have an entry in the allocator's address map: one
//! bit per address in atomic 64-bit words, so a new client's offer skips a taken stretch of the
//! pool 64 addresses at a time instead of looking up each address's map entry.
//!
//! Without it, the forward probe from a client's hash-derived address costs one map lookup per
//! taken address; hardware addresses that differ only in their last bytes hash to neighbouring
//! addresses, so the pool fills in long runs and a burst of new clients costs time quadratic in
//! the number of leases (this was most of the DHCP thread's time under perfdhcp).
//!
//! A bit is set and cleared only while the shard lock of that address's map entry is held
//! (inside the map's entry, predicate or retain closures), so it always says exactly whether the
//! entry exists. An entry can be expired and not yet swept: the fast probe skips it and the
//! allocator falls back to the full probe (which reuses expired addresses) when the fast one
//! finds nothing.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::allocator::Pool;

/// Pools larger than this (a /12) are probed without a bitmap (2 MiB of bits at most each).
const MAX_TRACKED: u32 = 1 << 20;

/// The bitmap of one pool.
#[derive(Debug)]
struct Tracked {
    pool: Pool,
    words: Box<[AtomicU64]>,
}

impl Tracked {
    fn offset(&self, addr: u32) -> Option<u32> {
        let start = u32::from(self.pool.start);
        (start..=u32::from(self.pool.end))
            .contains(&addr)
            .then(|| addr - start)
    }
}

/// Occupancy bitmaps of the pools given at construction.
#[derive(Debug, Default)]
pub struct Occupancy {
    tracked: Vec<Tracked>,
}

impl Occupancy {
    /// Bitmaps for `pools` (duplicates and pools over [`MAX_TRACKED`] addresses left out).
    pub fn new(pools: &[Pool]) -> Self {
        let mut tracked: Vec<Tracked> = Vec::new();
        for p in pools {
            let (s, e) = (u32::from(p.start), u32::from(p.end));
            if e < s || e - s >= MAX_TRACKED || tracked.iter().any(|t| t.pool == *p) {
                continue;
            }
            let words = (e - s) as usize / 64 + 1;
            tracked.push(Tracked {
                pool: *p,
                words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            });
        }
        Occupancy { tracked }
    }

    /// Marks `addr` as having an address-map entry (call under that entry's lock).
    pub fn set(&self, addr: Ipv4Addr) {
        let a = u32::from(addr);
        for t in &self.tracked {
            if let Some(o) = t.offset(a) {
                t.words[(o / 64) as usize].fetch_or(1 << (o % 64), Ordering::Relaxed);
            }
        }
    }

    /// Marks `addr` as having no address-map entry (call under that entry's lock).
    pub fn clear(&self, addr: Ipv4Addr) {
        let a = u32::from(addr);
        for t in &self.tracked {
            if let Some(o) = t.offset(a) {
                t.words[(o / 64) as usize].fetch_and(!(1 << (o % 64)), Ordering::Relaxed);
            }
        }
    }

    /// Whether `pool` has a bitmap.
    pub fn tracks(&self, pool: Pool) -> bool {
        self.tracked.iter().any(|t| t.pool == pool)
    }

    /// The first address of `pool` whose bit is clear at offset `from..to` (offsets from the
    /// pool's start, `to` at most its size); `None` when every bit there is set or the pool has
    /// no bitmap.
    pub fn next_free(&self, pool: Pool, from: u32, to: u32) -> Option<Ipv4Addr> {
        let t = self.tracked.iter().find(|t| t.pool == pool)?;
        let to = to.min(u32::from(pool.end) - u32::from(pool.start) + 1);
        let mut o = from;
        while o < to {
            let w = (o / 64) as usize;
            // Bits below `o` in this word are treated as taken.
            let taken = t.words[w].load(Ordering::Relaxed) | ((1u64 << (o % 64)) - 1);
            if taken == u64::MAX {
                o = (w as u32 + 1) * 64;
                continue;
            }
            let found = w as u32 * 64 + (!taken).trailing_zeros();
            return (found < to).then(|| Ipv4Addr::from(u32::from(pool.start) + found));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(start: [u8; 4], end: [u8; 4]) -> Pool {
        Pool {
            start: Ipv4Addr::from(start),
            end: Ipv4Addr::from(end),
        }
    }

    #[test]
    fn finds_free_bits_across_words_and_stops_at_the_end() {
        let p = pool([10, 0, 0, 0], [10, 0, 0, 199]);
        let o = Occupancy::new(&[p, p]);
        assert_eq!(o.tracked.len(), 1);
        assert_eq!(o.next_free(p, 0, 200), Some(Ipv4Addr::new(10, 0, 0, 0)));
        for i in 0..150 {
            o.set(Ipv4Addr::new(10, 0, 0, i));
        }
        // Outside the pool: ignored.
        o.set(Ipv4Addr::new(10, 0, 1, 0));
        assert_eq!(o.next_free(p, 0, 200), Some(Ipv4Addr::new(10, 0, 0, 150)));
        assert_eq!(o.next_free(p, 10, 150), None);
        assert_eq!(o.next_free(p, 151, 200), Some(Ipv4Addr::new(10, 0, 0, 151)));
        o.clear(Ipv4Addr::new(10, 0, 0, 70));
        assert_eq!(o.next_free(p, 3, 200), Some(Ipv4Addr::new(10, 0, 0, 70)));
        assert_eq!(o.next_free(p, 71, 200), Some(Ipv4Addr::new(10, 0, 0, 150)));
        for i in 150..200 {
            o.set(Ipv4Addr::new(10, 0, 0, i));
        }
        // Bits past the pool's end in the last word are never reported.
        assert_eq!(o.next_free(p, 71, 1000), None);
        assert_eq!(o.next_free(pool([10, 0, 0, 0], [10, 0, 0, 9]), 0, 10), None);
    }

    #[test]
    fn overlapping_pools_each_track_the_address() {
        let (a, b) = (
            pool([10, 0, 0, 0], [10, 0, 0, 99]),
            pool([10, 0, 0, 50], [10, 0, 0, 149]),
        );
        let o = Occupancy::new(&[a, b]);
        o.set(Ipv4Addr::new(10, 0, 0, 50));
        assert_eq!(o.next_free(a, 50, 100), Some(Ipv4Addr::new(10, 0, 0, 51)));
        assert_eq!(o.next_free(b, 0, 100), Some(Ipv4Addr::new(10, 0, 0, 51)));
        assert!(o.tracks(a) && !o.tracks(pool([10, 0, 0, 0], [10, 0, 0, 98])));
        // A pool too large for a bitmap is not tracked.
        let huge = pool([10, 0, 0, 0], [10, 255, 255, 255]);
        assert!(!Occupancy::new(&[huge]).tracks(huge));
    }
}
