//! Local records from the configuration (`--mx-host`, `--srv-host`, `--txt-record`,
//! `--ptr-record`, `--naptr-record`, `--caa-record`, `--cname`, `--host-record`, `--dns-rr`) and
//! the answers built from `--address=/domain/ADDR` rules, as dnsmasq 2.90 gives them.
//!
//! Answers, as dnsmasq 2.90 was observed to send them (class IN only):
//! - A name with records of the asked type: every such record, AA=1, RA=1, NOERROR, TTL =
//!   `--local-ttl` (or the record's own TTL for `--cname` and `--host-record`).
//! - ANY: every record of the name.
//! - Other types of a name with local records are *not* answered here (forwarded, as dnsmasq).
//! - A `--cname` alias answers every type with the CNAME, followed by the CNAMEs and records of
//!   the target when those are local too (other `--cname`s, `--host-record`s, hosts files);
//!   the target is never looked up upstream (dnsmasq's documented limitation). A CNAME question
//!   gets the alias's CNAME alone.
//! - `--host-record` adds PTR records for its addresses pointing to its first name, unless the
//!   reverse name already has a PTR.
//!
//! Everything is encoded once when the table is built (start, SIGHUP): an answer is a copy of
//! ready-made resource records, with no allocation per query. CNAME chains are resolved at build
//! time, so a reload of the hosts files must rebuild this table too.

mod builder;
pub mod synth;
#[cfg(test)]
mod tests;

pub use builder::LocalDataBuilder;

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::authoritative::write_reply_with;
use super::hosts::HostsTable;
use super::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use super::packet::Query;
use super::servers::{AddressAnswer, AddressKind, ServerTable};

/// RR types, RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 2782, RFC 3403 §4, RFC 8659 §4.
pub mod rtype {
    /// A.
    pub const A: u16 = 1;
    /// CNAME.
    pub const CNAME: u16 = 5;
    /// PTR.
    pub const PTR: u16 = 12;
    /// MX.
    pub const MX: u16 = 15;
    /// TXT.
    pub const TXT: u16 = 16;
    /// AAAA.
    pub const AAAA: u16 = 28;
    /// SRV.
    pub const SRV: u16 = 33;
    /// NAPTR.
    pub const NAPTR: u16 = 35;
    /// CAA.
    pub const CAA: u16 = 257;
    /// QTYPE `*`, RFC 1035 §3.2.3.
    pub const ANY: u16 = 255;
}

/// Class IN, RFC 1035 §3.2.4.
const CLASS_IN: u16 = 1;
/// Compression pointer to the question name at offset 12, RFC 1035 §4.1.4.
const PTR_TO_QNAME: [u8; 2] = [0xC0, 0x0C];
/// TYPE + CLASS + TTL + RDLENGTH after the owner, RFC 1035 §4.1.3.
const RR_TAIL: usize = 2 + 2 + 4 + 2;
/// Longest CNAME chain followed (dnsmasq stops at 10 too).
const MAX_CHAIN: usize = 10;

/// A configuration value that cannot be turned into a record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    /// A name is not a valid domain name.
    #[error("bad name {0:?}")]
    BadName(String),
    /// RDATA over 65535 octets.
    #[error("record data too long for {0:?}")]
    TooLong(String),
}

/// Converts a dotted name (one trailing dot allowed; `""` or `"."` is the root) to lowercase
/// uncompressed wire form, RFC 1035 §3.1.
pub fn wire_name(text: &str) -> Result<Vec<u8>, LocalError> {
    let bad = || LocalError::BadName(text.to_string());
    let t = text.strip_suffix('.').unwrap_or(text);
    let mut out = Vec::with_capacity(t.len() + 2);
    if !t.is_empty() {
        for label in t.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return Err(bad());
            }
            out.push(label.len() as u8);
            out.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    out.push(0);
    if out.len() > MAX_NAME_LEN {
        return Err(bad());
    }
    Ok(out)
}

/// The reverse-lookup name of an address: `d.c.b.a.in-addr.arpa` (RFC 1035 §3.5) or the 32
/// nibbles under `ip6.arpa` (RFC 3596 §2.5), in wire form.
pub fn reverse_name(addr: IpAddr) -> Vec<u8> {
    let mut out = Vec::with_capacity(72);
    match addr {
        IpAddr::V4(a) => {
            for o in a.octets().iter().rev() {
                let s = o.to_string();
                out.push(s.len() as u8);
                out.extend_from_slice(s.as_bytes());
            }
            out.extend_from_slice(b"\x07in-addr\x04arpa\x00");
        }
        IpAddr::V6(a) => {
            for o in a.octets().iter().rev() {
                for nibble in [o & 0xf, o >> 4] {
                    out.push(1);
                    out.push(b"0123456789abcdef"[usize::from(nibble)]);
                }
            }
            out.extend_from_slice(b"\x03ip6\x04arpa\x00");
        }
    }
    out
}

