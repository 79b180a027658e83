//! The interned names of the hosts data: every distinct name once, in lowercased uncompressed
//! wire form, with a hash index from name to id.
//!
//! Built for loading large files fast: names are appended during a load without touching the
//! index ([`NameIndex::append`], sequential writes only), then [`NameIndex::finish`] indexes the
//! batch in the order of the slots they land in, so filling a table far larger than the CPU
//! caches walks it front to back instead of missing the cache on every name. Duplicates found
//! then are folded into the first copy and the batch is compacted; the caller remaps the ids it
//! handed out.

/// Names and their index. Ids are dense: `0..len()`.
#[derive(Clone, Debug, Default)]
pub(super) struct NameIndex {
    /// Every name back to back.
    arena: Vec<u8>,
    /// Start of name `i` in `arena`; it ends where name `i + 1` starts (or at the arena's end).
    starts: Vec<u32>,
    /// Open-addressing (linear probing) index of the indexed names; length a power of two. A
    /// slot holds `hash << 32 | (id + 1)`, 0 = empty: the stored hash filters probes without
    /// touching the arena and lets the index grow without rehashing names.
    slots: Vec<u64>,
    /// Hashes of the names appended since the last [`NameIndex::finish`] (ids from `indexed`).
    pending: Vec<u32>,
    /// Names below this id are in `slots`.
    indexed: u32,
}

/// How the ids of one batch changed in [`NameIndex::finish`]: id `first + k` became `map[k]`.
#[derive(Debug)]
pub(super) struct Renumbering {
    /// First id of the batch.
    pub first: u32,
    /// New id of each batch id.
    pub map: Vec<u32>,
}

impl Renumbering {
    /// The new id of `id` (ids below the batch are unchanged).
    #[inline]
    pub fn apply(&self, id: u32) -> u32 {
        match id.checked_sub(self.first) {
            Some(k) => self.map[k as usize],
            None => id,
        }
    }
}

impl NameIndex {
    /// Number of names (after [`NameIndex::finish`]: distinct names).
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Approximate heap memory used, in bytes.
    pub fn mem_size(&self) -> usize {
        self.arena.capacity()
            + 4 * self.starts.capacity()
            + 8 * self.slots.capacity()
            + 4 * self.pending.capacity()
    }

    /// Room for `bytes` more name bytes (a load's size hint).
    pub fn reserve(&mut self, bytes: usize) {
        self.arena.reserve(bytes);
    }

    /// The wire name of id `id`.
    #[inline]
    pub fn name(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = self.starts[i] as usize;
        let end = if i + 1 < self.starts.len() {
            self.starts[i + 1] as usize
        } else {
            self.arena.len()
        };
        &self.arena[start..end]
    }

    /// Finds the id of an indexed lowercased wire name.
    #[inline]
    pub fn find(&self, wire: &[u8]) -> Option<u32> {
        self.probe(wire, hash(wire))?.ok()
    }

