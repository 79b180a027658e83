//! The DHCPv6 server (RFC 8415 §18.3): SOLICIT/ADVERTISE, REQUEST, RENEW, REBIND, RELEASE,
//! DECLINE, CONFIRM and INFORMATION-REQUEST answered with REPLY, Rapid Commit (§18.3.1), relayed
//! messages through any number of relays (§19), IA_NA and IA_TA. Sans-IO: datagram, wall time
//! and the arrival link in; reply bytes, destination and lease changes out.

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddrV6};

use super::config::{Config6, Host6, Link6, LinkRange};
use super::fqdn;
use super::lease::Lease6;
use super::stats::{Drop6, Stats6};
use super::tags::{Seen, Tagger6};
use super::wire::{self, Inbound, Options, msg, opt, status};
use crate::dhcp::server::ConfigError;
use crate::dhcp::tags::TagSet;

/// The server port (RFC 8415 §7.2), where relays listen too.
pub const SERVER_PORT: u16 = 547;
/// The client port (RFC 8415 §7.2).
pub const CLIENT_PORT: u16 = 546;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// An infinite lifetime (RFC 8415 §7.7).
pub const INFINITY: u32 = u32::MAX;

/// A lease change the engine must make durable before sending the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change6 {
    /// Granted or extended.
    Upsert(Lease6),
    /// Released or declined.
    Remove(Ipv6Addr),
}

/// What to do with a datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action6 {
    /// Send `bytes` to `to` after making `changes` durable.
    Reply {
        /// Destination: the client (port 546) or the relay that sent the message (port 547).
        to: SocketAddrV6,
        /// The reply.
        bytes: Vec<u8>,
        /// Lease changes it commits.
        changes: Vec<Change6>,
    },
    /// No reply; the reason was counted.
    Drop(Drop6),
}

/// One IA of a client message.
struct Ia<'a> {
    code: u16,
    iaid: u32,
    /// Options inside the IA.
    options: &'a [u8],
}

impl Ia<'_> {
    fn addrs(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        Options::new(self.options)
            .map_while(Result::ok)
            .filter(|(c, v)| *c == opt::IAADDR && v.len() >= 24)
            .filter_map(|(_, v)| <[u8; 16]>::try_from(&v[..16]).ok().map(Ipv6Addr::from))
    }
    fn temporary(&self) -> bool {
        self.code == opt::IA_TA
    }
}

fn ias(options: &[u8]) -> Vec<Ia<'_>> {
    Options::new(options)
        .map_while(Result::ok)
        .filter_map(|(code, v)| match code {
            opt::IA_NA if v.len() >= 12 => Some(Ia {
                code,
                iaid: u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                options: &v[12..],
            }),
            opt::IA_TA if v.len() >= 4 => Some(Ia {
                code,
                iaid: u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
                options: &v[4..],
            }),
            _ => None,
        })
        .collect()
}

/// Lifetimes of an address: (preferred, valid, T1, T2).
fn lifetimes(lease: Option<u32>, deprecated: bool) -> (u32, u32, u32, u32) {
    match lease {
        None => (
            if deprecated { 0 } else { INFINITY },
            INFINITY,
            INFINITY,
            INFINITY,
        ),
        // RFC 8415 §21.4: T1 at half the lifetime, T2 at seven eighths, as dnsmasq.
        Some(v) => (
            if deprecated { 0 } else { v },
            v,
            v / 2,
            (u64::from(v) * 7 / 8) as u32,
        ),
    }
}

/// FNV-1a over the client's DUID and IAID: where its address search starts in a pool, so a
/// client gets the same address back across restarts of an empty server.
fn client_hash(duid: &[u8], iaid: u32) -> u128 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in duid.iter().chain(iaid.to_be_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    u128::from(h)
}

/// How many pool addresses are tried for one IA before NoAddrsAvail.
const MAX_PROBES: u128 = 4096;

/// Key of an IA binding: (DUID, IAID, temporary).
type IaKey = (Vec<u8>, u32, bool);

