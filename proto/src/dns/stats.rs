//! Per-worker DNS counters, read by the control thread and by the CHAOS statistics names.
//!
//! Each worker owns one [`WorkerCounters`] (cache-line aligned, relaxed atomics, no contention);
//! readers sum across workers. Every [`DropReason`] feeds one counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a packet was dropped or a query refused; each feeds a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// A client packet that is not a well-formed DNS query.
    MalformedQuery,
    /// A client packet with QR=1 (a response sent to us).
    ResponseFromClient,
    /// An upstream answer that matched no query in flight (wrong ID, port, source or question).
    RejectedAnswer,
    /// An upstream answer that could not be parsed.
    MalformedAnswer,
    /// More than `--dns-forward-max` queries were in flight (refused, as dnsmasq).
    ForwardLimit,
    /// The worker's in-flight table or a merge list was full.
    InFlightFull,
    /// The client is not allowed to query us (`--local-service`).
    NotAllowed,
    /// An upstream answer held an `--ignore-address` address: dropped, the query keeps waiting.
    IgnoredAddress,
    /// A reply or upstream query the kernel would not send (socket buffer full, no route).
    SendFailed,
}

impl DropReason {
    /// All reasons, in counter order.
    pub const ALL: [Self; 9] = [
        Self::MalformedQuery,
        Self::ResponseFromClient,
        Self::RejectedAnswer,
        Self::MalformedAnswer,
        Self::ForwardLimit,
        Self::InFlightFull,
        Self::NotAllowed,
        Self::IgnoredAddress,
        Self::SendFailed,
    ];

    /// A short name for logs and statistics.
    pub fn name(self) -> &'static str {
        match self {
            Self::MalformedQuery => "malformed-query",
            Self::ResponseFromClient => "response-from-client",
            Self::RejectedAnswer => "rejected-answer",
            Self::MalformedAnswer => "malformed-answer",
            Self::ForwardLimit => "forward-limit",
            Self::InFlightFull => "in-flight-full",
            Self::NotAllowed => "not-allowed",
            Self::IgnoredAddress => "ignored-address",
            Self::SendFailed => "send-failed",
        }
    }
}

/// A monotonically increasing event count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Client queries received (UDP and TCP).
    Queries,
    /// Queries answered from the cache.
    CacheAnswers,
    /// Queries answered from local data (CHAOS, local-only domains).
    LocalAnswers,
    /// Upstream queries sent (including retries).
    Forwarded,
    /// Client queries merged onto an identical query already in flight.
    Merged,
    /// Upstream answers accepted.
    UpstreamAnswers,
    /// Truncated upstream answers retried over TCP.
    TcpRetries,
    /// Upstream attempts that timed out.
    UpstreamTimeouts,
    /// SERVFAIL answers we generated (all servers failed).
    ServfailSent,
    /// Records removed from upstream answers as out of bailiwick.
    OutOfBailiwick,
    /// Dotless A/AAAA/ANY queries answered NXDOMAIN (`-D/--domain-needed`).
    DomainNeeded,
    /// Private reverse lookups answered NXDOMAIN (`-b/--bogus-priv`).
    BogusPriv,
    /// SOA, SRV and `_`-name ANY queries answered NODATA (`-f/--filterwin2k`).
    Filterwin2k,
    /// Upstream answers with private addresses blocked (`--stop-dns-rebind`).
    RebindBlocked,
    /// Upstream answers turned into NXDOMAIN (`-B/--bogus-nxdomain`).
    BogusNxDomain,
    /// Records removed from upstream answers (`--filter-A`, `--filter-AAAA`, `--filter-rr`).
    FilteredRecords,
    /// Answers validated secure (DNSSEC).
    DnssecSecure,
    /// Answers proven insecure (DNSSEC).
    DnssecInsecure,
    /// Answers found bogus (DNSSEC): SERVFAIL with an Extended DNS Error.
    DnssecBogus,
    /// DS and DNSKEY sub-queries sent for validation.
    DnssecSubqueries,
}

impl Counter {
    const COUNT: usize = 20;

