//! The DHCPv4 server state machine (RFC 2131 §4.3), sans-IO.
//!
//! [`Server::handle`] takes one received datagram with the interface it arrived on and the
//! current time, and returns an [`Action`]: a reply with where to send it and the journal record
//! that must be durable before it is sent, a silent state change, or a counted drop.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use super::allocator::{AllocError, Allocator, ClientKey};
pub use super::compiled::ConfigError;
pub(super) use super::compiled::{CHost, COpt, CRange};
use super::config::{DhcpConfig, RangeMode};
use super::matching::{Cond, TagRules};
pub(super) use super::network::Net;
use super::packet::{self, OptionTable, Request, code, msg};
use super::stats::{DhcpStats, DropReason};
use super::tags::{TagSet, Tags};
use crate::time::Instant;

/// An IPv4 address with its prefix length, as configured on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Net {
    /// The interface address.
    pub addr: Ipv4Addr,
    /// Prefix length (0..=32).
    pub prefix: u8,
}

impl Ipv4Net {
    /// The netmask of the prefix.
    pub fn mask(&self) -> Ipv4Addr {
        prefix_mask(self.prefix)
    }
}

fn prefix_mask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(
        u32::MAX
            .checked_shl(32 - u32::from(prefix.min(32)))
            .unwrap_or(0),
    )
}

/// The interface a request arrived on (from IP_PKTINFO and the rtnetlink view of interfaces).
#[derive(Clone, Copy, Debug)]
pub struct InterfaceInfo<'a> {
    /// Interface index.
    pub index: u32,
    /// Interface name (also a tag, as in dnsmasq).
    pub name: &'a str,
    /// IPv4 addresses of the interface with their prefixes.
    pub addrs: &'a [Ipv4Net],
}

/// A hardware address to put into a neighbour (ARP) entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HwAddr {
    /// ARP hardware type.
    pub htype: u8,
    /// Number of bytes used in `bytes`.
    pub len: u8,
    /// The address, zero-padded.
    pub bytes: [u8; 16],
}

impl HwAddr {
    /// The address bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Where a reply goes (RFC 2131 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyTo {
    /// To 255.255.255.255:68 on the request's interface.
    Broadcast,
    /// To `ip`:68, a client that has no address yet: the engine sets a neighbour entry
    /// `ip → mac` on the interface first (as dnsmasq does), then sends unicast.
    UnicastToClientHw {
        /// The address given to the client (`yiaddr`).
        ip: Ipv4Addr,
        /// The client's hardware address.
        mac: HwAddr,
    },
    /// To `ip`:68 (the client's `ciaddr`).
    Unicast(Ipv4Addr),
    /// To the relay agent at `giaddr`:67.
    Relay(Ipv4Addr),
    /// Back to the sender's own address and port: a tool on this host
    /// ([`super::lease_time`]).
    Sender(SocketAddrV4),
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Action<'s> {
    /// Send `bytes` to `to`. If `journal` is not empty, append it to the lease journal and make
    /// it durable before sending (an ACK must never precede its lease record).
    Reply {
        /// Destination.
        to: ReplyTo,
        /// The reply datagram (UDP payload).
        bytes: &'s [u8],
        /// Journal record(s) to persist first; empty for OFFER, NAK and INFORM replies.
        journal: &'s [u8],
    },
    /// An OFFER of `addr`, newly picked from a pool: send `bytes` to `to` only once `addr` has
    /// stayed silent to an ICMP echo (RFC 2131 §2.2, §3.1 step 2; see [`super::ping`]). If it
    /// answers, call [`Server::ping_answered`] and handle the request again.
    Probe {
        /// The offered address to probe.
        addr: Ipv4Addr,
        /// A hash of the client's identity (for the cache of recent results).
        client: u32,
        /// Destination of the OFFER.
        to: ReplyTo,
        /// The OFFER datagram.
        bytes: &'s [u8],
    },
    /// Nothing to send (RELEASE, DECLINE); persist `journal`.
    NoReply {
        /// Journal record(s) to persist.
        journal: &'s [u8],
    },
    /// Nothing to send, nothing changed; counted in [`DhcpStats`].
    Drop(DropReason),
}

/// Per-worker reusable buffers: after warm-up, handling a request allocates nothing except when a
/// new client is first seen.
#[derive(Debug)]
pub struct Scratch {
    opts: OptionTable,
    reply: Vec<u8>,
    journal: Vec<u8>,
    sub: Vec<u8>,
    delay: u32,
    last: usize,
    /// Tags of the last handled request (for the lease-change script).
    tags: TagSet,
    /// The address (and client hash) the last OFFER wants probed.
    probe: Option<(Ipv4Addr, u32)>,
}

impl Scratch {
    /// Buffers for replies of up to `max_reply` bytes (at least 576; 1500 suits Ethernet).
    pub fn new(max_reply: usize) -> Self {
        Scratch {
            opts: OptionTable::default(),
            reply: vec![0; max_reply.max(576)],
            journal: Vec::with_capacity(512),
            sub: Vec::with_capacity(256),
            delay: 0,
            last: 0,
            tags: TagSet::default(),
            probe: None,
        }
    }
}

