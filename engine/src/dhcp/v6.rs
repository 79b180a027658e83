//! DHCPv6 in the DHCP thread: the `--dhcp-range`/`--dhcp-host`/`option6:` settings mapped onto
//! the sans-IO core ([`ringmasq_proto::dhcp6`]), a UDP socket on [::]:547 that has joined
//! All_DHCP_Relay_Agents_and_Servers (ff02::1:2) on every interface with an IPv6 address
//! (followed once a second, so new interfaces and prefixes are served without a restart), and
//! the server DUID. Lease changes go into the DHCP thread's journal turn; replies that commit a
//! lease (to Request, Renew, Rebind, relayed messages, and any that changed a lease) leave once
//! the journal writer reports that turn durable, as DHCPv4 ACKs do; Advertise, Confirm and
//! Information-request replies leave at the end of the turn.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Context, Result};
use ringmasq_config::Config;
use ringmasq_config::dhcp_match::{DhcpMatch, MatchKind, MatchValue as CfgValue};
use ringmasq_proto::dhcp::config::HwAddrPattern;
use ringmasq_proto::dhcp::journal;
use ringmasq_proto::dhcp::matching::MatchValue;
use ringmasq_proto::dhcp6::config::{duid_en, duid_llt};
use ringmasq_proto::dhcp6::lease::{emit_lines, hex, parse_duid_line};
use ringmasq_proto::dhcp6::script::{Event6, Leases6Told, Request6Info};
use ringmasq_proto::dhcp6::server::{ALL_SERVERS, SERVER_PORT};
use ringmasq_proto::dhcp6::wire::{self, msg};
use ringmasq_proto::dhcp6::{
    Action6, Change6, Config6, Host6, Ipv6Net, Lease6, Link6, MatchRule6, Matcher6, Option6,
    Range6, Server6,
};
use socket2::{Domain, Protocol, Socket, Type};

use super::settings::{conds, tag_ifs};
use crate::access::interface_addrs;

/// Interface index → (name, IPv6 addresses).
type Ifaces6 = HashMap<u32, (String, Vec<Ipv6Net>)>;

fn interfaces6() -> Ifaces6 {
    let mut out: Ifaces6 = HashMap::new();
    for a in interface_addrs() {
        if let std::net::IpAddr::V6(v6) = a.addr {
            out.entry(a.index)
                .or_insert_with(|| (a.name.clone(), Vec::new()))
                .1
                .push(Ipv6Net {
                    addr: v6,
                    prefix: a.prefix,
                });
        }
    }
    out
}

/// The first Ethernet address of a non-loopback interface, for a DUID-LLT.
fn some_mac() -> Option<Vec<u8>> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/class/net")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names.iter().find_map(|n| {
        let t = std::fs::read_to_string(format!("/sys/class/net/{n}/address")).ok()?;
        let mac = ringmasq_proto::dhcp6::lease::unhex(t.trim())?;
        (mac.len() == 6 && mac.iter().any(|b| *b != 0)).then_some(mac)
    })
}

