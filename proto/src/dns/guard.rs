//! Guards on queries and upstream answers: dnsmasq's `-D/--domain-needed`, `-b/--bogus-priv`,
//! `-f/--filterwin2k`, `--stop-dns-rebind` (with `--rebind-localhost-ok` and
//! `--rebind-domain-ok`), `-B/--bogus-nxdomain`, `--ignore-address`, `--filter-A`,
//! `--filter-AAAA` and `--filter-rr`.
//!
//! Everything here is pure: the forwarder asks [`Guards::check_query`] about a client query
//! before it is forwarded, and [`Guards::check_answer`] plus [`Guards::filter_answer`] about an
//! upstream answer before it is cached or passed on. Replies the guards make up are written by
//! [`write_guard_reply`]. The answers (rcode, AA, EDE) are those dnsmasq 2.90 gives, measured on
//! loopback against the same upstream.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::answer::StoredAnswer;
use super::name::{is_subdomain_of, label_offsets};
use super::packet::{
    HEADER_LEN, OPT_LEN, Query, QuestionKey, RCODE_NOERROR, RCODE_NXDOMAIN, flags,
    parse_response_head, walk_record, write_error_reply,
};
use super::stats::Counter;
#[cfg(doc)]
use super::stats::DropReason;

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_SOA: u16 = 6;
const TYPE_PTR: u16 = 12;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const TYPE_SRV: u16 = 33;
const TYPE_CNAME: u16 = 5;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;

/// RFC 8914 §4.16: Extended DNS Error "Blocked".
pub const EDE_BLOCKED: u16 = 15;
/// RFC 8914 §4.18: Extended DNS Error "Filtered".
pub const EDE_FILTERED: u16 = 17;
/// RFC 8914 §2: OPTION-CODE of an Extended DNS Error option.
const OPT_CODE_EDE: u16 = 15;

/// An address with a prefix length, as `-B/--bogus-nxdomain` and `--ignore-address` take
/// (`192.0.2.1`, `198.51.100.0/24`, `2001:db8::/32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrPrefix {
    addr: IpAddr,
    prefix: u8,
}

impl AddrPrefix {
    /// `addr/prefix`; the prefix is capped at the address width (32 or 128).
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        Self {
            addr,
            prefix: prefix.min(max),
        }
    }

    /// A single address (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        Self::new(addr, 128)
    }

    /// True if `ip` is of the same family and inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Which records `--filter-A`, `--filter-AAAA` and `--filter-rr` remove from answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Record types removed from every answer (A for `--filter-A`, AAAA for `--filter-AAAA`,
    /// and the `--filter-rr` types).
    pub types: Vec<u16>,
    /// `--filter-rr=ANY` (RFC 8482 §4.3): answers to ANY queries keep only A, AAAA, MX and CNAME
    /// records, as dnsmasq documents, and NS and SRV records, which dnsmasq 2.90 also keeps.
    pub any: bool,
}

impl RecordFilter {
    /// True when nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && !self.any
    }

    /// True if a record of type `rtype` is removed from the answer to a `qtype` query.
    #[inline]
    pub fn removes(&self, qtype: u16, rtype: u16) -> bool {
        self.types.contains(&rtype)
            || (self.any
                && qtype == TYPE_ANY
                && !matches!(
                    rtype,
                    TYPE_A | TYPE_AAAA | TYPE_MX | TYPE_CNAME | TYPE_NS | TYPE_SRV
                ))
    }
}

/// Guard settings, from the configuration. The default guards nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guards {
    /// `-D/--domain-needed`: A, AAAA and ANY queries for one-label names are answered NXDOMAIN.
    pub domain_needed: bool,
    /// `-b/--bogus-priv`: PTR and ANY queries for private reverse names are answered NXDOMAIN.
    pub bogus_priv: bool,
    /// `-f/--filterwin2k`: SOA and SRV queries, and ANY queries for names with `_`, get NODATA.
    pub filterwin2k: bool,
    /// `--stop-dns-rebind`: answers with private addresses are blocked.
    pub stop_dns_rebind: bool,
    /// `--rebind-localhost-ok`: 127.0.0.0/8, 0.0.0.0/8, ::1 and :: pass the rebind check.
    pub rebind_localhost_ok: bool,
    /// `--rebind-domain-ok`: names at or below these (lowercase wire form) skip the rebind check.
    pub rebind_domain_ok: Vec<Vec<u8>>,
    /// `-B/--bogus-nxdomain`: answers with one of these addresses become NXDOMAIN.
    pub bogus_nxdomain: Vec<AddrPrefix>,
    /// `--ignore-address`: answers with one of these addresses are ignored.
    pub ignore_address: Vec<AddrPrefix>,
    /// `--filter-A`, `--filter-AAAA`, `--filter-rr`.
    pub filter: RecordFilter,
}