/// The DHCPv6 server: configuration, bindings and counters.
#[derive(Debug)]
pub struct Server6 {
    pub(super) cfg: Config6,
    pub(super) tagger: Tagger6,
    /// Tags of the last handled message (for the script's `DNSMASQ_TAGS`).
    last_tags: TagSet,
    leases: HashMap<Ipv6Addr, Lease6>,
    by_ia: HashMap<IaKey, Ipv6Addr>,
    /// Declined addresses and until when they stay unused.
    declined: HashMap<Ipv6Addr, u64>,
    /// Drop counters.
    pub stats: Stats6,
}

/// The per-message context.
pub(super) struct Ctx<'a> {
    pub(super) duid: &'a [u8],
    pub(super) host: Option<&'a Host6>,
    /// The ranges on the client's link whose `tag:` conditions hold.
    pub(super) ranges: Vec<LinkRange>,
    pub(super) wall: u64,
    /// The message's tags.
    pub(super) tags: TagSet,
    /// `--dhcp-ignore-names` holds: the name the client supplies is not used.
    pub(super) ignore_names: bool,
}

impl Server6 {
    /// A server with no leases; fails when the configuration uses too many tags.
    pub fn new(cfg: Config6) -> Result<Server6, ConfigError> {
        Ok(Server6 {
            tagger: Tagger6::compile(&cfg)?,
            last_tags: TagSet::default(),
            cfg,
            leases: HashMap::new(),
            by_ia: HashMap::new(),
            declined: HashMap::new(),
            stats: Stats6::default(),
        })
    }

    /// The names of the tags the last handled message had, sorted (`DNSMASQ_TAGS`).
    pub fn last_tag_names(&self) -> Vec<String> {
        self.tagger.names(&self.last_tags)
    }

    /// The configuration.
    pub fn config(&self) -> &Config6 {
        &self.cfg
    }

    /// Restores a stored lease (at start); expired ones are skipped.
    pub fn restore(&mut self, l: Lease6, wall: u64) {
        if l.expired(wall) {
            return;
        }
        self.by_ia
            .insert((l.duid.clone(), l.iaid, l.temporary), l.addr);
        self.leases.insert(l.addr, l);
    }

    /// Removes expired leases; returns how many went.
    pub fn expire(&mut self, wall: u64) -> usize {
        let gone: Vec<Ipv6Addr> = self
            .leases
            .values()
            .filter(|l| l.expired(wall))
            .map(|l| l.addr)
            .collect();
        for a in &gone {
            self.forget(*a);
        }
        self.declined.retain(|_, until| *until > wall);
        gone.len()
    }

    /// Moves every lease expiry and quarantine by `step` seconds (the system clock was
    /// stepped; see [`crate::dhcp::lease_clock`]). Returns how many leases were moved.
    pub fn shift(&mut self, step: i64) -> usize {
        let mut moved = 0;
        for l in self.leases.values_mut() {
            if l.expires != 0 {
                l.expires = crate::dhcp::lease_clock::shifted(l.expires, step);
                moved += 1;
            }
        }
        for until in self.declined.values_mut() {
            *until = crate::dhcp::lease_clock::shifted(*until, step);
        }
        moved
    }

    /// Every live lease, by address.
    pub fn snapshot(&self) -> Vec<Lease6> {
        let mut v: Vec<Lease6> = self.leases.values().cloned().collect();
        v.sort_by_key(|l| l.addr);
        v
    }

    /// `(address, name)` of every named lease.
    pub fn names(&self) -> Vec<(Ipv6Addr, String)> {
        let mut v: Vec<(Ipv6Addr, String)> = self
            .leases
            .values()
            .filter_map(|l| l.hostname.clone().map(|h| (l.addr, h)))
            .collect();
        v.sort();
        v
    }

    fn forget(&mut self, a: Ipv6Addr) {
        if let Some(l) = self.leases.remove(&a) {
            let key = (l.duid, l.iaid, l.temporary);
            if self.by_ia.get(&key) == Some(&a) {
                self.by_ia.remove(&key);
            }
        }
    }