/// The DHCPv6 part of the configuration.
pub fn config6(cfg: &Config, server_duid: Vec<u8>) -> Config6 {
    let lease = |l: ringmasq_config::dhcp::LeaseLength| match l {
        ringmasq_config::dhcp::LeaseLength::Secs(s) => Some(s),
        ringmasq_config::dhcp::LeaseLength::Infinite => None,
    };
    let ranges = cfg
        .ipv6
        .ranges
        .iter()
        .filter(|r| r.serves_dhcp6())
        .map(|r| Range6 {
            start: r.start,
            end: r.end,
            prefix_len: r.prefix_len,
            constructor: r.constructor.clone(),
            lease: lease(r.lease),
            deprecated: r.deprecated,
            stateful: r.stateful() || (r.modes.slaac && r.end.is_some()),
            match_tags: r.match_tags.clone(),
            set_tag: r.set_tag.clone(),
        })
        .collect();
    let hosts = cfg
        .dhcp
        .hosts
        .iter()
        .map(|h| Host6 {
            duids: h.client_ids.clone(),
            macs: h
                .macs
                .iter()
                .filter_map(|m| m.bytes.iter().copied().collect::<Option<Vec<u8>>>())
                .collect(),
            addr: h.addr6,
            name: h.name.clone(),
            lease: h.lease.map(lease),
            ignore: h.ignore,
            set_tags: h.set_tags.clone(),
            match_tags: h.match_tags.clone(),
        })
        .collect();
    let mut c = Config6 {
        ranges,
        hosts,
        server_duid,
        domain: cfg.domain.clone(),
        interfaces: ringmasq_proto::dhcp::InterfaceFilter {
            only: cfg.interfaces.clone(),
            except: cfg.except_interfaces.clone(),
            no_dhcp: cfg.dhcp.no_dhcp6_interfaces.clone(),
        },
        client_update: cfg.dhcp.client_update,
        matches: cfg.dhcp.matches.iter().filter_map(matcher6).collect(),
        tag_ifs: tag_ifs(&cfg.dhcp.tag_ifs),
        ignore: cfg.dhcp.ignore.iter().map(|c| conds(c)).collect(),
        ignore_names: cfg.dhcp.ignore_names.iter().map(|c| conds(c)).collect(),
        ..Config6::default()
    };
    for o in &cfg.ipv6.options {
        use ringmasq_config::ipv6::Dhcp6Option as O;
        let tagged = |code: u16, value: Vec<u8>| Option6 {
            code,
            value,
            tags: conds(&o.tags),
        };
        match &o.option {
            // Untagged DNS servers and search domains are the defaults (merged across lines);
            // tagged ones are options chosen per client by their tags.
            O::DnsServer(a) if o.tags.is_empty() => {
                c.dns_servers.get_or_insert_with(Vec::new).extend(a)
            }
            O::DomainSearch(d) if o.tags.is_empty() => c.domain_search.extend(d.iter().cloned()),
            O::DnsServer(a) => c.options.push(tagged(
                wire::opt::DNS_SERVERS,
                a.iter().flat_map(|a| a.octets()).collect(),
            )),
            O::DomainSearch(d) => {
                let mut v = Vec::new();
                wire::put_names(&mut v, d);
                c.options.push(tagged(wire::opt::DOMAIN_LIST, v));
            }
            O::Raw { code, value } => c.options.push(tagged(*code, value.clone())),
        }
    }
    c
}

/// The DHCPv6 form of a tag-setting match, if it applies to DHCPv6 (`--dhcp-circuitid` and
/// option-number matches of DHCPv4 do not; a vendor class without `enterprise:` matches any).
fn matcher6(m: &DhcpMatch) -> Option<MatchRule6> {
    let value = |v: &CfgValue| match v {
        CfgValue::Present => MatchValue::Present,
        CfgValue::Prefix(p) => MatchValue::Prefix(p.clone()),
        CfgValue::Element(e) => MatchValue::Element(e.clone()),
        CfgValue::Substring(s) => MatchValue::Substring(s.clone()),
    };
    let matcher = match &m.kind {
        MatchKind::Option6 { code, value: v } => Matcher6::Option {
            code: *code,
            value: value(v),
        },
        MatchKind::VendorClass6 { enterprise, class } => Matcher6::VendorClass {
            enterprise: Some(*enterprise),
            class: class.clone(),
        },
        MatchKind::VendorClass(c) => Matcher6::VendorClass {
            enterprise: None,
            class: c.clone(),
        },
        MatchKind::UserClass(c) => Matcher6::UserClass(c.clone()),
        MatchKind::Agent { sub: 2, value } => Matcher6::RemoteId(value.clone()),
        MatchKind::Agent { sub: 6, value } => Matcher6::SubscriberId(value.clone()),
        MatchKind::Mac(p) => Matcher6::Mac(HwAddrPattern {
            htype: p.htype,
            bytes: p.bytes.clone(),
        }),
        MatchKind::Name(n) => Matcher6::Name(n.clone()),
        MatchKind::Option { .. } | MatchKind::ViEncap { .. } | MatchKind::Agent { .. } => {
            return None;
        }
    };
    Some(MatchRule6 {
        tag: m.tag.clone(),
        matcher,
    })
}

