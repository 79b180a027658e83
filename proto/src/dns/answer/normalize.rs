//! Reducing an upstream reply to a [`StoredAnswer`] (slow path: once per upstream reply).
//!
//! Rules, with their sources:
//! - ANSWER: a record is kept if its class is the question's and its owner is on the question's
//!   chain: the qname, then each CNAME target in order (RFC 2181 §5.4.1 ranking, RFC 5452 §6 /
//!   §9.1 bailiwick). DNAME records are kept if their owner is an ancestor of a chain name
//!   (RFC 6672 §2.2); RRSIGs follow the owner rule.
//! - AUTHORITY: SOA, NS, DS, RRSIG, NSEC and NSEC3 are kept if their owner is a chain name or an
//!   ancestor of one (so the negative-answer SOA of the final target's zone is kept); NSEC/NSEC3/RRSIG
//!   are also kept under a kept SOA/NS owner (denial-of-existence records). Everything else is dropped.
//! - ADDITIONAL: everything is dropped (simplest rule that is safe against RFC 5452 §6 poisoning;
//!   clients ask again for glue); the OPT RR is stripped (RFC 6891 §6.1.1: OPT is never cached).
//! - TTLs with the top bit set count as 0 (RFC 2181 §8). Negative answers are cached for
//!   min(SOA TTL, SOA MINIMUM) (RFC 2308 §5), or `neg_ttl` if there is no SOA, else not at all.
//! - Names in RDATA of CNAME/NS/PTR/MX/SOA/SRV/DNAME are decompressed, lowercased (as in the
//!   RFC 4034 §6.2 canonical form) and re-emitted; they are compressed only against the question
//!   name at offset 12, and SRV/DNAME targets never (RFC 2782, RFC 3597 §4). Other RDATA is copied verbatim.

use super::*;

/// A piece of re-emitted RDATA.
enum Part {
    /// Bytes copied from the reply.
    Raw(core::ops::Range<usize>),
    /// A decompressed name; `true` if it may be compressed against the question.
    Name(Vec<u8>, bool),
}

/// One record of the reply, decoded.
struct Rec {
    section: u8,
    owner: Vec<u8>,
    rtype: u16,
    class: u16,
    ttl: u32,
    parts: Vec<Part>,
    keep: bool,
}

fn read_owned_name(msg: &[u8], at: usize) -> Result<(Vec<u8>, usize), PacketError> {
    let mut buf = [0u8; MAX_NAME_LEN];
    let (len, end) = read_name(msg, at, &mut buf)?;
    Ok((buf[..len].to_vec(), end))
}

/// Decodes RDATA of the types whose RDATA holds names (RFC 1035 §3.3, RFC 2782, RFC 6672);
/// the names must end exactly where the fixed fields say.
fn decode_rdata(
    msg: &[u8],
    rtype: u16,
    class: u16,
    rd: core::ops::Range<usize>,
) -> Result<Vec<Part>, PacketError> {
    // RFC 1035 §3.4.1: an Internet A RDATA is 4 octets; RFC 3596 §2.2: AAAA is 16. Any other
    // length would be cached and handed to clients as an address.
    let fixed = match (rtype, class) {
        (TYPE_A, CLASS_IN) => Some(4),
        (TYPE_AAAA, CLASS_IN) => Some(16),
        _ => None,
    };
    if fixed.is_some_and(|n| rd.len() != n) {
        return Err(PacketError::BadRdata);
    }
    let name_at = |at: usize, compress: bool| -> Result<(Part, usize), PacketError> {
        let (n, end) = read_owned_name(msg, at)?;
        if end > rd.end {
            return Err(PacketError::BadRdata);
        }
        Ok((Part::Name(n, compress), end))
    };
    let (parts, end) = match rtype {
        TYPE_CNAME | TYPE_NS | TYPE_PTR => {
            let (n, e) = name_at(rd.start, true)?;
            (vec![n], e)
        }
        TYPE_DNAME => {
            let (n, e) = name_at(rd.start, false)?;
            (vec![n], e)
        }
        TYPE_MX => {
            if rd.len() < 3 {
                return Err(PacketError::BadRdata);
            }
            let (n, e) = name_at(rd.start + 2, true)?;
            (vec![Part::Raw(rd.start..rd.start + 2), n], e)
        }
        TYPE_SRV => {
            if rd.len() < 7 {
                return Err(PacketError::BadRdata);
            }
            let (n, e) = name_at(rd.start + 6, false)?;
            (vec![Part::Raw(rd.start..rd.start + 6), n], e)
        }
        TYPE_SOA => {
            let (m, e1) = name_at(rd.start, true)?;
            let (r, e2) = name_at(e1, true)?;
            if e2 + 20 > rd.end {
                return Err(PacketError::BadRdata);
            }
            (vec![m, r, Part::Raw(e2..e2 + 20)], e2 + 20)
        }
        _ => (vec![Part::Raw(rd.clone())], rd.end),
    };
    if end != rd.end {
        return Err(PacketError::BadRdata);
    }
    Ok(parts)
}

