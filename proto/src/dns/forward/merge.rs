//! Identical questions in flight, merged across workers (CVE-2020-25686).
//!
//! Each worker merges identical questions in its own in-flight table. Without more, N workers
//! could still send N upstream queries for one question, and an attacker who spreads a burst
//! over the workers (any source port does it, SO_REUSEPORT hashes on it) gets N guessable
//! (ID, port) pairs open at once. The [`SharedInFlight`] registry closes that: the first worker
//! to forward a question becomes its *owner*; a UDP client of another worker asking the same
//! question joins the owner's query instead of opening a new one, and the owner answers it.
//!
//! The owner sends such an answer from its own socket with the same index as the one the query
//! arrived on: every worker binds the same listeners in the same order (listener changes reach
//! every worker in the same sequence), so the index names the same address on every worker.
//! TCP clients are never handed over (their connection lives on one worker); they still claim
//! the question, so UDP clients of other workers join them.
//!
//! Sharded: one short critical section per upstream query started or finished, never on the
//! cache-hit path, and never two shard locks held at once.

use super::{Forwarder, MAX_WAITERS, MergeKey, Outbox, Waiter, rcode};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

/// Shards: a power of two, enough that workers rarely meet on one lock.
const SHARDS: usize = 64;

/// The questions some worker is forwarding now, with the clients of other workers waiting on
/// them.
pub struct SharedInFlight {
    hasher: RandomState,
    shards: Box<[Mutex<HashMap<MergeKey, Claimed>>]>,
}

/// One question's owner and the other workers' clients waiting for its answer.
struct Claimed {
    owner: u16,
    joiners: Vec<Waiter>,
}

/// What [`SharedInFlight::claim`] decided.
pub(super) enum Claim {
    /// Nobody was forwarding the question: the caller now owns it and must forward it, then
    /// call [`SharedInFlight::finish`].
    Owner,
    /// Another worker forwards it; the caller's client was added to its waiters.
    Joined,
    /// Another worker forwards it and has as many waiters as it may take.
    Full,
    /// Another worker forwards it; the caller gave no client that can be handed over.
    Busy,
}

impl Default for SharedInFlight {
    fn default() -> Self {
        Self::new()
    }
}

impl SharedInFlight {
    /// An empty registry.
    pub fn new() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &MergeKey) -> MutexGuard<'_, HashMap<MergeKey, Claimed>> {
        let i = self.hasher.hash_one(key) as usize & (SHARDS - 1);
        // A worker that panicked while holding the lock left a map that is still consistent
        // (every update is a single insert, push or remove).
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims `key` for worker `me`, or, when another worker owns it, adds `joiner` (a UDP
    /// client) to its waiters.
    pub(super) fn claim(&self, key: &MergeKey, me: u16, joiner: Option<Waiter>) -> Claim {
        let mut shard = self.shard(key);
        match shard.get_mut(key) {
            Some(c) if c.owner != me => match joiner {
                None => Claim::Busy,
                // A client's retry (same address and ID) while it waits: it is already there.
                Some(w)
                    if c.joiners
                        .iter()
                        .any(|j| j.client.peer == w.client.peer && j.id == w.id) =>
                {
                    Claim::Joined
                }
                Some(_) if c.joiners.len() >= MAX_WAITERS => Claim::Full,
                Some(w) => {
                    c.joiners.push(w);
                    Claim::Joined
                }
            },
            // Our own claim left over (the entry is re-created for the same question): keep it.
            Some(_) => Claim::Owner,
            None => {
                shard.insert(
                    key.clone(),
                    Claimed {
                        owner: me,
                        joiners: Vec::new(),
                    },
                );
                Claim::Owner
            }
        }
    }

    /// Ends worker `me`'s claim on `key` and moves the clients that joined it into `into`.
    pub(super) fn finish(&self, key: &MergeKey, me: u16, into: &mut Vec<Waiter>) {
        let mut shard = self.shard(key);
        if shard.get(key).is_some_and(|c| c.owner == me)
            && let Some(c) = shard.remove(key)
        {
            into.extend(c.joiners);
        }
    }

    /// Questions claimed now (for tests and statistics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// True when no question is claimed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Forwarder {
    /// Ends a claim on a question that will not be forwarded after all: the clients of other
    /// workers that joined it get REFUSED, as the asking client did.
    pub(super) fn refuse_joiners(&mut self, mkey: &MergeKey, out: &mut Outbox) {
        let Some(shared) = &self.shared.in_flight else {
            return;
        };
        let mut joiners = Vec::new();
        shared.finish(mkey, self.cfg.id_lane.0, &mut joiners);
        for w in joiners {
            let q = w.query(&mkey.key);
            self.reply_error(&q, rcode::REFUSED, w.client, out);
        }
    }

    /// Moves the clients of other workers that joined entry `idx`'s question into its waiters,
    /// and ends the claim: from here on, the same question on another worker is a new query
    /// (or, once the answer is stored, a cache hit).
    pub(super) fn gather_joiners(&mut self, idx: u32) {
        let entry = &mut self.slab[idx as usize];
        if !entry.claimed {
            return;
        }
        entry.claimed = false;
        if let Some(shared) = &self.shared.in_flight {
            let mkey = MergeKey {
                key: entry.key.clone(),
                do_bit: entry.do_bit,
                cd_bit: entry.cd_bit,
            };
            shared.finish(&mkey, self.cfg.id_lane.0, &mut entry.waiters);
        }
    }
}
