//! Domain names in wire form: reading (with decompression), skipping and comparing.
//!
//! Every name that leaves this module is uncompressed, ASCII-lowercased wire form
//! (length-prefixed labels ending in the root label `0`), so names compare with `==`.

use super::packet::PacketError;

/// Max wire length of a name, RFC 1035 §2.3.4
pub const MAX_NAME_LEN: usize = 255;

/// Max length of one label, RFC 1035 §2.3.4
pub const MAX_LABEL_LEN: usize = 63;

/// Reads a possibly-compressed name at `offset` in `msg`; writes it uncompressed, lowercased (ASCII) in wire form
/// into `out`; returns (name_len_in_out, offset just after the name in msg). Pointer loops impossible: pointers
/// must point strictly backwards (RFC 1035 §4.1.4; RFC 9267); label > 63, name > 255, bad label types -> error.
///
/// "Strictly backwards" is enforced against the start of the run of labels being read: the first run
/// starts at `offset`, and every pointer must land before the start of the run it ends, so the reader
/// position strictly decreases at each jump and a name is read in at most 255 steps.
#[inline]
pub fn read_name(
    msg: &[u8],
    offset: usize,
    out: &mut [u8; MAX_NAME_LEN],
) -> Result<(usize, usize), PacketError> {
    // Labels between two jumps are contiguous in `msg`: validate them one by one, then copy the
    // whole run at once, lowercasing eight bytes at a time.
    let mut pos = offset;
    let mut run_start = offset;
    let mut out_len = 0usize;
    let mut end_in_msg: Option<usize> = None;
    loop {
        let b = *msg.get(pos).ok_or(PacketError::TooShort)?;
        match b & 0xC0 {
            0x00 => {
                let len = usize::from(b);
                let name_len = out_len + (pos - run_start) + 1 + len;
                if len == 0 {
                    copy_lower(&msg[run_start..=pos], &mut out[out_len..name_len]);
                    return Ok((name_len, end_in_msg.unwrap_or(pos + 1)));
                }
                // RFC 1035 §2.3.4: the whole name, root label included, is at most 255 octets.
                if name_len + 1 > MAX_NAME_LEN {
                    return Err(PacketError::NameTooLong);
                }
                pos += 1 + len;
                if pos >= msg.len() {
                    return Err(PacketError::TooShort);
                }
            }
            0xC0 => {
                // RFC 1035 §4.1.4 message compression; RFC 9267 §2 pointer-loop hardening.
                let lo = *msg.get(pos + 1).ok_or(PacketError::TooShort)?;
                let target = (usize::from(b & 0x3F) << 8) | usize::from(lo);
                if target >= run_start {
                    return Err(PacketError::BadPointer);
                }
                let run = pos - run_start;
                copy_lower(&msg[run_start..pos], &mut out[out_len..out_len + run]);
                out_len += run;
                if end_in_msg.is_none() {
                    end_in_msg = Some(pos + 2);
                }
                pos = target;
                run_start = target;
            }
            // 0x40 (RFC 6891 §5 extended labels, obsolete) and 0x80 (reserved).
            _ => return Err(PacketError::BadLabel),
        }
    }
}

/// Copies `src` into `dst` (same length), ASCII-lowercasing. Length octets are < 0x40, so
/// lowercasing them too is a no-op.
#[inline]
fn copy_lower(src: &[u8], dst: &mut [u8]) {
    let n = src.len().min(dst.len());
    if n < 8 {
        for (d, s) in dst[..n].iter_mut().zip(&src[..n]) {
            *d = s.to_ascii_lowercase();
        }
        return;
    }
    let mut d = dst[..n].chunks_exact_mut(8);
    let mut s = src[..n].chunks_exact(8);
    for (dc, sc) in (&mut d).zip(&mut s) {
        dc.copy_from_slice(&lower8(load8(sc)).to_le_bytes());
    }
    if !n.is_multiple_of(8) {
        // The tail as the last eight bytes, overlapping bytes already written with the same
        // values: one more word instead of up to seven single bytes.
        dst[n - 8..n].copy_from_slice(&lower8(load8(&src[n - 8..n])).to_le_bytes());
    }
}