    /// Handles one datagram that arrived on `link` from `src`, at `wall` seconds since the epoch.
    pub fn handle(
        &mut self,
        wall: u64,
        link: &Link6<'_>,
        src: SocketAddrV6,
        bytes: &[u8],
    ) -> Action6 {
        self.last_tags = TagSet::default();
        match self.answer(wall, link, src, bytes) {
            Ok(a) => a,
            Err(why) => {
                self.stats.count(why);
                Action6::Drop(why)
            }
        }
    }

    fn answer(
        &mut self,
        wall: u64,
        link: &Link6<'_>,
        src: SocketAddrV6,
        bytes: &[u8],
    ) -> Result<Action6, Drop6> {
        if !self.cfg.interfaces.serves(link.name) {
            return Err(Drop6::Interface);
        }
        let inb = wire::decode(bytes).map_err(|_| Drop6::Malformed)?;
        let client_id = Options::find(inb.options, opt::CLIENTID);
        let server_id = Options::find(inb.options, opt::SERVERID);
        let ours = server_id.is_some_and(|s| s == self.cfg.server_duid.as_slice());
        // RFC 8415 §16: which messages carry which identifiers.
        match inb.msg_type {
            msg::SOLICIT | msg::CONFIRM | msg::REBIND => {
                if client_id.is_none() {
                    return Err(Drop6::NoClientId);
                }
                if server_id.is_some() {
                    return Err(Drop6::ServerId);
                }
            }
            msg::REQUEST | msg::RENEW | msg::RELEASE | msg::DECLINE => {
                if client_id.is_none() {
                    return Err(Drop6::NoClientId);
                }
                if !ours {
                    return Err(Drop6::ServerId);
                }
            }
            msg::INFORMATION_REQUEST => {
                if server_id.is_some() && !ours {
                    return Err(Drop6::ServerId);
                }
            }
            _ => return Err(Drop6::NotClientMessage),
        }
        // RFC 8415 §19.1: the innermost relay with a link address names the client's link.
        let relay_link = inb
            .relays
            .iter()
            .rev()
            .map(|r| r.link)
            .find(|a| !a.is_unspecified());
        let ranges = match relay_link {
            Some(l) => self.cfg.ranges_for_relay(l),
            None => self.cfg.ranges_on(link),
        };
        if ranges.is_empty() {
            return Err(Drop6::NoRange);
        }
        let duid = client_id.unwrap_or(&[]);
        let seen = Seen {
            options: inb.options,
            relays: &inb.relays,
            duid,
        };
        let (mut tags, host) = self.tagger.request(&self.cfg, link.name, &seen, &ranges);
        self.last_tags = tags;
        let host = host.map(|h| self.cfg.hosts[h].clone());
        if host.as_ref().is_some_and(|h| h.ignore) {
            return Err(Drop6::Ignored);
        }
        // dnsmasq: a range with `tag:` conditions serves only clients carrying those tags.
        let ranges: Vec<LinkRange> = ranges
            .into_iter()
            .filter(|r| self.tagger.range_serves(r.index, &tags))
            .collect();
        // The `set:` tags of the ranges in use (one a `--tag-if` opened included).
        self.tagger.add_range_tags(&ranges, &mut tags);
        self.last_tags = tags;
        if ranges.is_empty() {
            return Err(Drop6::NoRange);
        }
        if self.tagger.ignored(&tags) {
            return Err(Drop6::Ignored);
        }
        let ctx = Ctx {
            duid,
            host: host.as_ref(),
            ranges,
            wall,
            tags,
            ignore_names: self.tagger.ignore_names(&tags),
        };
        let mut out = Vec::with_capacity(256);
        let mut changes = Vec::new();
        let rapid =
            inb.msg_type == msg::SOLICIT && Options::find(inb.options, opt::RAPID_COMMIT).is_some();
        out.push(if inb.msg_type == msg::SOLICIT && !rapid {
            msg::ADVERTISE
        } else {
            msg::REPLY
        });
        out.extend_from_slice(&inb.xid);
        if let Some(c) = client_id {
            wire::put(&mut out, opt::CLIENTID, c);
        }
        wire::put(&mut out, opt::SERVERID, &self.cfg.server_duid);
        match inb.msg_type {
            msg::SOLICIT | msg::REQUEST => {
                if rapid {
                    // RFC 8415 §18.3.1: commit at once and say so.
                    wire::put(&mut out, opt::RAPID_COMMIT, &[]);
                }
                let commit = rapid || inb.msg_type == msg::REQUEST;
                self.assign(&ctx, &inb, commit, &mut out, &mut changes);
            }
            msg::RENEW | msg::REBIND => self.extend(&ctx, &inb, &mut out, &mut changes),
            msg::RELEASE => {
                self.release(&ctx, &inb, false, &mut out, &mut changes);
                wire::put_status(&mut out, status::SUCCESS, "release received");
            }
            msg::DECLINE => {
                self.release(&ctx, &inb, true, &mut out, &mut changes);
                wire::put_status(&mut out, status::SUCCESS, "decline received");
            }
            msg::CONFIRM => {
                // RFC 8415 §18.3.3.
                let addrs: Vec<Ipv6Addr> = ias(inb.options)
                    .iter()
                    .flat_map(|i| i.addrs().collect::<Vec<_>>())
                    .collect();
                if addrs.is_empty() {
                    return Err(Drop6::NothingToConfirm);
                }
                if addrs
                    .iter()
                    .all(|a| ctx.ranges.iter().any(|r| r.on_link(*a)))
                {
                    wire::put_status(&mut out, status::SUCCESS, "all addresses still on link");
                } else {
                    wire::put_status(&mut out, status::NOT_ON_LINK, "confirm failed");
                }
            }
            _ => {}
        }
        self.put_options(link, &ctx, &mut out);
        // RFC 4704 §5: a client that sent a Client FQDN option gets one back.
        if matches!(
            inb.msg_type,
            msg::SOLICIT | msg::REQUEST | msg::RENEW | msg::REBIND
        ) && let Some(v) = Options::find(inb.options, opt::CLIENT_FQDN).and_then(|sent| {
            let name = Self::name_for(&ctx, &inb);
            let domain = self.cfg.domain.as_deref();
            fqdn::reply_value(sent, name.as_deref(), domain, self.cfg.client_update)
        }) {
            wire::put(&mut out, opt::CLIENT_FQDN, &v);
        }
        let to = match inb.relays.first() {
            // RFC 8415 §19.3: back to the relay that sent it, on the server port.
            Some(_) => SocketAddrV6::new(*src.ip(), SERVER_PORT, 0, src.scope_id()),
            None => src,
        };
        let bytes = wire::wrap_relays(&inb.relays, out);
        Ok(Action6::Reply { to, bytes, changes })
    }

