//! Leaving out DNSSEC records for clients that did not ask for them.

use super::{StoredAnswer, TYPE_NSEC, TYPE_NSEC3, TYPE_RRSIG, TtlOffsets, TtlSlot, answer_bytes};
use crate::dns::name::skip_name;
use crate::dns::packet::{be32, set_counts, walk_record};

impl StoredAnswer {
    /// A copy without RRSIG, NSEC and NSEC3 records (RFC 4035 §3.2.1: a query without DO gets
    /// none of them, unless it asked for that type); `None` when there are none to remove.
    /// Validation asks upstream with DO even for such clients, so the stored answer has them.
    pub fn without_dnssec_records(&self) -> Option<Self> {
        let qend = usize::from(self.question_end);
        let qtype = u16::from_be_bytes([self.bytes[qend - 4], self.bytes[qend - 3]]);
        let remove = |t: u16| t != qtype && matches!(t, TYPE_RRSIG | TYPE_NSEC | TYPE_NSEC3);
        let mut recs: Vec<(core::ops::Range<usize>, u16, bool)> = Vec::new();
        let mut pos = qend;
        let total = usize::from(self.ancount) + usize::from(self.nscount);
        for i in 0..total {
            let r = walk_record(&self.bytes, pos).ok()?;
            recs.push((pos..r.rdata.end, r.rtype, i >= usize::from(self.ancount)));
            pos = r.rdata.end;
        }
        if !recs.iter().any(|(_, t, _)| remove(*t)) {
            return None;
        }
        let mut out = Vec::with_capacity(self.bytes.len());
        out.extend_from_slice(&self.bytes[..qend]);
        let mut ttls = Vec::new();
        let (mut an, mut ns) = (0u16, 0u16);
        let mut answer_end = None;
        for (range, t, authority) in recs {
            if remove(t) {
                continue;
            }
            if authority {
                ns += 1;
                answer_end.get_or_insert(out.len());
            } else {
                an += 1;
            }
            let at = out.len();
            out.extend_from_slice(&self.bytes[range.clone()]);
            let fixed = skip_name(&self.bytes, range.start).ok()? - range.start + at;
            let ttl = be32(&out, fixed + 4).ok()?;
            ttls.push(TtlSlot {
                offset: (fixed + 4) as u16,
                ttl,
            });
        }
        set_counts(&mut out, 1, an, ns, 0);
        let answer_end = answer_end.unwrap_or(out.len());
        Some(StoredAnswer {
            bytes: answer_bytes(out),
            answer_end: answer_end as u16,
            min_ttl: ttls.iter().map(|t| t.ttl).min().unwrap_or(0),
            ttl_offsets: TtlOffsets::new(&ttls),
            ancount: an,
            nscount: ns,
            ..self.clone()
        })
    }
}