/// Eight bytes as a little-endian word.
#[inline]
fn load8(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Lowercases the ASCII letters among 8 bytes packed in a u64 (SWAR). The high bit of each
/// byte of `upper` is set iff the byte is in 'A'..='Z': h >= 0x41 and h <= 0x5A and the original
/// byte < 0x80. No carries cross bytes because h <= 0x7F and the addends are <= 0x3F.
#[inline]
fn lower8(x: u64) -> u64 {
    let h = x & 0x7F7F_7F7F_7F7F_7F7F;
    let ge_a = h.wrapping_add(0x3F3F_3F3F_3F3F_3F3F);
    let gt_z = h.wrapping_add(0x2525_2525_2525_2525);
    let upper = ge_a & !gt_z & !x & 0x8080_8080_8080_8080;
    x | (upper >> 2)
}

/// ASCII-lowercases `buf` eight bytes at a time (SWAR); bytes >= 0x80 are left alone.
#[inline]
pub fn ascii_lowercase(buf: &mut [u8]) {
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        c.copy_from_slice(&lower8(x).to_le_bytes());
    }
    chunks.into_remainder().make_ascii_lowercase();
}

/// Returns the offset just after the (possibly compressed) name at `offset`, without following
/// pointers. Checks label types, bounds and the 255-octet limit of the uncompressed prefix.
#[inline]
pub fn skip_name(msg: &[u8], offset: usize) -> Result<usize, PacketError> {
    let mut pos = offset;
    loop {
        let b = *msg.get(pos).ok_or(PacketError::TooShort)?;
        match b & 0xC0 {
            0x00 if b == 0 => return Ok(pos + 1),
            0x00 => {
                pos += 1 + usize::from(b);
                if pos - offset >= MAX_NAME_LEN {
                    return Err(PacketError::NameTooLong);
                }
            }
            0xC0 => {
                if pos + 1 >= msg.len() {
                    return Err(PacketError::TooShort);
                }
                return Ok(pos + 2);
            }
            _ => return Err(PacketError::BadLabel),
        }
    }
}

/// Iterates the label boundaries of an uncompressed wire name: yields the offset of each label
/// (the last one yielded is the root label's offset). `name` must be well-formed wire form.
pub fn label_offsets(name: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut pos = Some(0usize);
    core::iter::from_fn(move || {
        let p = pos?;
        let len = usize::from(*name.get(p)?);
        pos = if len == 0 { None } else { Some(p + 1 + len) };
        Some(p)
    })
}

/// True if `name` equals `ancestor` or is below it (both uncompressed, lowercased wire form).
/// The root name is an ancestor of every name.
pub fn is_subdomain_of(name: &[u8], ancestor: &[u8]) -> bool {
    if ancestor.len() > name.len() {
        return false;
    }
    let start = name.len() - ancestor.len();
    // The suffix must begin on a label boundary of `name`.
    label_offsets(name).any(|o| o == start) && &name[start..] == ancestor
}

