//! The per-worker DNS forwarder: client queries in, answers and upstream queries out.
//!
//! One [`Forwarder`] runs on each worker. It answers from the shared cache when it can, merges
//! identical questions in flight (CVE-2020-25686), sends the rest upstream with a fresh random ID
//! from a random one of the worker's upstream sockets (RFC 5452 §9.2), accepts an answer only from
//! the server asked, on the socket used, with the same ID and the same question (RFC 5452 §9.1;
//! the whole question is compared, never a hash: CVE-2020-25685), moves to the next server on
//! timeout, REFUSED or SERVFAIL, and retries truncated answers over TCP (RFC 7766 §5).

use super::alias::{AliasRule, alias};
use super::answer::{NormalizeOptions, normalize_response};
use super::cache::{CacheEntry, DnsCache, LocalCache, LocalLookup};
use super::chaos::{ChaosName, StatsView, is_chaos_local, write_chaos_reply};
use super::guard::{AnswerVerdict, GuardReply, Guards, QueryVerdict, write_guard_reply};
use super::hosts::HostsTable;
use super::local::{LocalData, write_address_reply};
use super::local_mx::{CLASS_IN, LocalMx, TYPE_MX};
use super::outbox::{ClientEndpoint, Destination, Outbox};
use super::packet::{
    Edns, PacketError, Query, QuestionKey, RCODE_FORMERR, parse_query, parse_query_into,
    parse_response_head, set_rcode, write_error_reply, write_header_only_reply,
};
use super::servers::{Egress, Route, ServerTable};
use super::stats::{Counter, DropReason, StatsRegistry, WorkerCounters};
use crate::dhcp::DhcpNames;
use crate::time::Instant;
use merge::Claim;
use port_pool::PortPool;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// RFC 1035 §4.1.1 response codes used here.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused.
    pub const REFUSED: u8 = 5;
}

const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const FLAG_CD: u16 = 0x0010;
const OPCODE_MASK: u16 = 0x7800;
/// Most attempts (server, socket, ID) one query keeps listening for.
const MAX_ATTEMPTS: usize = 8;
/// Most clients merged onto one upstream query: dnsmasq's default forward table size, so a
/// burst of identical questions as large as dnsmasq would merge is answered from one upstream
/// query. Memory stays bounded: queries in flight per server are capped by
/// `--dns-forward-max`, and a waiter is ~350 octets.
const MAX_WAITERS: usize = 150;
/// Longest header + question kept per waiting client (12 + 255 + 4).
const HEAD_MAX: usize = 12 + 255 + 4;
/// Most slots of each worker's front for the shared cache: 2,048 sets of four (128 KiB). With
/// 1,024 sets, a thousand hot names put five or more names in about four sets, and every
/// query for one of those (1.7 % of them, depending on the hash seed) went on to the shared
/// cache, a shard lock and a table search; with 2,048 sets it is about 0.2 %.
const LOCAL_CACHE_SLOTS: usize = 8192;
/// dnsmasq re-measures server speed every 50 queries or 20 seconds.
const PROBE_EVERY_QUERIES: u32 = 50;
const PROBE_EVERY_MS: u64 = 20_000;

