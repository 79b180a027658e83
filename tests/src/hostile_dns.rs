//! A named corpus of hostile DNS client messages (RFC 1035 §4.1, RFC 6891 §6) and what a server
//! must do with each: drop it and count the drop, or answer with a given RCODE.
//!
//! Every message asks about `www.lab.test` (the knot lab's A record) where it has a question at
//! all, so the classes that must be answered normally resolve through the lab upstream.

/// What the server must do with one class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// No answer; the named drop counter (SIGUSR1 `dropped:` line) goes up by one.
    Drop(&'static str),
    /// An answer with this RCODE (header bits plus the OPT extended bits, RFC 6891 §6.1.3).
    Reply(u16),
}

/// One class of hostile message.
#[derive(Clone, Debug)]
pub struct Class {
    /// A short name for failure messages.
    pub name: &'static str,
    /// The message (DNS payload; over TCP it is framed with its length).
    pub bytes: Vec<u8>,
    /// The required outcome.
    pub expect: Expect,
}

/// Drop counter name for a message that is not a well-formed query.
pub const MALFORMED: &str = "malformed-query";
/// Drop counter name for a message with QR=1.
pub const RESPONSE: &str = "response-from-client";
/// RCODE NOERROR.
pub const NOERROR: u16 = 0;
/// RCODE NOTIMP (RFC 1035 §4.1.1).
pub const NOTIMP: u16 = 4;
/// Extended RCODE BADVERS (RFC 6891 §6.1.3).
pub const BADVERS: u16 = 16;

/// `www.lab.test` in wire form.
pub const WWW: &[u8] = b"\x03www\x03lab\x04test\x00";

/// A 12-byte header: ID, flags, QD/AN/NS/AR counts.
pub fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut h = id.to_be_bytes().to_vec();
    h.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        h.extend_from_slice(&c.to_be_bytes());
    }
    h
}

/// The question `www.lab.test A IN`.
pub fn question() -> Vec<u8> {
    let mut q = WWW.to_vec();
    q.extend_from_slice(&[0, 1, 0, 1]);
    q
}

/// An OPT RR (RFC 6891 §6.1.2) owned by `owner` with payload size 1232, the given version and
/// RDATA, whose RDLENGTH is `rdlen` (it may lie).
pub fn opt(owner: &[u8], version: u8, rdlen: u16, rdata: &[u8]) -> Vec<u8> {
    let mut o = owner.to_vec();
    o.extend_from_slice(&[0, 41, 0x04, 0xd0, 0, version, 0, 0]);
    o.extend_from_slice(&rdlen.to_be_bytes());
    o.extend_from_slice(rdata);
    o
}

const RD: u16 = 0x0100;

fn msg(id: u16, flags: u16, counts: [u16; 4], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = header(id, flags, counts);
    for p in parts {
        m.extend_from_slice(p);
    }
    m
}

fn c(name: &'static str, bytes: Vec<u8>, expect: Expect) -> Class {
    Class {
        name,
        bytes,
        expect,
    }
}

