//! Append-only lease journal: checksummed records, replay that stops at the first bad record.
//!
//! Record layout (all integers big-endian):
//!
//! ```text
//! 0xD4 | kind u8 | payload length u16 | payload | CRC-32 (IEEE) of kind..payload u32
//! kind 1 (upsert): expires u64 | addr [4] | htype u8 | hwlen u8 | hwaddr | clid len u8 | clid
//!                  | name len u8 | name
//! kind 2 (remove): addr [4]
//! kind 3 (reset):  empty; the lease file is being rewritten in place and every lease follows
//! kind 4 (line6):  an IPv6 lease-file line (a DHCPv6 lease, or the `duid` line), as text
//! kind 5 (remove6): addr [16]
//! ```
//!
//! Crash-safe store (the engine does the I/O; this module and [`super::lease_file`] give the bytes):
//!
//! 1. At start: read the lease file ([`super::lease_file::parse`]), then replay `<file>.journal`
//!    with [`replay`]; truncate the journal to [`Replay::valid_len`] (a torn tail from a crash is
//!    cut) and `fsync` it.
//! 2. Per worker loop turn: append every `journal` byte string returned by
//!    [`crate::dhcp::Action`] to the journal with one `write`, then one `fdatasync`, and only then
//!    send that turn's ACKs (group commit). The window: an ACK is sent at most one loop turn (one
//!    batch of received packets) after its request, plus one `fdatasync`; no ACK is ever sent for
//!    a lease that a crash could lose. OFFER, NAK and INFORM need no sync.
//! 3. Compaction (when the journal exceeds e.g. 4× the lease file, from the control thread): take
//!    [`crate::dhcp::Allocator::snapshot`], write [`super::lease_file::emit`] to `<file>.tmp`,
//!    `fsync` it, `rename` it over `<file>`, `fsync` the directory, then truncate the journal and
//!    `fsync` it. Records appended between the snapshot and the truncation must be re-appended
//!    after it (hold appends during the swap, or start `<file>.journal.N+1` before the snapshot
//!    and delete the old journal after the rename). A crash at any point leaves either the old
//!    file + full journal or the new file + a journal whose records are idempotent on it.
//!
//! Writes cost O(change): one record per ACK/RELEASE/DECLINE; the full file is only rewritten at
//! compaction.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::lease::{Lease, LeaseRef};

const MAGIC: u8 = 0xD4;
const UPSERT: u8 = 1;
const REMOVE: u8 = 2;
const RESET: u8 = 3;
const LINE6: u8 = 4;
const REMOVE6: u8 = 5;

/// Why replay stopped before the end of the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The journal ends inside a record (a write torn by a crash).
    #[error("truncated record at byte {0}")]
    Truncated(usize),
    /// A record's checksum, magic or layout is wrong.
    #[error("corrupt record at byte {0}")]
    Corrupt(usize),
}

/// One journal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A lease granted or renewed.
    Upsert(Lease),
    /// A lease released or declined (by address).
    Remove(Ipv4Addr),
    /// Forget every lease read so far (the lease file and earlier records): the upserts that
    /// follow are the whole set. Written before the lease file is rewritten in place, so a
    /// crash that tears the file loses nothing.
    Reset,
    /// An IPv6 lease-file line granted or renewed (or the `duid` line).
    Line6(String),
    /// A DHCPv6 lease released or declined (by address).
    Remove6(Ipv6Addr),
}

/// Result of [`replay`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// Good records, in order.
    pub records: Vec<Record>,
    /// Length of the good prefix: truncate the journal to this.
    pub valid_len: usize,
    /// Why replay stopped early, if it did.
    pub stopped: Option<JournalError>,
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3, as in zlib).
pub fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, b| {
        CRC[((c ^ u32::from(*b)) & 0xff) as usize] ^ (c >> 8)
    })
}

fn finish(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start - 4;
    out[start + 2..start + 4].copy_from_slice(&(len as u16).to_be_bytes());
    let crc = crc32(&out[start + 1..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Append an upsert record for `l` to `out`.
pub fn encode_upsert(l: &LeaseRef<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[MAGIC, UPSERT, 0, 0]);
    out.extend_from_slice(&l.expires.to_be_bytes());
    out.extend_from_slice(&l.addr.octets());
    let hw = &l.hwaddr[..l.hwaddr.len().min(16)];
    out.extend_from_slice(&[l.htype, hw.len() as u8]);
    out.extend_from_slice(hw);
    for f in [l.client_id, l.hostname] {
        let f = f.map_or(&[][..], |v| &v[..v.len().min(255)]);
        out.push(f.len() as u8);
        out.extend_from_slice(f);
    }
    finish(out, start);
}

/// Append a reset record to `out`.
pub fn encode_reset(out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[MAGIC, RESET, 0, 0]);
    finish(out, start);
}

/// Append a DHCPv6 lease line (or the `duid` line) record to `out`; lines longer than the
/// record limit are cut (no real line comes near it).
pub fn encode_line6(line: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[MAGIC, LINE6, 0, 0]);
    out.extend_from_slice(&line.as_bytes()[..line.len().min(usize::from(u16::MAX))]);
    finish(out, start);
}

