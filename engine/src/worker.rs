//! One worker thread: its sockets, its forwarder and the loop turn both backends share.
//!
//! A worker owns SO_REUSEPORT listeners on every listen address, its own pool of upstream
//! sockets, its TCP connections and a [`Forwarder`]. The backend (io_uring or epoll with
//! recvmmsg/sendmmsg) only moves datagrams; everything else happens here.

use crate::access::AccessPolicy;
use crate::epoll::{Epoll, Token};
use crate::snapshot::Snapshot;
use crate::socket::{Fragments, Pktinfo, udp_listener, udp_reply_socket};
use crate::tcp::TcpManager;
use crossbeam_channel::Receiver;
use ringmasq_proto::dhcp::DhcpNames;
use ringmasq_proto::dns::forward::Forwarder;
use ringmasq_proto::dns::forward::port_pool::PortRenewal;
use ringmasq_proto::dns::hosts::HostsTable;
use ringmasq_proto::dns::local::LocalData;
use ringmasq_proto::dns::outbox::{ClientEndpoint, Destination, Outbox, Transmit};
use ringmasq_proto::dns::packet::parse_query;
use ringmasq_proto::dns::servers::ServerTable;
use ringmasq_proto::dns::stats::{DropReason, WorkerCounters};
use ringmasq_proto::time::Instant;
use socket2::Socket;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::Arc;

/// A message from the control thread to a worker.
#[derive(Debug)]
pub enum Control {
    /// Stop the worker.
    Shutdown,
    /// Listen on an address that appeared (`--bind-dynamic`, `--interface`): this worker's
    /// SO_REUSEPORT sockets for it.
    AddListener {
        /// The UDP listener.
        udp: ClientUdp,
        /// The TCP listener.
        tcp: Socket,
    },
    /// Stop listening on an address that went away.
    RemoveListener(SocketAddr),
}

/// A client UDP listener to add or remove; applied by the backend between loop turns.
#[derive(Debug)]
pub enum UdpChange {
    /// Start receiving on this listener.
    Add(ClientUdp),
    /// Stop receiving on the socket bound to this address and close it.
    Remove(SocketAddr),
}

/// A client UDP listener: the socket queries arrive on and, where there is one, the socket
/// its replies leave from ([`crate::socket::udp_reply_socket`]).
#[derive(Debug)]
pub struct ClientUdp {
    /// Receives the queries.
    pub recv: Socket,
    /// Sends the replies, from the same address and port; None: `recv` sends them.
    pub reply: Option<Socket>,
}

impl ClientUdp {
    /// The listener on `addr` and its reply socket.
    pub fn bind(addr: SocketAddr, fragments: Fragments) -> anyhow::Result<Self> {
        let recv = udp_listener(addr, Pktinfo::WildcardOnly, fragments)?;
        Ok(ClientUdp {
            recv,
            reply: udp_reply_socket(addr, fragments),
        })
    }

    /// The socket replies leave from.
    pub fn sender(&self) -> &Socket {
        self.reply.as_ref().unwrap_or(&self.recv)
    }
}

/// The sockets a worker owns.
pub struct WorkerSockets {
    /// Client UDP listeners (index = [`ClientEndpoint::socket`]); None where a listener was
    /// closed (its address went away).
    pub udp: Vec<Option<ClientUdp>>,
    /// Client TCP listeners.
    pub tcp: Vec<Socket>,
    /// Upstream IPv4 sockets, by slot.
    pub upstream_v4: Vec<Socket>,
    /// Upstream IPv6 sockets, by slot (may be empty when IPv6 is unavailable).
    pub upstream_v6: Vec<Socket>,
    /// Sockets bound for servers with a source address or interface (`--server=ADDR@SRC`),
    /// by binding; binding `k` is slot `upstream_v4.len() + k`.
    pub upstream_bound: Vec<Socket>,
    /// Ports the pool's sockets are drawn from (`--min-port`/`--max-port`); None for a fixed
    /// `--query-port`, whose sockets are never renewed.
    pub port_range: Option<(u16, u16)>,
}

