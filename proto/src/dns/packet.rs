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
    let h = Header::new(bytes)?;
    if h.qr() {
        return Err(PacketError::NotAQuery);
    }
    if h.qdcount() != 1 || h.ancount() != 0 || h.nscount() != 0 {
        return Err(PacketError::CountMismatch);
    }
    // Built in place: the 262-byte key is written once, not moved around.
    let mut q = Query {
        bytes,
        id: h.id(),
        flags: h.flags(),
        key: QuestionKey {
            name: [0u8; MAX_NAME_LEN],
            len: 0,
            qtype: 0,
            qclass: 0,
        },
        question: HEADER_LEN..HEADER_LEN,
        edns: None,
    };
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
    Ok(q)
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
pub(crate) mod captures {
    /// Decodes a hex string.
    pub fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    /// `dig www.example.com A` (EDNS, DO=0, udp 1232, cookie option).
    pub const WWW_A_Q: &str = "5b7c0120000100000000000103777777076578616d706c6503636f6d000001000100002904d000000000000c000a00080bb1b58ada85812c";
    /// knotd reply: two A records, compressed owners, OPT.
    pub const WWW_A_R: &str = "5b7c8500000100020000000103777777076578616d706c6503636f6d0000010001c00c0001000100000e100004c0000201c00c0001000100000e100004c000020200002904d0000000000000";
    /// `dig ALIAS.Example.com A` (mixed case).
    pub const ALIAS_A_Q: &str = "2e110120000100000000000105414c494153074578616d706c6503636f6d000001000100002904d000000000000c000a000876128dc376c42aa4";
    /// knotd reply: CNAME to www.example.com then its two A records.
    pub const ALIAS_A_R: &str = "2e118500000100030000000105414c494153074578616d706c6503636f6d0000010001c00c0005000100000e10000603777777c012c02f0001000100000e100004c0000201c02f0001000100000e100004c000020200002904d0000000000000";
    /// `dig nope.example.com A`.
    pub const NX_Q: &str = "0bc101200001000000000001046e6f7065076578616d706c6503636f6d000001000100002904d000000000000c000a00080644051b1dee9753";
    /// knotd NXDOMAIN with SOA (TTL 300, MINIMUM 300) in authority.
    pub const NX_R: &str = "0bc185030001000000010001046e6f7065076578616d706c6503636f6d0000010001c011000600010000012c0027036e7331c0110a686f73746d6173746572c01178a3f17500001c2000000e10001275000000012c00002904d0000000000000";
    /// `dig www.example.com MX`.
    pub const NODATA_Q: &str = "56c90120000100000000000103777777076578616d706c6503636f6d00000f000100002904d000000000000c000a0008cfcd5df07e3e67dc";
    /// knotd NOERROR/NODATA with SOA in authority.
    pub const NODATA_R: &str = "56c98500000100000001000103777777076578616d706c6503636f6d00000f0001c010000600010000012c0027036e7331c0100a686f73746d6173746572c01078a3f17500001c2000000e10001275000000012c00002904d0000000000000";
    /// `dig example.com MX`.
    pub const MX_Q: &str = "b3ef01200001000000000001076578616d706c6503636f6d00000f000100002904d000000000000c000a0008bf69ebc703313c1b";
    /// knotd reply: MX 10 mail.example.com + glue A in additional.
    pub const MX_R: &str = "b3ef85000001000100000002076578616d706c6503636f6d00000f0001c00c000f000100000e100009000a046d61696cc00cc02b0001000100000e100004c000021900002904d0000000000000";
    /// `dig _sip._udp.example.com SRV`.
    pub const SRV_Q: &str = "231801200001000000000001045f736970045f756470076578616d706c6503636f6d000021000100002904d000000000000c000a0008697a014ad153b695";
    /// knotd reply: SRV 10 60 5060 sip.example.com (uncompressed target) + glue.
    pub const SRV_R: &str = "231885000001000100000002045f736970045f756470076578616d706c6503636f6d0000210001c00c0021000100000e100017000a003c13c403736970076578616d706c6503636f6d00c0390001000100000e100004c000023c00002904d0000000000000";
    /// `dig +noedns www.example.com A`.
    pub const NOEDNS_Q: &str = "27080120000100000000000003777777076578616d706c6503636f6d0000010001";
    /// knotd reply without OPT.
    pub const NOEDNS_R: &str = "27088500000100020000000003777777076578616d706c6503636f6d0000010001c00c0001000100000e100004c0000201c00c0001000100000e100004c0000202";
    /// Every capture, for the never-panic and corpus tests.
    pub const ALL: &[&str] = &[
        WWW_A_Q, WWW_A_R, ALIAS_A_Q, ALIAS_A_R, NX_Q, NX_R, NODATA_Q, NODATA_R, MX_Q, MX_R, SRV_Q,
        SRV_R, NOEDNS_Q, NOEDNS_R,
    ];
}