/// One encoded RR in [`LocalData::bytes`].
#[derive(Clone, Copy, Debug, Default)]
struct Rr {
    rtype: u16,
    start: u32,
    len: u32,
}

/// A CNAME alias's answer: its CNAME (owner = the question), the chain's further CNAMEs and the
/// final target's records (full owners).
#[derive(Clone, Debug, Default)]
struct Chain {
    first: Rr,
    rest: Vec<Rr>,
    tail: Vec<Rr>,
}

/// The records of one name.
#[derive(Clone, Debug, Default)]
struct Entry {
    recs: Vec<Rr>,
    chain: Option<Chain>,
}

/// Encoded local records, shared by every worker (immutable; hold it in an `Arc`).
#[derive(Clone, Debug, Default)]
pub struct LocalData {
    names: HashMap<Box<[u8]>, u32>,
    entries: Vec<Entry>,
    bytes: Vec<u8>,
    /// Owner names of the counted records and every name above them (not the root).
    claimed: HashSet<Box<[u8]>>,
    /// `--synth-domain` rules.
    synth: Vec<synth::SynthRule>,
    /// TTL of synthesized answers (`--local-ttl`).
    local_ttl: u32,
}

impl LocalData {
    /// Marks `name` (lowercase wire form) and its ancestors below the root as local.
    fn claim(&mut self, name: &[u8]) {
        let mut pos = 0;
        while pos < name.len() && name[pos] != 0 {
            if !self.claimed.insert(name[pos..].into()) {
                break; // the ancestors are in already
            }
            pos += 1 + usize::from(name[pos]);
        }
    }

    /// True when dnsmasq would call this name its own for the NXDOMAIN rewrite: the owner of a
    /// `--mx-host`, `--srv-host`, `--txt-record`, `--ptr-record`, `--naptr-record`,
    /// `--host-record`, `--cname` or `--interface-name` record, or a name above one (an empty
    /// non-terminal, RFC 8020 §2). `--dns-rr` and `--caa-record` names do not count, nor the
    /// reverse names of `--host-record`s (observed with dnsmasq 2.90). `name_wire` is lowercase
    /// wire form with its root byte. No allocation.
    pub fn claims(&self, name_wire: &[u8]) -> bool {
        !self.claimed.is_empty() && self.claimed.contains(name_wire)
    }

    fn entry(&mut self, name: &[u8]) -> usize {
        if let Some(&e) = self.names.get(name) {
            return e as usize;
        }
        self.entries.push(Entry::default());
        let e = self.entries.len() - 1;
        self.names.insert(name.into(), e as u32);
        e
    }

    /// Number of names with local records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no local record and no `--synth-domain` rule.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.synth.is_empty()
    }

    /// If the question is answered from local records (see the module docs), writes the whole
    /// reply into `out` and returns `Some(length)` (`Some(0)` if `out` cannot hold even a
    /// truncated reply); otherwise `None`, and the caller goes on. Same reply conventions as
    /// [`HostsTable::answer`]. No allocation.
    pub fn answer(
        &self,
        q: &Query<'_>,
        our_udp_size: u16,
        udp: bool,
        out: &mut [u8],
    ) -> Option<usize> {
        if q.key.qclass() != CLASS_IN || q.opcode() != 0 || q.edns.is_some_and(|e| e.version != 0) {
            return None;
        }
        let Some(&e) = self.names.get(q.key.name_wire()) else {
            return self.answer_synth(q, our_udp_size, udp, out);
        };
        let e = &self.entries[e as usize];
        let qt = q.key.qtype();
        let wanted = |r: &&Rr| qt == rtype::ANY || r.rtype == qt;
        let bytes = &self.bytes;
        let slice = move |r: &Rr| &bytes[r.start as usize..(r.start + r.len) as usize];
        match &e.chain {
            Some(c) if qt == rtype::CNAME => {
                write_reply(q, our_udp_size, udp, out, std::iter::once(slice(&c.first)))
            }
            Some(c) => write_reply(
                q,
                our_udp_size,
                udp,
                out,
                std::iter::once(&c.first)
                    .chain(c.rest.iter())
                    .chain(c.tail.iter().filter(wanted))
                    .map(slice),
            ),
            None => {
                if !e.recs.iter().any(|r| wanted(&r)) {
                    return self.answer_synth(q, our_udp_size, udp, out);
                }
                write_reply(
                    q,
                    our_udp_size,
                    udp,
                    out,
                    e.recs.iter().filter(wanted).map(slice),
                )
            }
        }
    }
}