/// The sockets a pool slot had before [`WorkerSockets::renew_pool_slot`] replaced them; the
/// backend unhooks them, then drops them (closing them).
pub struct RetiredSockets {
    /// The slot's IPv4 socket.
    pub v4: Option<Socket>,
    /// The slot's IPv6 socket.
    pub v6: Option<Socket>,
}

impl WorkerSockets {
    /// Number of slots in the random-port pool (per address family).
    pub fn pool_slots(&self) -> u16 {
        self.upstream_v4.len() as u16
    }

    /// Replaces the sockets of pool slot `slot` (both families) with new ones on fresh random
    /// ports, as the forwarder asks once the slot's queries are over (RFC 5452 §9.2). On error
    /// the old sockets stay in place.
    pub fn renew_pool_slot(&mut self, renewal: PortRenewal) -> anyhow::Result<RetiredSockets> {
        let slot = renewal.slot;
        let s = usize::from(slot);
        let Some(range) = self.port_range else {
            anyhow::bail!("the pool has a fixed port");
        };
        if s >= self.upstream_v4.len() {
            anyhow::bail!("no pool slot {slot}");
        }
        let v4 = match renewal.v4 {
            true => Some(crate::socket::upstream_socket(false, None, Some(range))?),
            false => None,
        };
        let v6 = match (renewal.v6, self.upstream_v6.get(s)) {
            (true, Some(_)) => Some(crate::socket::upstream_socket(true, None, Some(range))?),
            _ => None,
        };
        Ok(RetiredSockets {
            v4: v4.map(|v4| std::mem::replace(&mut self.upstream_v4[s], v4)),
            v6: v6.map(|v6| std::mem::replace(&mut self.upstream_v6[s], v6)),
        })
    }

    /// Puts a new client UDP listener in the first free index below `max`; None when full.
    pub fn add_udp(&mut self, s: ClientUdp, max: usize) -> Option<usize> {
        let i = match self.udp.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.udp.len() < max => {
                self.udp.push(None);
                self.udp.len() - 1
            }
            None => return None,
        };
        self.udp[i] = Some(s);
        Some(i)
    }

    /// Takes out the client UDP listener bound to `addr`, with its index.
    pub fn remove_udp(&mut self, addr: SocketAddr) -> Option<(usize, ClientUdp)> {
        self.udp.iter_mut().enumerate().find_map(|(i, slot)| {
            let here = slot
                .as_ref()
                .and_then(|s| s.recv.local_addr().ok())
                .and_then(|a| a.as_socket())
                .is_some_and(|a| a == addr);
            if here {
                slot.take().map(|s| (i, s))
            } else {
                None
            }
        })
    }

    /// The upstream socket behind a slot, for a server of the given family.
    pub fn upstream(&self, slot: u16, v6: bool) -> Option<&Socket> {
        let pool = self.pool_slots();
        if slot >= pool {
            return self.upstream_bound.get(usize::from(slot - pool));
        }
        if v6 {
            self.upstream_v6.get(usize::from(slot))
        } else {
            self.upstream_v4.get(usize::from(slot))
        }
    }
}