/// Forwarding policy, from the configuration.
#[derive(Clone, Debug)]
pub struct ForwarderConfig {
    /// EDNS0 UDP payload size advertised upstream and the most we send to a client (`-P`).
    pub edns_packet_max: u16,
    /// Most queries in flight per server (`-0/--dns-forward-max`).
    pub dns_forward_max: u32,
    /// Try servers strictly in order (`-o`).
    pub strict_order: bool,
    /// Send every query to every server (`--all-servers`).
    pub all_servers: bool,
    /// Time to wait for one server before trying the next.
    pub attempt_timeout_ms: u64,
    /// Double the per-attempt wait after each retry (`--fast-dns-retry` back-off).
    pub backoff: bool,
    /// Time after which a query is given up and answered SERVFAIL.
    pub total_timeout_ms: u64,
    /// Cap on TTLs handed to clients (`--max-ttl`).
    pub max_ttl: Option<u32>,
    /// TTL clamps for caching.
    pub normalize: NormalizeOptions,
    /// Upstream sockets the engine opened per address family (slots `0..n`); a server's bound
    /// socket `k` ([`Egress::Bound`]) is slot `n + k`.
    pub upstream_slots: u16,
    /// The pool's sockets share one port with every worker (`--query-port`): IDs carry the lane.
    pub pool_port_shared: bool,
    /// Queries a pool socket carries before the engine replaces it with one on a fresh random
    /// port (0: never, as with a fixed `--query-port`). See [`port_pool`].
    pub port_reuse: u32,
    /// This worker's lane and the number of lanes (workers). On a port shared by every worker
    /// the kernel hands an answer to worker `id % lanes`, so queries leaving from such a port
    /// use IDs with `id % lanes == lane`.
    pub id_lane: (u16, u16),
    /// Most queries in flight on this worker.
    pub max_in_flight: usize,
    /// TTL of answers from hosts files and local data (`-T/--local-ttl`).
    pub local_ttl: u32,
    /// Query and answer guards (`-D`, `-b`, `-f`, `--stop-dns-rebind`, `-B`, `--ignore-address`,
    /// `--filter-A/AAAA/rr`).
    pub guards: Guards,
    /// `--no-ident`: CHAOS `*.bind` questions get NOTIMP.
    pub no_ident: bool,
    /// `--dnssec`: validate answers (None: off).
    pub dnssec: Option<DnssecForwarding>,
    /// `--proxy-dnssec`: pass the upstream AD bit on (when not validating).
    pub proxy_dnssec: bool,
    /// `--selfmx` / `--localmx`: MX records for the names of hosts files and leases.
    pub local_mx: Option<LocalMx>,
    /// `-V/--alias`: rewrites of IPv4 addresses in upstream answers, in the order given (the
    /// last rule that matches an address wins).
    pub alias: Vec<AliasRule>,
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        Self {
            edns_packet_max: 1232,
            dns_forward_max: 150,
            strict_order: false,
            all_servers: false,
            attempt_timeout_ms: 1000,
            backoff: false,
            total_timeout_ms: 10_000,
            max_ttl: None,
            normalize: NormalizeOptions {
                min_cache_ttl: None,
                max_cache_ttl: None,
                neg_ttl: None,
            },
            upstream_slots: 1,
            pool_port_shared: false,
            port_reuse: 0,
            id_lane: (0, 1),
            max_in_flight: 4096,
            local_ttl: 0,
            guards: Guards::default(),
            no_ident: false,
            dnssec: None,
            proxy_dnssec: false,
            local_mx: None,
            alias: Vec::new(),
        }
    }
}

/// One upstream try: the server, the socket it left from and its ID.
#[derive(Clone, Copy)]
struct Attempt {
    server: usize,
    addr: SocketAddr,
    slot: u16,
    id: u16,
    tcp: bool,
    sent_at: Instant,
}

/// A question in flight upstream.
struct InFlight {
    generation: u32,
    live: bool,
    key: QuestionKey,
    do_bit: bool,
    cd_bit: bool,
    table: Arc<ServerTable>,
    group: usize,
    /// Bit i set: the group's i-th server has been tried.
    tried: u64,
    attempts: [Option<Attempt>; MAX_ATTEMPTS],
    next_attempt: usize,
    waiters: Vec<Waiter>,
    /// Header + question + OPT to send upstream (ID patched per attempt).
    query: Vec<u8>,
    reserved: Option<usize>,
    deadline: Instant,
    final_deadline: Instant,
    attempt_wait_ms: u64,
    probe: bool,
    /// This worker owns the question in [`SharedInFlight`].
    claimed: bool,
    /// Parked answers waiting for this (DS/DNSKEY sub-)query: (slab index, generation).
    dependents: Vec<(u32, u32)>,
    /// The answer, while it is being validated.
    parked: Option<Box<validate::Parked>>,
}

/// Merge key: the question plus the flags that change the answer.
#[derive(Clone, PartialEq, Eq, Hash)]
struct MergeKey {
    key: QuestionKey,
    do_bit: bool,
    cd_bit: bool,
}

#[derive(Clone, Copy, Default)]
struct GroupState {
    preferred: usize,
    since_probe: u32,
    last_probe: Instant,
}

/// Everything the worker shares with the others.
#[derive(Clone)]
pub struct Shared {
    /// The DNS cache (None when `--cache-size=0`).
    pub cache: Option<Arc<DnsCache>>,
    /// Every worker's counters (for CHAOS statistics).
    pub registry: Arc<StatsRegistry>,
    /// The questions any worker is forwarding, so identical questions on different workers
    /// share one upstream query (None with a single worker).
    pub in_flight: Option<Arc<SharedInFlight>>,
}

/// The per-worker forwarder.
pub struct Forwarder {
    cfg: ForwarderConfig,
    shared: Shared,
    counters: Arc<WorkerCounters>,
    table: Arc<ServerTable>,
    /// This worker's front for the shared cache.
    local_cache: LocalCache,
    hosts: Option<Arc<HostsTable>>,
    local: Option<Arc<LocalData>>,
    dhcp_names: Option<Arc<DhcpNames>>,
    group_state: Vec<GroupState>,
    rng: StdRng,
    slab: Vec<InFlight>,
    free: Vec<u32>,
    by_question: HashMap<MergeKey, u32>,
    by_attempt: HashMap<(u16, u16), u32>,
    /// The pool sockets: which take new queries, which the engine must renew.
    ports: PortPool,
    timers: BinaryHeap<std::cmp::Reverse<(Instant, u32, u32)>>,
    /// DS/DNSKEY answers and zone statuses for DNSSEC validation.
    keys: validate::Keys,
    /// What the key store was filled under: the cache generation and whether signature times
    /// were checked. A change (SIGHUP, time checks switched on) empties the store.
    keys_epoch: (u64, bool),
}

