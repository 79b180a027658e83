//! Upstream answers reduced to what may be cached and replayed (slow path: once per upstream reply).
//!
//! [`normalize_response`] checks an upstream reply record by record and keeps only what belongs to
//! the question; the result, a [`StoredAnswer`], is a ready-made reply body
//! that [`StoredAnswer::write_reply`] replays with a memcpy plus a few patched fields.
//!
//! The bailiwick rules and their sources are in [`normalize`].

use super::name::{MAX_NAME_LEN, is_subdomain_of, label_offsets, read_name, skip_name};
use super::packet::{
    HEADER_LEN, MIN_UDP_SIZE, OPT_LEN, PacketError, Query, QuestionKey, RCODE_NOERROR,
    RCODE_NXDOMAIN, TYPE_OPT, be32, flags, parse_response_head, reply_flags, set_counts, set_flags,
    set_id, walk_record, write_opt,
};
use bytes::{AnswerBytes, answer_bytes, heap_len};

const CLASS_IN: u16 = 1;
const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_PTR: u16 = 12;
const TYPE_MX: u16 = 15;
const TYPE_SRV: u16 = 33;
const TYPE_AAAA: u16 = 28;
const TYPE_DNAME: u16 = 39;
const TYPE_DS: u16 = 43;
const TYPE_RRSIG: u16 = 46;
const TYPE_NSEC: u16 = 47;
const TYPE_NSEC3: u16 = 50;
const TYPE_ANY: u16 = 255;

/// Longest CNAME chain followed inside one answer.
pub const MAX_CHAIN: usize = 16;

/// What an answer says about its question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnswerKind {
    /// NOERROR with at least one record of the asked type (any record for QTYPE=ANY).
    Positive,
    /// NXDOMAIN (RFC 2308 §2.1).
    NxDomain,
    /// NOERROR without records of the asked type (RFC 2308 §2.2).
    NoData,
    /// Any other RCODE (SERVFAIL, REFUSED, ...): passed on, never cached.
    Error,
}

/// Cache-time limits applied while normalising (dnsmasq `--min-cache-ttl`, `--max-cache-ttl`, `--neg-ttl`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Raise every non-zero record TTL to at least this.
    pub min_cache_ttl: Option<u32>,
    /// Cap every record TTL (and the negative TTL) at this.
    pub max_cache_ttl: Option<u32>,
    /// Negative TTL to use when a negative answer has no SOA.
    pub neg_ttl: Option<u32>,
}

/// Counts of what [`normalize_response`] kept and dropped, for stats and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NormalizeReport {
    /// ANSWER records kept.
    pub kept_answer: u16,
    /// AUTHORITY records kept.
    pub kept_authority: u16,
    /// ANSWER records dropped as out of bailiwick / off the chain.
    pub dropped_answer: u16,
    /// AUTHORITY records dropped.
    pub dropped_authority: u16,
    /// ADDITIONAL records dropped (all of them except the OPT).
    pub dropped_additional: u16,
    /// ANSWER + AUTHORITY records dropped by the chain/bailiwick rules (the additional section,
    /// dropped wholesale, is not included).
    pub dropped_records: u32,
    /// The upstream reply had TC=1 (nothing kept, nothing cacheable).
    pub truncated: bool,
}

impl NormalizeReport {
    /// Total records dropped.
    pub fn dropped(&self) -> u32 {
        u32::from(self.dropped_answer)
            + u32::from(self.dropped_authority)
            + u32::from(self.dropped_additional)
    }
}

/// Where one record's TTL lives in the stored bytes, and its stored value (while an answer is
/// built; the answer keeps the offsets, the value is in its message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TtlSlot {
    offset: u16,
    ttl: u32,
}

/// Records whose TTL offsets are kept inside the answer (and so inside its cache entry).
const TTL_INLINE: usize = 4;

/// The offsets of the records' TTLs in the stored message, one per record in record order
/// (ANCOUNT + NSCOUNT of the message): inline for up to [`TTL_INLINE`] records, in the same 16
/// octets a boxed table takes. A hit patches every TTL; with the table always in its own
/// allocation, that was a third cache miss, taken only after the entry's first line had arrived
/// (the pointer is in it).
#[derive(Clone, Debug, PartialEq, Eq)]
enum TtlOffsets {
    /// Up to [`TTL_INLINE`] offsets; the record count says how many are used.
    Inline([u16; TTL_INLINE]),
    /// More.
    Boxed(Box<[u16]>),
}

