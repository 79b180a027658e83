//! The per-worker DNS forwarder: client queries in, answers and upstream queries out.
//!
//! One [`Forwarder`] runs on each worker. It answers from the shared cache when it can, merges
//! identical questions in flight (CVE-2020-25686), sends the rest upstream with a fresh random ID
//! from a random one of the worker's upstream sockets (RFC 5452 §9.2), accepts an answer only from
//! the server asked, on the socket used, with the same ID and the same question (RFC 5452 §9.1;
//! the whole question is compared, never a hash: CVE-2020-25685), moves to the next server on
//! timeout, REFUSED or SERVFAIL, and retries truncated answers over TCP (RFC 7766 §5).

use super::answer::{NormalizeOptions, normalize_response};
use super::cache::{CacheEntry, DnsCache, LocalCache, LocalLookup};
use super::chaos::{ChaosName, StatsView, is_chaos_local, write_chaos_reply};
use super::guard::{AnswerVerdict, GuardReply, Guards, QueryVerdict, write_guard_reply};
use super::hosts::HostsTable;
use super::local::{LocalData, write_address_reply};
use super::outbox::{ClientEndpoint, Destination, Outbox};
use super::packet::{
    Edns, PacketError, Query, QuestionKey, RCODE_FORMERR, parse_query, parse_response_head,
    set_rcode, write_error_reply, write_header_only_reply,
};
use super::servers::{Egress, Route, ServerTable};
use super::stats::{Counter, DropReason, StatsRegistry, WorkerCounters};
use crate::dhcp::DhcpNames;
use crate::time::Instant;
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
/// Most slots of each worker's front for the shared cache.
const LOCAL_CACHE_SLOTS: usize = 4096;
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
        }
    }
}

/// A client waiting for an answer.
struct Waiter {
    client: ClientEndpoint,
    id: u16,
    flags: u16,
    edns: Option<Edns>,
    head: [u8; HEAD_MAX],
    head_len: usize,
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

