//! CHAOS-class TXT answers: `version.bind`, `authors.bind` and the statistics, as dnsmasq
//! answers them.
//!
//! dnsmasq 2.90 answers CHAOS questions for names in the `bind` and `server` domains itself:
//! the names below get a TXT record (AA=1), every other name there (`hostname.bind`,
//! `id.server`, `version.server`, other types) gets NOTIMP, and with `--no-ident` all of them
//! get NOTIMP. CHAOS questions for other names are forwarded. `version.bind` says
//! `ringmasq-VERSION` and `authors.bind` names ringmasq's authors (dnsmasq names its own); both
//! carry TTL `--local-ttl`, the statistics TTL 0.
//!
//! `cachesize.bind`, `insertions.bind`, `evictions.bind`, `misses.bind`, `hits.bind`, `auth.bind`
//! and `servers.bind` are dnsmasq's names; `malformed.bind` and `rejected.bind` are ringmasq's own
//! (malformed client packets dropped, upstream answers rejected), so tests and operators can read
//! every drop counter over DNS.

use super::cache::CacheStats;
use super::name::is_subdomain_of;
use super::packet::Query;
use super::servers::ServerTable;
use super::stats::{DropReason, StatsRegistry};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// RFC 1035 §3.2.4: class CH.
pub const CLASS_CHAOS: u16 = 3;
const TYPE_TXT: u16 = 16;
const TYPE_ANY: u16 = 255;

/// The statistic a CHAOS name asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosName {
    /// `version.bind`
    Version,
    /// `authors.bind`
    Authors,
    /// `cachesize.bind`
    CacheSize,
    /// `insertions.bind`
    Insertions,
    /// `evictions.bind`
    Evictions,
    /// `misses.bind`
    Misses,
    /// `hits.bind`
    Hits,
    /// `auth.bind`
    Auth,
    /// `servers.bind`
    Servers,
    /// `malformed.bind` (ringmasq)
    Malformed,
    /// `rejected.bind` (ringmasq)
    Rejected,
}

impl ChaosName {
    /// Recognises a CHAOS TXT question by its lowercase wire name.
    pub fn from_query(q: &Query<'_>) -> Option<Self> {
        if q.key.qclass() != CLASS_CHAOS || !matches!(q.key.qtype(), TYPE_TXT | TYPE_ANY) {
            return None;
        }
        Some(match q.key.name_wire() {
            b"\x07version\x04bind\x00" => Self::Version,
            b"\x07authors\x04bind\x00" => Self::Authors,
            b"\x09cachesize\x04bind\x00" => Self::CacheSize,
            b"\x0ainsertions\x04bind\x00" => Self::Insertions,
            b"\x09evictions\x04bind\x00" => Self::Evictions,
            b"\x06misses\x04bind\x00" => Self::Misses,
            b"\x04hits\x04bind\x00" => Self::Hits,
            b"\x04auth\x04bind\x00" => Self::Auth,
            b"\x07servers\x04bind\x00" => Self::Servers,
            b"\x09malformed\x04bind\x00" => Self::Malformed,
            b"\x08rejected\x04bind\x00" => Self::Rejected,
            _ => return None,
        })
    }
}

/// True for a CHAOS-class question in the `bind` or `server` domain: answered here (a TXT
/// record or NOTIMP), never forwarded.
pub fn is_chaos_local(q: &Query<'_>) -> bool {
    if q.key.qclass() != CLASS_CHAOS {
        return false;
    }
    let name = q.key.name_wire();
    is_subdomain_of(name, b"\x04bind\x00") || is_subdomain_of(name, b"\x06server\x00")
}

/// `version.bind` text.
pub const VERSION_TEXT: &str = concat!("ringmasq-", env!("CARGO_PKG_VERSION"));
/// `authors.bind` text.
pub const AUTHORS_TEXT: &str = "the ringmasq developers";

/// What the statistics answers are computed from.
pub struct StatsView<'a> {
    /// The shared cache's counters.
    pub cache: CacheStats,
    /// Every worker's counters.
    pub registry: &'a StatsRegistry,
    /// The current servers.
    pub servers: &'a ServerTable,
    /// TTL of `version.bind` and `authors.bind` (`--local-ttl`).
    pub local_ttl: u32,
}

