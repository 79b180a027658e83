//! The DHCP thread: one blocking loop over the DHCP socket, the lease store and timers.
//!
//! Each loop turn takes up to [`BATCH`] datagrams that are waiting and runs [`Server::handle`]
//! on each. At the end of the turn its journal records go, numbered, to the journal writer
//! thread ([`super::journal_writer`]), which owns the lease store and never blocks this loop;
//! replies that acknowledge nothing (OFFER, NAK, INFORM and PXE boot-server replies, DHCPv6
//! Advertise) are sent at once, while ACKs (and DHCPv6 Replies that commit a lease, and
//! lease-change script events) are held ([`super::held`]) until the writer reports their turn
//! durable through an eventfd in this loop's poll set — no ACK ever precedes its durable lease
//! record, and a slow `fdatasync` delays only ACKs. The writer's group commit covers every
//! turn queued while it was busy (one `write`, one `fdatasync`). A failed write withholds the
//! ACKs of its turns for good (clients retransmit); see `service_journal.rs`.
//!
//! The datagrams of a turn arrive by `recvmmsg` and its replies leave by `sendmmsg` (see
//! [`super::batch`]); the log line of each reply (dnsmasq's default, off with `--quiet-dhcp`) is
//! formatted by the logger thread from a compact record ([`crate::logging::defer`]).
//!
//! Once a second: expired leases are removed, the interface table refreshed, the journal
//! compacted when it has grown, and drop counters logged when they changed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use crate::snapshot::Snapshot;
use anyhow::{Context, Result};
use ringmasq_proto::dhcp::neighbours::{self, Neighbour};
use ringmasq_proto::dhcp::script::{LeaseEvents, OldOn, RequestInfo, ScriptEvent};
use ringmasq_proto::dhcp::{
    Action, DhcpNames, InterfaceInfo, Ipv4Net, ReplyTo, Scratch, Server, lease_clock::LeaseClock,
    lease_file,
};

use super::batch::{Datagram, RecvBatch, SendBatch};
use super::held::HeldQueue;
use super::journal_writer::JournalWriter;
use super::log::{SentLine, log_reply_options, log_request, reply_kind};
use super::outage::Outage;
use super::ping::Ping;
use super::ra_names::RaNames;
use super::script::{ScriptRunner, ScriptUser};
use super::socket::{DhcpSocket, PXE_PORT};
use super::store::LeaseStore;
use super::v6::V6;
use crate::access::interface_addrs;

/// Interface index → (name, IPv4 addresses).
type Interfaces = HashMap<u32, (String, Vec<Ipv4Net>)>;

fn interfaces() -> Interfaces {
    let mut out: Interfaces = HashMap::new();
    for a in interface_addrs() {
        let e = out
            .entry(a.index)
            .or_insert_with(|| (a.name.clone(), Vec::new()));
        if let std::net::IpAddr::V4(v4) = a.addr {
            e.1.push(Ipv4Net {
                addr: v4,
                prefix: a.prefix,
            });
        }
    }
    out
}

/// The system clock in seconds (the lease clock follows it, see [`LeaseClock`]).
fn system_wall() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The boot file name of a reply (its `file` header field, up to the first NUL).
fn boot_file(reply: &[u8]) -> String {
    let f = reply.get(108..236).unwrap_or(&[]);
    let end = f.iter().position(|b| *b == 0).unwrap_or(f.len());
    String::from_utf8_lossy(&f[..end]).into_owned()
}

/// At most this many datagrams are handled per loop turn (one `fdatasync` covers them all).
pub const BATCH: usize = 128;

/// At most this many turns drain the sockets at an orderly stop (64 × [`BATCH`] datagrams).
const STOP_TURNS: usize = 64;

/// A reply that needs no durable record, sent at the end of the turn.
struct Outgoing {
    to: ReplyTo,
    ifindex: u32,
    /// Range of the reply in the turn's reply buffer.
    start: usize,
    end: usize,
    /// An answer of the PXE boot server port, sent from that port.
    pxe: bool,
}