    /// Handles one client query (UDP datagram or TCP message payload).
    pub fn handle_query(
        &mut self,
        now: Instant,
        client: ClientEndpoint,
        bytes: &[u8],
        out: &mut Outbox,
    ) {
        let udp = client.tcp.is_none();
        let q = match parse_query(bytes) {
            Ok(q) => q,
            Err(e) => {
                // RFC 1035 §4.1.1: a message with QR=1 is a response; never answer one
                // (that is how reflection loops start).
                let reason = if bytes.len() >= 12 && bytes[2] & 0x80 != 0 {
                    DropReason::ResponseFromClient
                } else {
                    DropReason::MalformedQuery
                };
                // RFC 6891 §6.1.1: a query with more than one OPT RR (or one out of place)
                // MUST get FORMERR; other malformed queries are dropped and counted.
                if matches!(e, PacketError::BadOpt) && reason == DropReason::MalformedQuery {
                    let mut buf = out.buffer();
                    if let Some(len) = write_header_only_reply(bytes, RCODE_FORMERR, &mut buf) {
                        out.push(Destination::Client(client), buf, len);
                        return;
                    }
                    out.recycle(buf);
                }
                self.counters.drop_packet(reason);
                return;
            }
        };
        // RFC 1035 §4.1.1: a message with QR=1 is a response; never answer one (reflection loops).
        if q.flags & FLAG_QR != 0 {
            self.counters.drop_packet(DropReason::ResponseFromClient);
            return;
        }
        self.counters.bump(Counter::Queries);
        let our_size = self.cfg.edns_packet_max;
        // RFC 1035 §4.1.1: only standard queries (opcode 0) are implemented.
        if q.flags & OPCODE_MASK != 0 {
            self.reply_error(&q, rcode::NOTIMP, client, out);
            return;
        }
        // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS (extended rcode 16).
        if let Some(e) = q.edns
            && e.version > 0
        {
            self.reply_error(&q, rcode::NOERROR, client, out);
            return;
        }
        if is_chaos_local(&q) {
            let name = ChaosName::from_query(&q).filter(|_| !self.cfg.no_ident);
            let Some(name) = name else {
                // dnsmasq: other names in `bind`/`server`, and all of them under --no-ident.
                self.reply_error(&q, rcode::NOTIMP, client, out);
                return;
            };
            let mut buf = out.buffer();
            let view = StatsView {
                cache: self
                    .shared
                    .cache
                    .as_ref()
                    .map(|c| c.stats())
                    .unwrap_or_default(),
                registry: &self.shared.registry,
                servers: &self.table,
                local_ttl: self.cfg.local_ttl,
            };
            match write_chaos_reply(&q, name, &view, &mut buf) {
                Some(len) => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                }
                None => out.recycle(buf),
            }
            return;
        }
        // Names in hosts files shadow upstream data (dnsmasq); other types of those names and
        // every other name go on to the local records, the cache and the servers.
        if let Some(hosts) = &self.hosts {
            let mut buf = out.buffer_for(!udp);
            match hosts.answer(&q, self.cfg.local_ttl, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        // DHCP lease names come after the hosts files, as in dnsmasq.
        if let Some(names) = &self.dhcp_names {
            let mut buf = out.buffer_for(!udp);
            match names.table.answer(&q, names.ttl, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        if let Some(local) = &self.local {
            let mut buf = out.buffer_for(!udp);
            match local.answer(&q, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        // `--address` and `--local` rules answer before the cache (they share the domain
        // table, and its precedence, with `--server`).
        if self.table.answers_locally() {
            match self.table.route_for(q.key.name_wire(), q.key.qtype()) {
                Route::Address(a) => {
                    let mut buf = out.buffer_for(!udp);
                    let len = write_address_reply(
                        &q,
                        &self.table,
                        a,
                        self.cfg.local_ttl,
                        our_size,
                        udp,
                        &mut buf,
                    );
                    if len > 0 {
                        self.counters.bump(Counter::LocalAnswers);
                        out.push(Destination::Client(client), buf, len);
                    } else {
                        out.recycle(buf);
                    }
                    return;
                }
                Route::LocalOnly => {
                    self.counters.bump(Counter::LocalAnswers);
                    self.reply_error(&q, rcode::NXDOMAIN, client, out);
                    return;
                }
                Route::Group(_) | Route::NoServers => {}
            }
        }
        // Guards on the query (-D, -b, -f), after local data and before the cache. A name with a
        // more specific --server/--rev-server rule than the root's is forwarded, as dnsmasq does.
        if !self.cfg.guards.query_guards_off()
            && let QueryVerdict::Answer(reply) = self.cfg.guards.check_query(&q.key)
            && (reply == GuardReply::FILTERWIN2K
                || self.table.route(q.key.name_wire()) == self.table.route(&[0]))
        {
            let mut buf = out.buffer();
            let len = write_guard_reply(&q, reply, our_size, &mut buf);
            self.counters.bump(reply.counter);
            if len > 0 {
                out.push(Destination::Client(client), buf, len);
            } else {
                out.recycle(buf);
            }
            return;
        }
        let do_bit = q.edns.is_some_and(|e| e.do_bit);
        let cd_bit = q.flags & FLAG_CD != 0;
        // dnsmasq: queries with RD=0 are forwarded and never answered from the cache (anti-snooping).
        if q.flags & FLAG_RD != 0
            && let Some(cache) = &self.shared.cache
        {
            // The worker's own front first: a hot name's hit writes no shared cache line.
            match self.local_cache.lookup(cache, &q.key, do_bit, now) {
                LocalLookup::Fresh(entry) => {
                    answer_from_cache(entry, &q, now, &self.cfg, &self.counters, client, out);
                    return;
                }
                LocalLookup::Stale(entry) => {
                    answer_from_cache(&entry, &q, now, &self.cfg, &self.counters, client, out);
                    // Served stale (RFC 8767 §4): refresh it in the background.
                    self.forward(now, &q, None, do_bit, cd_bit, out);
                    return;
                }
                LocalLookup::Miss => {}
            }
        }
        self.forward(now, &q, Some(client), do_bit, cd_bit, out);
    }

    fn reply_error(&self, q: &Query<'_>, rc: u8, client: ClientEndpoint, out: &mut Outbox) {
        let mut buf = out.buffer();
        let len = write_error_reply(q, rc, &mut buf, self.cfg.edns_packet_max);
        if len == 0 {
            out.recycle(buf);
            return;
        }
        if q.edns.is_some_and(|e| e.version > 0) {
            set_badvers(&mut buf[..len]);
        }
        out.push(Destination::Client(client), buf, len);
    }

    /// Sends `q` upstream, or merges it onto the same question in flight. `client` is None for a
    /// background refresh of a stale entry.
    fn forward(
        &mut self,
        now: Instant,
        q: &Query<'_>,
        client: Option<ClientEndpoint>,
        do_bit: bool,
        cd_bit: bool,
        out: &mut Outbox,
    ) {
        let mkey = MergeKey {
            key: q.key.clone(),
            do_bit,
            cd_bit,
        };
        if let Some(&idx) = self.by_question.get(&mkey) {
            let Some(client) = client else { return };
            let entry = &mut self.slab[idx as usize];
            let retry = entry.waiters.iter().any(|w| {
                w.client.peer == client.peer && w.id == q.id && w.client.tcp == client.tcp
            });
            if retry {
                // A client retry of a query in flight: dnsmasq resends it, to the next server
                // (of the current server list, if it changed meanwhile).
                let last = entry.attempts.iter().flatten().map(|a| a.sent_at).max();
                if last.is_none_or(|t| now.as_millis().saturating_sub(t.as_millis()) >= 500) {
                    self.adopt_current_table(idx);
                    self.send_next(now, idx, false, out);
                }
                return;
            }
            if entry.waiters.len() >= MAX_WAITERS {
                self.counters.drop_packet(DropReason::InFlightFull);
                return;
            }
            entry.waiters.push(Waiter::new(client, q));
            self.counters.bump(Counter::Merged);
            return;
        }
        let group = match self.table.route_for(q.key.name_wire(), q.key.qtype()) {
            Route::Group(g) => g,
            // Answered in handle_query before the cache; a background refresh has nothing to do.
            Route::Address(_) => return,
            Route::LocalOnly => {
                if let Some(c) = client {
                    self.counters.bump(Counter::LocalAnswers);
                    self.reply_error(q, rcode::NXDOMAIN, c, out);
                }
                return;
            }
            Route::NoServers => {
                if let Some(c) = client {
                    self.reply_error(q, rcode::REFUSED, c, out);
                }
                return;
            }
        };
        if self.by_question.len() >= self.cfg.max_in_flight {
            self.counters.drop_packet(DropReason::InFlightFull);
            if let Some(c) = client {
                self.reply_error(q, rcode::REFUSED, c, out);
            }
            return;
        }
        let first = self.choose_server(now, group);
        let server_idx = self.table.group(group)[first];
        // dnsmasq: over --dns-forward-max the query is refused.
        if !self.table.servers()[server_idx].try_reserve(self.cfg.dns_forward_max) {
            self.counters.drop_packet(DropReason::ForwardLimit);
            if let Some(c) = client {
                self.reply_error(q, rcode::REFUSED, c, out);
            }
            return;
        }
        let idx = self.alloc();
        let probe = self.is_probe_time(now, group);
        let entry = &mut self.slab[idx as usize];
        entry.live = true;
        entry.key = q.key.clone();
        entry.do_bit = do_bit;
        entry.cd_bit = cd_bit;
        entry.table = Arc::clone(&self.table);
        entry.group = group;
        entry.tried = 0;
        entry.attempts = [None; MAX_ATTEMPTS];
        entry.next_attempt = 0;
        entry.waiters.clear();
        entry.dependents.clear();
        entry.parked = None;
        if let Some(c) = client {
            entry.waiters.push(Waiter::new(c, q));
        }
        // With --dnssec every upstream query asks for DNSSEC records (RFC 4035 §3.2.1), and
        // with --dnssec-debug it sets CD.
        let validating = self.cfg.dnssec.as_ref();
        build_upstream_query(
            &mut entry.query,
            q,
            do_bit || validating.is_some(),
            self.cfg.edns_packet_max,
        );
        if validating.is_some_and(|d| d.validator.debug) {
            entry.query[3] |= FLAG_CD as u8;
        }
        entry.reserved = Some(server_idx);
        entry.final_deadline = Instant(now.as_millis() + self.cfg.total_timeout_ms);
        entry.attempt_wait_ms = self.cfg.attempt_timeout_ms;
        entry.probe = probe;
        self.by_question.insert(mkey, idx);
        if probe || self.cfg.all_servers {
            let n = self.table.group(group).len();
            for i in 0..n.min(64) {
                self.send_attempt(now, idx, i, out);
            }
        } else {
            self.send_attempt(now, idx, first, out);
        }
        self.arm(now, idx);
    }

    fn is_probe_time(&mut self, now: Instant, group: usize) -> bool {
        if self.cfg.strict_order || self.table.group(group).len() < 2 {
            return false;
        }
        let st = &mut self.group_state[group];
        st.since_probe += 1;
        if st.since_probe >= PROBE_EVERY_QUERIES
            || now.as_millis().saturating_sub(st.last_probe.as_millis()) >= PROBE_EVERY_MS
        {
            st.since_probe = 0;
            st.last_probe = now;
            return true;
        }
        false
    }

    fn choose_server(&self, _now: Instant, group: usize) -> usize {
        if self.cfg.strict_order {
            0
        } else {
            let n = self.table.group(group).len().max(1);
            self.group_state[group].preferred % n
        }
    }

    fn alloc(&mut self) -> u32 {
        if let Some(i) = self.free.pop() {
            let e = &mut self.slab[i as usize];
            e.generation = e.generation.wrapping_add(1);
            return i;
        }
        self.slab.push(InFlight {
            generation: 0,
            live: false,
            key: QuestionKey::new(b"\0", 0, 0),
            do_bit: false,
            cd_bit: false,
            table: Arc::clone(&self.table),
            group: 0,
            tried: 0,
            attempts: [None; MAX_ATTEMPTS],
            next_attempt: 0,
            waiters: Vec::with_capacity(4),
            query: Vec::with_capacity(512),
            reserved: None,
            deadline: Instant(0),
            final_deadline: Instant(0),
            attempt_wait_ms: 0,
            probe: false,
            dependents: Vec::new(),
            parked: None,
        });
        (self.slab.len() - 1) as u32
    }

    /// Sends the entry's query to the `pos`-th server of its group, from a random socket with a random ID.
    fn send_attempt(&mut self, now: Instant, idx: u32, pos: usize, out: &mut Outbox) {
        let entry = &self.slab[idx as usize];
        let Some(&server) = entry.table.group(entry.group).get(pos) else {
            return;
        };
        let egress = entry.table.servers()[server].egress;
        let pool = self.cfg.upstream_slots.max(1);
        let (slots, shared) = match egress {
            Egress::Pool => (0..pool, self.cfg.pool_port_shared),
            Egress::Bound {
                socket,
                shared_port,
            } => {
                let s = pool.saturating_add(socket);
                (s..s + 1, shared_port)
            }
        };
        let (lane, lanes) = self.cfg.id_lane;
        let lanes = lanes.max(1);
        let from_pool = matches!(egress, Egress::Pool);
        let (slot, id) = loop {
            let slot = if from_pool {
                self.ports.pick(&mut self.rng)
            } else {
                slots.start
            };
            let id = if shared && lanes > 1 {
                // RFC 5452 §9.2: still random, within this worker's lane.
                let per_lane = (u32::from(u16::MAX - lane) / u32::from(lanes)) as u16;
                lane + lanes * self.rng.random_range(0..=per_lane)
            } else {
                self.rng.random()
            };
            if !self.by_attempt.contains_key(&(slot, id)) {
                break (slot, id);
            }
        };
        let entry = &mut self.slab[idx as usize];
        let srv = &entry.table.servers()[server];
        let addr = srv.addr;
        srv.queries_sent.fetch_add(1, Ordering::Relaxed);
        if pos < 64 {
            entry.tried |= 1 << pos;
        }
        let a = entry.next_attempt % MAX_ATTEMPTS;
        let old = entry.attempts[a].take();
        entry.attempts[a] = Some(Attempt {
            server,
            addr,
            slot,
            id,
            tcp: false,
            sent_at: now,
        });
        entry.next_attempt += 1;
        if let Some(old) = old {
            self.forget_attempt(&old);
        }
        self.by_attempt.insert((slot, id), idx);
        if from_pool {
            self.ports.sent(slot, addr.is_ipv6());
        }
        let entry = &self.slab[idx as usize];
        let mut buf = out.buffer();
        let len = entry.query.len();
        buf[..len].copy_from_slice(&entry.query);
        buf[..2].copy_from_slice(&id.to_be_bytes());
        self.counters.bump(Counter::Forwarded);
        out.push(Destination::Upstream { slot, server: addr }, buf, len);
    }

    /// Stops listening for an attempt's answer (answered, abandoned or superseded).
    fn forget_attempt(&mut self, a: &Attempt) {
        // TCP attempts are not in the UDP index; their (slot, ID) may belong to another query.
        if a.tcp {
            return;
        }
        if self.by_attempt.remove(&(a.slot, a.id)).is_some() && a.slot < self.ports.slots() {
            self.ports.finished(a.slot);
        }
    }

    /// Sends to the next untried server of the group; false when every server has been tried.
    fn send_next(
        &mut self,
        now: Instant,
        idx: u32,
        must_be_untried: bool,
        out: &mut Outbox,
    ) -> bool {
        let entry = &self.slab[idx as usize];
        let n = entry.table.group(entry.group).len();
        if n == 0 {
            return false;
        }
        let start = entry
            .attempts
            .iter()
            .flatten()
            .max_by_key(|a| a.sent_at)
            .and_then(|a| {
                entry
                    .table
                    .group(entry.group)
                    .iter()
                    .position(|&s| s == a.server)
            })
            .map_or(0, |p| p + 1);
        for k in 0..n {
            let pos = (start + k) % n;
            if pos >= 64 || entry.tried & (1 << pos) == 0 {
                self.send_attempt(now, idx, pos, out);
                return true;
            }
        }
        if must_be_untried {
            return false;
        }
        self.send_attempt(now, idx, start % n, out);
        true
    }

    fn arm(&mut self, now: Instant, idx: u32) {
        let entry = &mut self.slab[idx as usize];
        let at = Instant(
            (now.as_millis() + entry.attempt_wait_ms).min(entry.final_deadline.as_millis()),
        );
        entry.deadline = at;
        self.timers
            .push(std::cmp::Reverse((at, idx, entry.generation)));
    }
}

/// Writes the answer to `q` from a cache entry, TTLs aged by the time since it was stored.
fn answer_from_cache(
    entry: &CacheEntry,
    q: &Query<'_>,
    now: Instant,
    cfg: &ForwarderConfig,
    counters: &WorkerCounters,
    client: ClientEndpoint,
    out: &mut Outbox,
) {
    let udp = client.tcp.is_none();
    let mut buf = out.buffer_for(!udp);
    let elapsed = (now.as_millis().saturating_sub(entry.inserted.as_millis()) / 1000) as u32;
    let len = entry
        .answer
        .write_reply(q, elapsed, cfg.max_ttl, cfg.edns_packet_max, udp, &mut buf);
    counters.bump(Counter::CacheAnswers);
    out.push(Destination::Client(client), buf, len);
}

impl Waiter {
    fn new(client: ClientEndpoint, q: &Query<'_>) -> Self {
        let mut head = [0u8; HEAD_MAX];
        let qb = &q.bytes[q.question.clone()];
        let qlen = qb.len().min(HEAD_MAX - 12);
        head[..12].copy_from_slice(&q.bytes[..12]);
        head[12..12 + qlen].copy_from_slice(&qb[..qlen]);
        Self {
            client,
            id: q.id,
            flags: q.flags,
            edns: q.edns,
            head,
            head_len: 12 + qlen,
        }
    }

    /// A query view over the saved header and question, for writing this client's answer.
    fn query<'a>(&'a self, key: &QuestionKey) -> Query<'a> {
        Query {
            bytes: &self.head[..self.head_len],
            id: self.id,
            flags: self.flags,
            key: key.clone(),
            question: 12..self.head_len,
            edns: self.edns,
        }
    }
}

/// Builds the upstream form of a client query: header (ID set per attempt), the question as the
/// client wrote it, and an OPT record advertising our payload size (RFC 6891 §6.2.5), with DO
/// copied from the client (RFC 3225 §3).
fn build_upstream_query(buf: &mut Vec<u8>, q: &Query<'_>, do_bit: bool, udp_size: u16) {
    buf.clear();
    buf.extend_from_slice(&[0, 0]);
    let flags = q.flags & (FLAG_RD | FLAG_CD | 0x0020);
    buf.extend_from_slice(&flags.to_be_bytes());
    buf.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    buf.extend_from_slice(&q.bytes[q.question.clone()]);
    buf.push(0); // root owner
    buf.extend_from_slice(&41u16.to_be_bytes()); // OPT
    buf.extend_from_slice(&udp_size.max(512).to_be_bytes());
    buf.extend_from_slice(&[0, 0]); // extended rcode, version 0
    buf.extend_from_slice(&(if do_bit { 0x8000u16 } else { 0 }).to_be_bytes());
    buf.extend_from_slice(&[0, 0]); // RDLENGTH
}

/// Sets the extended rcode BADVERS (16, RFC 6891 §6.1.3) in a reply that ends with an OPT record.
fn set_badvers(reply: &mut [u8]) {
    // The OPT record is the last 11 bytes: name(1) type(2) class(2) ttl(4) rdlen(2).
    if reply.len() >= 12 + 11 && reply[reply.len() - 11] == 0 {
        let ttl_at = reply.len() - 11 + 5;
        reply[ttl_at] = 1; // upper 8 bits of the 12-bit rcode: 16 >> 4 = 1
        reply[3] &= 0xf0;
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

pub mod port_pool;
mod upstream;

mod validate;
pub use validate::DnssecForwarding;

#[cfg(test)]
mod tests;