impl TtlOffsets {
    /// The TTL offsets of `slots`.
    fn new(slots: &[TtlSlot]) -> Self {
        if slots.len() <= TTL_INLINE {
            let mut offsets = [0u16; TTL_INLINE];
            for (o, s) in offsets.iter_mut().zip(slots) {
                *o = s.offset;
            }
            TtlOffsets::Inline(offsets)
        } else {
            TtlOffsets::Boxed(slots.iter().map(|s| s.offset).collect())
        }
    }

    /// The offsets of the first `n` records (`n` at most the message's record count).
    #[inline]
    fn first(&self, n: usize) -> &[u16] {
        match self {
            TtlOffsets::Inline(o) => &o[..n.min(TTL_INLINE)],
            TtlOffsets::Boxed(o) => &o[..n.min(o.len())],
        }
    }

    /// Octets held outside the answer.
    fn heap_len(&self) -> usize {
        match self {
            TtlOffsets::Inline(_) => 0,
            TtlOffsets::Boxed(o) => o.len() * core::mem::size_of::<u16>(),
        }
    }
}

/// An upstream answer reduced to what may be cached and passed on, in a form that can be replayed cheaply.
///
/// `bytes` is a complete DNS message with ID 0: header (counts set, ARCOUNT 0), the question in
/// lowercase, then the kept ANSWER and AUTHORITY records, whose names point at most into the
/// question name at offset 12, so the body is self-contained once a query's question (same name,
/// any case) is copied over it.
///
/// Layout (`repr(C)`, declaration order): the fields a cache hit reads come first, so that with
/// [`CacheEntry`](super::cache::CacheEntry)'s times they fill its first cache line; the message
/// comes last, inline when short ([`bytes::AnswerBytes`]), in the entry's next lines. A hit then
/// reads two adjacent lines of the entry (and, for more than four records, the TTL table),
/// where it used to read two straddled lines, then the message's own allocation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct StoredAnswer {
    ttl_offsets: TtlOffsets,
    question_end: u16,
    /// End of the ANSWER section (start of AUTHORITY).
    answer_end: u16,
    ancount: u16,
    nscount: u16,
    rcode: u8,
    kind: AnswerKind,
    truncated: bool,
    /// DNSSEC validated it secure (or, with `--proxy-dnssec`, the upstream set AD): replies
    /// carry AD when the client asked with AD or DO.
    secure: bool,
    upstream_flags: u16,
    cache_ttl: u32,
    min_ttl: u32,
    neg_ttl: Option<u32>,
    /// Last: the message, inline when short, right after the hot fields' line.
    bytes: AnswerBytes,
}

impl StoredAnswer {
    /// A copy without the ANSWER records whose type `remove` selects (`--filter-A`,
    /// `--filter-AAAA`, `--filter-rr`), and the number removed; `None` when nothing matched.
    ///
    /// Stored names point only into the question (see [`StoredAnswer`]), so records can be
    /// dropped by copying the others verbatim. A positive answer left without a record of the
    /// asked type becomes NODATA without AUTHORITY records, as dnsmasq 2.90 answers then.
    pub fn without_answer_records(&self, remove: impl Fn(u16) -> bool) -> Option<(Self, u16)> {
        let qend = usize::from(self.question_end);
        let qtype = u16::from_be_bytes([self.bytes[qend - 4], self.bytes[qend - 3]]);
        // Records of the stored message: (range, type, section 0/1).
        let mut recs: Vec<(core::ops::Range<usize>, u16, u8)> = Vec::new();
        let mut pos = qend;
        let total = usize::from(self.ancount) + usize::from(self.nscount);
        for i in 0..total {
            let r = walk_record(&self.bytes, pos).ok()?;
            recs.push((
                pos..r.rdata.end,
                r.rtype,
                u8::from(i >= usize::from(self.ancount)),
            ));
            pos = r.rdata.end;
        }
        let removed = recs
            .iter()
            .filter(|(_, t, sec)| *sec == 0 && remove(*t))
            .count();
        if removed == 0 {
            return None;
        }
        let positive_left = recs
            .iter()
            .any(|(_, t, sec)| *sec == 0 && !remove(*t) && (*t == qtype || qtype == TYPE_ANY));
        let kind = match self.kind {
            AnswerKind::Positive if !positive_left => AnswerKind::NoData,
            k => k,
        };
        let keep_authority = !(self.kind == AnswerKind::Positive && kind == AnswerKind::NoData);
        let mut out = Vec::with_capacity(self.bytes.len());
        out.extend_from_slice(&self.bytes[..qend]);
        let mut ttls = Vec::new();
        let (mut an, mut ns) = (0u16, 0u16);
        let mut answer_end = None;
        for (range, t, sec) in recs {
            let keep = if sec == 0 { !remove(t) } else { keep_authority };
            if !keep {
                continue;
            }
            if sec == 0 {
                an += 1;
            } else {
                ns += 1;
                answer_end.get_or_insert(out.len());
            }
            let at = out.len();
            out.extend_from_slice(&self.bytes[range.clone()]);
            // The TTL sits 4 bytes after the (compressed) owner name's end.
            let fixed = skip_name(&self.bytes, range.start).ok()? - range.start + at;
            let ttl = be32(&out, fixed + 4).ok()?;
            ttls.push(TtlSlot {
                offset: (fixed + 4) as u16,
                ttl,
            });
        }
        set_counts(&mut out, 1, an, ns, 0);
        let min_ttl = ttls.iter().map(|t| t.ttl).min().unwrap_or(0);
        let answer_end = answer_end.unwrap_or(out.len());
        Some((
            StoredAnswer {
                bytes: answer_bytes(out),
                question_end: self.question_end,
                answer_end: answer_end as u16,
                ttl_offsets: TtlOffsets::new(&ttls),
                rcode: self.rcode,
                upstream_flags: self.upstream_flags,
                kind,
                cache_ttl: self.cache_ttl,
                min_ttl,
                neg_ttl: self.neg_ttl,
                ancount: an,
                nscount: ns,
                truncated: self.truncated,
                secure: self.secure,
            },
            removed as u16,
        ))
    }