/// Formats an uncompressed wire name for logs, e.g. `www.example.com.`; the root is `.`.
/// Bytes outside printable ASCII and `.`/`\` inside labels are escaped as `\DDD` (RFC 4343 §2.1).
pub fn name_to_string(name: &[u8]) -> String {
    let mut s = String::with_capacity(name.len() + 1);
    for o in label_offsets(name) {
        let len = usize::from(name[o]);
        if len == 0 {
            break;
        }
        for &c in name.get(o + 1..o + 1 + len).unwrap_or(&[]) {
            if c.is_ascii_graphic() && c != b'.' && c != b'\\' {
                s.push(char::from(c));
            } else {
                s.push_str(&format!("\\{c:03}"));
            }
        }
        s.push('.');
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read(msg: &[u8], off: usize) -> Result<(Vec<u8>, usize), PacketError> {
        let mut out = [0u8; MAX_NAME_LEN];
        read_name(msg, off, &mut out).map(|(l, e)| (out[..l].to_vec(), e))
    }

    #[test]
    fn reads_compressed_name_from_captured_reply() {
        // knotd reply to `dig ALIAS.Example.com A` (CNAME target `www` + pointer to `example.com`).
        let msg = hex(
            "2e118500000100030000000105414c494153074578616d706c6503636f6d0000010001c00c0005000100000e10000603777777c012",
        );
        let (q, end) = read(&msg, 12).unwrap();
        assert_eq!(q, b"\x05alias\x07example\x03com\x00");
        assert_eq!(end, 12 + 19);
        let (owner, end) = read(&msg, 35).unwrap();
        assert_eq!(owner, q);
        assert_eq!(end, 37);
        assert_eq!(skip_name(&msg, 35).unwrap(), 37);
        let (target, end) = read(&msg, 47).unwrap();
        assert_eq!(target, b"\x03www\x07example\x03com\x00");
        assert_eq!(end, msg.len());
        assert_eq!(name_to_string(&target), "www.example.com.");
    }

    #[test]
    fn rejects_loops_and_forward_pointers() {
        // label "a" at 12 followed by a pointer back to 12: a loop although it points backwards.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[1, b'a', 0xC0, 12]);
        assert_eq!(read(&msg, 12), Err(PacketError::BadPointer));
        // self pointer
        assert_eq!(read(&msg, 14), Err(PacketError::BadPointer));
        // forward pointer
        let msg = [0xC0u8, 2, 0];
        assert_eq!(read(&msg, 0), Err(PacketError::BadPointer));
        // two pointers ping-ponging
        let msg = [0xC0u8, 2, 0xC0, 0];
        assert_eq!(read(&msg, 2), Err(PacketError::BadPointer));
    }

    #[test]
    fn rejects_bad_labels_and_long_names() {
        assert_eq!(read(&[0x40, 0], 0), Err(PacketError::BadLabel));
        assert_eq!(read(&[0x80, 0], 0), Err(PacketError::BadLabel));
        assert_eq!(read(&[3, b'a'], 0), Err(PacketError::TooShort));
        // 4 labels of 63 = 256 bytes with the root label: too long.
        let mut msg = Vec::new();
        for _ in 0..4 {
            msg.push(63);
            msg.extend_from_slice(&[b'x'; 63]);
        }
        msg.push(0);
        assert_eq!(read(&msg, 0), Err(PacketError::NameTooLong));
        assert_eq!(skip_name(&msg, 0), Err(PacketError::NameTooLong));
        // 3*64 + 62 + 1 = 255 exactly: fine.
        let mut msg = Vec::new();
        for _ in 0..3 {
            msg.push(63);
            msg.extend_from_slice(&[b'x'; 63]);
        }
        msg.push(61);
        msg.extend_from_slice(&[b'y'; 61]);
        msg.push(0);
        assert_eq!(msg.len(), 255);
        assert_eq!(read(&msg, 0).unwrap().0.len(), 255);
    }

    #[test]
    fn subdomain_and_format() {
        let www = b"\x03www\x07example\x03com\x00";
        assert!(is_subdomain_of(www, b"\x07example\x03com\x00"));
        assert!(is_subdomain_of(www, www));
        assert!(is_subdomain_of(www, b"\x00"));
        assert!(!is_subdomain_of(b"\x07example\x03com\x00", www));
        assert!(!is_subdomain_of(
            b"\x04xexample\x03com\x00",
            b"\x07example\x03com\x00"
        ));
        assert!(!is_subdomain_of(b"\x02ab\x02om\x00", b"\x01b\x02om\x00"));
        assert_eq!(name_to_string(b"\x00"), ".");
        assert_eq!(name_to_string(b"\x03a.b\x00"), "a\\046b.");
    }

    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    proptest! {
        #[test]
        fn never_panics(msg in proptest::collection::vec(any::<u8>(), 0..300), off in 0usize..310) {
            let mut out = [0u8; MAX_NAME_LEN];
            if let Ok((len, end)) = read_name(&msg, off, &mut out) {
                prop_assert!(len <= MAX_NAME_LEN && end <= msg.len());
                prop_assert_eq!(skip_name(&msg, off), Ok(end));
            }
            let _ = skip_name(&msg, off);
        }

        #[test]
        fn swar_lowercase_matches_std(mut b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let want = b.to_ascii_lowercase();
            ascii_lowercase(&mut b);
            prop_assert_eq!(b, want);
        }

        #[test]
        fn copy_lower_matches_std(src in proptest::collection::vec(any::<u8>(), 0..80), fill: u8) {
            let mut dst = vec![fill; src.len()];
            copy_lower(&src, &mut dst);
            prop_assert_eq!(dst, src.to_ascii_lowercase());
        }

        #[test]
        fn uncompressed_round_trip(labels in proptest::collection::vec("[a-zA-Z0-9-]{1,20}", 0..8)) {
            let mut wire = Vec::new();
            for l in &labels { wire.push(l.len() as u8); wire.extend_from_slice(l.as_bytes()); }
            wire.push(0);
            let mut out = [0u8; MAX_NAME_LEN];
            let (len, end) = read_name(&wire, 0, &mut out).unwrap();
            prop_assert_eq!(end, wire.len());
            let lower = wire.to_ascii_lowercase();
            prop_assert_eq!(&out[..len], lower.as_slice());
            let text = name_to_string(&out[..len]);
            let expect = if labels.is_empty() { ".".to_string() } else { format!("{}.", labels.join(".").to_ascii_lowercase()) };
            prop_assert_eq!(text, expect);
        }
    }
}
