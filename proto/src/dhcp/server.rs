//! The DHCPv4 server state machine (RFC 2131 §4.3), sans-IO.
//!
//! [`Server::handle`] takes one received datagram with the interface it arrived on and the
//! current time, and returns an [`Action`]: a reply with where to send it and the journal record
//! that must be durable before it is sent, a silent state change, or a counted drop.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

use super::allocator::{AllocError, Allocator, Claim, ClientKey, Pool};
use super::config::{DhcpConfig, HwAddrPattern, LeaseTime, RangeMode};
use super::journal;
use super::lease::LeaseRef;
use super::packet::{self, OptionTable, Request, code, msg};
use super::stats::{DhcpStats, DropReason};
use super::tags::{TagSet, Tags};
use super::writer::{ReplyHeader, ReplyWriter};
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

fn same_net(a: Ipv4Addr, b: Ipv4Addr, mask: Ipv4Addr) -> bool {
    u32::from(a) & u32::from(mask) == u32::from(b) & u32::from(mask)
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
}

impl Scratch {
    /// Buffers for replies of up to `max_reply` bytes (at least 576; 1500 suits Ethernet).
    pub fn new(max_reply: usize) -> Self {
        Scratch {
            opts: OptionTable::default(),
            reply: vec![0; max_reply.max(576)],
            journal: Vec::with_capacity(512),
            sub: Vec::with_capacity(256),
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new(1500)
    }
}

/// Errors in a [`DhcpConfig`] found when building the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// More distinct tags than the server supports.
    #[error("more than {max} distinct DHCP tags")]
    TooManyTags {
        /// The limit.
        max: usize,
    },
    /// A range whose end is before its start.
    #[error("DHCP range {start}..{end} ends before it starts")]
    BadRange {
        /// Start.
        start: Ipv4Addr,
        /// End.
        end: Ipv4Addr,
    },
}

#[derive(Debug)]
struct CRange {
    pool: Pool,
    netmask: Option<Ipv4Addr>,
    broadcast: Option<Ipv4Addr>,
    lease: LeaseTime,
    mode: RangeMode,
    need: TagSet,
    set: TagSet,
}

#[derive(Debug)]
struct CHost {
    macs: Vec<HwAddrPattern>,
    client_ids: Vec<Vec<u8>>,
    addr: Option<Ipv4Addr>,
    name: Option<Vec<u8>>,
    lease: Option<LeaseTime>,
    ignore: bool,
    set: TagSet,
    need: TagSet,
}

#[derive(Debug)]
struct COpt {
    code: u8,
    value: Vec<u8>,
    pos: TagSet,
    neg: TagSet,
    weight: u32,
    force: bool,
    vendor_class: Option<Vec<u8>>,
    encap: Option<u8>,
}

impl COpt {
    fn applies(&self, tags: &TagSet) -> bool {
        tags.contains_all(&self.pos) && !tags.intersects(&self.neg)
    }
}

/// The network a request is served on.
struct Net<'c> {
    range: &'c CRange,
    server_id: Ipv4Addr,
    mask: Ipv4Addr,
    relayed: bool,
}

impl Net<'_> {
    fn contains(&self, a: Ipv4Addr) -> bool {
        same_net(a, self.range.pool.start, self.mask)
    }
}

/// The DHCPv4 server: compiled configuration, the shared allocator and counters.
/// Send + Sync: one instance (in an `Arc`) serves every worker.
#[derive(Debug)]
pub struct Server {
    cfg: DhcpConfig,
    tags: Tags,
    ranges: Vec<CRange>,
    hosts: Vec<CHost>,
    opts: Vec<COpt>,
    reserved: Vec<Ipv4Addr>,
    known: TagSet,
    ignore: TagSet,
    bcast: TagSet,
    /// Send the server's own address as DNS server (option 6) when none is configured
    /// (dnsmasq does so when its DNS port is not 0).
    pub dns_self: bool,
    alloc: Arc<Allocator>,
    /// Counters.
    pub stats: DhcpStats,
}