/// Name of a client message type, for the log (dnsmasq's spelling).
fn type_name(t: u8) -> &'static str {
    match t {
        msg::SOLICIT => "DHCPSOLICIT",
        msg::ADVERTISE => "DHCPADVERTISE",
        msg::REQUEST => "DHCPREQUEST",
        msg::CONFIRM => "DHCPCONFIRM",
        msg::RENEW => "DHCPRENEW",
        msg::REBIND => "DHCPREBIND",
        msg::REPLY => "DHCPREPLY",
        msg::RELEASE => "DHCPRELEASE",
        msg::DECLINE => "DHCPDECLINE",
        msg::INFORMATION_REQUEST => "DHCPINFORMATION-REQUEST",
        _ => "DHCPv6",
    }
}

/// One DHCPv6 reply of a turn.
#[derive(Debug)]
pub struct Reply6 {
    /// Its destination.
    pub to: SocketAddrV6,
    /// The message.
    pub bytes: Vec<u8>,
    /// Whether it must wait until the turn's journal records are durable.
    pub durable: bool,
}

/// The DHCPv6 server with its socket.
pub struct V6 {
    server: Server6,
    socket: UdpSocket,
    ifaces: Ifaces6,
    joined: HashSet<u32>,
    /// Replies of the current turn, taken by [`V6::take_replies`].
    pending: Vec<Reply6>,
    log: bool,
    /// With `--dhcp-script`: the leases the script knows, and its events not yet submitted.
    told: Option<Leases6Told>,
    events: Vec<Event6>,
    /// `--quiet-dhcp6` without `--log-dhcp`: no line per reply.
    quiet: bool,
}