    /// Whether `a` may go to the client with `duid`/`key`: not leased to another, not
    /// declined, not reserved for another host.
    fn free_for(&self, a: Ipv6Addr, ctx: &Ctx<'_>, key: &IaKey) -> bool {
        let leased_other = self.leases.get(&a).is_some_and(|l| {
            !l.expired(ctx.wall) && (l.duid != key.0 || l.iaid != key.1 || l.temporary != key.2)
        });
        let declined = self.declined.get(&a).is_some_and(|u| *u > ctx.wall);
        let reserved = self
            .cfg
            .hosts
            .iter()
            .any(|h| h.addr == Some(a) && !h.matches(ctx.duid));
        !leased_other && !declined && !reserved
    }

    /// The address for one IA and the range it is in.
    fn choose(&self, ctx: &Ctx<'_>, ia: &Ia<'_>) -> Option<(Ipv6Addr, LinkRange)> {
        let key: IaKey = (ctx.duid.to_vec(), ia.iaid, ia.temporary());
        let fits = |a: Ipv6Addr, fixed: bool| {
            ctx.ranges
                .iter()
                .find(|r| if fixed { r.on_link(a) } else { r.in_pool(a) })
                .cloned()
        };
        let fixed = ctx.host.and_then(|h| h.addr);
        if let Some(a) = self.by_ia.get(&key).copied()
            && let Some(r) = fits(a, Some(a) == fixed)
        {
            return Some((a, r));
        }
        if let Some(a) = fixed
            && let Some(r) = fits(a, true)
            && self.free_for(a, ctx, &key)
        {
            return Some((a, r));
        }
        for h in ia.addrs() {
            if let Some(r) = fits(h, false)
                && self.free_for(h, ctx, &key)
            {
                return Some((h, r));
            }
        }
        for r in ctx.ranges.iter().filter(|r| r.pool.is_some()) {
            let (s, e) = r.pool?;
            let (s, e) = (u128::from(s), u128::from(e));
            let size = e - s + 1;
            let start = client_hash(ctx.duid, ia.iaid) % size;
            for k in 0..size.min(MAX_PROBES) {
                let a = Ipv6Addr::from(s + (start + k) % size);
                if self.free_for(a, ctx, &key) {
                    return Some((a, r.clone()));
                }
            }
        }
        None
    }