/// The lease-change script: its thread and what it has been told.
struct Script {
    runner: ScriptRunner,
    leases: LeaseEvents,
    /// Events of the current turn, held until it is durable.
    events: Vec<ScriptEvent>,
    /// `--script-arp`: the neighbour table as last read (`None` when off).
    neighbours: Option<std::collections::BTreeSet<Neighbour>>,
}

/// The IPv4 neighbour table of this namespace (empty when unreadable).
fn read_neighbours() -> std::collections::BTreeSet<Neighbour> {
    std::fs::read_to_string("/proc/net/arp")
        .map(|t| neighbours::parse_proc_arp(&t))
        .unwrap_or_default()
}

impl Script {
    /// `--script-arp`: `arp-add`/`arp-del` for what changed in the neighbour table since the
    /// last reading (read once a second, as dnsmasq polls it rather than following events).
    fn poll_neighbours(&mut self) {
        let Some(old) = &self.neighbours else { return };
        let new = read_neighbours();
        let (added, removed) = neighbours::changes(old, &new);
        for (ip, mac) in added {
            self.runner.submit_arp("arp-add", mac, *ip);
        }
        for (ip, mac) in removed {
            self.runner.submit_arp("arp-del", mac, *ip);
        }
        self.neighbours = Some(new);
    }
}

/// The running DHCP service: its server, socket and store.
pub struct DhcpService {
    server: Server,
    /// The DHCPv4 socket, when an IPv4 range is configured.
    socket: Option<DhcpSocket>,
    /// The port the DHCPv4 socket is bound to (relays are answered on it, RFC 2131 §4.1).
    server_port: u16,
    /// The port replies to clients go to.
    client_port: u16,
    /// The PXE boot server socket (port 4011), when PXE services or a proxy range exist.
    pxe_socket: Option<DhcpSocket>,
    /// DHCPv6, when an IPv6 range needs it.
    v6: Option<V6>,
    /// `ra-names` probes, when a range asks for them.
    ra_names: Option<RaNames>,
    /// The ping check before an OFFER (off with `--no-ping`).
    ping: Option<Ping>,
    /// The journal writer thread, owner of the lease store (none with `--leasefile-ro`).
    writer: Option<JournalWriter>,
    /// Replies and script events waiting for their turn to be durable.
    held: HeldQueue<Held>,
    /// Sequence number of the turn being built.
    turn_seq: u64,
    /// Whether the turn being built holds anything.
    turn_held: bool,
    /// Records the writer has not reported on yet (bounded).
    in_flight: InFlight,
    /// Held replies refused (queue full) as last logged.
    logged_refused: u64,
    ifaces: Interfaces,
    stop: Arc<AtomicBool>,
    /// Where lease names are published for DNS.
    names: Arc<Snapshot<Option<Arc<DhcpNames>>>>,
    /// `(address, name)` of every named lease as last published.
    published: Vec<(IpAddr, String)>,
    /// Leases changed since the names were last published.
    names_dirty: bool,
    /// When the names were last published.
    names_at: StdInstant,
    domain: Option<String>,
    dns_ttl: u32,
    /// The configuration, for SIGHUP reloads of the hosts and options files.
    cfg: ringmasq_config::Config,
    /// Hosts and options read from files and directories.
    files: super::files::DhcpFiles,
    script: Option<Script>,
    /// The current turn's journal records, replies and their destinations.
    journal: Vec<u8>,
    replies: Vec<u8>,
    outgoing: Vec<Outgoing>,
    /// Replies held back by `--dhcp-reply-delay`, in the order they are due.
    delayed: std::collections::VecDeque<Delayed>,
    /// Lease time: the system clock advanced by `CLOCK_BOOTTIME`, so a clock step moves
    /// leases instead of expiring them.
    clock: LeaseClock,
    /// A lease-store outage in progress (failed writes, withheld ACKs), as the writer reports.
    outage: Outage,
    /// `--quiet-dhcp` (and no `--log-dhcp`): no line per reply.
    quiet: bool,
    /// Log lines of the turn's replies, formatted by the logger thread.
    sent_lines: Vec<SentLine>,
}