impl Scratch {
    /// Seconds the reply of the last [`Server::handle`] must be held back before it is sent
    /// (`--dhcp-reply-delay`; only for OFFERs), 0 for none.
    pub fn reply_delay(&self) -> u32 {
        self.delay
    }

    /// The reply built by the last [`Server::handle`] (empty when it built none), for a caller
    /// that had to let go of the [`Action`] first.
    pub fn last_reply(&self) -> &[u8] {
        &self.reply[..self.last]
    }

    /// The tags set while handling the last request (`DNSMASQ_TAGS`).
    pub fn last_tags(&self) -> TagSet {
        self.tags
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new(1500)
    }
}

/// The DHCPv4 server: compiled configuration, the shared allocator and counters.
/// Send + Sync: one instance (in an `Arc`) serves every worker.
#[derive(Debug)]
pub struct Server {
    pub(super) cfg: DhcpConfig,
    pub(super) tags: Tags,
    pub(super) ranges: Vec<CRange>,
    pub(super) hosts: Vec<CHost>,
    pub(super) opts: Vec<COpt>,
    pub(super) reserved: Vec<Ipv4Addr>,
    pub(super) known: TagSet,
    pub(super) ignore: Vec<Cond>,
    pub(super) ignore_names: Vec<Cond>,
    pub(super) generate_names: Vec<Cond>,
    pub(super) reply_delay: Vec<(Cond, u32)>,
    pub(super) rules: TagRules,
    pub(super) bcast: Vec<Cond>,
    pub(super) bootp_dynamic: TagSet,
    pub(super) pxe: super::pxe::Pxe,
    /// Send the server's own address as DNS server (option 6) when none is configured
    /// (dnsmasq does so when its DNS port is not 0).
    pub dns_self: bool,
    pub(super) alloc: Arc<Allocator>,
    /// Counters.
    pub stats: DhcpStats,
}

pub(super) struct Ctx<'r> {
    pub(super) req: Request<'r>,
    pub(super) key: ClientKey,
    pub(super) host: Option<usize>,
    pub(super) tags: TagSet,
}

impl Server {
    /// The shared allocator (restore leases into it at start, sweep it, snapshot it).
    pub fn allocator(&self) -> &Arc<Allocator> {
        &self.alloc
    }

    /// The address of an [`Action::Probe`] answered an ICMP echo: another host uses it. It is
    /// quarantined like a declined address (RFC 2131 §4.3.3) and dropped from the client's
    /// offer, so the request handled again gets another address. False when the address is no
    /// longer merely offered (bound meanwhile, or gone).
    pub fn ping_answered(&self, addr: Ipv4Addr, wall_secs: u64) -> bool {
        let until = wall_secs.saturating_add(u64::from(self.cfg.decline_quarantine_secs));
        self.alloc.quarantine_offered(addr, until)
    }

    /// The names of the tags the last request handled with `scratch` had (`DNSMASQ_TAGS`).
    pub fn tag_names(&self, scratch: &Scratch) -> Vec<String> {
        self.tags.names_in(&scratch.tags)
    }

    /// The configuration this server was built from.
    pub fn config(&self) -> &DhcpConfig {
        &self.cfg
    }