/// Append a DHCPv6 remove record for `addr` to `out`.
pub fn encode_remove6(addr: Ipv6Addr, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[MAGIC, REMOVE6, 0, 0]);
    out.extend_from_slice(&addr.octets());
    finish(out, start);
}

/// Append a remove record for `addr` to `out`.
pub fn encode_remove(addr: Ipv4Addr, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[MAGIC, REMOVE, 0, 0]);
    out.extend_from_slice(&addr.octets());
    finish(out, start);
}

fn take<'a>(p: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if p.len() < n {
        return None;
    }
    let (a, b) = p.split_at(n);
    *p = b;
    Some(a)
}

fn decode_payload(kind: u8, mut p: &[u8]) -> Option<Record> {
    let r = match kind {
        UPSERT => {
            let expires = u64::from_be_bytes(take(&mut p, 8)?.try_into().ok()?);
            let a: [u8; 4] = take(&mut p, 4)?.try_into().ok()?;
            let h = take(&mut p, 2)?;
            let hwaddr = take(&mut p, usize::from(h[1]))?.to_vec();
            let n = usize::from(take(&mut p, 1)?[0]);
            let clid = take(&mut p, n)?;
            let n = usize::from(take(&mut p, 1)?[0]);
            let name = take(&mut p, n)?;
            Record::Upsert(Lease {
                expires,
                htype: h[0],
                hwaddr,
                addr: Ipv4Addr::from(a),
                hostname: (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned()),
                client_id: (!clid.is_empty()).then(|| clid.to_vec()),
            })
        }
        REMOVE => Record::Remove(Ipv4Addr::from(<[u8; 4]>::try_from(take(&mut p, 4)?).ok()?)),
        RESET => Record::Reset,
        LINE6 => {
            let t = std::str::from_utf8(p).ok()?.to_owned();
            p = &[];
            Record::Line6(t)
        }
        REMOVE6 => Record::Remove6(Ipv6Addr::from(
            <[u8; 16]>::try_from(take(&mut p, 16)?).ok()?,
        )),
        _ => return None,
    };
    p.is_empty().then_some(r)
}