/// A reply held back until `due`.
struct Delayed {
    due: StdInstant,
    to: ReplyTo,
    bytes: Vec<u8>,
    ifindex: u32,
    pxe: bool,
}

/// `--dhcp-scriptuser` resolved (root by default, as dnsmasq).
fn script_user(cfg: &ringmasq_config::Config) -> Result<Option<ScriptUser>> {
    let Some(name) = cfg.dhcp.script_user.as_deref() else {
        return Ok(None);
    };
    let id = crate::process::Identity::resolve(Some(name), None)?
        .with_context(|| format!("dhcp-scriptuser {name}"))?;
    Ok(Some(ScriptUser {
        uid: id.uid.unwrap_or(0),
        gid: id.gid,
    }))
}

impl DhcpService {
    /// Loads leases (from the lease file, or with `--leasefile-ro` from `SCRIPT init`), binds
    /// 0.0.0.0:`port` and builds the service.
    pub fn new(
        cfg: &ringmasq_config::Config,
        port: u16,
        stop: Arc<AtomicBool>,
        names: Arc<Snapshot<Option<Arc<DhcpNames>>>>,
    ) -> Result<Self> {
        super::files::DhcpFiles::check_dirs(cfg)?;
        let files = super::files::DhcpFiles::load(cfg);
        let pcfg = super::settings::dhcp_config_with(cfg, &files.hosts(), &files.options());
        let ignore_clid = pcfg.ignore_clid;
        let server = Server::new(pcfg).context("DHCP configuration")?;
        let clock = LeaseClock::new(system_wall(), crate::clock::boottime());
        let wall = clock.now(crate::clock::boottime());
        let user = script_user(cfg)?;
        let (store, stored) = if cfg.dhcp.lease_file_ro {
            let leases = match &cfg.dhcp.script {
                // --leasefile-ro: the script is the lease store; `init` prints the leases.
                Some(program) => {
                    let text = super::script::run_init(program, user)?;
                    let parsed = lease_file::parse(&text);
                    for e in &parsed.errors {
                        tracing::warn!(
                            "{} init output line {}: {:?}; line skipped",
                            program.display(),
                            e.line,
                            e.kind
                        );
                    }
                    parsed.leases
                }
                None => Vec::new(),
            };
            (None, leases)
        } else {
            let path = &cfg.dhcp.lease_file;
            let (store, leases) = LeaseStore::open(path)
                .with_context(|| format!("cannot open lease file {}", path.display()))?;
            (Some(store), leases)
        };
        let mut restored = 0;
        for l in &stored {
            if !l.expired(wall) && server.allocator().restore(l, ignore_clid, wall) {
                restored += 1;
            }
        }
        let mut store = store;
        let v6 = if cfg.ipv6.dhcp6_enabled() {
            let stored6 = store
                .as_ref()
                .map(|s| s.v6_lines().to_vec())
                .unwrap_or_default();
            let v6 = V6::new(cfg, V6::PORT, &stored6, wall)?;
            if let Some(store) = &mut store {
                store.set_v6_lines(v6.lines());
            }
            Some(v6)
        } else {
            None
        };
        if let Some(store) = &mut store {
            let path = &cfg.dhcp.lease_file;
            tracing::info!("DHCP: {restored} lease(s) loaded from {}", path.display());
            store
                .compact(&server.allocator().snapshot(wall))
                .with_context(|| format!("cannot write lease file {}", path.display()))?;
        } else if cfg.dhcp.script.is_some() {
            tracing::info!("DHCP: {restored} lease(s) loaded from the lease-change script");
        }
        let script = match &cfg.dhcp.script {
            Some(program) => {
                let old_on = OldOn {
                    renewal: cfg.dhcp.script_on_renewal,
                    lease_file_ro: cfg.dhcp.lease_file_ro,
                };
                let (leases, events) = LeaseEvents::start(&stored, old_on, wall);
                let mut runner =
                    ScriptRunner::start(program.clone(), user, cfg.domain.clone(), cfg.log_dhcp)?;
                runner.submit(&events, wall);
                Some(Script {
                    runner,
                    leases,
                    events: Vec::new(),
                    neighbours: cfg.dhcp.script_arp.then(read_neighbours),
                })
            }
            None => None,
        };
        let socket = if cfg.dhcp.enabled() {
            Some(
                DhcpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
                    .with_context(|| format!("cannot bind DHCP socket 0.0.0.0:{port}"))?,
            )
        } else {
            None
        };
        let pxe_socket = if socket.is_some()
            && server.serves_boot_server()
            && port == super::socket::server_port(cfg)
        {
            let a = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PXE_PORT);
            Some(DhcpSocket::bind(a).with_context(|| format!("cannot bind PXE socket {a}"))?)
        } else {
            None
        };
        for r in &cfg.dhcp.ranges {
            if r.mode == ringmasq_config::dhcp::RangeMode::Proxy {
                tracing::info!("DHCP, proxy on subnet {}", r.start);
            } else {
                tracing::info!("DHCP, IP range {} -- {}", r.start, r.end);
            }
        }
        let mut service = DhcpService {
            server_port: port,
            client_port: super::socket::client_port(cfg),
            server,
            socket,
            pxe_socket,
            v6,
            ra_names: RaNames::new(cfg)?,
            ping: open_ping(cfg),
            writer: store.map(JournalWriter::start).transpose()?,
            held: HeldQueue::new(HELD_MAX_BYTES),
            turn_seq: 1,
            turn_held: false,
            in_flight: InFlight::default(),
            logged_refused: 0,
            ifaces: interfaces(),
            stop,
            names,
            published: Vec::new(),
            names_dirty: true,
            names_at: StdInstant::now(),
            domain: cfg.domain.clone(),
            dns_ttl: cfg.dhcp.ttl.unwrap_or(cfg.local_ttl),
            cfg: cfg.clone(),
            files,
            script,
            journal: Vec::with_capacity(BATCH * 64),
            replies: Vec::with_capacity(BATCH * 600),
            outgoing: Vec::with_capacity(BATCH),
            delayed: std::collections::VecDeque::new(),
            clock,
            outage: Outage::default(),
            quiet: cfg.dhcp.quiet && !cfg.log_dhcp,
            sent_lines: Vec::new(),
        };
        if cfg.dhcp.fqdn && service.domain.is_none() {
            tracing::warn!("--dhcp-fqdn without --domain: no DHCP names are put in the DNS");
        }
        service.publish_names();
        // The script hears `old`/`del` for the stored DHCPv6 leases too.
        service.submit_v6_events();
        Ok(service)
    }

    /// Runs until the stop flag is set.
    pub fn run(mut self) {
        let mut scratch = Scratch::new(1500);
        let mut buf = vec![0u8; 4096];
        let mut rb = RecvBatch::new();
        let mut sb = SendBatch::new();
        let mut last_tick = StdInstant::now();
        let mut logged_drops = 0;
        let fds: Vec<libc::c_int> = self
            .writer
            .as_ref()
            .map(JournalWriter::fd)
            .into_iter()
            .chain(self.socket.as_ref().map(DhcpSocket::fd))
            .chain(self.pxe_socket.as_ref().map(DhcpSocket::fd))
            .chain(self.v6.as_ref().map(V6::fd))
            .chain(self.ra_names.as_ref().map(RaNames::fd))
            .chain(self.ping.as_ref().map(Ping::fd))
            .collect();
        let mut pfds: Vec<libc::pollfd> = fds
            .iter()
            .map(|fd| libc::pollfd {
                fd: *fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        while !self.stop.load(Ordering::Relaxed) {
            let script_waits = self.script.as_ref().is_some_and(|s| s.runner.has_pending());
            let mut wait = if self.names_dirty || script_waits {
                20
            } else {
                250
            };
            if let Some(d) = self.delayed.front() {
                let left = d.due.saturating_duration_since(StdInstant::now());
                wait = wait.min(left.as_millis() as i32);
            }
            if let Some(ms) = self.ra_names.as_ref().and_then(RaNames::wait_ms) {
                wait = wait.min(ms);
            }
            if let Some(ms) = self.ping.as_ref().and_then(Ping::wait_ms) {
                wait = wait.min(ms);
            }
            // SAFETY: polls the pollfds of this Vec, which we own, with its length.
            unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait) };
            while self.turn(&mut scratch, &mut buf, &mut rb, &mut sb) >= BATCH {}
            self.take_reports(&mut sb);
            // The echo socket is the last descriptor polled, when there is one.
            let echo_ready =
                self.ping.is_some() && pfds.last().is_some_and(|p| p.revents & libc::POLLIN != 0);
            self.poll_ping(&mut scratch, &mut sb, echo_ready);
            if let Some(s) = &mut self.script {
                s.runner.flush();
            }
            self.send_due();
            if let Some(r) = &mut self.ra_names {
                self.names_dirty |= r.poll();
            }
            if super::take_reload() {
                self.reload();
            } else if super::take_dir_change() && self.files.add_changed(&self.cfg) {
                self.rebuild();
            }
            if self.names_dirty && self.names_at.elapsed() >= NAMES_INTERVAL {
                self.publish_names();
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = StdInstant::now();
                logged_drops = self.tick(logged_drops);
            }
        }
        self.finish_queued(&mut scratch, &mut buf, &mut rb, &mut sb);
        // Sends what became durable and folds the journal into the lease file, so dnsmasq
        // can read it.
        self.finish_writer(&mut sb);
    }

    /// One turn: up to [`BATCH`] waiting datagrams handled, then committed (records to the
    /// writer, ACKs held, other replies sent). Returns how many were received.
    fn turn(
        &mut self,
        scratch: &mut Scratch,
        buf: &mut [u8],
        rb: &mut RecvBatch,
        sb: &mut SendBatch,
    ) -> usize {
        let mut got = 0;
        if let Some(v6) = &mut self.v6 {
            let wall = self.clock.now(crate::clock::boottime());
            let (n, changed) = v6.receive(buf, BATCH, wall, &mut self.journal);
            got += n;
            self.names_dirty |= changed;
        }
        if let Some(fd) = self.socket.as_ref().map(DhcpSocket::fd) {
            while got < BATCH {
                match rb.recv(fd, BATCH - got) {
                    Ok(0) => break,
                    Ok(n) => {
                        for i in 0..n {
                            let (bytes, rx) = rb.get(i);
                            self.handle(scratch, bytes, rx.src, rx.ifindex, false, 0);
                        }
                        got += n;
                    }
                    Err(e) => {
                        tracing::warn!("DHCP receive: {e}");
                        break;
                    }
                }
            }
        }
        while got < BATCH {
            let Some(socket) = &self.pxe_socket else {
                break;
            };
            match socket.recv(buf) {
                Ok(Some(rx)) => {
                    got += 1;
                    let bytes = &buf[..rx.len];
                    self.handle(scratch, bytes, rx.src, rx.ifindex, true, 0);
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("DHCP receive: {e}");
                    break;
                }
            }
        }
        self.commit(sb);
        got
    }

    /// Orderly stop (SIGTERM, SIGINT): the datagrams already queued on the sockets (a RELEASE
    /// sent just before the signal) are handled and their journal records synced like any
    /// turn's (made durable by the writer's last sync), so no lease change the kernel accepted
    /// before the stop is lost. Bounded, so a
    /// flood cannot hold the exit back.
    fn finish_queued(
        &mut self,
        scratch: &mut Scratch,
        buf: &mut [u8],
        rb: &mut RecvBatch,
        sb: &mut SendBatch,
    ) {
        for _ in 0..STOP_TURNS {
            if self.turn(scratch, buf, rb, sb) == 0 {
                break;
            }
        }
    }

    /// Lease-clock seconds now.
    fn wall(&self) -> u64 {
        self.clock.now(crate::clock::boottime())
    }

    /// Handles one datagram: the reply and journal records join the turn's batch. `tries`:
    /// addresses already found in use by the ping check for this request (0 when it is new).
    fn handle(
        &mut self,
        scratch: &mut Scratch,
        bytes: &[u8],
        src: SocketAddrV4,
        ifindex: u32,
        pxe: bool,
        tries: u8,
    ) {
        if !self.ifaces.contains_key(&ifindex) {
            self.ifaces = interfaces();
        }
        let Some((name, addrs)) = self.ifaces.get(&ifindex) else {
            return;
        };
        let iface = InterfaceInfo {
            index: ifindex,
            name,
            addrs,
        };
        if self.cfg.log_dhcp {
            log_request(bytes, name);
        }
        let handle = if pxe {
            Server::handle_boot_server
        } else {
            Server::handle
        };
        let wall = self.wall();
        let action = handle(
            &self.server,
            scratch,
            crate::clock::now(),
            wall,
            &iface,
            src,
            bytes,
        );
        let (to, journal) = match action {
            Action::Reply { to, journal, .. } => (Some(to), journal),
            Action::Probe {
                addr, client, to, ..
            } => {
                let probe = Probe {
                    addr,
                    client,
                    to,
                    src,
                    ifindex,
                    tries,
                };
                if hold_offer(&mut self.ping, scratch, bytes, probe) {
                    return;
                }
                (Some(to), &[][..])
            }
            Action::NoReply { journal } => (None, journal),
            Action::Drop(reason) => {
                tracing::debug!("DHCP packet from {src} on {name} dropped: {reason:?}");
                return;
            }
        };
        let journal_start = self.journal.len();
        let records = !journal.is_empty();
        if records {
            self.names_dirty = true;
            self.journal.extend_from_slice(journal);
        }
        if records && let Some(s) = &mut self.script {
            let mut info = RequestInfo::from_request(bytes, name);
            if let Some(i) = &mut info {
                i.tags = self.server.tag_names(scratch);
            }
            s.leases
                .apply(&self.journal[journal_start..], info.as_ref(), &mut s.events);
        }
        if let Some(to) = to {
            let reply = scratch.last_reply();
            let delay = scratch.reply_delay();
            let due =
                (delay > 0).then(|| StdInstant::now() + Duration::from_secs(u64::from(delay)));
            if records || grants_lease(reply) {
                // An ACK (also one with nothing new to record: the record of the same lease
                // from an earlier turn may still be pending) leaves once its turn is durable.
                let bytes = reply.to_vec();
                self.hold(Held::V4 {
                    to,
                    ifindex,
                    bytes,
                    pxe,
                    due,
                });
                return;
            }
            if let Some(due) = due {
                // --dhcp-reply-delay (OFFERs; a rapid-commit ACK is held above first): the
                // reply leaves from the loop once due.
                let bytes = reply.to_vec();
                self.delay_reply(Delayed {
                    due,
                    to,
                    bytes,
                    ifindex,
                    pxe,
                });
                return;
            }
            self.queue_reply(to, ifindex, reply, pxe);
        }
    }
}

#[path = "service_upkeep.rs"]
mod upkeep;
use upkeep::NAMES_INTERVAL;

#[path = "service_reply.rs"]
mod reply;

#[path = "service_journal.rs"]
mod journal;
use journal::{HELD_MAX_BYTES, Held, InFlight, grants_lease};

#[path = "service_ping.rs"]
mod held_offers;
use held_offers::{Probe, hold_offer, open_ping};

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