    /// Rewrites the address of every A record (class IN) of the ANSWER section for which `map`
    /// gives a new one (`--alias`); returns how many were rewritten. In place: an A record's
    /// RDATA is four bytes either way.
    pub fn rewrite_answer_a(
        &mut self,
        map: impl Fn(std::net::Ipv4Addr) -> Option<std::net::Ipv4Addr>,
    ) -> u16 {
        let mut pos = usize::from(self.question_end);
        let mut rewritten = 0;
        for _ in 0..self.ancount {
            let Ok(r) = walk_record(&self.bytes, pos) else {
                break;
            };
            pos = r.rdata.end;
            if r.rtype != TYPE_A || r.class != CLASS_IN || r.rdata.len() != 4 {
                continue;
            }
            let rd = &mut self.bytes[r.rdata];
            let old = std::net::Ipv4Addr::new(rd[0], rd[1], rd[2], rd[3]);
            if let Some(new) = map(old) {
                rd.copy_from_slice(&new.octets());
                rewritten += 1;
            }
        }
        rewritten
    }

    /// Marks the answer secure (DNSSEC-validated), or not.
    pub fn set_secure(&mut self, secure: bool) {
        self.secure = secure;
    }
    /// True when the answer was validated secure.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// TTL in seconds for which it may be cached (0 = do not cache)
    pub fn cache_ttl(&self) -> u32 {
        self.cache_ttl
    }
    /// RCODE of the answer (extended bits included when the upstream OPT carried them).
    pub fn rcode(&self) -> u8 {
        self.rcode
    }
    /// True for NXDOMAIN and NODATA answers.
    pub fn is_negative(&self) -> bool {
        matches!(self.kind, AnswerKind::NxDomain | AnswerKind::NoData)
    }
    /// Positive / NXDOMAIN / NODATA / error.
    pub fn kind(&self) -> AnswerKind {
        self.kind
    }
    /// Length of the stored message (header + question + records, no OPT).
    pub fn wire_len(&self) -> usize {
        self.bytes.len()
    }
    /// The stored message (ID 0, lowercase question), for inspection and tests.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Smallest stored record TTL (0 if no records).
    pub fn min_ttl(&self) -> u32 {
        self.min_ttl
    }
    /// Negative-caching TTL (RFC 2308 §5) for NXDOMAIN/NODATA answers.
    pub fn neg_ttl(&self) -> Option<u32> {
        self.neg_ttl
    }
    /// Flags word of the upstream reply.
    pub fn upstream_flags(&self) -> u16 {
        self.upstream_flags
    }
    /// Number of stored ANSWER and AUTHORITY records.
    pub fn counts(&self) -> (u16, u16) {
        (self.ancount, self.nscount)
    }
    /// The upstream reply had TC=1; replays carry TC=1 and no records.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
    /// True if the stored question is `key` (name, type and class).
    #[inline]
    pub fn answers(&self, key: &QuestionKey) -> bool {
        let qend = usize::from(self.question_end);
        let name = key.name_wire();
        let bytes: &[u8] = &self.bytes;
        qend == HEADER_LEN + name.len() + 4
            && &bytes[HEADER_LEN..qend - 4] == name
            && bytes[qend - 4..qend - 2] == key.qtype().to_be_bytes()
            && bytes[qend - 2..qend] == key.qclass().to_be_bytes()
    }
    /// Approximate heap + inline memory used, for cache weighting.
    pub fn mem_size(&self) -> usize {
        core::mem::size_of::<Self>() + heap_len(&self.bytes) + self.ttl_offsets.heap_len()
    }