#[cfg(test)]
mod tests {
    use super::captures::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_captured_dig_query() {
        let b = hex(WWW_A_Q);
        let q = parse_query(&b).unwrap();
        assert_eq!(q.id, 0x5b7c);
        assert!(q.rd() && !q.cd());
        assert_eq!(q.opcode(), 0);
        assert_eq!(q.key.name_to_string(), "www.example.com.");
        assert_eq!((q.key.qtype(), q.key.qclass()), (1, 1));
        assert_eq!(q.question, 12..33);
        assert_eq!(
            q.edns,
            Some(Edns {
                udp_size: 1232,
                do_bit: false,
                version: 0,
                ext_rcode: 0
            })
        );
        assert_eq!(q.udp_limit(4096), 1232);
        assert_eq!(q.udp_limit(1000), 1000);

        let b = hex(ALIAS_A_Q);
        let q = parse_query(&b).unwrap();
        assert_eq!(q.key.name_wire(), b"\x05alias\x07example\x03com\x00");
        assert_eq!(&b[q.question.start + 1..q.question.start + 6], b"ALIAS");

        let b = hex(NOEDNS_Q);
        let q = parse_query(&b).unwrap();
        assert!(q.edns.is_none());
        assert_eq!(q.udp_limit(4096), 512);
    }

    #[test]
    fn rejects_bad_queries() {
        let good = hex(WWW_A_Q);
        assert_eq!(parse_query(&good[..11]).unwrap_err(), PacketError::TooShort);
        assert_eq!(
            parse_query(&hex(WWW_A_R)).unwrap_err(),
            PacketError::NotAQuery
        );
        let mut b = good.clone();
        b[5] = 2; // QDCOUNT=2
        assert_eq!(parse_query(&b).unwrap_err(), PacketError::CountMismatch);
        let mut b = good.clone();
        b[7] = 1; // ANCOUNT=1
        assert_eq!(parse_query(&b).unwrap_err(), PacketError::CountMismatch);
        // Two OPT RRs: FORMERR per RFC 6891 §6.1.1.
        let mut b = good.clone();
        b[11] = 2;
        let opt = good[33..].to_vec();
        b.extend_from_slice(&opt);
        assert_eq!(parse_query(&b).unwrap_err(), PacketError::BadOpt);
        // OPT cut short.
        assert_eq!(
            parse_query(&good[..good.len() - 1]).unwrap_err(),
            PacketError::TooShort
        );
        // Trailing garbage is ignored.
        let mut b = good.clone();
        b.extend_from_slice(&[1, 2, 3]);
        assert!(parse_query(&b).is_ok());
        // Compressed question name.
        let mut b = good[..12].to_vec();
        b[11] = 0;
        b.extend_from_slice(&[0xC0, 0x0B, 0, 1, 0, 1]);
        assert_eq!(parse_query(&b).unwrap_err(), PacketError::BadPointer);
    }

    #[test]
    fn response_head_of_captured_reply() {
        let b = hex(ALIAS_A_R);
        let r = parse_response_head(&b).unwrap();
        assert_eq!(r.id, 0x2e11);
        assert_eq!(r.rcode, 0);
        assert!(r.header().aa() && r.header().rd() && !r.header().ra());
        assert_eq!(r.header().ancount(), 3);
        assert_eq!(
            r.key.unwrap().name_wire(),
            b"\x05alias\x07example\x03com\x00"
        );
        assert_eq!(r.question, 12..35);
        assert_eq!(
            parse_response_head(&hex(NX_R)).unwrap().rcode,
            RCODE_NXDOMAIN
        );
        assert_eq!(
            parse_response_head(&hex(NX_Q)).unwrap_err(),
            PacketError::NotAResponse
        );
    }

    #[test]
    fn error_replies() {
        let b = hex(ALIAS_A_Q);
        let q = parse_query(&b).unwrap();
        let mut out = [0u8; 512];
        let n = write_error_reply(&q, RCODE_REFUSED, &mut out, 1232);
        let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
        assert_eq!(m.metadata.id, 0x2e11);
        assert_eq!(
            m.metadata.response_code,
            hickory_proto::op::ResponseCode::Refused
        );
        assert!(m.metadata.recursion_desired && m.metadata.recursion_available);
        assert_eq!(m.queries[0].name().to_ascii(), "ALIAS.Example.com.");
        assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232);
        assert_eq!(
            write_error_reply(&q, RCODE_REFUSED, &mut out[..20], 1232),
            0
        );

