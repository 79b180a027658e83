//! Hosts-file data (`/etc/hosts`, `--addn-hosts`) and the authoritative answers dnsmasq gives
//! from it.
//!
//! File format (hosts(5), as dnsmasq 2.90 reads it): one `ADDRESS NAME [ALIAS...]` entry per
//! line, fields separated by blanks, `#` starts a comment anywhere on a line. IPv4 and IPv6
//! addresses (no `%zone` suffix); a name may appear on several lines and so own several
//! addresses. Names are case-insensitive (RFC 4343 §3) and stored lowercased; one trailing dot is
//! accepted. A line whose address does not parse is reported and skipped; a bad name is reported
//! and the line's other names kept; a line with an address and no name is silently ignored
//! (dnsmasq does the same).
//!
//! Answers, matching what dnsmasq 2.90 was observed to send (class IN only):
//! - A / AAAA for a name with at least one address of that family: every such address,
//!   AA=1, RA=1, NOERROR, TTL = `--local-ttl`.
//! - ANY for a name with any address: all its A then all its AAAA records.
//! - PTR for `in-addr.arpa` / `ip6.arpa` of an address in the data: the first name listed for
//!   that address, in file (load) order.
//! - Anything else, including A for a name that only has IPv6 addresses, or MX for a hosts
//!   name, is *not* answered here ([`HostsTable::answer`] returns `None`) and goes upstream —
//!   dnsmasq 2.90 forwards those rather than answering NODATA.
//!
//! Memory layout: every distinct name is interned once, in lowercased uncompressed wire form,
//! in one byte arena indexed by an open-addressing hash table of `u32` slots; address records
//! are `(name id, address)` pairs in flat vectors sorted for binary search. Nothing is allocated
//! per query.

mod name_index;
#[cfg(test)]
mod tests;
mod text;

use name_index::NameIndex;
use text::{Addr, Cursor, lossy, parse_addr, reverse_addr, text_to_wire};

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::authoritative::write_reply_with;
use super::name::MAX_NAME_LEN;
use super::packet::Query;

/// RR type A, RFC 1035 §3.2.2.
const TYPE_A: u16 = 1;
/// RR type PTR, RFC 1035 §3.2.2.
const TYPE_PTR: u16 = 12;
/// RR type AAAA, RFC 3596 §2.1.
const TYPE_AAAA: u16 = 28;
/// QTYPE `*` (ANY), RFC 1035 §3.2.3.
const TYPE_ANY: u16 = 255;
/// Class IN, RFC 1035 §3.2.4.
const CLASS_IN: u16 = 1;
/// Compression pointer to the question name at offset 12, RFC 1035 §4.1.4.
pub(crate) const PTR_TO_QNAME: [u8; 2] = [0xC0, 0x0C];
/// Owner pointer + TYPE + CLASS + TTL + RDLENGTH, RFC 1035 §4.1.3.
pub(crate) const RR_FIXED: usize = 2 + 2 + 2 + 4 + 2;

/// What was wrong with one line of a hosts file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostsErrorKind {
    /// The first field is not an IPv4 or IPv6 address (dnsmasq: "bad address").
    #[error("bad address {0:?}")]
    BadAddress(String),
    /// A name field is not a valid domain name (empty label, label over 63 octets, name over
    /// 255 octets, or a byte that is not printable ASCII) (dnsmasq: "bad name").
    #[error("bad name {0:?}")]
    BadName(String),
    /// The table is full: the name arena would pass 4 GiB or there would be more than 2^32 names.
    #[error("table full")]
    Full,
    /// A file inside a hosts directory could not be read.
    #[error("cannot read file: {0}")]
    Unreadable(String),
}

/// One problem found while loading hosts data, with where it was found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at {file} line {line}")]
pub struct HostsError {
    /// The file (or other source label) the line came from.
    pub file: String,
    /// 1-based line number (0 for whole-file problems).
    pub line: u32,
    /// What was wrong.
    pub kind: HostsErrorKind,
}

/// A forward IPv4 record: name id and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rec<A> {
    name: u32,
    addr: A,
}

/// What a query is answered with: A records, AAAA records, a PTR target.
type Records<'a> = (&'a [Rec<[u8; 4]>], &'a [Rec<[u8; 16]>], Option<&'a [u8]>);