    /// Handle one datagram received on `iface` from `src` at monotonic `now` and wall-clock
    /// `wall_secs` (seconds since the epoch, used for lease expiry). `now` is accepted for timers
    /// the engine may drive (reply delay); the protocol core itself times leases by `wall_secs`.
    pub fn handle<'s>(
        &self,
        scratch: &'s mut Scratch,
        now: Instant,
        wall_secs: u64,
        iface: &InterfaceInfo<'_>,
        src: SocketAddrV4,
        bytes: &[u8],
    ) -> Action<'s> {
        self.handle_on(scratch, now, wall_secs, iface, src, bytes, false)
    }

    /// Handle one datagram received on the PXE boot server port (4011, PXE 2.1 §2.2.5): a
    /// DHCPREQUEST naming a boot item is answered with a DHCPACK carrying its boot file, sent
    /// back to `src`.
    pub fn handle_boot_server<'s>(
        &self,
        scratch: &'s mut Scratch,
        now: Instant,
        wall_secs: u64,
        iface: &InterfaceInfo<'_>,
        src: SocketAddrV4,
        bytes: &[u8],
    ) -> Action<'s> {
        self.handle_on(scratch, now, wall_secs, iface, src, bytes, true)
    }

    /// Whether the PXE boot server port (4011) must be served: a `--pxe-service` or a
    /// proxy-DHCP range is configured.
    pub fn serves_boot_server(&self) -> bool {
        self.pxe.has_menu() || self.ranges.iter().any(|r| r.mode == RangeMode::Proxy)
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_on<'s>(
        &self,
        scratch: &'s mut Scratch,
        now: Instant,
        wall_secs: u64,
        iface: &InterfaceInfo<'_>,
        src: SocketAddrV4,
        bytes: &[u8],
        boot_server: bool,
    ) -> Action<'s> {
        let _ = now;
        let Scratch {
            opts,
            reply,
            journal,
            sub,
            delay,
            last,
            tags,
            probe,
        } = scratch;
        *tags = TagSet::default();
        *probe = None;
        journal.clear();
        *delay = 0;
        *last = 0;
        if !boot_server && let Some(addr) = super::lease_time::local_query(src, bytes) {
            let expires = self.alloc.expiry_of(addr, wall_secs);
            let len = super::lease_time::answer(bytes, expires, wall_secs, reply);
            *last = len;
            return Action::Reply {
                to: ReplyTo::Sender(src),
                bytes: &reply[..len],
                journal,
            };
        }
        let port = boot_server.then_some(src);
        let out = self.dispatch(
            opts, reply, journal, sub, delay, tags, probe, wall_secs, iface, bytes, port,
        );
        match out {
            Ok(Some((to, len))) => {
                *last = len;
                if let Some((addr, client)) = *probe {
                    return Action::Probe {
                        addr,
                        client,
                        to,
                        bytes: &reply[..len],
                    };
                }
                Action::Reply {
                    to,
                    bytes: &reply[..len],
                    journal,
                }
            }
            Ok(None) => {
                self.stats
                    .silent
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Action::NoReply { journal }
            }
            Err(r) => {
                self.stats.drop(r);
                Action::Drop(r)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        opts: &mut OptionTable,
        reply: &mut [u8],
        journal: &mut Vec<u8>,
        sub: &mut Vec<u8>,
        delay: &mut u32,
        last_tags: &mut TagSet,
        probe: &mut Option<(Ipv4Addr, u32)>,
        wall: u64,
        iface: &InterfaceInfo<'_>,
        bytes: &[u8],
        boot_server: Option<SocketAddrV4>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let req = packet::parse(bytes, opts)?;
        let clid = opts.get(code::CLIENT_ID).filter(|_| !self.cfg.ignore_clid);
        let key = match clid {
            Some(id) => {
                let key = ClientKey::from_client_id(id);
                // A lease stored without a client id (an earlier request without option 61, a
                // lease file line with `*`) belongs to the same MAC sending one now, as dnsmasq
                // matches it; the lease takes the client id at its next ACK.
                self.alloc
                    .adopt(&key, &ClientKey::from_hw(req.htype, req.chaddr));
                key
            }
            None => ClientKey::from_hw(req.htype, req.chaddr),
        };
        if !self.cfg.interfaces.serves(iface.name) {
            return Err(DropReason::InterfaceNotServed);
        }
        let (mut tags, host) = self.request_tags(&req, opts, iface)?;
        let net = self
            .network(iface, req.giaddr, &tags)
            .ok_or(DropReason::NoRange)?;
        tags.union(&net.range.set);
        if self.ignore.iter().any(|c| c.holds(&tags)) {
            return Err(DropReason::Ignored);
        }
        if req.msg_type == Some(msg::DISCOVER)
            && let Some((_, secs)) = self.reply_delay.iter().find(|(c, _)| c.holds(&tags))
        {
            *delay = *secs;
        }
        *last_tags = tags;
        let ctx = Ctx {
            req,
            key,
            host,
            tags,
        };
        let mut out = Out {
            opts,
            reply,
            journal,
            sub,
            wall,
            probe,
        };
        if let Some(src) = boot_server {
            return self.boot_server_ack(&ctx, &net, &mut out, src);
        }
        if net.range.mode == RangeMode::Proxy {
            // Proxy-DHCP: only the boot part of a PXE DISCOVER; addresses are another server's.
            return self.proxy_offer(&ctx, &net, &mut out);
        }
        match req.msg_type {
            None => self.bootp(&ctx, &net, &mut out),
            Some(msg::DISCOVER) => self.discover(&ctx, &net, &mut out),
            Some(msg::REQUEST) => self.request(&ctx, &net, &mut out),
            Some(msg::DECLINE) => self.decline(&ctx, &net, &mut out),
            Some(msg::RELEASE) => self.release(&ctx, &mut out),
            Some(msg::INFORM) => self.inform(&ctx, &net, &mut out),
            Some(_) => Err(DropReason::UnexpectedType),
        }
    }
}

pub(super) struct Out<'o> {
    pub(super) opts: &'o OptionTable,
    pub(super) reply: &'o mut [u8],
    pub(super) journal: &'o mut Vec<u8>,
    pub(super) sub: &'o mut Vec<u8>,
    pub(super) wall: u64,
    /// Set by a DISCOVER whose OFFER must wait for a probe of its address.
    pub(super) probe: &'o mut Option<(Ipv4Addr, u32)>,
}

pub(super) fn alloc_drop(e: AllocError) -> DropReason {
    match e {
        AllocError::Exhausted | AllocError::Taken => DropReason::PoolExhausted,
        AllocError::LeaseMax => DropReason::LeaseMax,
    }
}
