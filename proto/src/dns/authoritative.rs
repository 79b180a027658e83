//! The reply written for answers ringmasq gives from its own data (hosts files, local records,
//! lease names): authoritative, NOERROR, the question as the client wrote it.

use super::packet::{
    HEADER_LEN, OPT_LEN, Query, RCODE_NOERROR, flags, reply_flags, set_counts, set_flags, set_id,
    write_opt,
};

/// Writes an authoritative NOERROR reply whose answer section (`size` bytes, `count` records)
/// `body` writes. Over UDP the reply is limited to [`Query::udp_limit`]; an answer that does not
/// fit is sent empty with TC=1 (RFC 2181 §9). Echoes an OPT RR when the query had one (RFC 6891 §7).
pub fn write_reply_with(
    q: &Query<'_>,
    our_udp_size: u16,
    udp: bool,
    out: &mut [u8],
    size: usize,
    count: usize,
    body: impl FnOnce(&mut [u8]),
) -> Option<usize> {
    let question = q.bytes.get(q.question.clone())?;
    let opt_len = if q.edns.is_some() { OPT_LEN } else { 0 };
    let limit = if udp {
        out.len().min(q.udp_limit(our_udp_size))
    } else {
        out.len()
    };
    let head = HEADER_LEN + question.len();
    if head + opt_len > out.len() {
        return Some(0);
    }
    let fits = head + size + opt_len <= limit && count <= usize::from(u16::MAX);
    set_id(out, q.id);
    let mut f = reply_flags(q.flags, RCODE_NOERROR) | flags::AA;
    out[HEADER_LEN..head].copy_from_slice(question);
    let mut at = head;
    if fits {
        body(&mut out[head..head + size]);
        at += size;
    } else {
        f |= flags::TC;
    }
    set_flags(out, f);
    set_counts(
        out,
        1,
        if fits { count as u16 } else { 0 },
        0,
        u16::from(opt_len > 0),
    );
    if opt_len > 0 {
        write_opt(
            &mut out[at..at + OPT_LEN],
            our_udp_size,
            RCODE_NOERROR,
            q.do_bit(),
        );
        at += OPT_LEN;
    }
    Some(at)
}