impl LocalData {
    /// The `--synth-domain` answer, if a rule covers the question. No allocation.
    fn answer_synth(
        &self,
        q: &Query<'_>,
        our_udp_size: u16,
        udp: bool,
        out: &mut [u8],
    ) -> Option<usize> {
        match synth::lookup(&self.synth, q.key.name_wire(), q.key.qtype())? {
            synth::SynthAnswer::Addr(a) => {
                let rr = AddrRr::new(self.local_ttl, a);
                write_reply(
                    q,
                    our_udp_size,
                    udp,
                    out,
                    std::iter::once(&rr.buf[..rr.len]),
                )
            }
            synth::SynthAnswer::Ptr { target, len } => {
                let mut rr = [0u8; 2 + RR_TAIL + 256];
                rr[0..2].copy_from_slice(&PTR_TO_QNAME);
                rr[2..4].copy_from_slice(&rtype::PTR.to_be_bytes());
                rr[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
                rr[6..10].copy_from_slice(&self.local_ttl.to_be_bytes());
                rr[10..12].copy_from_slice(&(len as u16).to_be_bytes());
                rr[12..12 + len].copy_from_slice(&target[..len]);
                write_reply(q, our_udp_size, udp, out, std::iter::once(&rr[..12 + len]))
            }
        }
    }
}

/// A/AAAA record bytes for an `--address` answer, built on the stack.
struct AddrRr {
    buf: [u8; 2 + RR_TAIL + 16],
    len: usize,
}

impl AddrRr {
    fn new(ttl: u32, addr: IpAddr) -> Self {
        let mut buf = [0u8; 2 + RR_TAIL + 16];
        let (t, len) = match addr {
            IpAddr::V4(a) => {
                buf[12..16].copy_from_slice(&a.octets());
                (rtype::A, 4)
            }
            IpAddr::V6(a) => {
                buf[12..28].copy_from_slice(&a.octets());
                (rtype::AAAA, 16)
            }
        };
        buf[0..2].copy_from_slice(&PTR_TO_QNAME);
        buf[2..4].copy_from_slice(&t.to_be_bytes());
        buf[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
        buf[6..10].copy_from_slice(&ttl.to_be_bytes());
        buf[10..12].copy_from_slice(&(len as u16).to_be_bytes());
        Self { buf, len: 12 + len }
    }
}

/// Writes the answer to an `--address=/domain/ADDR` route: the domain's addresses of the kind
/// chosen by [`ServerTable::route_for`], TTL `local_ttl`, AA=1 (as dnsmasq). `--address=/d/#`
/// answers A with 0.0.0.0 and AAAA with `::` (both for ANY). Returns the reply length (0 if
/// `out` is too small). No allocation.
pub fn write_address_reply(
    q: &Query<'_>,
    table: &ServerTable,
    a: AddressAnswer,
    local_ttl: u32,
    our_udp_size: u16,
    udp: bool,
    out: &mut [u8],
) -> usize {
    let qt = q.key.qtype();
    let v4 = table.address_v4(a).iter().map(|&x| IpAddr::V4(x));
    let v6 = table.address_v6(a).iter().map(|&x| IpAddr::V6(x));
    let null = (a.kind == AddressKind::Null)
        .then_some([
            (qt != rtype::AAAA).then_some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            (qt != rtype::A).then_some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ])
        .into_iter()
        .flatten()
        .flatten();
    let rrs = v4
        .chain(v6)
        .chain(null)
        .map(|ip| AddrRr::new(local_ttl, ip));
    // Two passes over a cheap iterator: sizes first, then the bytes.
    let size: usize = rrs.clone().map(|r| r.len).sum();
    let count = rrs.clone().count();
    write_reply_with(q, our_udp_size, udp, out, size, count, |buf| {
        let mut at = 0;
        for r in rrs {
            buf[at..at + r.len].copy_from_slice(&r.buf[..r.len]);
            at += r.len;
        }
    })
    .unwrap_or(0)
}

/// Writes header, question, `rrs` (ready-made records) and OPT.
fn write_reply<'a, I>(
    q: &Query<'_>,
    our_udp_size: u16,
    udp: bool,
    out: &mut [u8],
    rrs: I,
) -> Option<usize>
where
    I: Iterator<Item = &'a [u8]> + Clone,
{
    let size: usize = rrs.clone().map(<[u8]>::len).sum();
    let count = rrs.clone().count();
    write_reply_with(q, our_udp_size, udp, out, size, count, |buf| {
        let mut at = 0;
        for r in rrs {
            buf[at..at + r.len()].copy_from_slice(r);
            at += r.len();
        }
    })
}