/// A reverse record: address and the name id its PTR answer names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rev<A> {
    addr: A,
    name: u32,
}

/// Hosts data: interned names, forward (A/AAAA) and reverse (PTR) records.
///
/// Built with [`HostsTable::load_str`] / [`HostsTable::load_path`]; immutable afterwards and
/// shared between workers (it is `Send + Sync`, hold it in an `Arc`). Every load call leaves the
/// table fully indexed, so loads and lookups may be interleaved.
#[derive(Clone, Debug, Default)]
pub struct HostsTable {
    /// Every name once, lowercased uncompressed wire form, with its index.
    names: NameIndex,
    /// A records, sorted by (name, address), no duplicates.
    fwd4: Vec<Rec<[u8; 4]>>,
    /// AAAA records, sorted by (name, address), no duplicates.
    fwd6: Vec<Rec<[u8; 16]>>,
    /// IPv4 PTR targets, sorted by address; one per address (the first loaded).
    rev4: Vec<Rev<[u8; 4]>>,
    /// IPv6 PTR targets, sorted by address; one per address (the first loaded).
    rev6: Vec<Rev<[u8; 16]>>,
    /// `--expand-hosts` domain in wire form (without the root label), if set.
    expand: Option<Vec<u8>>,
    /// `--domain=DOMAIN,RANGE` domains (wire form without the root label) for addresses in
    /// `start..=end`, in the order given; the last match wins over [`Self::expand`].
    expand_ranges: Vec<(Addr, Addr, Vec<u8>)>,
}