/// The client corpus: at least 40 classes.
pub fn client_classes() -> Vec<Class> {
    use Expect::{Drop, Reply};
    let q = question();
    let qd = [1, 0, 0, 0];
    let ar1 = [1, 0, 0, 1];
    let mut label63 = Vec::new();
    for _ in 0..4 {
        label63.push(63u8);
        label63.extend_from_slice(&[b'a'; 63]);
    }
    label63.push(0); // 4 * 64 + 1 = 257 bytes: longer than 255 (RFC 1035 §3.1)
    let mut name256 = label63.clone();
    name256.extend_from_slice(&[0, 1, 0, 1]);
    let mut label64 = vec![64u8];
    label64.extend_from_slice(&[b'b'; 64]);
    label64.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut garbage = vec![0u8; 48];
    for (i, b) in garbage.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(0x9c);
    }
    garbage[2] &= 0x07; // QR=0, opcode QUERY
    let ones = vec![0xffu8; 512];
    let mut big_trailer = msg(0x1234, RD, qd, &[&q]);
    big_trailer.resize(1400, 0);
    // An additional record (A, owner www.lab.test) with a given RDLENGTH and RDATA.
    let extra_a = |rdlen: u16, rdata: &[u8]| {
        let mut r = WWW.to_vec();
        r.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 60]);
        r.extend_from_slice(&rdlen.to_be_bytes());
        r.extend_from_slice(rdata);
        r
    };
    let root = [0u8];
    let opt_ok = opt(&root, 0, 0, &[]);
    vec![
        c("empty datagram", Vec::new(), Drop(MALFORMED)),
        c("one byte", vec![0x42], Drop(MALFORMED)),
        c(
            "eleven bytes",
            header(1, RD, qd)[..11].to_vec(),
            Drop(MALFORMED),
        ),
        c("header only, QDCOUNT 1", header(2, RD, qd), Drop(MALFORMED)),
        c("QDCOUNT 0", msg(3, RD, [0, 0, 0, 0], &[]), Drop(MALFORMED)),
        c(
            "QDCOUNT 0 with a question",
            msg(4, RD, [0, 0, 0, 0], &[&q]),
            Drop(MALFORMED),
        ),
        c(
            "QDCOUNT 2, one question",
            msg(5, RD, [2, 0, 0, 0], &[&q]),
            Drop(MALFORMED),
        ),
        c(
            "QDCOUNT 2, two questions",
            msg(6, RD, [2, 0, 0, 0], &[&q, &q]),
            Drop(MALFORMED),
        ),
        c(
            "ANCOUNT 1 in a query",
            msg(7, RD, [1, 1, 0, 0], &[&q]),
            Drop(MALFORMED),
        ),
        c(
            "NSCOUNT 1 in a query",
            msg(8, RD, [1, 0, 1, 0], &[&q]),
            Drop(MALFORMED),
        ),
        c(
            "ARCOUNT 1, nothing there",
            msg(9, RD, ar1, &[&q]),
            Drop(MALFORMED),
        ),
        c(
            "ARCOUNT 65535",
            msg(10, RD, [1, 0, 0, 0xffff], &[&q, &opt_ok]),
            Drop(MALFORMED),
        ),
        c(
            "name is a pointer to itself",
            msg(11, RD, qd, &[&[0xc0, 12, 0, 1, 0, 1]]),
            Drop(MALFORMED),
        ),
        c(
            "forward pointer in the question",
            msg(12, RD, qd, &[&[0xc0, 18, 0, 1, 0, 1], WWW]),
            Drop(MALFORMED),
        ),
        c(
            "pointer loop of two",
            msg(13, RD, qd, &[&[1, b'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]]),
            Drop(MALFORMED),
        ),
        c(
            "pointer past the end",
            msg(14, RD, qd, &[&[0xc3, 0xff, 0, 1, 0, 1]]),
            Drop(MALFORMED),
        ),
        c(
            "pointer cut in half",
            msg(15, RD, qd, &[&[3, b'w', b'w', b'w', 0xc0]]),
            Drop(MALFORMED),
        ),
        c("label of 64", msg(16, RD, qd, &[&label64]), Drop(MALFORMED)),
        c(
            "name of 257 bytes",
            msg(17, RD, qd, &[&name256]),
            Drop(MALFORMED),
        ),
        c(
            "label 0x80 (reserved type 10)",
            msg(18, RD, qd, &[&[0x81, b'x', 0, 0, 1, 0, 1]]),
            Drop(MALFORMED),
        ),
        c(
            "label overruns the message",
            msg(19, RD, qd, &[&[50, b'a', b'b', b'c', 0, 0, 1]]),
            Drop(MALFORMED),
        ),
        c(
            "name without its root label",
            msg(20, RD, qd, &[b"\x03www\x03lab"]),
            Drop(MALFORMED),
        ),
        c("QTYPE missing", msg(21, RD, qd, &[WWW]), Drop(MALFORMED)),
        c(
            "QCLASS cut in half",
            msg(22, RD, qd, &[WWW, &[0, 1, 0]]),
            Drop(MALFORMED),
        ),
        c(
            "two OPT records",
            msg(23, RD, [1, 0, 0, 2], &[&q, &opt_ok, &opt_ok]),
            Reply(1),
        ),
        c(
            "OPT owned by a non-root name",
            msg(24, RD, ar1, &[&q, &opt(WWW, 0, 0, &[])]),
            Reply(1),
        ),
        c(
            "OPT in the answer section",
            msg(25, RD, [1, 1, 0, 0], &[&q, &opt_ok]),
            Drop(MALFORMED),
        ),
        c(
            "OPT in the authority section",
            msg(26, RD, [1, 0, 1, 0], &[&q, &opt_ok]),
            Drop(MALFORMED),
        ),
        c(
            "OPT RDLENGTH past the end",
            msg(27, RD, ar1, &[&q, &opt(&root, 0, 40, &[0, 10, 0, 8])]),
            Drop(MALFORMED),
        ),
        c(
            "OPT fixed part cut short",
            msg(28, RD, ar1, &[&q, &[0, 0, 41, 4, 0]]),
            Drop(MALFORMED),
        ),
        c(
            "additional A with RDLENGTH past the end",
            msg(29, RD, ar1, &[&q, &extra_a(200, &[1, 2, 3, 4])]),
            Drop(MALFORMED),
        ),
        c(
            "additional record owner with label type 01",
            msg(
                30,
                RD,
                ar1,
                &[&q, &[0x41, b'x', 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]],
            ),
            Drop(MALFORMED),
        ),
        c(
            "QR=1 (a response sent to a server)",
            msg(31, 0x8100, qd, &[&q]),
            Drop(RESPONSE),
        ),
        c(
            "QR=1 with an answer section",
            msg(
                32,
                0x8180,
                [1, 1, 0, 0],
                &[&q, &extra_a(4, &[203, 0, 113, 66])],
            ),
            Drop(RESPONSE),
        ),
        c("QR=1, all bytes 0xff", ones, Drop(RESPONSE)),
        c("random bytes", garbage, Drop(MALFORMED)),
        c(
            "opcode IQUERY (1)",
            msg(37, RD | (1 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "opcode STATUS (2)",
            msg(38, RD | (2 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "opcode 3 (unassigned)",
            msg(39, RD | (3 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "opcode NOTIFY (4)",
            msg(40, RD | (4 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "opcode UPDATE (5)",
            msg(41, RD | (5 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "opcode 15",
            msg(42, RD | (15 << 11), qd, &[&q]),
            Reply(NOTIMP),
        ),
        c(
            "EDNS version 1",
            msg(43, RD, ar1, &[&q, &opt(&root, 1, 0, &[])]),
            Reply(BADVERS),
        ),
        c(
            "EDNS option length past its RDATA",
            msg(44, RD, ar1, &[&q, &opt(&root, 0, 4, &[0, 10, 0, 200])]),
            Reply(NOERROR),
        ),
        c(
            "EDNS option header cut short",
            msg(45, RD, ar1, &[&q, &opt(&root, 0, 3, &[0, 10, 0])]),
            Reply(NOERROR),
        ),
        c(
            "trailing bytes after the question",
            big_trailer,
            Reply(NOERROR),
        ),
    ]
}

/// The RCODE of a reply: the header's 4 bits plus, if an OPT RR is in the additional section,
/// its 8 extended bits (RFC 6891 §6.1.3). `None` if the reply cannot be walked.
pub fn reply_rcode(m: &[u8]) -> Option<u16> {
    if m.len() < 12 {
        return None;
    }
    let low = u16::from(m[3] & 0x0f);
    let count = |i: usize| usize::from(u16::from_be_bytes([m[4 + 2 * i], m[5 + 2 * i]]));
    let mut pos = 12;
    for _ in 0..count(0) {
        pos = skip_name(m, pos)? + 4;
    }
    let records = count(1) + count(2);
    for i in 0..records + count(3) {
        let fixed = skip_name(m, pos)?;
        let f = m.get(fixed..fixed + 10)?;
        if i >= records && u16::from_be_bytes([f[0], f[1]]) == 41 {
            return Some(low | (u16::from(f[4]) << 4));
        }
        pos = fixed + 10 + usize::from(u16::from_be_bytes([f[8], f[9]]));
    }
    Some(low)
}

fn skip_name(m: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let l = *m.get(pos)?;
        match l {
            0 => return Some(pos + 1),
            l if l & 0xc0 == 0xc0 => return Some(pos + 2),
            l if l < 64 => pos += 1 + usize::from(l),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_big_enough_and_named_uniquely() {
        let all = client_classes();
        assert!(all.len() >= 40, "{} classes", all.len());
        let mut names: Vec<_> = all.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn rcode_reads_extended_bits() {
        let mut m = header(1, 0x8180, [1, 0, 0, 1]);
        m.extend_from_slice(&question());
        let mut o = opt(&[0], 0, 0, &[]);
        o[5] = 1; // extended RCODE 1 -> BADVERS (16)
        m.extend_from_slice(&o);
        assert_eq!(reply_rcode(&m), Some(BADVERS));
        assert_eq!(reply_rcode(&m[..12]), None, "counts promise records");
        assert_eq!(reply_rcode(&header(1, 0x8184, [0, 0, 0, 0])), Some(4));
    }
}