    /// Probes for a name whose [`hash`] is `h`: `Ok(id)` if indexed, else `Err(index of the
    /// empty slot where it belongs)`. `None` if there are no slots.
    #[inline]
    fn probe(&self, wire: &[u8], h: u32) -> Option<Result<u32, usize>> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == 0 {
                return Some(Err(i));
            }
            if (s >> 32) as u32 == h {
                let id = (s as u32) - 1;
                if self.name(id) == wire {
                    return Some(Ok(id));
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Appends a name without indexing it; returns its provisional id, or `None` when the
    /// table is full (ids and arena offsets are u32). Call [`NameIndex::finish`] before lookups.
    pub fn append(&mut self, wire: &[u8]) -> Option<u32> {
        let id = u32::try_from(self.starts.len())
            .ok()
            .filter(|&i| i < u32::MAX - 1)?;
        let start = u32::try_from(self.arena.len()).ok()?;
        u32::try_from(self.arena.len() + wire.len()).ok()?;
        self.starts.push(start);
        self.arena.extend_from_slice(wire);
        self.pending.push(hash(wire));
        Some(id)
    }

    /// Indexes the names appended since the last call. Returns how their ids changed when some
    /// were duplicates (of each other or of names already indexed), `None` when none did.
    pub fn finish(&mut self) -> Option<Renumbering> {
        let first = self.indexed;
        let batch = std::mem::take(&mut self.pending);
        if batch.is_empty() {
            return None;
        }
        // Load factor at most 1/2 for short linear probes.
        let want = (self.starts.len() * 2).next_power_of_two().max(64);
        if want > self.slots.len() {
            self.rehash(want);
        }
        let mask = self.slots.len() - 1;
        let bits = self.slots.len().trailing_zeros();
        // Index in slot order (then load order, so the first copy of a name stays canonical):
        // the hash rotated so its slot bits lead, with the batch index below it. The hash is
        // carried in the key so nothing is read out of order but the slots themselves.
        let mut order: Vec<u64> = batch
            .iter()
            .enumerate()
            .map(|(k, &h)| u64::from(h.rotate_right(bits)) << 32 | k as u64)
            .collect();
        drop(batch);
        order.sort_unstable();
        // (batch index, the earlier id it duplicates)
        let mut duplicates: Vec<(u32, u32)> = Vec::new();
        for key in order {
            let k = key as u32;
            let id = first + k;
            let h = ((key >> 32) as u32).rotate_left(bits);
            // Probe by stored hash; the names (far apart in the arena) are read only when the
            // hashes agree.
            let mut i = h as usize & mask;
            loop {
                let s = self.slots[i];
                if s == 0 {
                    self.slots[i] = u64::from(h) << 32 | u64::from(id + 1);
                    break;
                }
                if (s >> 32) as u32 == h {
                    let other = (s as u32) - 1;
                    if self.name(other) == self.name(id) {
                        duplicates.push((k, other));
                        break;
                    }
                }
                i = (i + 1) & mask;
            }
        }
        self.indexed = self.starts.len() as u32;
        if duplicates.is_empty() {
            return None;
        }
        let mut canonical: Vec<u32> = (first..self.indexed).collect();
        for (k, other) in duplicates {
            canonical[k as usize] = other;
        }
        Some(self.compact(first, canonical))
    }

    /// Drops the batch's duplicate names, moving the kept ones down so ids stay dense, and
    /// fixes the index. `canonical[k]` is the id batch name `k` was found to be.
    fn compact(&mut self, first: u32, canonical: Vec<u32>) -> Renumbering {
        let mut map = vec![0u32; canonical.len()];
        let mut next = first;
        let mut write = self.starts.get(first as usize).map_or(0, |&s| s as usize);
        let mut new_starts = Vec::with_capacity(canonical.len());
        for (k, &c) in canonical.iter().enumerate() {
            let id = first + k as u32;
            if c != id {
                continue;
            }
            let (s, e) = {
                let s = self.starts[id as usize] as usize;
                let e = self
                    .starts
                    .get(id as usize + 1)
                    .map_or(self.arena.len(), |&x| x as usize);
                (s, e)
            };
            // Moves left or stays: `write <= s`.
            self.arena.copy_within(s..e, write);
            new_starts.push(write as u32);
            write += e - s;
            map[k] = next;
            next += 1;
        }
        // Duplicates point at their canonical name's new id (old names keep theirs).
        for (k, &c) in canonical.iter().enumerate() {
            if c != first + k as u32 {
                map[k] = match c.checked_sub(first) {
                    Some(ck) => map[ck as usize],
                    None => c,
                };
            }
        }
        self.arena.truncate(write);
        self.starts.truncate(first as usize);
        self.starts.extend_from_slice(&new_starts);
        self.indexed = self.starts.len() as u32;
        for s in self.slots.iter_mut().filter(|s| **s != 0) {
            let id = (*s as u32) - 1;
            if let Some(k) = id.checked_sub(first) {
                *s = (*s & !0xffff_ffff) | u64::from(map[k as usize] + 1);
            }
        }
        Renumbering { first, map }
    }

    /// Replaces the slot array by one of `cap` (a power of two) slots and re-inserts every
    /// indexed name from the hashes stored in the slots.
    fn rehash(&mut self, cap: usize) {
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        let mask = cap - 1;
        for s in old {
            if s != 0 {
                let mut i = (s >> 32) as usize & mask;
                while self.slots[i] != 0 {
                    i = (i + 1) & mask;
                }
                self.slots[i] = s;
            }
        }
    }

    /// Gives back spare capacity after a load.
    pub fn shrink(&mut self) {
        self.arena.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.pending = Vec::new();
    }
}

/// FxHash-style multiply-rotate over 8-byte words with a final avalanche: the low bits pick the
/// slot, the high 32 are kept in it as a filter.
pub(super) fn hash(b: &[u8]) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ x).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        tail |= u64::from(byte) << (8 * i);
    }
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    // Final avalanche so the low bits used for the slot index depend on every input bit.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for l in s.split('.') {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
        out
    }

    #[test]
    fn batches_fold_duplicates_and_keep_ids_dense() {
        let mut n = NameIndex::default();
        let a = n.append(&wire("a.lan")).unwrap();
        let b = n.append(&wire("b.lan")).unwrap();
        assert!(n.finish().is_none(), "no duplicates in the first batch");
        assert_eq!(
            (n.find(&wire("a.lan")), n.find(&wire("b.lan"))),
            (Some(a), Some(b))
        );

        // Second batch: a duplicate of an old name, a new name twice, another new name.
        let x = n.append(&wire("b.lan")).unwrap();
        let y = n.append(&wire("c.lan")).unwrap();
        let z = n.append(&wire("c.lan")).unwrap();
        let w = n.append(&wire("d.lan")).unwrap();
        let r = n.finish().expect("duplicates were folded");
        assert_eq!(n.len(), 4, "a b c d");
        assert_eq!(r.apply(x), b);
        assert_eq!(r.apply(y), r.apply(z));
        assert_eq!(r.apply(a), a);
        for (name, id) in [("c.lan", r.apply(y)), ("d.lan", r.apply(w))] {
            assert_eq!(n.find(&wire(name)), Some(id));
            assert_eq!(n.name(id), wire(name).as_slice());
        }
        assert!(n.find(&wire("e.lan")).is_none());
    }

    #[test]
    fn many_names_with_duplicates() {
        let mut n = NameIndex::default();
        let mut ids = Vec::new();
        for i in 0..5000 {
            ids.push(n.append(&wire(&format!("h{}.lan", i % 3000))).unwrap());
        }
        let r = n.finish().unwrap();
        assert_eq!(n.len(), 3000);
        for (i, &id) in ids.iter().enumerate() {
            let name = wire(&format!("h{}.lan", i % 3000));
            assert_eq!(n.name(r.apply(id)), name.as_slice());
            assert_eq!(n.find(&name), Some(r.apply(id)));
        }
    }
}