impl HostsTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// `-E` / `--expand-hosts` with `--domain=DOMAIN`: for loads after this call, every name
    /// without a dot also gets `NAME.DOMAIN`, and that expanded name is the PTR target. Returns
    /// an error (and changes nothing) if `domain` is not a valid name.
    pub fn set_expand_domain(&mut self, domain: &str) -> Result<(), HostsErrorKind> {
        let mut wire = [0u8; MAX_NAME_LEN];
        let len = text_to_wire(domain.as_bytes(), &mut wire)
            .filter(|&l| l > 1)
            .ok_or_else(|| HostsErrorKind::BadName(domain.to_string()))?;
        self.expand = Some(wire[..len - 1].to_vec());
        Ok(())
    }

    /// `-E` with `--domain=DOMAIN,RANGE`: for loads after this call, names without a dot whose
    /// address is in `start..=end` get `NAME.DOMAIN` instead of the default domain (the range
    /// added last is tried first, as dnsmasq 2.90). `start` and `end` must be of one family.
    pub fn add_expand_range(
        &mut self,
        domain: &str,
        start: std::net::IpAddr,
        end: std::net::IpAddr,
    ) -> Result<(), HostsErrorKind> {
        let mut wire = [0u8; MAX_NAME_LEN];
        let len = text_to_wire(domain.as_bytes(), &mut wire)
            .filter(|&l| l > 1)
            .ok_or_else(|| HostsErrorKind::BadName(domain.to_string()))?;
        let conv = |a: std::net::IpAddr| match a {
            std::net::IpAddr::V4(v) => Addr::V4(v.octets()),
            std::net::IpAddr::V6(v) => Addr::V6(v.octets()),
        };
        self.expand_ranges
            .push((conv(start), conv(end), wire[..len - 1].to_vec()));
        Ok(())
    }

    /// Number of address records (A plus AAAA).
    pub fn len(&self) -> usize {
        self.fwd4.len() + self.fwd6.len()
    }

    /// True if the table holds no address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct names.
    pub fn names(&self) -> usize {
        self.names.len()
    }

    /// Approximate heap memory used, in bytes.
    pub fn mem_size(&self) -> usize {
        self.names.mem_size()
            + size_of::<Rec<[u8; 4]>>() * self.fwd4.capacity()
            + size_of::<Rec<[u8; 16]>>() * self.fwd6.capacity()
            + size_of::<Rev<[u8; 4]>>() * self.rev4.capacity()
            + size_of::<Rev<[u8; 16]>>() * self.rev6.capacity()
    }

    /// Adds the entries of one hosts file's text. `file` labels errors. Bad lines (or bad names
    /// on a line) are returned, the good ones kept.
    pub fn load_str(&mut self, text: &str, file: &str) -> Vec<HostsError> {
        self.load_bytes(text.as_bytes(), file)
    }

    /// Like [`HostsTable::load_str`] for raw file contents (non-UTF-8 bytes make a name bad).
    pub fn load_bytes(&mut self, text: &[u8], file: &str) -> Vec<HostsError> {
        let mut errors = Vec::new();
        self.parse_into(text, file, &mut errors);
        self.reindex();
        errors
    }

    /// Loads a hosts file, or every file of a directory in byte order of their names
    /// (not recursive; names starting with `.` are skipped). An unreadable `path` is an `Err`;
    /// an unreadable file inside a directory is reported as [`HostsErrorKind::Unreadable`].
    pub fn load_path(&mut self, path: &Path) -> std::io::Result<Vec<HostsError>> {
        let mut errors = Vec::new();
        if std::fs::metadata(path)?.is_dir() {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(path)? {
                let entry = entry?;
                let name = entry.file_name();
                if name.as_encoded_bytes().first() == Some(&b'.') {
                    continue;
                }
                let p = entry.path();
                if std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
                    files.push(p);
                }
            }
            files.sort();
            for p in files {
                let label = p.display().to_string();
                match std::fs::read(&p) {
                    Ok(text) => self.parse_into(&text, &label, &mut errors),
                    Err(e) => errors.push(HostsError {
                        file: label,
                        line: 0,
                        kind: HostsErrorKind::Unreadable(e.to_string()),
                    }),
                }
            }
        } else {
            let text = std::fs::read(path)?;
            self.parse_into(&text, &path.display().to_string(), &mut errors);
        }
        self.reindex();
        Ok(errors)
    }

    /// Parses `text` line by line, appending records (unsorted) and errors.
    fn parse_into(&mut self, text: &[u8], file: &str, errors: &mut Vec<HostsError>) {
        // Names are most of a hosts file's text.
        self.names.reserve(text.len());
        let mut cur = Cursor { text, pos: 0 };
        let mut line = 0u32;
        loop {
            line = line.saturating_add(1);
            if let Err(kind) = self.parse_line(&mut cur, line, file, errors) {
                errors.push(HostsError {
                    file: file.to_string(),
                    line,
                    kind,
                });
                return;
            }
            if !cur.next_line() {
                return;
            }
        }
    }

    /// Parses the fields of one line; `Err` only when the table is full (loading stops).
    fn parse_line(
        &mut self,
        cur: &mut Cursor<'_>,
        line: u32,
        file: &str,
        errors: &mut Vec<HostsError>,
    ) -> Result<(), HostsErrorKind> {
        let mut err = |kind| {
            errors.push(HostsError {
                file: file.to_string(),
                line,
                kind,
            })
        };
        let Some(addr_field) = cur.field() else {
            return Ok(());
        };
        let Some(addr) = parse_addr(addr_field) else {
            err(HostsErrorKind::BadAddress(lossy(addr_field)));
            return Ok(());
        };
        let mut wire = [0u8; MAX_NAME_LEN];
        let mut expanded = [0u8; MAX_NAME_LEN];
        let mut first = true;
        while let Some(field) = cur.field() {
            // Names given in Unicode are matched in their punycode form (IDNA, RFC 5891).
            let ascii;
            let field = if field.is_ascii() {
                field
            } else {
                match std::str::from_utf8(field).ok().map(idna::domain_to_ascii) {
                    Some(Ok(a)) => {
                        ascii = a;
                        ascii.as_bytes()
                    }
                    _ => {
                        err(HostsErrorKind::BadName(lossy(field)));
                        continue;
                    }
                }
            };
            let len = match text_to_wire(field, &mut wire) {
                Some(len) if len > 1 => len,
                _ => {
                    err(HostsErrorKind::BadName(lossy(field)));
                    continue;
                }
            };
            let id = self
                .names
                .append(&wire[..len])
                .ok_or(HostsErrorKind::Full)?;
            let mut canonical = id;
            if let Some(elen) = self.expanded(&wire[..len], addr, &mut expanded) {
                let eid = self
                    .names
                    .append(&expanded[..elen])
                    .ok_or(HostsErrorKind::Full)?;
                self.push_forward(eid, addr);
                canonical = eid;
            }
            self.push_forward(id, addr);
            if first {
                first = false;
                match addr {
                    Addr::V4(a) => self.rev4.push(Rev {
                        addr: a,
                        name: canonical,
                    }),
                    Addr::V6(a) => self.rev6.push(Rev {
                        addr: a,
                        name: canonical,
                    }),
                }
            }
        }
        Ok(())
    }

    /// Writes `NAME.DOMAIN` in wire form into `out` if `--expand-hosts` is set and `name` is a
    /// single label; returns its length.
    fn expanded(&self, name: &[u8], addr: Addr, out: &mut [u8; MAX_NAME_LEN]) -> Option<usize> {
        // dnsmasq 2.90 tries the ranges last given first.
        let ranged = self
            .expand_ranges
            .iter()
            .rev()
            .find(|(s, e, _)| match (s, e, addr) {
                (Addr::V4(s), Addr::V4(e), Addr::V4(a)) => *s <= a && a <= *e,
                (Addr::V6(s), Addr::V6(e), Addr::V6(a)) => *s <= a && a <= *e,
                _ => false,
            });
        let domain = match ranged {
            Some((_, _, d)) => d.as_slice(),
            None => self.expand.as_deref()?,
        };
        let label = usize::from(name[0]);
        let total = name.len() + domain.len();
        if name.len() != label + 2 || total > MAX_NAME_LEN {
            return None;
        }
        out[..=label].copy_from_slice(&name[..=label]);
        out[label + 1..total - 1].copy_from_slice(domain);
        out[total - 1] = 0;
        Some(total)
    }

    fn push_forward(&mut self, name: u32, addr: Addr) {
        match addr {
            Addr::V4(addr) => self.fwd4.push(Rec { name, addr }),
            Addr::V6(addr) => self.fwd6.push(Rec { name, addr }),
        }
    }

    /// Sorts and deduplicates the record vectors after a load.
    fn reindex(&mut self) {
        // Index the names this load appended; records follow names folded as duplicates.
        if let Some(r) = self.names.finish() {
            for rec in &mut self.fwd4 {
                rec.name = r.apply(rec.name);
            }
            for rec in &mut self.fwd6 {
                rec.name = r.apply(rec.name);
            }
            for rev in &mut self.rev4 {
                rev.name = r.apply(rev.name);
            }
            for rev in &mut self.rev6 {
                rev.name = r.apply(rev.name);
            }
        }
        self.fwd4.sort_unstable();
        self.fwd4.dedup();
        self.fwd6.sort_unstable();
        self.fwd6.dedup();
        // Stable: among records for one address the first loaded stays first and wins.
        self.rev4.sort_by_key(|r| r.addr);
        self.rev4.dedup_by_key(|r| r.addr);
        self.rev6.sort_by_key(|r| r.addr);
        self.rev6.dedup_by_key(|r| r.addr);
        self.names.shrink();
        self.fwd4.shrink_to_fit();
        self.fwd6.shrink_to_fit();
        self.rev4.shrink_to_fit();
        self.rev6.shrink_to_fit();
    }

    /// Addresses of `name` (any case, dotted text, optional trailing dot), A first then AAAA.
    /// For tests and diagnostics; allocates.
    pub fn lookup(&self, name: &str) -> Vec<std::net::IpAddr> {
        let mut wire = [0u8; MAX_NAME_LEN];
        let Some(id) =
            text_to_wire(name.as_bytes(), &mut wire).and_then(|l| self.names.find(&wire[..l]))
        else {
            return Vec::new();
        };
        let v4 = range_of(&self.fwd4, id)
            .iter()
            .map(|r| Ipv4Addr::from(r.addr).into());
        let v6 = range_of(&self.fwd6, id)
            .iter()
            .map(|r| Ipv6Addr::from(r.addr).into());
        v4.chain(v6).collect()
    }

    /// Whether `wire` (a name in wire form, any case) has an address here: a local machine
    /// for `--selfmx`/`--localmx`.
    pub fn has_name(&self, wire: &[u8]) -> bool {
        self.names.find(wire).is_some_and(|id| {
            !range_of(&self.fwd4, id).is_empty() || !range_of(&self.fwd6, id).is_empty()
        })
    }

    /// If the query is one the hosts data answers (see the module docs), writes the whole reply
    /// into `out` and returns `Some(length)`; otherwise returns `None` and writes nothing (the
    /// caller goes on to the cache / upstream).
    ///
    /// The reply copies the query's ID, opcode, RD and CD; sets QR, AA and RA; NOERROR; copies
    /// the question bytes as the client sent them (case preserved, RFC 1035 §7.3); answer owners
    /// are the pointer `0xC00C` to the question (RFC 1035 §4.1.4); TTL = `local_ttl`; an OPT RR
    /// (UDP size `our_udp_size`, DO echoed) is appended when the query had one (RFC 6891 §7).
    ///
    /// Size: over UDP (`udp` true) the reply is limited to [`Query::udp_limit`] and to
    /// `out.len()`; over TCP to `out.len()`. An answer that does not fit is sent as header,
    /// question (and OPT) with TC=1 (RFC 2181 §9), so the client retries over TCP. Returns
    /// `Some(0)` if `out` cannot hold even that. Queries with an EDNS version other than 0 are
    /// left to the caller (BADVERS, RFC 6891 §6.1.3). No allocation.
    pub fn answer(
        &self,
        q: &Query<'_>,
        local_ttl: u32,
        our_udp_size: u16,
        udp: bool,
        out: &mut [u8],
    ) -> Option<usize> {
        if q.key.qclass() != CLASS_IN || q.opcode() != 0 || q.edns.is_some_and(|e| e.version != 0) {
            return None;
        }
        let wire = q.key.name_wire();
        let (v4, v6, ptr): Records<'_> = match q.key.qtype() {
            TYPE_A | TYPE_AAAA | TYPE_ANY => {
                let id = self.names.find(wire)?;
                let t = q.key.qtype();
                let v4 = if t == TYPE_AAAA {
                    &[][..]
                } else {
                    range_of(&self.fwd4, id)
                };
                let v6 = if t == TYPE_A {
                    &[][..]
                } else {
                    range_of(&self.fwd6, id)
                };
                if v4.is_empty() && v6.is_empty() {
                    return None;
                }
                (v4, v6, None)
            }
            TYPE_PTR => {
                let id = match reverse_addr(wire)? {
                    Addr::V4(a) => find_rev(&self.rev4, a)?,
                    Addr::V6(a) => find_rev(&self.rev6, a)?,
                };
                (&[][..], &[][..], Some(self.names.name(id)))
            }
            _ => return None,
        };
        let size = v4.len() * (RR_FIXED + 4)
            + v6.len() * (RR_FIXED + 16)
            + ptr.map_or(0, |p| RR_FIXED + p.len());
        let count = v4.len() + v6.len() + usize::from(ptr.is_some());
        let ttl = local_ttl.to_be_bytes();
        write_reply_with(q, our_udp_size, udp, out, size, count, |buf| {
            let mut at = 0;
            for r in v4 {
                at = write_rr(buf, at, TYPE_A, ttl, &r.addr);
            }
            for r in v6 {
                at = write_rr(buf, at, TYPE_AAAA, ttl, &r.addr);
            }
            if let Some(p) = ptr {
                write_rr(buf, at, TYPE_PTR, ttl, p);
            }
        })
    }
}