/// Decode one record at the start of `b`: the record and its length.
pub fn decode(b: &[u8]) -> Result<(Record, usize), JournalError> {
    if b.len() < 4 {
        return Err(JournalError::Truncated(0));
    }
    if b[0] != MAGIC {
        return Err(JournalError::Corrupt(0));
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let total = 4 + len + 4;
    if b.len() < total {
        return Err(JournalError::Truncated(0));
    }
    let crc = u32::from_be_bytes(
        b[4 + len..total]
            .try_into()
            .map_err(|_| JournalError::Corrupt(0))?,
    );
    if crc32(&b[1..4 + len]) != crc {
        return Err(JournalError::Corrupt(0));
    }
    let rec = decode_payload(b[1], &b[4..4 + len]).ok_or(JournalError::Corrupt(0))?;
    Ok((rec, total))
}

/// Replay a journal: every record up to the first truncated or corrupt one.
pub fn replay(bytes: &[u8]) -> Replay {
    let mut records = Vec::new();
    let mut at = 0;
    let mut stopped = None;
    while at < bytes.len() {
        match decode(&bytes[at..]) {
            Ok((r, n)) => {
                records.push(r);
                at += n;
            }
            Err(JournalError::Truncated(_)) => {
                stopped = Some(JournalError::Truncated(at));
                break;
            }
            Err(JournalError::Corrupt(_)) => {
                stopped = Some(JournalError::Corrupt(at));
                break;
            }
        }
    }
    Replay {
        records,
        valid_len: at,
        stopped,
    }
}

/// Apply records to a lease list (for a tool that has no allocator, e.g. a lease-time query).
pub fn apply(leases: &mut Vec<Lease>, records: &[Record]) {
    for r in records {
        match r {
            Record::Upsert(l) => {
                leases.retain(|o| o.addr != l.addr);
                leases.push(l.clone());
            }
            Record::Remove(a) => leases.retain(|o| o.addr != *a),
            Record::Reset => leases.clear(),
            Record::Line6(_) | Record::Remove6(_) => {}
        }
    }
}

/// The address field of an IPv6 lease line.
fn line6_addr(line: &str) -> Option<Ipv6Addr> {
    line.split_ascii_whitespace().nth(2)?.parse().ok()
}

/// Apply the IPv6 records to the IPv6 lines of the lease file (the `duid` line and DHCPv6
/// lease lines).
pub fn apply_v6(lines: &mut Vec<String>, records: &[Record]) {
    for r in records {
        match r {
            Record::Line6(l) if l.starts_with("duid ") => {
                lines.retain(|o| !o.starts_with("duid "));
                lines.insert(0, l.clone());
            }
            Record::Line6(l) => {
                let a = line6_addr(l);
                lines.retain(|o| o.starts_with("duid ") || line6_addr(o) != a);
                lines.push(l.clone());
            }
            Record::Remove6(a) => {
                lines.retain(|o| o.starts_with("duid ") || line6_addr(o) != Some(*a))
            }
            Record::Reset => lines.clear(),
            Record::Upsert(_) | Record::Remove(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lease(i: u8) -> Lease {
        Lease {
            expires: 1_700_000_000 + u64::from(i),
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, i],
            addr: Ipv4Addr::new(10, 0, 0, i),
            hostname: Some(format!("h{i}")),
            client_id: i.is_multiple_of(2).then(|| vec![1, 2, 0, 0, 0, 0, i]),
        }
    }

    #[test]
    fn crc_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn replay_stops_at_truncated_tail() {
        let mut j = Vec::new();
        for i in 1..=5 {
            encode_upsert(&lease(i).as_ref(), &mut j);
        }
        encode_remove(Ipv4Addr::new(10, 0, 0, 2), &mut j);
        let full = replay(&j);
        assert_eq!(full.records.len(), 6);
        assert_eq!(full.valid_len, j.len());
        assert_eq!(full.stopped, None);
        let mut leases = Vec::new();
        apply(&mut leases, &full.records);
        assert_eq!(leases.len(), 4);
        // Cut inside the last upsert: the remove and the torn record are gone, the rest kept.
        for cut in [j.len() - 1, j.len() - 13] {
            let r = replay(&j[..cut]);
            assert!(matches!(r.stopped, Some(JournalError::Truncated(_))));
            assert!(r.records.len() >= 4);
            assert!(r.valid_len <= cut);
        }
        // A flipped byte stops replay at that record.
        let mut bad = j.clone();
        let second = decode(&j).unwrap().1;
        bad[second + 8] ^= 0xff;
        let r = replay(&bad);
        assert_eq!(r.records, vec![Record::Upsert(lease(1))]);
        assert_eq!(r.stopped, Some(JournalError::Corrupt(second)));
    }

    #[test]
    fn reset_forgets_what_came_before() {
        let mut j = Vec::new();
        encode_upsert(&lease(1).as_ref(), &mut j);
        encode_reset(&mut j);
        encode_upsert(&lease(2).as_ref(), &mut j);
        let r = replay(&j);
        assert_eq!(r.stopped, None);
        let mut leases = vec![lease(3)];
        apply(&mut leases, &r.records);
        assert_eq!(leases, [lease(2)]);
    }

    #[test]
    fn v6_lines_replayed() {
        let mut j = Vec::new();
        encode_line6("duid 00:03:00:01:02:00:00:00:00:01", &mut j);
        encode_line6("100 5 fd00::5 a 00:01", &mut j);
        encode_line6("100 6 fd00::6 b 00:02", &mut j);
        encode_line6("200 5 fd00::5 a 00:01", &mut j);
        encode_remove6("fd00::6".parse().unwrap(), &mut j);
        encode_upsert(&lease(1).as_ref(), &mut j);
        let r = replay(&j);
        assert_eq!(r.stopped, None);
        let mut lines = vec!["duid 00:01".to_string(), "50 9 fd00::9 * *".to_string()];
        apply_v6(&mut lines, &r.records);
        assert_eq!(
            lines,
            [
                "duid 00:03:00:01:02:00:00:00:00:01",
                "50 9 fd00::9 * *",
                "200 5 fd00::5 a 00:01"
            ]
        );
        let mut v4 = Vec::new();
        apply(&mut v4, &r.records);
        assert_eq!(v4, [lease(1)]);
    }

    proptest! {
        #[test]
        fn line6_round_trip(line in "[ -~]{0,300}", a in any::<u128>()) {
            let mut j = Vec::new();
            encode_line6(&line, &mut j);
            encode_remove6(Ipv6Addr::from(a), &mut j);
            let r = replay(&j);
            prop_assert_eq!(r.records, vec![Record::Line6(line), Record::Remove6(Ipv6Addr::from(a))]);
        }

        #[test]
        fn round_trip(
            expires in any::<u64>(), addr in any::<u32>(), htype in any::<u8>(),
            hw in proptest::collection::vec(any::<u8>(), 0..=16),
            clid in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=255)),
            name in proptest::option::of("[a-z0-9-]{1,63}"),
        ) {
            let l = Lease { expires, htype, hwaddr: hw, addr: Ipv4Addr::from(addr), hostname: name, client_id: clid };
            let mut j = Vec::new();
            encode_upsert(&l.as_ref(), &mut j);
            let (r, n) = decode(&j).unwrap();
            prop_assert_eq!(n, j.len());
            prop_assert_eq!(r, Record::Upsert(l));
        }

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let r = replay(&b);
            prop_assert!(r.valid_len <= b.len());
        }
    }
}