impl V6 {
    /// Binds [::]:`port`, restores the stored leases (`stored`: the IPv6 lines of the lease
    /// file) and fixes the server DUID: `--dhcp-duid`, else the stored one, else a new DUID-LLT.
    pub fn new(cfg: &Config, port: u16, stored: &[String], wall: u64) -> Result<V6> {
        let duid = match &cfg.ipv6.duid {
            Some((e, id)) => duid_en(*e, id),
            None => stored
                .iter()
                .find_map(|l| parse_duid_line(l))
                .unwrap_or_else(|| duid_llt(&some_mac().unwrap_or(vec![2, 0, 0, 0, 0, 1]), wall)),
        };
        let mut server = Server6::new(config6(cfg, duid)).context("DHCPv6 configuration")?;
        let mut restored = 0;
        for l in stored.iter().filter_map(|l| Lease6::parse_line(l)) {
            if !l.expired(wall) {
                restored += 1;
            }
            server.restore(l, wall);
        }
        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_only_v6(true)?;
        s.set_reuse_address(true)?;
        s.set_nonblocking(true)?;
        s.set_multicast_loop_v6(false)?;
        let bind = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0));
        s.bind(&bind.into())
            .with_context(|| format!("cannot bind DHCPv6 socket [::]:{port}"))?;
        for r in &server.config().ranges {
            match (&r.constructor, r.end) {
                (Some(c), Some(e)) => {
                    tracing::info!("DHCPv6, IP range {} -- {} on constructor:{c}", r.start, e)
                }
                (None, Some(e)) => tracing::info!("DHCPv6, IP range {} -- {}", r.start, e),
                _ => tracing::info!("DHCPv6 stateless on {}", r.start),
            }
        }
        tracing::info!(
            "DHCPv6: {restored} lease(s) restored, server DUID {}",
            hex(&server.config().server_duid)
        );
        let (told, events) = if cfg.dhcp.script.is_some() {
            let leases: Vec<Lease6> = stored
                .iter()
                .filter_map(|l| Lease6::parse_line(l))
                .collect();
            let (t, e) = Leases6Told::start(&leases, cfg.dhcp.script_on_renewal, wall);
            (Some(t), e)
        } else {
            (None, Vec::new())
        };
        let mut v6 = V6 {
            server,
            socket: s.into(),
            ifaces: HashMap::new(),
            joined: HashSet::new(),
            pending: Vec::new(),
            log: cfg.log_dhcp,
            told,
            events,
            quiet: cfg.ipv6.quiet_dhcp6 && !cfg.log_dhcp,
        };
        v6.refresh();
        Ok(v6)
    }

    /// The socket (for poll).
    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Re-reads the interfaces and joins ff02::1:2 on new ones (RFC 8415 §7.1).
    pub fn refresh(&mut self) {
        self.ifaces = interfaces6();
        self.joined.retain(|i| self.ifaces.contains_key(i));
        for (index, (name, addrs)) in &self.ifaces {
            if name == "lo" || self.joined.contains(index) || addrs.is_empty() {
                continue;
            }
            match self.socket.join_multicast_v6(&ALL_SERVERS, *index) {
                Ok(()) => {
                    self.joined.insert(*index);
                }
                Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                    self.joined.insert(*index);
                }
                Err(e) => tracing::debug!("DHCPv6: cannot join ff02::1:2 on {name}: {e}"),
            }
        }
    }

    /// The IPv6 lines of the lease file: the `duid` line and every live lease.
    pub fn lines(&self) -> Vec<String> {
        emit_lines(&self.server.config().server_duid, &self.server.snapshot())
    }

    /// `(address, name)` of every named lease.
    pub fn names(&self) -> Vec<(Ipv6Addr, String)> {
        self.server.names()
    }

    /// Drops counted so far.
    pub fn drops(&self) -> u64 {
        self.server.stats.total()
    }

    /// Moves every lease expiry by `step` seconds (the system clock was stepped); returns how
    /// many leases moved.
    pub fn shift(&mut self, step: i64) -> usize {
        self.server.shift(step)
    }

    /// Removes expired leases; whether any went.
    pub fn expire(&mut self, wall: u64) -> bool {
        if let Some(t) = &mut self.told {
            t.expire(wall, &mut self.events);
        }
        self.server.expire(wall) > 0
    }

    /// The script events gathered so far (their changes are durable once the turn synced).
    pub fn take_events(&mut self) -> Vec<Event6> {
        std::mem::take(&mut self.events)
    }

    /// `old` events for every lease (SIGHUP).
    pub fn all_old(&mut self) {
        if let Some(t) = &self.told {
            t.all_old(&mut self.events);
        }
    }

    /// The server DUID.
    pub fn server_duid(&self) -> &[u8] {
        &self.server.config().server_duid
    }

    /// Handles up to `max` waiting datagrams: replies are kept for [`V6::take_replies`], lease
    /// changes appended to `journal`. Returns how many datagrams were read and whether a
    /// lease changed.
    pub fn receive(
        &mut self,
        buf: &mut [u8],
        max: usize,
        wall: u64,
        journal: &mut Vec<u8>,
    ) -> (usize, bool) {
        let mut got = 0;
        let mut changed = false;
        while got < max {
            let (n, src) = match self.socket.recv_from(buf) {
                Ok((n, SocketAddr::V6(src))) => (n, src),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!("DHCPv6 receive: {e}");
                    break;
                }
            };
            got += 1;
            changed |= self.handle(&buf[..n], src, wall, journal);
        }
        (got, changed)
    }

    /// The arrival interface: the link-local sender's scope, else the interface whose prefix
    /// holds the sender (a relay or a client using a global address).
    fn arrival(&mut self, src: &SocketAddrV6) -> Option<u32> {
        let find = |ifaces: &Ifaces6| -> Option<u32> {
            if src.scope_id() != 0 {
                return ifaces
                    .contains_key(&src.scope_id())
                    .then_some(src.scope_id());
            }
            ifaces
                .iter()
                .find(|(_, (_, addrs))| {
                    addrs.iter().any(|a| {
                        ringmasq_proto::dhcp6::config::mask(a.addr, a.prefix)
                            == ringmasq_proto::dhcp6::config::mask(*src.ip(), a.prefix)
                    })
                })
                .map(|(i, _)| *i)
        };
        find(&self.ifaces).or_else(|| {
            self.refresh();
            find(&self.ifaces)
        })
    }

    fn handle(
        &mut self,
        bytes: &[u8],
        src: SocketAddrV6,
        wall: u64,
        journal: &mut Vec<u8>,
    ) -> bool {
        let Some(index) = self.arrival(&src) else {
            tracing::debug!("DHCPv6 packet from {src}: unknown interface");
            return false;
        };
        let Some((name, addrs)) = self.ifaces.get(&index) else {
            return false;
        };
        let link = Link6 { index, name, addrs };
        let action = self.server.handle(wall, &link, src, bytes);
        let decoded = wire::decode(bytes).ok();
        let inbound = decoded.as_ref().map_or(0, |i| i.msg_type);
        let client = decoded
            .as_ref()
            .and_then(|i| wire::Options::find(i.options, wire::opt::CLIENTID))
            .map(hex)
            .unwrap_or_default();
        match action {
            Action6::Drop(why) => {
                tracing::debug!("DHCPv6 packet from {src} on {name} dropped: {why:?}");
                false
            }
            Action6::Reply { to, bytes, changes } => {
                let mut addrs = Vec::new();
                for c in &changes {
                    match c {
                        Change6::Upsert(l) => {
                            journal::encode_line6(&l.line(), journal);
                            addrs.push(l.addr.to_string());
                        }
                        Change6::Remove(a) => journal::encode_remove6(*a, journal),
                    }
                }
                if !self.quiet {
                    tracing::info!(
                        "{}({name}) {} {client}",
                        type_name(inbound),
                        addrs.join(" ")
                    );
                }
                if let Some(t) = &mut self.told
                    && let Some(inb) = &decoded
                {
                    let info = Request6Info::from_message(name, inb, self.server.last_tag_names());
                    t.apply(&changes, Some(&info), &mut self.events);
                }
                if self.log {
                    tracing::info!("DHCPv6 reply of {} bytes to {to}", bytes.len());
                }
                // A reply that may acknowledge a lease waits for the journal even when this
                // message changed nothing: an earlier turn's record of it may still be pending.
                let durable = !changes.is_empty()
                    || !matches!(
                        inbound,
                        msg::SOLICIT | msg::CONFIRM | msg::INFORMATION_REQUEST
                    );
                self.pending.push(Reply6 { to, bytes, durable });
                !changes.is_empty()
            }
        }
    }

    /// The turn's replies, to send now or once the turn is durable.
    pub fn take_replies(&mut self) -> Vec<Reply6> {
        std::mem::take(&mut self.pending)
    }

    /// Sends one reply.
    pub fn send(&self, to: SocketAddrV6, bytes: &[u8]) {
        if let Err(e) = self.socket.send_to(bytes, to) {
            tracing::warn!("DHCPv6 reply to {to}: send failed: {e}");
        }
    }

    /// Lease lines for the journal of a new server DUID (so it is durable before it is used).
    pub fn duid_record(&self, journal: &mut Vec<u8>) {
        journal::encode_line6(
            &format!("duid {}", hex(&self.server.config().server_duid)),
            journal,
        );
    }

    /// Port DHCPv6 listens on by default.
    pub const PORT: u16 = SERVER_PORT;
}