    fn lease_len(&self, ctx: &Ctx<'_>, r: &LinkRange) -> Option<u32> {
        match ctx.host.and_then(|h| h.lease) {
            Some(l) => l,
            None => r.lease,
        }
    }

    /// Records a binding; a different address the IA held before is released.
    fn bind(
        &mut self,
        ctx: &Ctx<'_>,
        ia: &Ia<'_>,
        a: Ipv6Addr,
        valid: u32,
        name: Option<String>,
        changes: &mut Vec<Change6>,
    ) {
        let key: IaKey = (ctx.duid.to_vec(), ia.iaid, ia.temporary());
        if let Some(old) = self.by_ia.get(&key).copied()
            && old != a
        {
            self.forget(old);
            changes.push(Change6::Remove(old));
        }
        let l = Lease6 {
            expires: if valid == INFINITY {
                0
            } else {
                ctx.wall + u64::from(valid)
            },
            iaid: ia.iaid,
            temporary: ia.temporary(),
            addr: a,
            hostname: name,
            duid: ctx.duid.to_vec(),
        };
        self.by_ia.insert(key, a);
        self.leases.insert(a, l.clone());
        changes.push(Change6::Upsert(l));
    }

    /// The client's name: its `--dhcp-host` name, else the Client FQDN option's host label
    /// (unless `--dhcp-ignore-names` holds).
    fn name_for(ctx: &Ctx<'_>, inb: &Inbound<'_>) -> Option<String> {
        ctx.host.and_then(|h| h.name.clone()).or_else(|| {
            Options::find(inb.options, opt::CLIENT_FQDN)
                .filter(|_| !ctx.ignore_names)
                .and_then(wire::fqdn_host)
        })
    }

    /// SOLICIT, REQUEST (RFC 8415 §18.3.1, §18.3.2): an address per IA, or NoAddrsAvail.
    fn assign(
        &mut self,
        ctx: &Ctx<'_>,
        inb: &Inbound<'_>,
        commit: bool,
        out: &mut Vec<u8>,
        changes: &mut Vec<Change6>,
    ) {
        let name = Self::name_for(ctx, inb);
        for ia in ias(inb.options) {
            match self.choose(ctx, &ia) {
                Some((a, r)) => {
                    let (pref, valid, t1, t2) = lifetimes(self.lease_len(ctx, &r), r.deprecated);
                    if commit {
                        self.bind(ctx, &ia, a, valid, name.clone(), changes);
                    }
                    put_ia(out, &ia, t1, t2, |out| put_addr(out, a, pref, valid));
                }
                None => put_ia(out, &ia, 0, 0, |out| {
                    wire::put_status(out, status::NO_ADDRS_AVAIL, "no addresses available")
                }),
            }
        }
    }

