//! Zero-copy views of DNS messages (RFC 1035 §4.1): header accessors, query and response-head
//! parsing, and the minimal error replies. Nothing here allocates or panics, on any input.

use core::hash::{Hash, Hasher};
use core::ops::Range;

use super::name::{MAX_NAME_LEN, name_to_string, read_name, skip_name};

/// Length of the fixed DNS header, RFC 1035 §4.1.1.
pub const HEADER_LEN: usize = 12;
/// Wire length of an OPT RR with no options: root name, type, class, TTL, RDLENGTH (RFC 6891 §6.1.2).
pub const OPT_LEN: usize = 11;
/// RR type of the EDNS(0) OPT pseudo-record, RFC 6891 §6.1.1.
pub const TYPE_OPT: u16 = 41;
/// Largest reply a client without EDNS accepts over UDP, RFC 1035 §2.3.4.
pub const MIN_UDP_SIZE: u16 = 512;

/// RCODE NOERROR, RFC 1035 §4.1.1.
pub const RCODE_NOERROR: u8 = 0;
/// RCODE FORMERR, RFC 1035 §4.1.1.
pub const RCODE_FORMERR: u8 = 1;
/// RCODE SERVFAIL, RFC 1035 §4.1.1.
pub const RCODE_SERVFAIL: u8 = 2;
/// RCODE NXDOMAIN, RFC 1035 §4.1.1.
pub const RCODE_NXDOMAIN: u8 = 3;
/// RCODE NOTIMP, RFC 1035 §4.1.1.
pub const RCODE_NOTIMP: u8 = 4;
/// RCODE REFUSED, RFC 1035 §4.1.1.
pub const RCODE_REFUSED: u8 = 5;
/// Extended RCODE BADVERS (needs an OPT to carry the upper bits), RFC 6891 §9.
pub const RCODE_BADVERS: u8 = 16;

/// Header flag bits (second 16-bit word of the header), RFC 1035 §4.1.1, RFC 4035 §3.2 (AD, CD).
pub mod flags {
    /// Query (0) / response (1).
    pub const QR: u16 = 0x8000;
    /// Mask of the 4-bit OPCODE.
    pub const OPCODE_MASK: u16 = 0x7800;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Recursion available.
    pub const RA: u16 = 0x0080;
    /// Reserved Z bit.
    pub const Z: u16 = 0x0040;
    /// Authentic data, RFC 4035 §3.2.3.
    pub const AD: u16 = 0x0020;
    /// Checking disabled, RFC 4035 §3.2.2.
    pub const CD: u16 = 0x0010;
    /// Mask of the 4-bit RCODE.
    pub const RCODE_MASK: u16 = 0x000F;
}

/// Why a message could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PacketError {
    /// The message ends before a field the header or a length promised.
    #[error("message too short")]
    TooShort,
    /// A label type other than a normal label or a pointer (RFC 1035 §4.1.4).
    #[error("bad label type")]
    BadLabel,
    /// A compression pointer that does not point strictly backwards (RFC 9267 §2).
    #[error("bad compression pointer")]
    BadPointer,
    /// A name longer than 255 octets (RFC 1035 §2.3.4).
    #[error("name too long")]
    NameTooLong,
    /// Section counts that this kind of message may not have (e.g. QDCOUNT != 1 in a query).
    #[error("section counts not allowed here")]
    CountMismatch,
    /// QR=1 where a query was expected.
    #[error("not a query")]
    NotAQuery,
    /// QR=0 where a response was expected.
    #[error("not a response")]
    NotAResponse,
    /// More than one OPT RR, or an OPT RR with a non-root owner or outside the additional section (RFC 6891 §6.1.1).
    #[error("bad OPT record")]
    BadOpt,
    /// RDATA whose length does not match its contents (e.g. names in a CNAME not ending at RDLENGTH).
    #[error("bad RDATA")]
    BadRdata,
    /// The response's question differs from the question it is supposed to answer.
    #[error("question mismatch")]
    QuestionMismatch,
    /// The normalised answer would exceed 65535 octets.
    #[error("message too large")]
    TooLarge,
}

/// Reads a big-endian u16 at `at`.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Result<u16, PacketError> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(PacketError::TooShort),
    }
}

/// Reads a big-endian u32 at `at`.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Result<u32, PacketError> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(PacketError::TooShort),
    }
}

/// Read-only view of the 12-byte DNS header, RFC 1035 §4.1.1.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a>(&'a [u8]);