/// Everything a worker's loop needs, whatever the backend.
pub struct WorkerCore {
    /// Worker number (for logs).
    pub id: usize,
    /// The DNS forwarder.
    pub fwd: Forwarder,
    /// Transmits produced by the forwarder.
    pub outbox: Outbox,
    /// TCP connections.
    pub tcp: TcpManager,
    /// epoll set holding TCP sockets and the doorbell (and, for the portable backend, UDP).
    pub epoll: Epoll,
    /// The doorbell eventfd.
    pub doorbell: RawFd,
    /// Control messages.
    pub control: Receiver<Control>,
    /// The current server table, published by the control thread.
    pub servers: Arc<Snapshot<Arc<ServerTable>>>,
    /// The current hosts-file data, published by the control thread.
    pub hosts: Arc<Snapshot<Option<Arc<HostsTable>>>>,
    /// The current local records, published by the control thread.
    pub local: Arc<Snapshot<Option<Arc<LocalData>>>>,
    /// The names of the current DHCP leases, published by the DHCP thread.
    pub dhcp_names: Arc<Snapshot<Option<Arc<DhcpNames>>>>,
    /// Who may query us.
    pub access: AccessPolicy,
    /// This worker's counters.
    pub counters: Arc<WorkerCounters>,
    /// Log every query (`-q`).
    pub log_queries: bool,
    /// `--log-queries=extra`: a serial number and the client's port on each line.
    pub log_queries_extra: bool,
    /// Serial number of the last logged query.
    pub log_serial: u64,
    /// Set when the worker must stop.
    pub stopping: bool,
    /// Reused list of transmits being sent (kept to avoid allocating per loop turn).
    pub scratch: Vec<Transmit>,
    /// Reused list of pool slots whose sockets are due for renewal.
    pub renewals: Vec<PortRenewal>,
    /// Pool socket renewals that failed (the old socket was kept).
    pub renew_failures: u64,
    /// Client UDP listeners to add or remove, from the control thread.
    pub udp_changes: Vec<UdpChange>,
    /// Versions of `servers`, `hosts`, `local` and `dhcp_names` last taken over (`u64::MAX`:
    /// none yet).
    pub seen_versions: [u64; 4],
}

impl WorkerCore {
    /// A pool socket could not be renewed (no free port, out of descriptors): the old one stays;
    /// logged on the first failure and then every 1,000th.
    pub fn renew_failed(&mut self, e: &anyhow::Error) {
        if self.renew_failures.is_multiple_of(1000) {
            tracing::warn!(
                "worker {}: could not open an upstream socket on a new port, keeping the old one ({} so far): {e:#}",
                self.id,
                self.renew_failures + 1
            );
        }
        self.renew_failures += 1;
    }

    /// Called once per loop turn: picks up the server table, hosts data, local records and
    /// lease names the other threads published since the last turn (four plain loads when
    /// nothing changed).
    pub fn refresh(&mut self) {
        let versions = [
            self.servers.version(),
            self.hosts.version(),
            self.local.version(),
            self.dhcp_names.version(),
        ];
        if versions == self.seen_versions {
            return;
        }
        self.seen_versions = versions;
        let current = self.servers.load();
        if !Arc::ptr_eq(&current, self.fwd.servers()) {
            self.fwd.set_servers(Arc::clone(&current));
        }
        let hosts = self.hosts.load();
        let same = match (hosts.as_ref(), self.fwd.hosts()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.fwd.set_hosts(hosts.clone());
        }
        let local = self.local.load();
        let same = match (local.as_ref(), self.fwd.local()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.fwd.set_local(local.clone());
        }
        let names = self.dhcp_names.load();
        let same = match (names.as_ref(), self.fwd.dhcp_names()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.fwd.set_dhcp_names(names.clone());
        }
    }

    /// Handles one client datagram.
    #[inline]
    pub fn client_datagram(
        &mut self,
        now: Instant,
        socket: u16,
        peer: SocketAddr,
        local: Option<IpAddr>,
        ifindex: u32,
        data: &[u8],
    ) {
        if !self.access.allows(peer.ip()) {
            self.counters.drop_packet(DropReason::NotAllowed);
            return;
        }
        if self.log_queries {
            self.log_serial += 1;
            let serial = self.log_queries_extra.then_some((self.id, self.log_serial));
            log_query(peer, data, serial);
        }
        let ep = ClientEndpoint {
            peer,
            local,
            ifindex,
            socket,
            tcp: None,
        };
        self.fwd.handle_query(now, ep, data, &mut self.outbox);
    }

    /// Handles one datagram on an upstream socket.
    #[inline]
    pub fn upstream_datagram(&mut self, now: Instant, slot: u16, from: SocketAddr, data: &[u8]) {
        self.fwd
            .handle_upstream(now, slot, from, data, &mut self.outbox);
    }

    /// Counts a datagram that did not fit the receive buffer (dropped unread): a client query
    /// or, when `upstream`, an upstream answer.
    pub fn truncated_datagram(&self, upstream: bool) {
        self.counters.drop_packet(if upstream {
            DropReason::MalformedAnswer
        } else {
            DropReason::MalformedQuery
        });
    }

