//! The DHCP thread: one blocking loop over the DHCP socket, the lease store and timers.
//!
//! Per datagram: [`Server::handle`], then the journal record is appended and `fdatasync`ed,
//! and only then is the reply sent (no ACK ever precedes its durable lease record). Once a
//! second: expired leases are removed, the interface table refreshed, the journal compacted
//! when it has grown, and drop counters logged when they changed.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use arc_swap::ArcSwapOption;
use ringmasq_proto::dhcp::{
    Action, DhcpNames, InterfaceInfo, Ipv4Net, Lease, ReplyTo, Scratch, Server,
};

use super::socket::{CLIENT_PORT, DhcpSocket, SERVER_PORT};
use super::store::LeaseStore;
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

fn wall_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const MESSAGE_NAMES: [&str; 9] = [
    "BOOTREPLY",
    "DHCPDISCOVER",
    "DHCPOFFER",
    "DHCPREQUEST",
    "DHCPDECLINE",
    "DHCPACK",
    "DHCPNAK",
    "DHCPRELEASE",
    "DHCPINFORM",
];

/// The message type (option 53) of a reply we built, for the log.
/// The options of a DHCP message (after the 240-byte header and magic cookie), as
/// `(code, value)` pairs; stops at END or at a malformed length.
fn options(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 240;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            match bytes[i] {
                0 => i += 1,
                255 => return None,
                code => {
                    let len = *bytes.get(i + 1)? as usize;
                    let value = bytes.get(i + 2..i + 2 + len)?;
                    i += 2 + len;
                    return Some((code, value));
                }
            }
        }
        None
    })
}

/// `--log-dhcp`: one line per request with its type, client and what it asked for.
fn log_request(bytes: &[u8], iface: &str) {
    if bytes.len() < 240 {
        return;
    }
    let hlen = (bytes[2] as usize).min(16);
    let mac: Vec<String> = bytes[28..28 + hlen]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut kind = "BOOTREQUEST";
    let mut requested = String::new();
    let mut host = String::new();
    let mut wanted = String::new();
    for (code, v) in options(bytes) {
        match code {
            53 => {
                kind = v
                    .first()
                    .and_then(|t| MESSAGE_NAMES.get(*t as usize))
                    .copied()
                    .unwrap_or("DHCP?")
            }
            50 if v.len() == 4 => requested = format!(" {}", Ipv4Addr::new(v[0], v[1], v[2], v[3])),
            12 => host = format!(" {}", String::from_utf8_lossy(v)),
            55 => {
                let codes: Vec<String> = v.iter().map(u8::to_string).collect();
                wanted = format!(", requested options: {}", codes.join(","));
            }
            _ => {}
        }
    }
    tracing::info!("{kind}({iface}){requested} {}{host}{wanted}", mac.join(":"));
}

/// `--log-dhcp`: the options a reply carries, code and length, as dnsmasq lists them.
fn log_reply_options(reply: &[u8]) {
    for (code, v) in options(reply) {
        tracing::info!("sent size: {:3} option: {code:3}", v.len());
    }
}

fn reply_kind(bytes: &[u8]) -> &'static str {
    let mut i = 240;
    while i + 1 < bytes.len() {
        match bytes[i] {
            0 => i += 1,
            255 => break,
            53 if i + 2 < bytes.len() => {
                return MESSAGE_NAMES
                    .get(bytes[i + 2] as usize)
                    .copied()
                    .unwrap_or("DHCP?");
            }
            _ => i += 2 + bytes[i + 1] as usize,
        }
    }
    "BOOTREPLY"
}

/// The running DHCP service: its server, socket and store.
pub struct DhcpService {
    server: Server,
    socket: DhcpSocket,
    store: Option<LeaseStore>,
    ifaces: Interfaces,
    stop: Arc<AtomicBool>,
    /// Where lease names are published for DNS.
    names: Arc<ArcSwapOption<DhcpNames>>,
    /// `(address, name)` of every named lease as last published.
    published: Vec<(Ipv4Addr, String)>,
    /// Leases changed since the names were last published.
    names_dirty: bool,
    /// When the names were last published.
    names_at: StdInstant,
    domain: Option<String>,
    dns_ttl: u32,
    /// The configuration, for SIGHUP reloads of the hosts and options files.
    cfg: ringmasq_config::Config,
}