impl<'a> Header<'a> {
    /// Views the header of `msg`; errors if it is shorter than 12 bytes.
    pub fn new(msg: &'a [u8]) -> Result<Self, PacketError> {
        if msg.len() < HEADER_LEN {
            return Err(PacketError::TooShort);
        }
        Ok(Header(msg))
    }
    #[inline]
    fn word(&self, i: usize) -> u16 {
        u16::from_be_bytes([self.0[i], self.0[i + 1]])
    }
    /// Message ID.
    pub fn id(&self) -> u16 {
        self.word(0)
    }
    /// The whole flags word (QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, RCODE).
    pub fn flags(&self) -> u16 {
        self.word(2)
    }
    /// QR: true for a response.
    pub fn qr(&self) -> bool {
        self.flags() & flags::QR != 0
    }
    /// OPCODE (0 = QUERY).
    pub fn opcode(&self) -> u8 {
        ((self.flags() & flags::OPCODE_MASK) >> 11) as u8
    }
    /// AA: authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags() & flags::AA != 0
    }
    /// TC: truncated.
    pub fn tc(&self) -> bool {
        self.flags() & flags::TC != 0
    }
    /// RD: recursion desired.
    pub fn rd(&self) -> bool {
        self.flags() & flags::RD != 0
    }
    /// RA: recursion available.
    pub fn ra(&self) -> bool {
        self.flags() & flags::RA != 0
    }
    /// AD: authentic data (RFC 4035 §3.2.3).
    pub fn ad(&self) -> bool {
        self.flags() & flags::AD != 0
    }
    /// CD: checking disabled (RFC 4035 §3.2.2).
    pub fn cd(&self) -> bool {
        self.flags() & flags::CD != 0
    }
    /// The 4-bit header RCODE (without EDNS extended bits).
    pub fn rcode(&self) -> u8 {
        (self.flags() & flags::RCODE_MASK) as u8
    }
    /// QDCOUNT.
    pub fn qdcount(&self) -> u16 {
        self.word(4)
    }
    /// ANCOUNT.
    pub fn ancount(&self) -> u16 {
        self.word(6)
    }
    /// NSCOUNT.
    pub fn nscount(&self) -> u16 {
        self.word(8)
    }
    /// ARCOUNT.
    pub fn arcount(&self) -> u16 {
        self.word(10)
    }
}

/// Sets the message ID (no-op if `msg` is shorter than 2 bytes).
pub fn set_id(msg: &mut [u8], id: u16) {
    if let Some(s) = msg.get_mut(0..2) {
        s.copy_from_slice(&id.to_be_bytes());
    }
}

/// Sets the whole flags word (no-op if `msg` is shorter than 4 bytes).
pub fn set_flags(msg: &mut [u8], f: u16) {
    if let Some(s) = msg.get_mut(2..4) {
        s.copy_from_slice(&f.to_be_bytes());
    }
}

/// Sets or clears the TC bit (no-op if `msg` is shorter than 4 bytes).
pub fn set_tc(msg: &mut [u8], tc: bool) {
    if let Some(b) = msg.get_mut(2) {
        if tc {
            *b |= (flags::TC >> 8) as u8;
        } else {
            *b &= !((flags::TC >> 8) as u8);
        }
    }
}

/// Sets the 4-bit header RCODE (no-op if `msg` is shorter than 4 bytes).
pub fn set_rcode(msg: &mut [u8], rcode: u8) {
    if let Some(b) = msg.get_mut(3) {
        *b = (*b & 0xF0) | (rcode & 0x0F);
    }
}

/// Sets QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT (no-op if `msg` is shorter than 12 bytes).
pub fn set_counts(msg: &mut [u8], qd: u16, an: u16, ns: u16, ar: u16) {
    if let Some(s) = msg.get_mut(4..12) {
        s[0..2].copy_from_slice(&qd.to_be_bytes());
        s[2..4].copy_from_slice(&an.to_be_bytes());
        s[4..6].copy_from_slice(&ns.to_be_bytes());
        s[6..8].copy_from_slice(&ar.to_be_bytes());
    }
}

/// A question (name, type, class) with the name in lowercase uncompressed wire form: the cache key.
///
/// Equality and hashing look only at the `len` name bytes actually used, so hashing costs a few
/// nanoseconds for typical names.
#[derive(Clone)]
pub struct QuestionKey {
    name: [u8; MAX_NAME_LEN],
    len: u8,
    qtype: u16,
    qclass: u16,
}