/// What to do with a client query, from [`Guards::check_query`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryVerdict {
    /// Go on: cache, then upstream.
    Forward,
    /// Answer locally with this reply (see [`GuardReply`]) and do not forward.
    Answer(GuardReply),
}

/// What to do with an upstream answer, from [`Guards::check_answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerVerdict {
    /// Go on: filter ([`Guards::filter_answer`]), cache and pass on.
    Accept,
    /// `--ignore-address`: drop the answer as if it never came and keep waiting for another;
    /// feeds [`DropReason::IgnoredAddress`].
    Ignore,
    /// Answer the waiting clients with this reply instead (not cached).
    Replace(GuardReply),
}

/// A reply made up by a guard: rcode, AA and an optional Extended DNS Error (RFC 8914).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuardReply {
    /// RCODE (NOERROR for NODATA replies).
    pub rcode: u8,
    /// AA flag, set as dnsmasq sets it.
    pub aa: bool,
    /// Extended DNS Error INFO-CODE, added when the query had EDNS.
    pub ede: Option<u16>,
    /// The counter this reply feeds.
    pub counter: Counter,
}

impl GuardReply {
    /// `--domain-needed`: NXDOMAIN, no AA, no EDE.
    pub const DOMAIN_NEEDED: Self = Self {
        rcode: RCODE_NXDOMAIN,
        aa: false,
        ede: None,
        counter: Counter::DomainNeeded,
    };
    /// `--bogus-priv`: NXDOMAIN with AA, no EDE.
    pub const BOGUS_PRIV: Self = Self {
        rcode: RCODE_NXDOMAIN,
        aa: true,
        ede: None,
        counter: Counter::BogusPriv,
    };
    /// `--filterwin2k`: NODATA with AA, no EDE.
    pub const FILTERWIN2K: Self = Self {
        rcode: RCODE_NOERROR,
        aa: true,
        ede: None,
        counter: Counter::Filterwin2k,
    };
    /// `--stop-dns-rebind`: NODATA with AA and EDE 15 (Blocked).
    pub const REBIND: Self = Self {
        rcode: RCODE_NOERROR,
        aa: true,
        ede: Some(EDE_BLOCKED),
        counter: Counter::RebindBlocked,
    };
    /// `--bogus-nxdomain`: NXDOMAIN, no AA, EDE 15 (Blocked).
    pub const BOGUS_NXDOMAIN: Self = Self {
        rcode: RCODE_NXDOMAIN,
        aa: false,
        ede: Some(EDE_BLOCKED),
        counter: Counter::BogusNxDomain,
    };
}

impl Guards {
    /// True when no query-side guard is on (the forwarder can skip [`Guards::check_query`]).
    #[inline]
    pub fn query_guards_off(&self) -> bool {
        !(self.domain_needed || self.bogus_priv || self.filterwin2k)
    }

    /// True when no answer-side guard is on (the forwarder can skip the answer checks).
    #[inline]
    pub fn answer_guards_off(&self) -> bool {
        !self.stop_dns_rebind
            && self.bogus_nxdomain.is_empty()
            && self.ignore_address.is_empty()
            && self.filter.is_empty()
    }

    /// Checks a client query (after local data such as hosts files had its chance, before the
    /// cache and the servers). No allocation.
    ///
    /// Caller's duty: `--bogus-priv` does not apply to a name a `--server=/domain/` or
    /// `--rev-server` rule routes (dnsmasq forwards those); skip the verdict then.
    #[inline]
    pub fn check_query(&self, key: &QuestionKey) -> QueryVerdict {
        if self.query_guards_off() || key.qclass() != CLASS_IN {
            return QueryVerdict::Forward;
        }
        let name = key.name_wire();
        let qtype = key.qtype();
        // dnsmasq: a name without a dot (one label; not the root) is never forwarded for
        // address queries.
        if self.domain_needed
            && matches!(qtype, TYPE_A | TYPE_AAAA | TYPE_ANY)
            && label_count(name) == 1
        {
            return QueryVerdict::Answer(GuardReply::DOMAIN_NEEDED);
        }
        // RFC 6303 §3-4: reverse names of private and special ranges are answered locally.
        if self.bogus_priv
            && matches!(qtype, TYPE_PTR | TYPE_ANY)
            && reverse_name_addr(name).is_some_and(|ip| is_private(ip, false))
        {
            return QueryVerdict::Answer(GuardReply::BOGUS_PRIV);
        }
        if self.filterwin2k
            && (matches!(qtype, TYPE_SOA | TYPE_SRV) || (qtype == TYPE_ANY && name.contains(&b'_')))
        {
            return QueryVerdict::Answer(GuardReply::FILTERWIN2K);
        }
        QueryVerdict::Forward
    }