/// At most this often are lease names republished during a burst of lease changes.
const NAMES_INTERVAL: Duration = Duration::from_millis(100);

/// `(address, name)` of every lease that has a name, by address.
fn named(leases: &[Lease]) -> Vec<(Ipv4Addr, String)> {
    leases
        .iter()
        .filter_map(|l| l.hostname.as_ref().map(|h| (l.addr, h.clone())))
        .collect()
}

impl DhcpService {
    /// Loads leases (unless `--leasefile-ro`), binds 0.0.0.0:`port` and builds the service.
    pub fn new(
        cfg: &ringmasq_config::Config,
        port: u16,
        stop: Arc<AtomicBool>,
        names: Arc<ArcSwapOption<DhcpNames>>,
    ) -> Result<Self> {
        let (file_hosts, file_opts) = super::settings::read_files(cfg);
        let pcfg = super::settings::dhcp_config_with(cfg, &file_hosts, &file_opts);
        let ignore_clid = pcfg.ignore_clid;
        let server = Server::new(pcfg).context("DHCP configuration")?;
        let wall = wall_secs();
        let store = if cfg.dhcp.lease_file_ro {
            None
        } else {
            let path = &cfg.dhcp.lease_file;
            let (mut store, leases) = LeaseStore::open(path)
                .with_context(|| format!("cannot open lease file {}", path.display()))?;
            let mut restored = 0;
            for l in &leases {
                if !l.expired(wall) && server.allocator().restore(l, ignore_clid, wall) {
                    restored += 1;
                }
            }
            tracing::info!("DHCP: {restored} lease(s) loaded from {}", path.display());
            store
                .compact(&server.allocator().snapshot(wall))
                .with_context(|| format!("cannot write lease file {}", path.display()))?;
            Some(store)
        };
        let socket = DhcpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
            .with_context(|| format!("cannot bind DHCP socket 0.0.0.0:{port}"))?;
        for r in &cfg.dhcp.ranges {
            tracing::info!("DHCP, IP range {} -- {}", r.start, r.end);
        }
        let mut service = DhcpService {
            server,
            socket,
            store,
            ifaces: interfaces(),
            stop,
            names,
            published: Vec::new(),
            names_dirty: true,
            names_at: StdInstant::now(),
            domain: cfg.domain.clone(),
            dns_ttl: cfg.dhcp.ttl.unwrap_or(cfg.local_ttl),
            cfg: cfg.clone(),
        };
        service.publish_names();
        Ok(service)
    }

    /// Runs until the stop flag is set.
    pub fn run(mut self) {
        let mut scratch = Scratch::new(1500);
        let mut buf = vec![0u8; 4096];
        let mut last_tick = StdInstant::now();
        let mut logged_drops = 0;
        while !self.stop.load(Ordering::Relaxed) {
            let mut pfd = libc::pollfd {
                fd: self.socket.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let wait = if self.names_dirty { 20 } else { 250 };
            // SAFETY: polls one pollfd we own.
            unsafe { libc::poll(&mut pfd, 1, wait) };
            loop {
                match self.socket.recv(&mut buf) {
                    Ok(Some(rx)) => self.handle(&mut scratch, &buf[..rx.len], rx.src, rx.ifindex),
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("DHCP receive: {e}");
                        break;
                    }
                }
            }
            if super::take_reload() {
                self.reload();
            }
            if self.names_dirty && self.names_at.elapsed() >= NAMES_INTERVAL {
                self.publish_names();
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = StdInstant::now();
                logged_drops = self.tick(logged_drops);
            }
        }
        // Fold the journal into the lease file on a clean stop, so dnsmasq can read it.
        if let Some(store) = &mut self.store
            && let Err(e) = store.compact(&self.server.allocator().snapshot(wall_secs()))
        {
            tracing::error!("DHCP lease file write at exit failed: {e}");
        }
    }

