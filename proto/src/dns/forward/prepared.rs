//! A batch's client queries parsed ahead of their turn, so that the cache lines their answers
//! need are fetched together.
//!
//! A cache hit reads two lines no other work of the worker keeps warm: the front's set, then
//! the entry its slot points to. Between two hits on the same name, the kernel's network stack
//! has run over far more memory than the core's caches hold, so each of the two is a miss, and
//! the second cannot start before the first ends. Taken one query at a time, a batch pays
//! twice the memory latency per query.
//!
//! Taken as a batch, the engine first hands every datagram to
//! [`Forwarder::prepare_query`], which parses it, hashes its question and returns its set's
//! address to prefetch; then [`Forwarder::prepared_entries`] names the entries those sets
//! point to; then each datagram goes to [`Forwarder::handle_query`] as before, which takes the
//! parse and hash made here instead of making them again. The misses of a batch overlap, and
//! nothing is parsed twice.

use super::*;
use crate::dns::packet::HEADER_LEN;

/// At most this many queries of a batch are prepared; later ones are parsed when handled.
pub const PREPARED_MAX: usize = 32;

/// One query parsed ahead of its turn.
struct PreparedQuery {
    /// The datagram's address and length, and its header: how `take` knows it again.
    addr: usize,
    len: usize,
    header: [u8; HEADER_LEN],
    /// The parse, without the borrowed bytes (put back by `take`).
    query: Query<'static>,
    /// The front's hash of the question and DO bit.
    hash: u64,
}

/// The queries of the current batch prepared so far, in arrival order.
pub(super) struct Prepared {
    items: Vec<PreparedQuery>,
    /// The first item not yet taken.
    next: usize,
}

impl Default for Prepared {
    fn default() -> Self {
        Prepared {
            items: Vec::with_capacity(PREPARED_MAX),
            next: 0,
        }
    }
}

impl Prepared {
    /// The parse and hash prepared for `bytes`, if this batch prepared them: the same datagram
    /// (address, length and header). Items before it that were never handled (a datagram
    /// dropped before it reached the forwarder) are passed over.
    fn take<'a>(&mut self, bytes: &'a [u8]) -> Option<(Query<'a>, u64)> {
        let addr = bytes.as_ptr() as usize;
        let i = self.items[self.next..].iter().position(|p| {
            p.addr == addr && p.len == bytes.len() && bytes[..HEADER_LEN] == p.header
        })? + self.next;
        self.next = i + 1;
        let p = &self.items[i].query;
        Some((
            Query {
                bytes,
                id: p.id,
                flags: p.flags,
                key: p.key.clone(),
                question: p.question.clone(),
                edns: p.edns,
            },
            self.items[i].hash,
        ))
    }
}

impl Forwarder {
    /// Parses a client datagram ahead of its turn and returns the address of the front's cache
    /// line that its lookup will read, for the caller to prefetch; `None` (nothing kept) when
    /// the query would not reach the cache: malformed, RD clear, no cache, or the batch already
    /// holds [`PREPARED_MAX`] queries. The same bytes must then reach
    /// [`Forwarder::handle_query`] before [`Forwarder::clear_prepared`].
    pub fn prepare_query(&mut self, bytes: &[u8]) -> Option<*const u8> {
        if self.prepared.items.len() >= PREPARED_MAX || bytes.len() < HEADER_LEN {
            return None;
        }
        self.shared.cache.as_ref()?;
        let mut q = Query::unparsed(bytes);
        parse_query_into(&mut q).ok()?;
        if q.flags & FLAG_RD == 0 {
            return None;
        }
        let hash = self.local_cache.hash(&q.key, q.do_bit());
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&bytes[..HEADER_LEN]);
        self.prepared.items.push(PreparedQuery {
            addr: bytes.as_ptr() as usize,
            len: bytes.len(),
            header,
            query: Query {
                bytes: &[],
                id: q.id,
                flags: q.flags,
                key: q.key,
                question: q.question,
                edns: q.edns,
            },
            hash,
        });
        Some(self.local_cache.set_address(hash))
    }

    /// Calls `fetch` with the address and size of each cache entry the prepared queries' sets
    /// point to (reading those sets, which the caller prefetched).
    pub fn prepared_entries(&self, fetch: &mut dyn FnMut(*const u8, usize)) {
        for p in &self.prepared.items[self.prepared.next..] {
            if let Some((addr, size)) = self.local_cache.entry_address(p.hash, p.query.do_bit()) {
                fetch(addr, size);
            }
        }
    }

    /// Forgets the batch's prepared queries; called when a batch ends (and before the next one
    /// is prepared), so that a later datagram in a reused buffer is never taken for one.
    pub fn clear_prepared(&mut self) {
        self.prepared.items.clear();
        self.prepared.next = 0;
    }

    /// The parse and front hash prepared for `bytes`, if any.
    pub(super) fn take_prepared<'a>(&mut self, bytes: &'a [u8]) -> Option<(Query<'a>, u64)> {
        if self.prepared.next >= self.prepared.items.len() {
            return None;
        }
        self.prepared.take(bytes)
    }
}

#[cfg(test)]
mod tests;