/// Writes the TXT answer for `name` into `out`; returns the length, or None if `out` is too small.
/// This is a slow path (it formats text); it is used only for CHAOS queries.
pub fn write_chaos_reply(
    q: &Query<'_>,
    name: ChaosName,
    view: &StatsView<'_>,
    out: &mut [u8],
) -> Option<usize> {
    let mut strings: Vec<String> = Vec::new();
    let one = |v: u64| vec![v.to_string()];
    let mut ttl = 0;
    match name {
        ChaosName::Version => {
            strings = vec![VERSION_TEXT.to_string()];
            ttl = view.local_ttl;
        }
        ChaosName::Authors => {
            strings = vec![AUTHORS_TEXT.to_string()];
            ttl = view.local_ttl;
        }
        ChaosName::CacheSize => strings = one(view.cache.capacity as u64),
        ChaosName::Insertions => strings = one(view.cache.insertions),
        ChaosName::Evictions => strings = one(view.cache.evictions),
        ChaosName::Misses => strings = one(view.cache.misses),
        ChaosName::Hits => strings = one(view.cache.hits),
        ChaosName::Auth => strings = one(0),
        ChaosName::Malformed => {
            strings = one(view.registry.drops(DropReason::MalformedQuery)
                + view.registry.drops(DropReason::ResponseFromClient))
        }
        ChaosName::Rejected => {
            strings = one(view.registry.drops(DropReason::RejectedAnswer)
                + view.registry.drops(DropReason::MalformedAnswer))
        }
        ChaosName::Servers => {
            for s in view.servers.servers() {
                let mut t = String::new();
                let _ = write!(
                    t,
                    "{}#{} {} {}",
                    s.addr.ip(),
                    s.addr.port(),
                    s.queries_sent.load(Ordering::Relaxed),
                    s.queries_failed.load(Ordering::Relaxed)
                );
                strings.push(t);
            }
        }
    }
    // Header + the question exactly as asked.
    let qlen = q.question.len();
    let mut len = 12 + qlen;
    if out.len() < len {
        return None;
    }
    out[..12].copy_from_slice(&q.bytes[..12]);
    out[12..len].copy_from_slice(&q.bytes[q.question.clone()]);
    // QR=1, AA=1, RA=1, keep RD and opcode; rcode NOERROR (RFC 1035 §4.1.1).
    let rd = q.flags & 0x0100;
    let flags: u16 = 0x8000 | 0x0400 | 0x0080 | rd;
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..6].copy_from_slice(&1u16.to_be_bytes());
    let ancount = if name == ChaosName::Servers {
        strings.len() as u16
    } else {
        1
    };
    out[6..8].copy_from_slice(&ancount.to_be_bytes());
    out[8..12].fill(0);
    // dnsmasq answers servers.bind with one TXT record per server; the others with one string.
    let records: Vec<Vec<&str>> = if name == ChaosName::Servers {
        strings.iter().map(|s| vec![s.as_str()]).collect()
    } else {
        vec![strings.iter().map(String::as_str).collect()]
    };
    for rec in records {
        let rdlen: usize = rec.iter().map(|s| 1 + s.len().min(255)).sum();
        let need = 2 + 2 + 2 + 4 + 2 + rdlen;
        if out.len() < len + need {
            return None;
        }
        let o = &mut out[len..len + need];
        o[0..2].copy_from_slice(&0xC00Cu16.to_be_bytes()); // pointer to the question name
        o[2..4].copy_from_slice(&TYPE_TXT.to_be_bytes());
        o[4..6].copy_from_slice(&CLASS_CHAOS.to_be_bytes());
        o[6..10].copy_from_slice(&ttl.to_be_bytes());
        o[10..12].copy_from_slice(&(rdlen as u16).to_be_bytes());
        let mut p = 12;
        for s in rec {
            let b = &s.as_bytes()[..s.len().min(255)];
            o[p] = b.len() as u8;
            o[p + 1..p + 1 + b.len()].copy_from_slice(b);
            p += 1 + b.len();
        }
        len += need;
    }
    Some(len)
}