/// Writes one answer RR owned by the question name at `out[at..]` (room checked by the caller);
/// returns the offset after it. RFC 1035 §4.1.3.
#[inline]
pub(crate) fn write_rr(out: &mut [u8], at: usize, rtype: u16, ttl: [u8; 4], rdata: &[u8]) -> usize {
    let o = &mut out[at..at + RR_FIXED + rdata.len()];
    o[0..2].copy_from_slice(&PTR_TO_QNAME);
    o[2..4].copy_from_slice(&rtype.to_be_bytes());
    o[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
    o[6..10].copy_from_slice(&ttl);
    o[10..12].copy_from_slice(&(rdata.len() as u16).to_be_bytes());
    o[12..].copy_from_slice(rdata);
    at + RR_FIXED + rdata.len()
}

/// The records of name `id` in a vector sorted by name.
#[inline]
fn range_of<A>(v: &[Rec<A>], id: u32) -> &[Rec<A>] {
    let lo = v.partition_point(|r| r.name < id);
    let hi = lo + v[lo..].partition_point(|r| r.name == id);
    &v[lo..hi]
}

/// The PTR target id for `addr` in a vector sorted by address.
#[inline]
fn find_rev<A: Ord + Copy>(v: &[Rev<A>], addr: A) -> Option<u32> {
    v.binary_search_by(|r| r.addr.cmp(&addr))
        .ok()
        .map(|i| v[i].name)
}