        // BADVERS needs the OPT to carry the upper RCODE bits.
        let n = write_error_reply(&q, RCODE_BADVERS, &mut out, 1232);
        assert_eq!(out[3] & 0x0F, 0);
        assert_eq!(out[n - 6], 1);

        let n = write_header_only_reply(&b, RCODE_FORMERR, &mut out).unwrap();
        assert_eq!(n, 12);
        assert_eq!(
            &out[..12],
            &[0x2e, 0x11, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            write_header_only_reply(&hex(NX_R), RCODE_FORMERR, &mut out),
            None
        );
        assert_eq!(
            write_header_only_reply(&b[..5], RCODE_FORMERR, &mut out),
            None
        );
    }

    #[test]
    fn setters() {
        let mut b = hex(NOEDNS_R);
        set_id(&mut b, 0xBEEF);
        set_tc(&mut b, true);
        set_rcode(&mut b, RCODE_SERVFAIL);
        let h = Header::new(&b).unwrap();
        assert_eq!(h.id(), 0xBEEF);
        assert!(h.tc() && h.aa());
        assert_eq!(h.rcode(), 2);
        set_tc(&mut b, false);
        set_counts(&mut b, 1, 2, 3, 4);
        let h = Header::new(&b).unwrap();
        assert!(!h.tc());
        assert_eq!(
            (h.qdcount(), h.ancount(), h.nscount(), h.arcount()),
            (1, 2, 3, 4)
        );
        set_id(&mut [0u8; 1], 1);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_response_head(&b);
            if let Ok(q) = parse_query(&b) {
                let mut out = [0u8; 700];
                let n = write_error_reply(&q, RCODE_SERVFAIL, &mut out, 1232);
                prop_assert!(n > 0);
                let r = parse_response_head(&out[..n]).unwrap();
                prop_assert_eq!(r.key.as_ref(), Some(&q.key));
            }
            let mut out = [0u8; 12];
            let _ = write_header_only_reply(&b, RCODE_FORMERR, &mut out);
        }

        #[test]
        fn mutated_captures_never_panic(i in 0usize..14, pos in any::<prop::sample::Index>(), val in any::<u8>(), cut in any::<prop::sample::Index>()) {
            let mut b = hex(ALL[i]);
            let p = pos.index(b.len());
            b[p] = val;
            let c = cut.index(b.len() + 1);
            let _ = parse_query(&b[..c]);
            let _ = parse_response_head(&b[..c]);
        }

        #[test]
        fn hickory_query_round_trip(labels in proptest::collection::vec("[a-zA-Z0-9]{1,12}", 1..5), qtype in 1u16..300, id in any::<u16>(), edns in any::<bool>(), do_bit in any::<bool>()) {
            use hickory_proto::op::{Edns as HEdns, Message, Query as HQuery};
            use hickory_proto::rr::{Name, RecordType};
            let text = labels.join(".");
            let name = Name::from_ascii(format!("{text}.")).unwrap();
            let mut m = Message::query();
            m.metadata.id = id;
            m.metadata.recursion_desired = true;
            m.add_query(HQuery::query(name, RecordType::from(qtype)));
            if edns {
                let mut e = HEdns::new();
                e.set_max_payload(1400);
                e.set_dnssec_ok(do_bit);
                m.set_edns(e);
            }
            let b = m.to_vec().unwrap();
            let q = parse_query(&b).unwrap();
            prop_assert_eq!(q.id, id);
            prop_assert_eq!(q.key.qtype(), qtype);
            prop_assert_eq!(q.key.name_to_string(), format!("{}.", text.to_ascii_lowercase()));
            prop_assert_eq!(q.edns.map(|e| (e.udp_size, e.do_bit)), edns.then_some((1400, do_bit)));
            let mut out = [0u8; 512];
            let n = write_error_reply(&q, RCODE_NXDOMAIN, &mut out, 1232);
            let r = Message::from_vec(&out[..n]).unwrap();
            prop_assert_eq!(r.queries[0].name().to_ascii(), format!("{text}."));
            prop_assert_eq!(r.metadata.id, id);
            prop_assert_eq!(r.edns.as_ref().map(|e| e.flags().dnssec_ok), edns.then_some(do_bit));
        }
    }
}