impl QuestionKey {
    /// Builds a key from a lowercase uncompressed wire name (truncated to 255 octets if longer).
    pub fn new(name_wire_lowercase: &[u8], qtype: u16, qclass: u16) -> Self {
        let mut name = [0u8; MAX_NAME_LEN];
        let len = name_wire_lowercase.len().min(MAX_NAME_LEN);
        name[..len].copy_from_slice(&name_wire_lowercase[..len]);
        QuestionKey {
            name,
            len: len as u8,
            qtype,
            qclass,
        }
    }
    /// The lowercase uncompressed wire name.
    pub fn name_wire(&self) -> &[u8] {
        &self.name[..usize::from(self.len)]
    }
    /// QTYPE.
    pub fn qtype(&self) -> u16 {
        self.qtype
    }
    /// QCLASS.
    pub fn qclass(&self) -> u16 {
        self.qclass
    }
    /// The name as text, e.g. `"www.example.com."` (for logs; allocates).
    pub fn name_to_string(&self) -> String {
        name_to_string(self.name_wire())
    }
    /// Wire length of the question: name + QTYPE + QCLASS.
    pub fn wire_len(&self) -> usize {
        usize::from(self.len) + 4
    }
}

impl PartialEq for QuestionKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.qtype == other.qtype
            && self.qclass == other.qclass
            && self.name_wire() == other.name_wire()
    }
}
impl Eq for QuestionKey {}

impl Hash for QuestionKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(self.name_wire());
        state.write_u32(u32::from(self.qtype) << 16 | u32::from(self.qclass));
    }
}

impl core::fmt::Debug for QuestionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} type {} class {}",
            self.name_to_string(),
            self.qtype,
            self.qclass
        )
    }
}

/// EDNS(0) parameters from an OPT RR, RFC 6891 §6.1.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size as sent (values below 512 are to be treated as 512, RFC 6891 §6.2.5).
    pub udp_size: u16,
    /// DNSSEC OK, RFC 3225 §3.
    pub do_bit: bool,
    /// EDNS version (only 0 is defined; the caller answers BADVERS to others, RFC 6891 §6.1.3).
    pub version: u8,
    /// Upper 8 bits of the extended RCODE.
    pub ext_rcode: u8,
}

/// A parsed client query (QR=0). Validates: header present, exactly one question, name OK, ANCOUNT=0, NSCOUNT=0,
/// at most one OPT RR and only in additional (RFC 6891 §6.1.1).
///
/// Decisions: the opcode is not checked (the caller answers NOTIMP to non-QUERY opcodes); the
/// question name must not be compressed (nothing precedes it that a pointer could legitimately
/// reach), so [`Query::question`] is self-contained; every additional record is walked and must fit;
/// bytes after the last counted record are ignored (some clients pad), as many servers do.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    /// The whole query as received.
    pub bytes: &'a [u8],
    /// Message ID.
    pub id: u16,
    /// Flags word as received.
    pub flags: u16,
    /// The question, lowercased.
    pub key: QuestionKey,
    /// byte range of the question (name+type+class) inside bytes
    pub question: Range<usize>,
    /// EDNS parameters if the query had an OPT RR.
    pub edns: Option<Edns>,
}

impl Query<'_> {
    /// RD flag of the query.
    pub fn rd(&self) -> bool {
        self.flags & flags::RD != 0
    }
    /// CD flag of the query.
    pub fn cd(&self) -> bool {
        self.flags & flags::CD != 0
    }
    /// OPCODE of the query.
    pub fn opcode(&self) -> u8 {
        ((self.flags & flags::OPCODE_MASK) >> 11) as u8
    }
    /// DO bit of the query's OPT RR (false without EDNS).
    pub fn do_bit(&self) -> bool {
        self.edns.is_some_and(|e| e.do_bit)
    }
    /// Largest UDP reply this client accepts given our own EDNS buffer size:
    /// 512 without EDNS, else min(client, ours) but at least 512 (RFC 6891 §6.2.5, §7).
    pub fn udp_limit(&self, our_udp_size: u16) -> usize {
        match self.edns {
            None => usize::from(MIN_UDP_SIZE),
            Some(e) => usize::from(e.udp_size.min(our_udp_size).max(MIN_UDP_SIZE)),
        }
    }
}

/// Parses the question at offset 12: key, and end offset.
#[inline]
fn parse_question(bytes: &[u8]) -> Result<(QuestionKey, usize, usize), PacketError> {
    let mut name = [0u8; MAX_NAME_LEN];
    let (len, end) = read_name(bytes, HEADER_LEN, &mut name)?;
    let qtype = be16(bytes, end)?;
    let qclass = be16(bytes, end + 2)?;
    Ok((
        QuestionKey {
            name,
            len: len as u8,
            qtype,
            qclass,
        },
        len,
        end + 4,
    ))
}