    /// Checks an upstream answer (already matched to its query) for `key`: `--ignore-address`,
    /// then `--bogus-nxdomain`, then `--stop-dns-rebind`, on the A and AAAA records of the
    /// ANSWER section. A reply that cannot be parsed is accepted (the normaliser rejects it).
    pub fn check_answer(&self, key: &QuestionKey, reply: &[u8]) -> AnswerVerdict {
        let rebind = self.stop_dns_rebind
            && !self
                .rebind_domain_ok
                .iter()
                .any(|d| is_subdomain_of(key.name_wire(), d));
        if !rebind && self.bogus_nxdomain.is_empty() && self.ignore_address.is_empty() {
            return AnswerVerdict::Accept;
        }
        let mut bogus = false;
        let mut private = false;
        for ip in answer_addresses(reply) {
            if self.ignore_address.iter().any(|p| p.contains(ip)) {
                return AnswerVerdict::Ignore;
            }
            bogus |= self.bogus_nxdomain.iter().any(|p| p.contains(ip));
            private |= rebind && is_private(ip, self.rebind_localhost_ok);
        }
        if bogus {
            AnswerVerdict::Replace(GuardReply::BOGUS_NXDOMAIN)
        } else if private {
            AnswerVerdict::Replace(GuardReply::REBIND)
        } else {
            AnswerVerdict::Accept
        }
    }

    /// Applies `--filter-A/--filter-AAAA/--filter-rr` to a normalised answer for a `qtype`
    /// query: the filtered copy and the number of records removed, or `None` when nothing is
    /// removed (keep the original). Feeds [`Counter::FilteredRecords`].
    pub fn filter_answer(&self, qtype: u16, answer: &StoredAnswer) -> Option<(StoredAnswer, u16)> {
        if self.filter.is_empty() {
            return None;
        }
        answer.without_answer_records(|rtype| self.filter.removes(qtype, rtype))
    }
}

/// Number of labels in an uncompressed wire name (0 for the root).
fn label_count(name: &[u8]) -> usize {
    label_offsets(name).count().saturating_sub(1)
}

/// The addresses of the A and AAAA records (class IN) in the ANSWER section of `reply`.
/// Stops quietly at the first record that does not parse.
pub fn answer_addresses(reply: &[u8]) -> impl Iterator<Item = IpAddr> + '_ {
    let head = parse_response_head(reply).ok();
    let (mut pos, mut left) = match &head {
        Some(h) => (h.question.end, h.header().ancount()),
        None => (0, 0),
    };
    core::iter::from_fn(move || {
        while left > 0 {
            left -= 1;
            let Ok(r) = walk_record(reply, pos) else {
                left = 0;
                return None;
            };
            pos = r.rdata.end;
            if r.class != CLASS_IN {
                continue;
            }
            let rd = &reply[r.rdata.clone()];
            match (r.rtype, rd.len()) {
                (TYPE_A, 4) => return Some(IpAddr::V4(Ipv4Addr::new(rd[0], rd[1], rd[2], rd[3]))),
                (TYPE_AAAA, 16) => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(rd);
                    return Some(IpAddr::V6(Ipv6Addr::from(b)));
                }
                _ => {}
            }
        }
        None
    })
}