struct Ctx<'r> {
    req: Request<'r>,
    key: ClientKey,
    host: Option<usize>,
    tags: TagSet,
}

impl Server {
    /// Compile `cfg` and create a server with a fresh allocator.
    pub fn new(cfg: DhcpConfig) -> Result<Self, ConfigError> {
        let alloc = Arc::new(Allocator::new(cfg.lease_max));
        Self::with_allocator(cfg, alloc)
    }

    /// Compile `cfg` around an existing allocator (kept across SIGHUP reloads).
    pub fn with_allocator(cfg: DhcpConfig, alloc: Arc<Allocator>) -> Result<Self, ConfigError> {
        let mut tags = Tags::default();
        let mut ranges = Vec::new();
        for r in &cfg.ranges {
            if r.end < r.start {
                return Err(ConfigError::BadRange {
                    start: r.start,
                    end: r.end,
                });
            }
            let end = if r.mode == RangeMode::Dynamic {
                r.end
            } else {
                r.start
            };
            ranges.push(CRange {
                pool: Pool {
                    start: r.start,
                    end,
                },
                netmask: r.netmask,
                broadcast: r.broadcast,
                lease: r.lease_time,
                mode: r.mode,
                need: tags.set_of(r.match_tags.iter())?,
                set: tags.set_of(r.set_tag.iter())?,
            });
        }
        let mut hosts = Vec::new();
        let mut reserved = Vec::new();
        for h in &cfg.hosts {
            if let Some(a) = h.addr {
                reserved.push(a);
            }
            hosts.push(CHost {
                macs: h.macs.clone(),
                client_ids: h.client_ids.clone(),
                addr: h.addr,
                name: h.name.as_ref().map(|n| n.as_bytes().to_vec()),
                lease: h.lease_time,
                ignore: h.ignore,
                set: tags.set_of(h.set_tags.iter())?,
                need: tags.set_of(h.match_tags.iter())?,
            });
        }
        reserved.sort();
        reserved.dedup();
        let mut opts = Vec::new();
        for o in &cfg.options {
            let pos = tags.set_of(o.tags.iter().filter(|t| !t.negated).map(|t| &t.tag))?;
            let neg = tags.set_of(o.tags.iter().filter(|t| t.negated).map(|t| &t.tag))?;
            opts.push(COpt {
                code: o.code,
                value: o.value.clone(),
                weight: pos.count(),
                pos,
                neg,
                force: o.force,
                vendor_class: o.vendor_class.as_ref().map(|v| v.as_bytes().to_vec()),
                encap: o.encap,
            });
        }
        let known = tags.set_of(["known"].iter())?;
        let ignore = tags.set_of(cfg.ignore_tags.iter())?;
        let bcast = tags.set_of(cfg.broadcast_tags.iter())?;
        Ok(Server {
            cfg,
            tags,
            ranges,
            hosts,
            opts,
            reserved,
            known,
            ignore,
            bcast,
            dns_self: true,
            alloc,
            stats: DhcpStats::default(),
        })
    }