    /// Publishes the names of the live leases for DNS when they changed (RFC 2131 leases
    /// named by option 12 or their `dhcp-host`).
    fn publish_names(&mut self) {
        self.names_dirty = false;
        self.names_at = StdInstant::now();
        let now = named(&self.server.allocator().snapshot(wall_secs()));
        if now == self.published {
            return;
        }
        let table = DhcpNames::build(
            now.iter().map(|(a, n)| (*a, n.as_str())),
            self.domain.as_deref(),
            self.dns_ttl,
        );
        self.names
            .store((!table.is_empty()).then(|| Arc::new(table)));
        self.published = now;
    }

    /// SIGHUP: re-reads the hosts and options files and recompiles the server around the same
    /// allocator (every lease kept). A configuration that no longer compiles keeps the old one.
    fn reload(&mut self) {
        let (file_hosts, file_opts) = super::settings::read_files(&self.cfg);
        let pcfg = super::settings::dhcp_config_with(&self.cfg, &file_hosts, &file_opts);
        match Server::with_allocator(pcfg, Arc::clone(self.server.allocator())) {
            Ok(mut server) => {
                server.stats = std::mem::take(&mut self.server.stats);
                server.dns_self = self.server.dns_self;
                self.server = server;
                // Names given by dhcp-host lines apply from the next exchange.
                self.names_dirty = true;
            }
            Err(e) => tracing::error!("DHCP configuration after reload: {e}; keeping the old one"),
        }
    }

    fn tick(&mut self, logged_drops: u64) -> u64 {
        let wall = wall_secs();
        if self.server.allocator().expire(wall) > 0 {
            self.names_dirty = true;
        }
        self.ifaces = interfaces();
        if let Some(store) = &mut self.store
            && store.wants_compaction()
            && let Err(e) = store.compact(&self.server.allocator().snapshot(wall))
        {
            tracing::error!("DHCP lease file compaction failed: {e}");
        }
        let drops = self.server.stats.total_drops();
        if drops != logged_drops {
            tracing::info!("DHCP: {drops} malformed or unusable packet(s) dropped so far");
        }
        drops
    }

    fn handle(&mut self, scratch: &mut Scratch, bytes: &[u8], src: SocketAddrV4, ifindex: u32) {
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
        let action = self.server.handle(
            scratch,
            crate::clock::now(),
            wall_secs(),
            &iface,
            src,
            bytes,
        );
        let (to, reply, journal) = match action {
            Action::Reply { to, bytes, journal } => (Some(to), bytes, journal),
            Action::NoReply { journal } => (None, &[][..], journal),
            Action::Drop(reason) => {
                tracing::debug!("DHCP packet from {src} on {name} dropped: {reason:?}");
                return;
            }
        };
        if !journal.is_empty() {
            self.names_dirty = true;
        }
        if let Some(store) = &mut self.store
            && let Err(e) = store.append(journal)
        {
            // Not durable: the ACK must not go out.
            tracing::error!("DHCP lease journal write failed, reply withheld: {e}");
            return;
        }
        let Some(to) = to else { return };
        let kind = reply_kind(reply);
        let sent = match to {
            ReplyTo::Broadcast => self.socket.send(
                reply,
                SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT),
                Some(ifindex),
            ),
            ReplyTo::UnicastToClientHw { ip, mac } => {
                match self
                    .socket
                    .set_neighbour(name, ip, mac.htype, mac.as_bytes())
                {
                    Ok(()) => {
                        self.socket
                            .send(reply, SocketAddrV4::new(ip, CLIENT_PORT), Some(ifindex))
                    }
                    Err(e) => {
                        tracing::debug!("DHCP: cannot set neighbour entry ({e}); broadcasting");
                        self.socket.send(
                            reply,
                            SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT),
                            Some(ifindex),
                        )
                    }
                }
            }
            ReplyTo::Unicast(ip) => {
                self.socket
                    .send(reply, SocketAddrV4::new(ip, CLIENT_PORT), None)
            }
            ReplyTo::Relay(ip) => self
                .socket
                .send(reply, SocketAddrV4::new(ip, SERVER_PORT), None),
        };
        let yiaddr = reply.get(16..20).map_or(Ipv4Addr::UNSPECIFIED, |b| {
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        });
        match sent {
            Ok(()) => tracing::info!("{kind}({name}) {yiaddr}"),
            Err(e) => tracing::warn!("{kind}({name}) {yiaddr}: send failed: {e}"),
        }
        if self.cfg.log_dhcp {
            log_reply_options(reply);
        }
    }
}