/// True for the addresses dnsmasq treats as private for `--stop-dns-rebind` and `--bogus-priv`:
/// the RFC 6303 §4 ranges. `localhost_ok` exempts 127.0.0.0/8, 0.0.0.0/8, `::1` and `::`
/// (`--rebind-localhost-ok`).
pub fn is_private(ip: IpAddr, localhost_ok: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4, localhost_ok),
        IpAddr::V6(v6) => {
            let b = v6.octets();
            let seg0 = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                // RFC 4291 §2.5.5.2: IPv4-mapped addresses are judged as IPv4.
                return is_private_v4(v4, localhost_ok);
            }
            (!localhost_ok && (v6.is_unspecified() || v6.is_loopback()))
                // fe80::/10 link-local, fec0::/10 site-local (RFC 6303 §4.5-4.6).
                || (seg0 & 0xffc0) == 0xfe80
                || (seg0 & 0xffc0) == 0xfec0
                // fd00::/8 locally assigned ULA (RFC 6303 §4.4; fc00::/8 passes, as in dnsmasq 2.90).
                || b[0] == 0xfd
                // 2001:db8::/32 documentation (RFC 6303 §4.7).
                || (seg0 == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

fn is_private_v4(ip: Ipv4Addr, localhost_ok: bool) -> bool {
    let a = u32::from(ip);
    let in_net = |net: u32, bits: u32| a >> (32 - bits) == net >> (32 - bits);
    // RFC 6303 §4.1-4.3 and RFC 5735 §3 ranges.
    (!localhost_ok && (in_net(0x7f00_0000, 8) || in_net(0, 8)))
        || in_net(0x0a00_0000, 8)
        || in_net(0xac10_0000, 12)
        || in_net(0xc0a8_0000, 16)
        || in_net(0xa9fe_0000, 16)
        || in_net(0xc000_0200, 24)
        || in_net(0xc633_6400, 24)
        || in_net(0xcb00_7100, 24)
        || a == u32::MAX
}

/// The address a reverse name stands for (RFC 1035 §3.5 `in-addr.arpa`, RFC 3596 §2.5
/// `ip6.arpa`), as dnsmasq reads it: missing trailing parts are zero (`168.192.in-addr.arpa` is
/// 192.168.0.0), IPv4 labels are decimal numbers (more than four shift the first ones out),
/// IPv6 labels are single hex digits, at most 32. `None` for anything else.
pub fn reverse_name_addr(name: &[u8]) -> Option<IpAddr> {
    const V4_SUFFIX: &[u8] = b"\x07in-addr\x04arpa\x00";
    const V6_SUFFIX: &[u8] = b"\x03ip6\x04arpa\x00";
    if let Some(prefix) = name.strip_suffix(V4_SUFFIX) {
        if prefix.is_empty() {
            return None;
        }
        let mut addr = 0u32;
        for l in labels(prefix) {
            if l.is_empty() || !l.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let n = l.iter().fold(0u32, |acc, &d| {
                acc.wrapping_mul(10).wrapping_add(u32::from(d - b'0'))
            });
            addr = (addr >> 8) | (n << 24);
        }
        return Some(IpAddr::V4(Ipv4Addr::from(addr)));
    }
    if let Some(prefix) = name.strip_suffix(V6_SUFFIX) {
        if prefix.is_empty() {
            return None;
        }
        let mut nibbles = [0u8; 32];
        let mut count = 0usize;
        for l in labels(prefix) {
            let [d] = l else { return None };
            let v = char::from(*d).to_digit(16)? as u8;
            if count == 32 {
                return None;
            }
            nibbles[count] = v;
            count += 1;
        }
        // The last label is the most significant nibble.
        let mut bytes = [0u8; 16];
        for (i, v) in nibbles[..count].iter().rev().enumerate() {
            bytes[i / 2] |= if i % 2 == 0 { v << 4 } else { *v };
        }
        return Some(IpAddr::V6(Ipv6Addr::from(bytes)));
    }
    None
}

/// The labels of an uncompressed wire name without the root label.
fn labels(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0usize;
    core::iter::from_fn(move || {
        let len = usize::from(*name.get(pos)?);
        if len == 0 {
            return None;
        }
        let l = name.get(pos + 1..pos + 1 + len)?;
        pos += 1 + len;
        Some(l)
    })
}

/// Writes a guard's reply to `query` into `out`: header and question (case kept), the rcode,
/// RA, AA if the guard sets it, and, if the query had EDNS, an OPT record carrying the Extended
/// DNS Error (RFC 8914 §2: OPTION-CODE 15, INFO-CODE, no EXTRA-TEXT). Returns the length, 0 if
/// `out` is too small.
pub fn write_guard_reply(
    query: &Query<'_>,
    reply: GuardReply,
    our_udp_size: u16,
    out: &mut [u8],
) -> usize {
    let n = write_error_reply(query, reply.rcode, out, our_udp_size);
    if n == 0 {
        return 0;
    }
    if reply.aa {
        let f = u16::from_be_bytes([out[2], out[3]]) | flags::AA;
        out[2..4].copy_from_slice(&f.to_be_bytes());
    }
    let Some(code) = reply.ede else { return n };
    if query.edns.is_none() || n < HEADER_LEN + OPT_LEN || out.len() < n + 6 {
        return n;
    }
    // The OPT record written last ends with its RDLENGTH (0); the option follows it.
    out[n - 2..n].copy_from_slice(&6u16.to_be_bytes());
    out[n..n + 2].copy_from_slice(&OPT_CODE_EDE.to_be_bytes());
    out[n + 2..n + 4].copy_from_slice(&2u16.to_be_bytes());
    out[n + 4..n + 6].copy_from_slice(&code.to_be_bytes());
    n + 6
}

#[cfg(test)]
mod tests;