    /// RENEW, REBIND (RFC 8415 §18.3.4, §18.3.5): bound addresses extended, addresses not
    /// appropriate for the link given lifetimes 0, unknown IAs NoBinding.
    fn extend(
        &mut self,
        ctx: &Ctx<'_>,
        inb: &Inbound<'_>,
        out: &mut Vec<u8>,
        changes: &mut Vec<Change6>,
    ) {
        let name = Self::name_for(ctx, inb);
        for ia in ias(inb.options) {
            let key: IaKey = (ctx.duid.to_vec(), ia.iaid, ia.temporary());
            let mut body = Vec::new();
            let mut t = (0, 0);
            let mut any = false;
            for a in ia.addrs() {
                let range = ctx.ranges.iter().find(|r| r.on_link(a)).cloned();
                let mine = self.leases.get(&a).is_some_and(|l| {
                    (l.duid.as_slice(), l.iaid, l.temporary) == (ctx.duid, ia.iaid, ia.temporary())
                });
                let fixed = ctx.host.and_then(|h| h.addr) == Some(a);
                match range {
                    Some(r)
                        if (mine || ((r.in_pool(a) || fixed) && self.free_for(a, ctx, &key))) =>
                    {
                        let (pref, valid, t1, t2) =
                            lifetimes(self.lease_len(ctx, &r), r.deprecated);
                        let name = name
                            .clone()
                            .or_else(|| self.leases.get(&a).and_then(|l| l.hostname.clone()));
                        self.bind(ctx, &ia, a, valid, name, changes);
                        put_addr(&mut body, a, pref, valid);
                        t = (t1, t2);
                        any = true;
                    }
                    None => {
                        put_addr(&mut body, a, 0, 0);
                        any = true;
                    }
                    Some(_) => {}
                }
            }
            if any {
                put_ia(out, &ia, t.0, t.1, |out| out.extend_from_slice(&body));
            } else {
                put_ia(out, &ia, 0, 0, |out| {
                    wire::put_status(out, status::NO_BINDING, "no binding")
                });
            }
        }
    }

    /// RELEASE, DECLINE (RFC 8415 §18.3.7, §18.3.8): the client's addresses freed (declined
    /// ones kept out of use for a lease time); IAs without a binding get NoBinding.
    fn release(
        &mut self,
        ctx: &Ctx<'_>,
        inb: &Inbound<'_>,
        decline: bool,
        out: &mut Vec<u8>,
        changes: &mut Vec<Change6>,
    ) {
        for ia in ias(inb.options) {
            let mut found = false;
            for a in ia.addrs() {
                let mine = self.leases.get(&a).is_some_and(|l| {
                    (l.duid.as_slice(), l.iaid, l.temporary) == (ctx.duid, ia.iaid, ia.temporary())
                });
                if mine {
                    found = true;
                    self.forget(a);
                    changes.push(Change6::Remove(a));
                    if decline {
                        self.declined.insert(a, ctx.wall + 86_400);
                    }
                }
            }
            if !found {
                put_ia(out, &ia, 0, 0, |out| {
                    wire::put_status(out, status::NO_BINDING, "no binding")
                });
            }
        }
    }
}

/// Appends an IA_NA or IA_TA with the client's IAID and the given body.
fn put_ia(out: &mut Vec<u8>, ia: &Ia<'_>, t1: u32, t2: u32, body: impl FnOnce(&mut Vec<u8>)) {
    let s = wire::begin(out, ia.code);
    out.extend_from_slice(&ia.iaid.to_be_bytes());
    if ia.code == opt::IA_NA {
        out.extend_from_slice(&t1.to_be_bytes());
        out.extend_from_slice(&t2.to_be_bytes());
    }
    body(out);
    wire::end(out, s);
}

/// Appends an IA Address option (RFC 8415 §21.6).
fn put_addr(out: &mut Vec<u8>, a: Ipv6Addr, preferred: u32, valid: u32) {
    let s = wire::begin(out, opt::IAADDR);
    out.extend_from_slice(&a.octets());
    out.extend_from_slice(&preferred.to_be_bytes());
    out.extend_from_slice(&valid.to_be_bytes());
    wire::end(out, s);
}