    /// Every counter, in order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::Queries,
        Self::CacheAnswers,
        Self::LocalAnswers,
        Self::Forwarded,
        Self::Merged,
        Self::UpstreamAnswers,
        Self::TcpRetries,
        Self::UpstreamTimeouts,
        Self::ServfailSent,
        Self::OutOfBailiwick,
        Self::DomainNeeded,
        Self::BogusPriv,
        Self::Filterwin2k,
        Self::RebindBlocked,
        Self::BogusNxDomain,
        Self::FilteredRecords,
        Self::DnssecSecure,
        Self::DnssecInsecure,
        Self::DnssecBogus,
        Self::DnssecSubqueries,
    ];

    /// A short name for logs and statistics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Queries => "queries",
            Self::CacheAnswers => "cache-answers",
            Self::LocalAnswers => "local-answers",
            Self::Forwarded => "forwarded",
            Self::Merged => "merged",
            Self::UpstreamAnswers => "upstream-answers",
            Self::TcpRetries => "tcp-retries",
            Self::UpstreamTimeouts => "upstream-timeouts",
            Self::ServfailSent => "servfail-sent",
            Self::OutOfBailiwick => "out-of-bailiwick-records",
            Self::DomainNeeded => "domain-needed",
            Self::BogusPriv => "bogus-priv",
            Self::Filterwin2k => "filterwin2k",
            Self::RebindBlocked => "rebind-blocked",
            Self::BogusNxDomain => "bogus-nxdomain",
            Self::FilteredRecords => "filtered-records",
            Self::DnssecSecure => "dnssec-secure",
            Self::DnssecInsecure => "dnssec-insecure",
            Self::DnssecBogus => "dnssec-bogus",
            Self::DnssecSubqueries => "dnssec-subqueries",
        }
    }
}

/// Adds `n` to a counter that only one thread writes: a plain load and store, without the
/// locked read-modify-write a `fetch_add` costs on every query; readers still see whole values.
#[inline]
fn add_single_writer(slot: &AtomicU64, n: u64) {
    slot.store(
        slot.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

const SLOTS: usize = Counter::COUNT + DropReason::ALL.len();

/// One worker's counters. Written only by its worker; read by anyone.
#[repr(align(128))]
#[derive(Debug)]
pub struct WorkerCounters {
    slots: [AtomicU64; SLOTS],
}

impl Default for WorkerCounters {
    fn default() -> Self {
        Self {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl WorkerCounters {
    /// Adds one to a counter.
    #[inline]
    pub fn bump(&self, c: Counter) {
        self.add(c, 1);
    }

    /// Adds `n` to a counter.
    #[inline]
    pub fn add(&self, c: Counter, n: u64) {
        add_single_writer(&self.slots[c as usize], n);
    }

    /// Counts a drop.
    #[inline]
    pub fn drop_packet(&self, r: DropReason) {
        add_single_writer(&self.slots[Counter::COUNT + r as usize], 1);
    }

    fn get(&self, i: usize) -> u64 {
        self.slots[i].load(Ordering::Relaxed)
    }
}

/// All workers' counters, shared between workers and the control thread.
#[derive(Debug, Default)]
pub struct StatsRegistry {
    workers: Vec<Arc<WorkerCounters>>,
}

impl StatsRegistry {
    /// A registry with one counter block per worker.
    pub fn new(workers: usize) -> Self {
        Self {
            workers: (0..workers.max(1)).map(|_| Arc::default()).collect(),
        }
    }

    /// The counter block of worker `i`.
    pub fn worker(&self, i: usize) -> Arc<WorkerCounters> {
        Arc::clone(&self.workers[i % self.workers.len()])
    }

    /// The sum of a counter over all workers.
    pub fn total(&self, c: Counter) -> u64 {
        self.workers.iter().map(|w| w.get(c as usize)).sum()
    }

    /// The sum of a drop counter over all workers.
    pub fn drops(&self, r: DropReason) -> u64 {
        self.workers
            .iter()
            .map(|w| w.get(Counter::COUNT + r as usize))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_over_workers() {
        let reg = StatsRegistry::new(2);
        reg.worker(0).bump(Counter::Queries);
        reg.worker(1).add(Counter::Queries, 2);
        reg.worker(1).drop_packet(DropReason::RejectedAnswer);
        assert_eq!(reg.total(Counter::Queries), 3);
        assert_eq!(reg.drops(DropReason::RejectedAnswer), 1);
        assert_eq!(reg.drops(DropReason::MalformedQuery), 0);
    }
}