    /// The shared allocator (restore leases into it at start, sweep it, snapshot it).
    pub fn allocator(&self) -> &Arc<Allocator> {
        &self.alloc
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
        let _ = (now, src);
        let Scratch {
            opts,
            reply,
            journal,
            sub,
        } = scratch;
        journal.clear();
        let out = self.dispatch(opts, reply, journal, sub, wall_secs, iface, bytes);
        match out {
            Ok(Some((to, len))) => Action::Reply {
                to,
                bytes: &reply[..len],
                journal,
            },
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

    /// Find the range serving a request: by giaddr when relayed, else by the interface's
    /// addresses; the first range on that network whose `tag:` conditions hold.
    fn network(
        &self,
        iface: &InterfaceInfo<'_>,
        giaddr: Ipv4Addr,
        tags: &TagSet,
    ) -> Option<Net<'_>> {
        for r in &self.ranges {
            if !tags.contains_all(&r.need) {
                continue;
            }
            if giaddr != Ipv4Addr::UNSPECIFIED {
                // A relayed range needs a netmask; without one assume /24.
                let mask = r.netmask.unwrap_or(Ipv4Addr::new(255, 255, 255, 0));
                if same_net(giaddr, r.pool.start, mask) {
                    let server_id = iface.addrs.first()?.addr;
                    return Some(Net {
                        range: r,
                        server_id,
                        mask,
                        relayed: true,
                    });
                }
                continue;
            }
            for a in iface.addrs {
                let mask = r.netmask.unwrap_or(a.mask());
                if same_net(a.addr, r.pool.start, mask) {
                    return Some(Net {
                        range: r,
                        server_id: a.addr,
                        mask,
                        relayed: false,
                    });
                }
            }
        }
        None
    }

    fn find_host(&self, req: &Request<'_>, clid: Option<&[u8]>, tags: &TagSet) -> Option<usize> {
        if let Some(id) = clid
            && let Some(i) = self.hosts.iter().position(|h| {
                tags.contains_all(&h.need) && h.client_ids.iter().any(|c| c.as_slice() == id)
            })
        {
            return Some(i);
        }
        // Exact MACs before wildcards.
        let by_mac = |wild: bool| {
            self.hosts.iter().position(|h| {
                tags.contains_all(&h.need)
                    && h.macs
                        .iter()
                        .any(|m| m.has_wildcard() == wild && m.matches(req.htype, req.chaddr))
            })
        };
        by_mac(false).or_else(|| by_mac(true))
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        opts: &mut OptionTable,
        reply: &mut [u8],
        journal: &mut Vec<u8>,
        sub: &mut Vec<u8>,
        wall: u64,
        iface: &InterfaceInfo<'_>,
        bytes: &[u8],
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let req = packet::parse(bytes, opts)?;
        let clid = opts.get(code::CLIENT_ID).filter(|_| !self.cfg.ignore_clid);
        let key = match clid {
            Some(id) => ClientKey::from_client_id(id),
            None => ClientKey::from_hw(req.htype, req.chaddr),
        };
        let mut tags = TagSet::default();
        if let Some(t) = self.tags.id(iface.name) {
            tags.insert(t);
        }
        let host = self.find_host(&req, opts.get(code::CLIENT_ID), &tags);
        if let Some(h) = host {
            let h = &self.hosts[h];
            if h.ignore {
                return Err(DropReason::Ignored);
            }
            tags.union(&h.set);
            tags.union(&self.known);
        }
        let net = self
            .network(iface, req.giaddr, &tags)
            .ok_or(DropReason::NoRange)?;
        tags.union(&net.range.set);
        if tags.intersects(&self.ignore) {
            return Err(DropReason::Ignored);
        }
        if net.range.mode == RangeMode::Proxy {
            return Err(DropReason::ProxyRange);
        }
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
        };
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

    /// The client's `dhcp-host` address when it is on this network and not leased to another
    /// client (then, as dnsmasq does, the client is served from the range instead).
    fn static_addr(&self, ctx: &Ctx<'_>, net: &Net<'_>, wall: u64) -> Option<Ipv4Addr> {
        ctx.host
            .and_then(|h| self.hosts[h].addr)
            .filter(|a| net.contains(*a) && self.alloc.available(&ctx.key, *a, wall))
    }

    fn lease_time(&self, ctx: &Ctx<'_>, net: &Net<'_>) -> LeaseTime {
        ctx.host
            .and_then(|h| self.hosts[h].lease)
            .unwrap_or(net.range.lease)
    }

    fn claim<'a>(&self, ctx: &'a Ctx<'_>, opts: &'a OptionTable, wall: u64) -> Claim<'a> {
        Claim {
            key: &ctx.key,
            htype: ctx.req.htype,
            hw: ctx.req.chaddr,
            client_id: opts.get(code::CLIENT_ID),
            wall,
        }
    }

    /// Pick an address for a DISCOVER (or dynamic BOOTP): the static one, or from the pool.
    fn pick(&self, ctx: &Ctx<'_>, net: &Net<'_>, out: &Out<'_>) -> Result<Ipv4Addr, DropReason> {
        let c = self.claim(ctx, out.opts, out.wall);
        let (pool, requested) = match self.static_addr(ctx, net, out.wall) {
            Some(a) => (Pool { start: a, end: a }, None),
            None if net.range.mode == RangeMode::Static => return Err(DropReason::NoRange),
            None => (net.range.pool, out.opts.addr(code::REQUESTED_IP)),
        };
        let reserved = |a: Ipv4Addr| {
            pool.start != pool.end
                && (self.reserved.binary_search(&a).is_ok() || a == net.server_id)
        };
        self.alloc
            .offer(
                &c,
                pool,
                requested,
                self.cfg.sequential_ip,
                self.cfg.offer_hold_secs,
                &reserved,
            )
            .map_err(alloc_drop)
    }

    /// Bind `addr` and write its journal record.
    fn commit(
        &self,
        ctx: &Ctx<'_>,
        addr: Ipv4Addr,
        lease: LeaseTime,
        out: &mut Out<'_>,
    ) -> Result<(), AllocError> {
        let expires = lease.expiry(out.wall);
        let name = self.hostname(ctx, out.opts);
        self.alloc
            .bind(&self.claim(ctx, out.opts, out.wall), addr, expires, name)?;
        let rec = LeaseRef {
            expires,
            htype: ctx.req.htype,
            hwaddr: ctx.req.chaddr,
            addr,
            hostname: name,
            client_id: out.opts.get(code::CLIENT_ID),
        };
        journal::encode_upsert(&rec, out.journal);
        Ok(())
    }

    /// The client's host name: from its `dhcp-host`, else option 12 up to the first dot when it
    /// is a valid label (RFC 1123 §2.1).
    fn hostname<'a>(&'a self, ctx: &Ctx<'_>, opts: &'a OptionTable) -> Option<&'a [u8]> {
        if let Some(n) = ctx.host.and_then(|h| self.hosts[h].name.as_deref()) {
            return Some(n);
        }
        let n = opts.get(code::HOSTNAME)?;
        let n = n.split(|b| *b == b'.').next().unwrap_or(&[]);
        let n = n.strip_suffix(&[0]).unwrap_or(n);
        let ok = !n.is_empty()
            && n.len() <= 63
            && n.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && n[0] != b'-';
        ok.then_some(n)
    }

    fn discover(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let addr = self.pick(ctx, net, out)?;
        let lease = self.lease_time(ctx, net);
        // RFC 4039 §4: with rapid commit on both sides, answer DISCOVER with an ACK.
        if self.cfg.rapid_commit && out.opts.has(code::RAPID_COMMIT) {
            self.commit(ctx, addr, lease, out).map_err(alloc_drop)?;
            return self
                .build(ctx, net, out, msg::ACK, addr, Some(lease))
                .map(Some);
        }
        self.build(ctx, net, out, msg::OFFER, addr, Some(lease))
            .map(Some)
    }

    /// DHCPREQUEST in its four states (RFC 2131 §4.3.2).
    fn request(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let sid = out.opts.addr(code::SERVER_ID);
        let requested = out.opts.addr(code::REQUESTED_IP);
        let ciaddr = ctx.req.ciaddr;
        let selecting = sid.is_some();
        if let Some(s) = sid
            && s != net.server_id
        {
            // SELECTING another server's offer: our offer's hold simply lapses.
            return Err(DropReason::OtherServer);
        }
        let addr = match (requested, ciaddr) {
            (Some(r), _) => r,
            (None, c) if c != Ipv4Addr::UNSPECIFIED => c,
            _ => return Err(DropReason::NotHeld),
        };
        // RENEWING/REBINDING (ciaddr set, no option 50) vs INIT-REBOOT/SELECTING.
        let renewing = requested.is_none();
        let nak =
            |this: &Self, out: &mut Out<'_>| -> Result<Option<(ReplyTo, usize)>, DropReason> {
                this.build(ctx, net, out, msg::NAK, Ipv4Addr::UNSPECIFIED, None)
                    .map(Some)
            };
        if !net.contains(addr) {
            // INIT-REBOOT on the wrong network MUST be NAKed; a renewing client we cannot know.
            if renewing && !self.cfg.authoritative {
                return Err(DropReason::NotAuthoritative);
            }
            return nak(self, out);
        }
        let fixed = self.static_addr(ctx, net, out.wall);
        if fixed.is_some_and(|f| f != addr) {
            return nak(self, out);
        }
        let known = self.alloc.lookup(&ctx.key);
        let ours = known.is_some_and(|b| b.addr == addr);
        if !ours {
            if known.is_some() && selecting {
                return nak(self, out);
            }
            let allowed = fixed == Some(addr)
                || (net.range.mode == RangeMode::Dynamic
                    && net.range.pool.contains(addr)
                    && self.reserved.binary_search(&addr).is_err());
            if !(self.cfg.authoritative || selecting) {
                return Err(DropReason::NotAuthoritative);
            }
            if !allowed || !self.alloc.available(&ctx.key, addr, out.wall) {
                return nak(self, out);
            }
        }
        let lease = self.lease_time(ctx, net);
        match self.commit(ctx, addr, lease, out) {
            Ok(()) => self
                .build(ctx, net, out, msg::ACK, addr, Some(lease))
                .map(Some),
            Err(AllocError::Taken) => nak(self, out),
            Err(e) => Err(alloc_drop(e)),
        }
    }

    /// DHCPDECLINE: the address is in use elsewhere; quarantine it (RFC 2131 §4.3.3).
    fn decline(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        if out
            .opts
            .addr(code::SERVER_ID)
            .is_some_and(|s| s != net.server_id)
        {
            return Err(DropReason::OtherServer);
        }
        let addr = out
            .opts
            .addr(code::REQUESTED_IP)
            .ok_or(DropReason::NotHeld)?;
        let until = out
            .wall
            .saturating_add(u64::from(self.cfg.decline_quarantine_secs));
        if !self.alloc.decline(&ctx.key, addr, until) {
            return Err(DropReason::NotHeld);
        }
        journal::encode_remove(addr, out.journal);
        Ok(None)
    }

    /// DHCPRELEASE (RFC 2131 §4.3.4).
    fn release(
        &self,
        ctx: &Ctx<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let addr = ctx.req.ciaddr;
        if !self.alloc.release(&ctx.key, addr) {
            return Err(DropReason::NotHeld);
        }
        journal::encode_remove(addr, out.journal);
        Ok(None)
    }

    /// DHCPINFORM: configuration only, no lease (RFC 2131 §4.3.5).
    fn inform(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        self.build(ctx, net, out, msg::ACK, Ipv4Addr::UNSPECIFIED, None)
            .map(Some)
    }

    /// BOOTP (RFC 951, RFC 1542): static hosts, or dynamic with `--bootp-dynamic`; infinite lease.
    fn bootp(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        if self.static_addr(ctx, net, out.wall).is_none() && !self.cfg.bootp_dynamic {
            return Err(DropReason::BootpNoAddress);
        }
        let addr = self.pick(ctx, net, out)?;
        self.commit(ctx, addr, LeaseTime::Infinite, out)
            .map_err(alloc_drop)?;
        self.build(ctx, net, out, 0, addr, None).map(Some)
    }

    /// Where a reply goes (RFC 2131 §4.1).
    fn reply_to(&self, ctx: &Ctx<'_>, kind: u8, yiaddr: Ipv4Addr) -> ReplyTo {
        let req = &ctx.req;
        if req.giaddr != Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Relay(req.giaddr);
        }
        if kind == msg::NAK {
            return ReplyTo::Broadcast;
        }
        if req.ciaddr != Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Unicast(req.ciaddr);
        }
        let forced = self.cfg.broadcast_all || ctx.tags.intersects(&self.bcast);
        if req.broadcast || forced || yiaddr == Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Broadcast;
        }
        let mut mac = HwAddr {
            htype: req.htype,
            len: req.chaddr.len() as u8,
            bytes: [0; 16],
        };
        mac.bytes[..req.chaddr.len()].copy_from_slice(req.chaddr);
        ReplyTo::UnicastToClientHw { ip: yiaddr, mac }
    }

    /// Build a reply of DHCP type `kind` (0 = BOOTREPLY without option 53).
    fn build(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
        kind: u8,
        yiaddr: Ipv4Addr,
        lease: Option<LeaseTime>,
    ) -> Result<(ReplyTo, usize), DropReason> {
        let req = &ctx.req;
        let to = self.reply_to(ctx, kind, yiaddr);
        let opts: &OptionTable = out.opts;
        let max = opts.get(code::MAX_SIZE).map_or(0, |v| {
            usize::from(u16::from_be_bytes([v[0], v[1]])).saturating_sub(28)
        });
        let nak = kind == msg::NAK;
        let h = ReplyHeader {
            htype: req.htype,
            chaddr: req.chaddr,
            xid: req.xid,
            // RFC 2131 §4.3.2: a NAK through a relay asks it to broadcast.
            broadcast: req.broadcast || (nak && net.relayed),
            ciaddr: if kind == msg::ACK || kind == 0 {
                req.ciaddr
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            yiaddr,
            siaddr: if nak {
                Ipv4Addr::UNSPECIFIED
            } else {
                net.server_id
            },
            giaddr: req.giaddr,
        };
        let mut w = ReplyWriter::new(out.reply, max, &h).ok_or(DropReason::ReplyTooBig)?;
        let agent = opts.get(code::RELAY_AGENT);
        if let Some(a) = agent {
            w.reserve(ReplyWriter::encoded_len(a.len()));
        }
        if kind != 0 {
            w.option(code::MESSAGE_TYPE, &[kind]);
        }
        w.addr(code::SERVER_ID, net.server_id);
        if nak {
            // RFC 2131 §4.3.1 table 3: a NAK carries only type, server id, message, client id.
            w.option(code::MESSAGE, b"wrong address");
        } else {
            self.write_options(ctx, net, opts, out.sub, &mut w, kind, lease);
        }
        if let Some(a) = agent {
            // RFC 3046 §2.2: echo the relay agent option, last before END.
            w.option_reserved(code::RELAY_AGENT, a);
        }
        if kind == msg::ACK
            && self.cfg.rapid_commit
            && opts.has(code::RAPID_COMMIT)
            && req.msg_type == Some(msg::DISCOVER)
        {
            w.option(code::RAPID_COMMIT, &[]);
        }
        let len = w.finish();
        self.stats.reply(kind);
        Ok((to, len))
    }

    #[allow(clippy::too_many_arguments)]
    fn write_options(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        opts: &OptionTable,
        sub: &mut Vec<u8>,
        w: &mut ReplyWriter<'_>,
        kind: u8,
        lease: Option<LeaseTime>,
    ) {
        if let Some(l) = lease
            && kind != 0
        {
            let t = l.wire();
            w.u32(code::LEASE_TIME, t);
            if l != LeaseTime::Infinite {
                // RFC 2131 §4.4.5: T1 = 0.5, T2 = 0.875 of the lease.
                w.u32(code::T1, t / 2);
                w.u32(code::T2, (u64::from(t) * 7 / 8) as u32);
            }
        }
        let prl = opts.get(code::PARAM_REQUEST);
        let requested = |c: u8| prl.is_none_or(|p| p.contains(&c));
        let mask = net.mask;
        w.addr(code::SUBNET_MASK, mask);
        let configured = |c: u8| self.best_option(c, &ctx.tags);
        if configured(code::BROADCAST).is_none() {
            let b = net.range.broadcast.unwrap_or_else(|| {
                Ipv4Addr::from(u32::from(net.range.pool.start) | !u32::from(mask))
            });
            w.addr(code::BROADCAST, b);
        }
        if configured(code::ROUTER).is_none() && !net.relayed {
            w.addr(code::ROUTER, net.server_id);
        }
        if configured(code::DNS).is_none() && self.dns_self && requested(code::DNS) {
            w.addr(code::DNS, net.server_id);
        }
        if configured(code::DOMAIN).is_none()
            && let Some(d) = &self.cfg.domain
            && requested(code::DOMAIN)
        {
            w.option(code::DOMAIN, d.as_bytes());
        }
        if let Some(n) = ctx.host.and_then(|h| self.hosts[h].name.as_deref())
            && configured(code::HOSTNAME).is_none()
        {
            w.option(code::HOSTNAME, n);
        }
        // Requested options in the client's order (RFC 2131 §4.3.1 leaves the order to the
        // server; clients with short buffers get what they asked for first).
        let vendor = opts.get(code::VENDOR_CLASS);
        let emit = |c: u8, w: &mut ReplyWriter<'_>, sub: &mut Vec<u8>| {
            if matches!(
                c,
                code::SUBNET_MASK
                    | code::LEASE_TIME
                    | code::T1
                    | code::T2
                    | code::SERVER_ID
                    | code::MESSAGE_TYPE
                    | code::PAD
                    | code::END
                    | code::RELAY_AGENT
                    | code::OVERLOAD
            ) {
                return;
            }
            if self.encapsulated(c, &ctx.tags, vendor, sub) {
                w.option(c, sub);
            } else if let Some(o) = configured(c) {
                w.option(c, &o.value);
            }
        };
        match prl {
            Some(p) => {
                for &c in p {
                    emit(c, w, sub);
                }
                // Forced options the client did not ask for, in configuration order.
                for o in &self.opts {
                    if o.force
                        && o.encap.is_none()
                        && o.vendor_class.is_none()
                        && !p.contains(&o.code)
                        && o.applies(&ctx.tags)
                        && configured(o.code).is_some_and(|b| core::ptr::eq(b, o))
                    {
                        emit(o.code, w, sub);
                    }
                }
            }
            None => {
                for o in &self.opts {
                    if o.encap.is_none()
                        && o.vendor_class.is_none()
                        && configured(o.code).is_some_and(|b| core::ptr::eq(b, o))
                    {
                        emit(o.code, w, sub);
                    }
                }
                if vendor.is_some() {
                    emit(code::VENDOR, w, sub);
                }
            }
        }
    }

    /// The option for `code` whose tags hold, preferring the one with most positive tags.
    fn best_option(&self, code: u8, tags: &TagSet) -> Option<&COpt> {
        let mut best: Option<&COpt> = None;
        for o in &self.opts {
            if o.code == code
                && o.encap.is_none()
                && o.vendor_class.is_none()
                && o.applies(tags)
                && best.is_none_or(|b| o.weight > b.weight)
            {
                best = Some(o);
            }
        }
        best
    }

    /// Gather `vendor:` sub-options (into option 43, when option 60 contains the class) or
    /// `encap:` sub-options of option `code` into `sub`. True if any were found.
    fn encapsulated(
        &self,
        code: u8,
        tags: &TagSet,
        vendor: Option<&[u8]>,
        sub: &mut Vec<u8>,
    ) -> bool {
        sub.clear();
        for o in &self.opts {
            if !o.applies(tags) {
                continue;
            }
            let hit = match (&o.vendor_class, o.encap) {
                (Some(class), _) => {
                    code == code::VENDOR
                        && vendor.is_some_and(|v| {
                            v.windows(class.len().max(1)).any(|w| w == class.as_slice())
                        })
                }
                (None, Some(e)) => e == code,
                (None, None) => false,
            };
            if hit && sub.len() + 2 + o.value.len() <= 255 && o.value.len() <= 255 {
                sub.push(o.code);
                sub.push(o.value.len() as u8);
                sub.extend_from_slice(&o.value);
            }
        }
        !sub.is_empty()
    }
}

struct Out<'o> {
    opts: &'o OptionTable,
    reply: &'o mut [u8],
    journal: &'o mut Vec<u8>,
    sub: &'o mut Vec<u8>,
    wall: u64,
}

fn alloc_drop(e: AllocError) -> DropReason {
    match e {
        AllocError::Exhausted | AllocError::Taken => DropReason::PoolExhausted,
        AllocError::LeaseMax => DropReason::LeaseMax,
    }
}