    /// Writes the reply for `query` into out: copies stored bytes, sets ID from the query, QR=1, RA=1, RD copied from the
    /// query, CD copied, AA=0, AD cleared (no DNSSEC yet), rcode; copies the query's question name bytes over the stored question
    /// (0x20 / exact case preserved, RFC 1035 §7.3 clients compare); TTLs = max(0, original - elapsed_secs) capped by max_ttl;
    /// appends an OPT (udp size = our_udp_size, DO echoed) if the query had EDNS (RFC 6891 §7); if the result exceeds the
    /// client's limit (512 without EDNS, else min(client udp_size, our_udp_size), at least 512) and `udp` is true: truncates to
    /// header+question(+OPT) with TC=1 (RFC 1035 §4.2.1 / RFC 2181 §9). Returns the length written. No allocation.
    ///
    /// Before truncating a positive answer, the AUTHORITY section alone is left out if the ANSWER
    /// section then fits: it is not needed to answer, so TC stays clear (RFC 2181 §9).
    /// Returns 0 if `out` cannot hold even the truncated reply (UDP) or the full reply (TCP).
    #[inline]
    pub fn write_reply(
        &self,
        query: &Query<'_>,
        elapsed_secs: u32,
        max_ttl: Option<u32>,
        our_udp_size: u16,
        udp: bool,
        out: &mut [u8],
    ) -> usize {
        let opt = query.edns.is_some() || self.rcode > 15;
        let opt_len = if opt { OPT_LEN } else { 0 };
        // One look at where the message is kept (inline or boxed), not one per use.
        let bytes: &[u8] = &self.bytes;
        let body = bytes.len();
        let qend = usize::from(self.question_end);
        let room = if udp {
            query.udp_limit(our_udp_size).min(out.len())
        } else {
            out.len()
        };
        let answer_end = usize::from(self.answer_end);
        let (n, an, ns, truncate) = if self.truncated {
            (qend, 0, 0, true)
        } else if body + opt_len <= room {
            (body, self.ancount, self.nscount, false)
        } else if !udp {
            return 0;
        } else if self.kind == AnswerKind::Positive && answer_end + opt_len <= room {
            (answer_end, self.ancount, 0, false)
        } else {
            (qend, 0, 0, true)
        };
        if out.len() < n + opt_len {
            return 0;
        }
        out[..n].copy_from_slice(&bytes[..n]);
        set_id(out, query.id);
        let mut f = reply_flags(query.flags, self.rcode);
        if truncate {
            f |= flags::TC;
        }
        // RFC 6840 §5.7/§5.8: AD on a validated answer when the query had AD or DO.
        if self.secure && (query.flags & flags::AD != 0 || query.do_bit()) {
            f |= flags::AD;
        }
        set_flags(out, f);
        set_counts(out, 1, an, ns, u16::from(opt));
        // Same name, so same length; the query's exact bytes restore its case (0x20 clients).
        if query.question.len() == qend - HEADER_LEN
            && let Some(q) = query.bytes.get(query.question.clone())
        {
            out[HEADER_LEN..qend].copy_from_slice(q);
        }
        // Slots are in record order, so the ones inside the written part come first.
        // The stored message holds each record's TTL as received; it was just copied to `out`.
        for &o in self.ttl_offsets.first(usize::from(an) + usize::from(ns)) {
            let o = usize::from(o);
            let stored = u32::from_be_bytes([out[o], out[o + 1], out[o + 2], out[o + 3]]);
            let mut t = stored.saturating_sub(elapsed_secs);
            if let Some(m) = max_ttl {
                t = t.min(m);
            }
            out[o..o + 4].copy_from_slice(&t.to_be_bytes());
        }
        if opt {
            write_opt(
                &mut out[n..n + OPT_LEN],
                our_udp_size.max(MIN_UDP_SIZE),
                self.rcode,
                query.do_bit(),
            );
        }
        n + opt_len
    }
}

mod bytes;
mod normalize;
mod strip;

pub use normalize::normalize_response;

#[cfg(test)]
mod tests;