/// One record's fixed fields, found by [`walk_record`].
#[derive(Clone, Debug)]
pub(crate) struct RecordPos {
    /// Offset of the owner name.
    pub owner: usize,
    /// RR type.
    pub rtype: u16,
    /// RR class.
    pub class: u16,
    /// TTL.
    pub ttl: u32,
    /// Range of the RDATA.
    pub rdata: Range<usize>,
}

/// Walks one resource record at `at` (RFC 1035 §4.1.3) and checks RDLENGTH fits.
#[inline]
pub(crate) fn walk_record(msg: &[u8], at: usize) -> Result<RecordPos, PacketError> {
    let fixed = skip_name(msg, at)?;
    let rtype = be16(msg, fixed)?;
    let class = be16(msg, fixed + 2)?;
    let ttl = be32(msg, fixed + 4)?;
    let rdlen = usize::from(be16(msg, fixed + 8)?);
    let start = fixed + 10;
    if start + rdlen > msg.len() {
        return Err(PacketError::TooShort);
    }
    Ok(RecordPos {
        owner: at,
        rtype,
        class,
        ttl,
        rdata: start..start + rdlen,
    })
}

/// Parses a client query. See [`Query`] for what is validated.
#[inline(always)]
pub fn parse_query(bytes: &[u8]) -> Result<Query<'_>, PacketError> {
    let mut q = Query::unparsed(bytes);
    parse_query_into(&mut q)?;
    Ok(q)
}

impl<'a> Query<'a> {
    /// A query of `bytes` not yet parsed: fill it with [`parse_query_into`].
    #[inline]
    pub fn unparsed(bytes: &'a [u8]) -> Self {
        Query {
            bytes,
            id: 0,
            flags: 0,
            key: QuestionKey {
                name: [0u8; MAX_NAME_LEN],
                len: 0,
                qtype: 0,
                qclass: 0,
            },
            question: HEADER_LEN..HEADER_LEN,
            edns: None,
        }
    }
}

/// [`parse_query`] into a [`Query::unparsed`] the caller holds: the hot path's 262-byte key is
/// written once where it is used, never copied out of a returned value.
#[inline]
pub fn parse_query_into(q: &mut Query<'_>) -> Result<(), PacketError> {
    let bytes = q.bytes;
    let h = Header::new(bytes)?;
    if h.qr() {
        return Err(PacketError::NotAQuery);
    }
    if h.qdcount() != 1 || h.ancount() != 0 || h.nscount() != 0 {
        return Err(PacketError::CountMismatch);
    }
    q.id = h.id();
    q.flags = h.flags();
    let (name_len, name_end) = read_name(bytes, HEADER_LEN, &mut q.key.name)?;
    if name_end - HEADER_LEN != name_len {
        // Compressed question name: nothing before it may be pointed at.
        return Err(PacketError::BadPointer);
    }
    q.key.len = name_len as u8;
    q.key.qtype = be16(bytes, name_end)?;
    q.key.qclass = be16(bytes, name_end + 2)?;
    let qend = name_end + 4;
    q.question.end = qend;
    let mut pos = qend;
    for _ in 0..h.arcount() {
        // Fields read in place (no RecordPos round trip through memory: this is the hot path).
        let owner = pos;
        let fixed = skip_name(bytes, pos)?;
        let f = bytes.get(fixed..fixed + 10).ok_or(PacketError::TooShort)?;
        let rtype = u16::from_be_bytes([f[0], f[1]]);
        let rdend = fixed + 10 + usize::from(u16::from_be_bytes([f[8], f[9]]));
        if rdend > bytes.len() {
            return Err(PacketError::TooShort);
        }
        if rtype == TYPE_OPT {
            // RFC 6891 §6.1.1: one OPT RR, owned by the root; more than one is FORMERR.
            if q.edns.is_some() || bytes[owner] != 0 {
                return Err(PacketError::BadOpt);
            }
            q.edns = Some(Edns {
                udp_size: u16::from_be_bytes([f[2], f[3]]),
                ext_rcode: f[4],
                version: f[5],
                do_bit: f[6] & 0x80 != 0,
            });
        }
        pos = rdend;
    }
    Ok(())
}