/// Appends `name`, replacing its longest suffix that is also a suffix of `qname` (label-aligned,
/// not just the root) by a pointer into the question at offset 12 (RFC 1035 §4.1.4).
fn emit_name(out: &mut Vec<u8>, name: &[u8], compress: bool, qname: &[u8]) {
    if compress {
        for o in label_offsets(name) {
            let suffix = &name[o..];
            if suffix.len() <= 1 {
                break;
            }
            if let Some(p) = label_offsets(qname).find(|&p| &qname[p..] == suffix) {
                out.extend_from_slice(&name[..o]);
                let ptr = 0xC000u16 | (HEADER_LEN + p) as u16;
                out.extend_from_slice(&ptr.to_be_bytes());
                return;
            }
        }
    }
    out.extend_from_slice(name);
}

/// RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
fn sane_ttl(ttl: u32) -> u32 {
    if ttl & 0x8000_0000 != 0 { 0 } else { ttl }
}

/// Validates and reduces an upstream response for question `key` (see the module docs for the
/// rules). Errors if the reply is malformed, is not a response, or asks a different question.
/// Returns the stored answer and counts of what was kept and dropped.
pub fn normalize_response(
    reply: &[u8],
    key: &QuestionKey,
    opts: &NormalizeOptions,
) -> Result<(StoredAnswer, NormalizeReport), PacketError> {
    let head = parse_response_head(reply)?;
    if head.key.as_ref() != Some(key) {
        return Err(PacketError::QuestionMismatch);
    }
    let h = head.header();
    let truncated = h.tc();
    let (an, ns, ar) = (h.ancount(), h.nscount(), h.arcount());
    let mut report = NormalizeReport {
        truncated,
        ..NormalizeReport::default()
    };

    // Decode every record; a truncated reply may stop anywhere and keeps nothing.
    let mut recs: Vec<Rec> = Vec::new();
    let mut ext_rcode = 0u8;
    let mut seen_opt = false;
    let mut pos = head.question.end;
    let total = u32::from(an) + u32::from(ns) + u32::from(ar);
    for i in 0..total {
        let section = if i < u32::from(an) {
            0
        } else if i < u32::from(an) + u32::from(ns) {
            1
        } else {
            2
        };
        let step = walk_record(reply, pos).and_then(|r| {
            let (owner, _) = read_owned_name(reply, r.owner)?;
            let parts = if section == 2 {
                Vec::new()
            } else {
                decode_rdata(reply, r.rtype, r.class, r.rdata.clone())?
            };
            Ok((r, owner, parts))
        });
        let (r, owner, parts) = match step {
            Ok(x) => x,
            Err(_) if truncated => break,
            Err(e) => return Err(e),
        };
        pos = r.rdata.end;
        if r.rtype == TYPE_OPT {
            // RFC 6891 §6.1.1: one OPT, root owner, additional section only.
            if section != 2 || seen_opt || owner != [0] {
                return Err(PacketError::BadOpt);
            }
            seen_opt = true;
            ext_rcode = (r.ttl >> 24) as u8;
            continue;
        }
        recs.push(Rec {
            section,
            owner,
            rtype: r.rtype,
            class: r.class,
            ttl: sane_ttl(r.ttl),
            parts,
            keep: false,
        });
    }
    let rcode = if ext_rcode < 16 {
        (ext_rcode << 4) | head.rcode
    } else {
        head.rcode
    };

    let qname = key.name_wire();
    let qclass = key.qclass();
    let qtype = key.qtype();

    // The question's chain: qname, then CNAME targets in order (RFC 2181 §10.1.1).
    let mut chain: Vec<Vec<u8>> = vec![qname.to_vec()];
    if !truncated && qtype != TYPE_CNAME {
        while chain.len() < MAX_CHAIN {
            let last = &chain[chain.len() - 1];
            let next = recs.iter().find_map(|r| match (&r.parts[..], r.section) {
                ([Part::Name(t, _)], 0)
                    if r.rtype == TYPE_CNAME && r.class == qclass && r.owner == *last =>
                {
                    Some(t)
                }
                _ => None,
            });
            match next {
                Some(t) if !chain.contains(t) => chain.push(t.clone()),
                _ => break,
            }
        }
    }
    let on_chain = |n: &[u8]| chain.iter().any(|c| c.as_slice() == n);
    let above_chain = |n: &[u8]| chain.iter().any(|c| is_subdomain_of(c, n));

    let mut zones: Vec<Vec<u8>> = Vec::new();
    if !truncated {
        for r in recs.iter_mut() {
            r.keep = match r.section {
                0 => {
                    r.class == qclass
                        && (on_chain(&r.owner) || (r.rtype == TYPE_DNAME && above_chain(&r.owner)))
                }
                1 => {
                    let k = r.class == qclass
                        && matches!(
                            r.rtype,
                            TYPE_SOA | TYPE_NS | TYPE_DS | TYPE_RRSIG | TYPE_NSEC | TYPE_NSEC3
                        )
                        && above_chain(&r.owner);
                    if k && matches!(r.rtype, TYPE_SOA | TYPE_NS) {
                        zones.push(r.owner.clone());
                    }
                    k
                }
                _ => false,
            };
        }
        // The zones that signed kept ANSWER records (RRSIG signer, an ancestor of the owner):
        // their NSEC/NSEC3 records in AUTHORITY prove a wildcard expansion (RFC 4035 §5.3.4).
        for r in recs
            .iter()
            .filter(|r| r.keep && r.section == 0 && r.rtype == TYPE_RRSIG)
        {
            if let [Part::Raw(rd)] = r.parts.as_slice()
                && rd.len() > 18
                && let Ok((signer, end)) = read_owned_name(reply, rd.start + 18)
                && end <= rd.end
                && signer.len() > 1
                && is_subdomain_of(&r.owner, &signer)
            {
                zones.push(signer);
            }
        }
        for r in recs.iter_mut().filter(|r| r.section == 1 && !r.keep) {
            r.keep = r.class == qclass
                && matches!(r.rtype, TYPE_RRSIG | TYPE_NSEC | TYPE_NSEC3)
                && zones.iter().any(|z| is_subdomain_of(&r.owner, z));
        }
    }

    let kind = match rcode {
        RCODE_NXDOMAIN => AnswerKind::NxDomain,
        RCODE_NOERROR => {
            let positive = recs
                .iter()
                .any(|r| r.keep && r.section == 0 && (r.rtype == qtype || qtype == TYPE_ANY));
            if positive {
                AnswerKind::Positive
            } else {
                AnswerKind::NoData
            }
        }
        _ => AnswerKind::Error,
    };

    // Negative TTL, RFC 2308 §5: min(SOA TTL, SOA MINIMUM); the SOA's own TTL is lowered to it.
    let mut neg_ttl = None;
    if matches!(kind, AnswerKind::NxDomain | AnswerKind::NoData) {
        for r in recs
            .iter_mut()
            .filter(|r| r.keep && r.section == 1 && r.rtype == TYPE_SOA)
        {
            if let Some(Part::Raw(fixed)) = r.parts.get(2) {
                let minimum = sane_ttl(be32(reply, fixed.start + 16)?);
                r.ttl = r.ttl.min(minimum);
                neg_ttl = Some(neg_ttl.map_or(r.ttl, |n: u32| n.min(r.ttl)));
            }
        }
        if neg_ttl.is_none() {
            neg_ttl = opts.neg_ttl;
        }
    }

    // Per-record cache clamps (dnsmasq --min-cache-ttl / --max-cache-ttl).
    for r in recs.iter_mut().filter(|r| r.keep) {
        if let Some(min) = opts.min_cache_ttl
            && r.ttl != 0
        {
            r.ttl = r.ttl.max(min);
        }
        if let Some(max) = opts.max_cache_ttl {
            r.ttl = r.ttl.min(max);
        }
    }
    let min_ttl = recs.iter().filter(|r| r.keep).map(|r| r.ttl).min();
    let cache_ttl = match kind {
        _ if truncated => 0,
        AnswerKind::Positive => min_ttl.unwrap_or(0),
        AnswerKind::NxDomain | AnswerKind::NoData => {
            let n = neg_ttl.map(|n| opts.max_cache_ttl.map_or(n, |m| n.min(m)));
            match (n, min_ttl) {
                (Some(n), Some(m)) => n.min(m),
                (Some(n), None) => n,
                (None, _) => 0,
            }
        }
        AnswerKind::Error => 0,
    };

    // Emit header + lowercase question + kept records.
    let mut out: Vec<u8> = Vec::with_capacity(reply.len() + 64);
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    out.extend_from_slice(qname);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&qclass.to_be_bytes());
    let question_end = out.len();
    let mut ttls = Vec::new();
    let mut answer_end = None;
    let (mut kept_an, mut kept_ns) = (0u16, 0u16);
    for r in &recs {
        if !r.keep {
            match r.section {
                0 => report.dropped_answer += 1,
                1 => report.dropped_authority += 1,
                _ => report.dropped_additional += 1,
            }
            continue;
        }
        if r.section == 0 {
            kept_an += 1;
        } else {
            kept_ns += 1;
            answer_end.get_or_insert(out.len());
        }
        emit_name(&mut out, &r.owner, true, qname);
        out.extend_from_slice(&r.rtype.to_be_bytes());
        out.extend_from_slice(&r.class.to_be_bytes());
        let ttl_at = out.len();
        if ttl_at > usize::from(u16::MAX) {
            return Err(PacketError::TooLarge);
        }
        ttls.push(TtlSlot {
            offset: ttl_at as u16,
            ttl: r.ttl,
        });
        out.extend_from_slice(&r.ttl.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        let rd_start = out.len();
        for p in &r.parts {
            match p {
                Part::Raw(range) => out.extend_from_slice(&reply[range.clone()]),
                Part::Name(n, c) => emit_name(&mut out, n, *c, qname),
            }
        }
        let rdlen = u16::try_from(out.len() - rd_start).map_err(|_| PacketError::TooLarge)?;
        out[rd_start - 2..rd_start].copy_from_slice(&rdlen.to_be_bytes());
    }
    if out.len() + OPT_LEN > usize::from(u16::MAX) {
        return Err(PacketError::TooLarge);
    }
    set_flags(&mut out, h.flags());
    set_counts(&mut out, 1, kept_an, kept_ns, 0);
    report.dropped_records = u32::from(report.dropped_answer) + u32::from(report.dropped_authority);
    report.kept_answer = kept_an;
    report.kept_authority = kept_ns;
    let answer_end = answer_end.unwrap_or(out.len());
    let answer = StoredAnswer {
        bytes: answer_bytes(out),
        question_end: question_end as u16,
        answer_end: answer_end as u16,
        ttl_offsets: TtlOffsets::new(&ttls),
        rcode,
        upstream_flags: h.flags(),
        kind,
        cache_ttl,
        min_ttl: min_ttl.unwrap_or(0),
        neg_ttl,
        ancount: kept_an,
        nscount: kept_ns,
        truncated,
        secure: false,
    };
    Ok((answer, report))
}
