//! The per-worker store of DS and DNSKEY answers fetched for validation, and of the zone
//! statuses derived from them (secure with its keys, insecure, bogus), each with an expiry.

use super::Bogus;
use hickory_proto::dnssec::rdata::DNSKEY;
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use std::collections::HashMap;
use std::sync::Arc;

/// Most entries of each map; on overflow the map is cleared (entries are refetched).
const MAX_ENTRIES: usize = 8192;
/// Longest time a fetched answer or a zone status is kept, in seconds.
const MAX_KEEP_SECS: u32 = 3600;
/// Time a failed fetch or a bogus status is kept, in seconds.
const FAILED_KEEP_SECS: u32 = 5;

/// What the chain of trust says about a zone (the signer of some data).
#[derive(Clone, Debug)]
pub enum ZoneStatus {
    /// Its DNSKEY RRset chains to a trust anchor; these are its keys.
    Secure(Arc<Vec<DNSKEY>>),
    /// Provably unsigned (insecure delegation above it, or no supported algorithm).
    Insecure,
    /// Its keys do not validate.
    Bogus(Bogus),
}

/// A fetched DS or DNSKEY answer (None: the fetch failed).
pub type Fetched = Option<Arc<Message>>;

/// DS/DNSKEY answers and zone statuses, keyed by lowercase name.
#[derive(Debug, Default)]
pub struct KeyStore {
    answers: HashMap<(Name, RecordType), (Fetched, u32)>,
    zones: HashMap<Name, (ZoneStatus, u32)>,
}

impl KeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the answer to a DS or DNSKEY sub-query made at `now` (Unix seconds); None when
    /// it failed. Kept for the smallest TTL of its records (at most an hour).
    pub fn insert_answer(&mut self, name: &Name, rtype: RecordType, answer: Fetched, now: u32) {
        if self.answers.len() >= MAX_ENTRIES {
            self.answers.clear();
        }
        let keep = match &answer {
            Some(m) => m
                .answers
                .iter()
                .chain(m.authorities.iter())
                .map(|r| r.ttl)
                .min()
                .unwrap_or(0)
                .clamp(FAILED_KEEP_SECS, MAX_KEEP_SECS),
            None => FAILED_KEEP_SECS,
        };
        self.answers.insert(
            (name.to_lowercase(), rtype),
            (answer, now.saturating_add(keep)),
        );
    }

    /// The stored answer for `name`/`rtype`, if fresh: Some(None) means the fetch failed.
    pub fn answer(&self, name: &Name, rtype: RecordType, now: u32) -> Option<Fetched> {
        let (a, until) = self.answers.get(&(name.to_lowercase(), rtype))?;
        (now <= *until).then(|| a.clone())
    }

    /// Remembers a zone's status until `now + ttl` (bogus statuses only briefly).
    pub fn set_zone(&mut self, zone: &Name, status: ZoneStatus, ttl: u32, now: u32) {
        if self.zones.len() >= MAX_ENTRIES {
            self.zones.clear();
        }
        let keep = match status {
            ZoneStatus::Bogus(_) => FAILED_KEEP_SECS,
            _ => ttl.clamp(FAILED_KEEP_SECS, MAX_KEEP_SECS),
        };
        self.zones
            .insert(zone.to_lowercase(), (status, now.saturating_add(keep)));
    }

    /// A zone's remembered status, if fresh.
    pub fn zone(&self, zone: &Name, now: u32) -> Option<ZoneStatus> {
        let (s, until) = self.zones.get(&zone.to_lowercase())?;
        (now <= *until).then(|| s.clone())
    }

    /// Forgets everything (SIGHUP, as the cache).
    pub fn clear(&mut self) {
        self.answers.clear();
        self.zones.clear();
    }

    /// Number of stored answers and zone statuses.
    pub fn len(&self) -> usize {
        self.answers.len() + self.zones.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