/// Encodes a slab index and generation into a TCP token.
fn token(idx: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(idx)
}

impl Forwarder {
    /// A forwarder for one worker. `seed` seeds the CSPRNG for IDs and socket choice.
    pub fn new(
        cfg: ForwarderConfig,
        shared: Shared,
        counters: Arc<WorkerCounters>,
        table: Arc<ServerTable>,
        seed: [u8; 32],
    ) -> Self {
        let cap = cfg.max_in_flight.max(16);
        let ports = PortPool::new(cfg.upstream_slots, cfg.port_reuse);
        let local_slots = shared.cache.as_ref().map_or(1, |c| {
            (c.config().max_entries / 8).clamp(16, LOCAL_CACHE_SLOTS)
        });
        Self {
            group_state: vec![GroupState::default(); table.group_count()],
            cfg,
            shared,
            counters,
            table,
            hosts: None,
            local: None,
            dhcp_names: None,
            // The front may keep entries the shared cache evicted alive: size it to a small share
            // of the cache so the memory bound still holds.
            local_cache: LocalCache::new(local_slots),
            rng: StdRng::from_seed(seed),
            slab: Vec::with_capacity(cap),
            free: Vec::with_capacity(cap),
            by_question: HashMap::with_capacity(cap),
            by_attempt: HashMap::with_capacity(cap * 2),
            ports,
            timers: BinaryHeap::with_capacity(cap * 2),
            keys: validate::Keys::new(),
            keys_epoch: (0, false),
        }
    }

    /// Installs a new server table (resolv-file change, reload). Queries in flight finish with the old one.
    pub fn set_servers(&mut self, table: Arc<ServerTable>) {
        if !Arc::ptr_eq(&table, &self.table) {
            self.group_state = vec![GroupState::default(); table.group_count()];
            self.table = table;
        }
    }

    /// Moves into `into` the pool slots whose socket the engine must now close and replace with
    /// one on a fresh random port (their queries are all over). Call [`Self::port_renewed`]
    /// for each once done.
    pub fn take_port_renewals(&mut self, into: &mut Vec<port_pool::PortRenewal>) {
        self.ports.take_renewals(into);
    }

    /// The engine replaced (or could not replace, and kept) the socket of pool slot `slot`.
    pub fn port_renewed(&mut self, slot: u16) {
        self.ports.renewed(slot);
    }

    /// Installs the hosts-file data (start, SIGHUP); None for no hosts data.
    pub fn set_hosts(&mut self, hosts: Option<Arc<HostsTable>>) {
        self.hosts = hosts;
    }

    /// The hosts-file data in use.
    pub fn hosts(&self) -> Option<&Arc<HostsTable>> {
        self.hosts.as_ref()
    }

    /// Installs the local records (start, SIGHUP); None for none.
    pub fn set_local(&mut self, local: Option<Arc<LocalData>>) {
        self.local = local;
    }

    /// The local records in use.
    pub fn local(&self) -> Option<&Arc<LocalData>> {
        self.local.as_ref()
    }

    /// Installs the names of the current DHCP leases (published by the DHCP thread).
    pub fn set_dhcp_names(&mut self, names: Option<Arc<DhcpNames>>) {
        self.dhcp_names = names;
    }

    /// The DHCP lease names in use.
    pub fn dhcp_names(&self) -> Option<&Arc<DhcpNames>> {
        self.dhcp_names.as_ref()
    }

    /// The server table in use.
    pub fn servers(&self) -> &Arc<ServerTable> {
        &self.table
    }

    /// Counts a drop the I/O layer decided on (e.g. a TCP frame too short to be a query).
    pub fn count_drop(&self, reason: DropReason) {
        self.counters.drop_packet(reason);
    }

    /// Number of questions in flight upstream.
    pub fn in_flight(&self) -> usize {
        self.by_question.len()
    }

    /// The earliest time [`Forwarder::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|r| r.0.0)
    }
}

/// Seeds for per-worker forwarders, for tests that need determinism.
pub fn test_seed(n: u8) -> [u8; 32] {
    [n; 32]
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("in_flight", &self.by_question.len())
            .finish()
    }
}

#[cfg(test)]
mod send_check {
    fn is_send<T: Send>() {}
    #[test]
    fn forwarder_is_send() {
        is_send::<super::Forwarder>();
    }
}

#[cfg(test)]
mod egress_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod merge_tests;

mod dispatch;
mod merge;
pub mod port_pool;
mod query;
mod upstream;
mod waiter;
pub use merge::SharedInFlight;
use waiter::{Asker, Waiter};

mod validate;
pub use validate::DnssecForwarding;

#[cfg(test)]
mod tests;