    /// Handles an epoll event that is not a UDP socket's.
    pub fn epoll_event(&mut self, token: Token, now: Instant) {
        match token {
            Token::Doorbell => {
                let mut v = 0u64;
                // SAFETY: reads 8 bytes into a u64 we own from our eventfd.
                unsafe {
                    libc::read(self.doorbell, (&mut v as *mut u64).cast(), 8);
                }
                while let Ok(msg) = self.control.try_recv() {
                    match msg {
                        Control::Shutdown => self.stopping = true,
                        Control::AddListener { udp, tcp } => {
                            if let Err(e) = self.tcp.add_listener(tcp, &self.epoll) {
                                tracing::warn!("worker {}: TCP listener not added: {e}", self.id);
                            }
                            self.udp_changes.push(UdpChange::Add(udp));
                        }
                        Control::RemoveListener(addr) => {
                            self.tcp.remove_listener(addr, &self.epoll);
                            self.udp_changes.push(UdpChange::Remove(addr));
                        }
                    }
                }
            }
            Token::TcpListener(_) | Token::TcpClient(_) | Token::TcpUpstream(_) => {
                self.tcp
                    .on_event(token, &self.epoll, now, &mut self.fwd, &mut self.outbox);
            }
            Token::Udp(_) | Token::Upstream { .. } | Token::Tftp(_) => {}
        }
    }

    /// Sends a transmit that goes over TCP (an answer to a TCP client, or an upstream TCP
    /// retry) and returns None; hands a UDP transmit back to the backend.
    pub fn send_tcp_or_return(&mut self, t: Transmit, now: Instant) -> Option<Transmit> {
        match t.to {
            Destination::Client(ClientEndpoint {
                tcp: Some(token), ..
            }) => {
                self.tcp.send_answer(token, t.data(), &self.epoll);
                self.outbox.recycle(t.buf);
                None
            }
            Destination::UpstreamTcp { server, token } => {
                self.tcp.start_upstream(
                    server,
                    token,
                    t.data(),
                    &self.epoll,
                    now,
                    &mut self.fwd,
                    &mut self.outbox,
                );
                self.outbox.recycle(t.buf);
                None
            }
            _ => Some(t),
        }
    }

    /// Timers: forwarder retries and TCP idle sweeps.
    pub fn timers(&mut self, now: Instant) {
        self.fwd.handle_timeout(now, &mut self.outbox);
        self.tcp
            .sweep(&self.epoll, now, &mut self.fwd, &mut self.outbox);
    }

    /// Milliseconds the loop may sleep: until the next forwarding timer, at most 500 while a
    /// TCP connection is open (its idle sweep); `None` when nothing is due at all. A sleeping
    /// worker needs no periodic wake-up otherwise: control messages ring the doorbell, and new
    /// configuration snapshots are read before the next datagram is handled.
    /// The clock is read (`now`) only when a timer is pending.
    pub fn wait_ms(&self, now: impl FnOnce() -> Instant) -> Option<u64> {
        let cap = (!self.tcp.is_idle()).then_some(500);
        match self.fwd.poll_timeout() {
            Some(t) => {
                let ms = t.as_millis().saturating_sub(now().as_millis());
                Some(cap.map_or(ms, |c| ms.min(c)))
            }
            None => cap,
        }
    }
}

fn log_query(peer: SocketAddr, data: &[u8], serial: Option<(usize, u64)>) {
    if let Ok(q) = parse_query(data) {
        let name = q.key.name_to_string();
        let name = name.trim_end_matches('.');
        match serial {
            Some((worker, n)) => tracing::info!(
                "{worker}-{n} {}/{} query[{}] {name} from {}",
                peer.ip(),
                peer.port(),
                qtype_name(q.key.qtype()),
                peer.ip()
            ),
            None => tracing::info!(
                "query[{}] {name} from {}",
                qtype_name(q.key.qtype()),
                peer.ip()
            ),
        }
    }
}

/// Mnemonic of common query types, as dnsmasq logs them.
pub fn qtype_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        35 => "NAPTR".into(),
        43 => "DS".into(),
        48 => "DNSKEY".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => format!("type={n}"),
    }
}