/// Response view: header + question (key + range) + counts, for matching upstream replies to queries.
#[derive(Clone, Debug)]
pub struct ResponseHead<'a> {
    /// The whole response.
    pub bytes: &'a [u8],
    /// Message ID.
    pub id: u16,
    /// Flags word.
    pub flags: u16,
    /// The 4-bit header RCODE.
    pub rcode: u8,
    /// The question, lowercased; `None` if QDCOUNT is 0 (some servers answer FORMERR that way).
    pub key: Option<QuestionKey>,
    /// Byte range of the question inside `bytes` (empty if there is none).
    pub question: Range<usize>,
}

impl ResponseHead<'_> {
    /// Header view of the response.
    pub fn header(&self) -> Header<'_> {
        Header(self.bytes)
    }
}

/// Parses the header and question of an upstream response (QR=1, QDCOUNT 0 or 1).
pub fn parse_response_head(bytes: &[u8]) -> Result<ResponseHead<'_>, PacketError> {
    let h = Header::new(bytes)?;
    if !h.qr() {
        return Err(PacketError::NotAResponse);
    }
    let (key, question) = match h.qdcount() {
        0 => (None, HEADER_LEN..HEADER_LEN),
        1 => {
            let (key, _, end) = parse_question(bytes)?;
            (Some(key), HEADER_LEN..end)
        }
        _ => return Err(PacketError::CountMismatch),
    };
    Ok(ResponseHead {
        bytes,
        id: h.id(),
        flags: h.flags(),
        rcode: h.rcode(),
        key,
        question,
    })
}

/// Flags for a reply we generate: QR=1, opcode/RD/CD copied from the query, RA=1, rcode's low bits.
#[inline]
pub(crate) fn reply_flags(query_flags: u16, rcode: u8) -> u16 {
    flags::QR
        | (query_flags & (flags::OPCODE_MASK | flags::RD | flags::CD))
        | flags::RA
        | (u16::from(rcode) & flags::RCODE_MASK)
}

/// Writes an OPT RR without options at `out[0..11]` (caller checks room), RFC 6891 §6.1.2:
/// class = our UDP payload size, TTL = extended RCODE | version 0 | DO.
#[inline]
pub(crate) fn write_opt(out: &mut [u8], our_udp_size: u16, rcode: u8, do_bit: bool) {
    out[0] = 0;
    out[1..3].copy_from_slice(&TYPE_OPT.to_be_bytes());
    out[3..5].copy_from_slice(&our_udp_size.max(MIN_UDP_SIZE).to_be_bytes());
    out[5] = rcode >> 4;
    out[6] = 0;
    out[7] = if do_bit { 0x80 } else { 0 };
    out[8] = 0;
    out[9] = 0;
    out[10] = 0;
}

/// Writes a minimal reply (header + the query's question [+ OPT if the query had EDNS]) with the given rcode into out; returns its length.
/// Used for REFUSED, SERVFAIL, FORMERR (when the question parsed), NOTIMP, BADVERS. Copies the question bytes exactly (case preserved).
/// Returns 0 if `out` is too small.
pub fn write_error_reply(query: &Query<'_>, rcode: u8, out: &mut [u8], our_udp_size: u16) -> usize {
    let qlen = query.question.len();
    let Some(question) = query.bytes.get(query.question.clone()) else {
        return 0;
    };
    let opt = query.edns.is_some() || rcode > 15;
    let total = HEADER_LEN + qlen + if opt { OPT_LEN } else { 0 };
    if out.len() < total {
        return 0;
    }
    set_id(out, query.id);
    set_flags(out, reply_flags(query.flags, rcode));
    set_counts(out, 1, 0, 0, u16::from(opt));
    out[HEADER_LEN..HEADER_LEN + qlen].copy_from_slice(question);
    if opt {
        write_opt(
            &mut out[HEADER_LEN + qlen..total],
            our_udp_size,
            rcode,
            query.do_bit(),
        );
    }
    total
}

/// FORMERR for a packet whose question could not be parsed but has a 12-byte header: header only, QDCOUNT=0.
/// Returns `None` if the packet is shorter than a header or is itself a response (never answer
/// responses: that would let two servers loop), or if `out` is shorter than 12 bytes.
pub fn write_header_only_reply(query_bytes: &[u8], rcode: u8, out: &mut [u8]) -> Option<usize> {
    let h = Header::new(query_bytes).ok()?;
    if h.qr() || out.len() < HEADER_LEN {
        return None;
    }
    set_id(out, h.id());
    set_flags(out, reply_flags(h.flags(), rcode));
    set_counts(out, 0, 0, 0, 0);
    Some(HEADER_LEN)
}

/// Real packets captured from `dig` (9.18) talking to `knotd` on loopback, for tests.
#[cfg(test)]
pub(crate) mod captures;

#[cfg(test)]
mod tests;
