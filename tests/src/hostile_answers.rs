//! A named corpus of malformed upstream answers (RFC 1035 §4.1, RFC 6891 §6.1), each built for
//! the query it answers (same ID and question unless the class says otherwise). Where a class
//! carries an address record it is [`MARK`]: data from a malformed message that must never reach
//! a client or the cache.

use std::net::Ipv4Addr;

use crate::hostile_dns::{header, opt};
use crate::scripted::Received;

/// The address inside malformed answers.
pub const MARK: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);
/// The address of the good answer the scripted upstream sends after the bad one.
pub const GOOD: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);

const RESP: u16 = 0x8180;
const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;

/// A resource record: owner bytes as given, class IN, TTL 300, RDLENGTH `rdlen` (may lie).
pub fn rr(owner: &[u8], rtype: u16, rdlen: u16, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 1, 0x2c]);
    r.extend_from_slice(&rdlen.to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

fn answer(rx: &Received<'_>, flags: u16, counts: [u16; 4], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = header(rx.id, flags, counts);
    m.extend_from_slice(rx.question);
    for p in parts {
        m.extend_from_slice(p);
    }
    m
}

/// Offset of the first record after the question.
fn after_q(rx: &Received<'_>) -> u16 {
    12 + rx.question.len() as u16
}

fn mark_a() -> Vec<u8> {
    rr(&[0xc0, 12], TYPE_A, 4, &MARK.octets())
}

/// The well-formed answer: `A GOOD` for the question.
pub fn good(rx: &Received<'_>) -> Vec<u8> {
    answer(
        rx,
        RESP,
        [1, 1, 0, 0],
        &[&rr(&[0xc0, 12], TYPE_A, 4, &GOOD.octets())],
    )
}

/// A builder of one malformed answer.
pub type Build = fn(&Received<'_>) -> Vec<u8>;

/// The corpus: (class name, builder).
pub fn classes() -> Vec<(&'static str, Build)> {
    vec![
        ("empty datagram", |_| Vec::new()),
        ("eleven bytes", |rx| good(rx)[..11].to_vec()),
        ("header only, QDCOUNT 1", |rx| {
            header(rx.id, RESP, [1, 1, 0, 0])
        }),
        ("QR=0", |rx| answer(rx, 0x0180, [1, 1, 0, 0], &[&mark_a()])),
        ("wrong ID", |rx| {
            let mut m = answer(rx, RESP, [1, 1, 0, 0], &[&mark_a()]);
            m[1] ^= 0x5a;
            m
        }),
        ("QDCOUNT 0 with an answer", |rx| {
            let mut m = header(rx.id, RESP, [0, 1, 0, 0]);
            let name = &rx.question[..rx.question.len() - 4];
            m.extend_from_slice(&rr(name, TYPE_A, 4, &MARK.octets()));
            m
        }),
        ("QDCOUNT 2", |rx| {
            answer(rx, RESP, [2, 1, 0, 0], &[rx.question, &mark_a()])
        }),
        ("another question", |rx| {
            let mut m = answer(rx, RESP, [1, 1, 0, 0], &[&mark_a()]);
            m[13] ^= 0x01; // first letter of the name changes
            m
        }),
        ("question is a pointer loop", |rx| {
            let mut m = header(rx.id, RESP, [1, 1, 0, 0]);
            m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
            m.extend_from_slice(&mark_a());
            m
        }),
        ("answer owner points at itself", |rx| {
            let at = after_q(rx);
            let owner = [0xc0 | (at >> 8) as u8, at as u8];
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&owner, TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("answer owner points past the end", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&[0xc3, 0xff], TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("answer owner pointer loop of two", |rx| {
            let at = after_q(rx);
            // label "a", then a pointer to the next pointer, which points back to the label.
            let owner = [
                1,
                b'a',
                0xc0 | ((at + 4) >> 8) as u8,
                (at + 4) as u8,
                0xc0 | (at >> 8) as u8,
                at as u8,
            ];
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&owner, TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("answer owner forward pointer", |rx| {
            // Points forward into its own RDATA (which holds a name).
            let at = after_q(rx) + 12;
            let owner = [0xc0 | (at >> 8) as u8, at as u8];
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&owner, TYPE_CNAME, 3, &[1, b'x', 0])],
            )
        }),
        ("RDLENGTH past the end", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&[0xc0, 12], TYPE_A, 200, &MARK.octets())],
            )
        }),
        ("A with RDLENGTH 5", |rx| {
            let mut d = MARK.octets().to_vec();
            d.push(9);
            answer(rx, RESP, [1, 1, 0, 0], &[&rr(&[0xc0, 12], TYPE_A, 5, &d)])
        }),
        ("A with RDLENGTH 3", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 0, 0],
                &[&rr(&[0xc0, 12], TYPE_A, 3, &MARK.octets()[..3])],
            )
        }),
        ("A with RDLENGTH 0", |rx| {
            answer(rx, RESP, [1, 1, 0, 0], &[&rr(&[0xc0, 12], TYPE_A, 0, &[])])
        }),
        ("AAAA with RDLENGTH 4", |rx| {
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&mark_a(), &rr(&[0xc0, 12], TYPE_AAAA, 4, &MARK.octets())],
            )
        }),
        ("ANCOUNT 5, one record", |rx| {
            answer(rx, RESP, [1, 5, 0, 0], &[&mark_a()])
        }),
        ("ARCOUNT 3, nothing there", |rx| {
            answer(rx, RESP, [1, 1, 0, 3], &[&mark_a()])
        }),
        ("answer owner with a label of 64", |rx| {
            let mut owner = vec![64u8];
            owner.extend_from_slice(&[b'q'; 64]);
            owner.push(0);
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&mark_a(), &rr(&owner, TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("answer owner of 257 bytes", |rx| {
            let mut owner = Vec::new();
            for _ in 0..4 {
                owner.push(63u8);
                owner.extend_from_slice(&[b'q'; 63]);
            }
            owner.push(0);
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&mark_a(), &rr(&owner, TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("answer owner with label type 01", |rx| {
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&mark_a(), &rr(&[0x41, b'q', 0], TYPE_A, 4, &MARK.octets())],
            )
        }),
        ("two OPT records", |rx| {
            let o = opt(&[0], 0, 0, &[]);
            answer(rx, RESP, [1, 1, 0, 2], &[&mark_a(), &o, &o])
        }),
        ("OPT in the answer section", |rx| {
            answer(rx, RESP, [1, 2, 0, 0], &[&mark_a(), &opt(&[0], 0, 0, &[])])
        }),
        ("OPT in the authority section", |rx| {
            answer(rx, RESP, [1, 1, 1, 0], &[&mark_a(), &opt(&[0], 0, 0, &[])])
        }),
        ("OPT owned by a non-root name", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 0, 1],
                &[&mark_a(), &opt(&[0xc0, 12], 0, 0, &[])],
            )
        }),
        ("OPT RDLENGTH past the end", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 0, 1],
                &[&mark_a(), &opt(&[0], 0, 60, &[0, 10, 0, 8])],
            )
        }),
        ("CNAME RDATA points at itself", |rx| {
            let at = after_q(rx) + 12;
            let target = [0xc0 | (at >> 8) as u8, at as u8];
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&rr(&[0xc0, 12], TYPE_CNAME, 2, &target), &mark_a()],
            )
        }),
        ("CNAME RDATA label runs off its RDATA", |rx| {
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&rr(&[0xc0, 12], TYPE_CNAME, 3, &[9, b'a', b'b']), &mark_a()],
            )
        }),
        ("MX RDATA of one byte", |rx| {
            answer(
                rx,
                RESP,
                [1, 2, 0, 0],
                &[&rr(&[0xc0, 12], TYPE_MX, 1, &[0]), &mark_a()],
            )
        }),
        ("SOA RDATA cut short", |rx| {
            answer(
                rx,
                RESP,
                [1, 1, 1, 0],
                &[
                    &mark_a(),
                    &rr(&[0xc0, 12], TYPE_SOA, 6, &[0, 0, 0, 0, 0, 1]),
                ],
            )
        }),
        ("NS RDATA with a label of 64", |rx| {
            let mut d = vec![64u8];
            d.extend_from_slice(&[b'n'; 64]);
            d.push(0);
            answer(
                rx,
                RESP,
                [1, 1, 1, 0],
                &[&mark_a(), &rr(&[0xc0, 12], TYPE_NS, d.len() as u16, &d)],
            )
        }),
        ("4000 bytes of garbage after the question", |rx| {
            let mut m = answer(rx, RESP, [1, 1, 0, 0], &[]);
            m.extend((0..4000u32).map(|i| (i * 131 + 7) as u8));
            m
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_every_class_for_a_query() {
        let mut q = header(0x1234, 0x0100, [1, 0, 0, 0]);
        q.extend_from_slice(b"\x02c0\x07hostile\x04test\x00\x00\x01\x00\x01");
        let rx = Received::parse(&q).unwrap();
        assert_eq!(rx.name, "c0.hostile.test");
        assert_eq!(rx.question.len(), 21);
        let all = classes();
        assert!(all.len() >= 30);
        for (name, build) in all {
            let m = build(&rx);
            assert_ne!(m, good(&rx), "{name}");
        }
    }
}
