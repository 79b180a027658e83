//! Hosts-file text: fields and lines, addresses, names in wire form, reverse names.

use super::super::name::{MAX_LABEL_LEN, MAX_NAME_LEN};
use std::net::{Ipv4Addr, Ipv6Addr};

/// `in-addr.arpa.` in wire form, RFC 1035 §3.5.
const IN_ADDR_ARPA: &[u8] = b"\x07in-addr\x04arpa\x00";
/// `ip6.arpa.` in wire form, RFC 3596 §2.5.
const IP6_ARPA: &[u8] = b"\x03ip6\x04arpa\x00";

/// An address from a hosts line or a reverse name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
}

/// A position in hosts-file text. Plain index loops, not iterator adapters: a million-line file
/// must load quickly even in unoptimised (test) builds.
pub(super) struct Cursor<'a> {
    pub(super) text: &'a [u8],
    pub(super) pos: usize,
}

/// Byte classes for [`Cursor`]: blanks between fields (hosts(5): spaces and tabs; CR from CRLF
/// files, VT and FF too) and bytes that end a field's line part (newline, `#` comment).
const BLANK: u8 = 1;
/// See [`BLANK`].
const STOP: u8 = 2;
/// Class of every byte value.
const CLASS: [u8; 256] = {
    let mut c = [0u8; 256];
    c[b' ' as usize] = BLANK;
    c[b'\t' as usize] = BLANK;
    c[b'\r' as usize] = BLANK;
    c[0x0B] = BLANK;
    c[0x0C] = BLANK;
    c[b'\n' as usize] = STOP;
    c[b'#' as usize] = STOP;
    c
};

impl<'a> Cursor<'a> {
    /// The next field on the current line; `None` at the end of the line or at a `#` comment
    /// (which runs to the end of the line, hosts(5)).
    pub(super) fn field(&mut self) -> Option<&'a [u8]> {
        let t = self.text;
        let mut i = self.pos;
        while i < t.len() && CLASS[t[i] as usize] == BLANK {
            i += 1;
        }
        self.pos = i;
        if i >= t.len() || CLASS[t[i] as usize] == STOP {
            return None;
        }
        let start = i;
        while i < t.len() && CLASS[t[i] as usize] == 0 {
            i += 1;
        }
        self.pos = i;
        Some(&t[start..i])
    }

    /// Moves past the end of the current line; false if there is no further line.
    pub(super) fn next_line(&mut self) -> bool {
        let t = self.text;
        let mut i = self.pos;
        while i < t.len() && t[i] != b'\n' {
            i += 1;
        }
        self.pos = i + 1;
        i < t.len()
    }
}

/// Parses a hosts-file address field (no scope `%zone`, as dnsmasq).
pub(super) fn parse_addr(field: &[u8]) -> Option<Addr> {
    let s = std::str::from_utf8(field).ok()?;
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(|a| Addr::V6(a.octets()))
    } else {
        s.parse::<Ipv4Addr>().ok().map(|a| Addr::V4(a.octets()))
    }
}

/// The address a reverse-lookup name stands for: exactly four decimal labels under
/// `in-addr.arpa` (RFC 1035 §3.5) or 32 hex-nibble labels under `ip6.arpa` (RFC 3596 §2.5).
pub(super) fn reverse_addr(wire: &[u8]) -> Option<Addr> {
    if let Some(head) = wire.strip_suffix(IN_ADDR_ARPA) {
        let mut a = [0u8; 4];
        let mut pos = 0;
        for i in (0..4).rev() {
            let len = usize::from(*head.get(pos)?);
            let label = head.get(pos + 1..pos + 1 + len)?;
            if !(1..=3).contains(&len)
                || !label.iter().all(u8::is_ascii_digit)
                || (len > 1 && label[0] == b'0')
            {
                return None;
            }
            let v = label
                .iter()
                .fold(0u16, |v, &d| v * 10 + u16::from(d - b'0'));
            a[i] = u8::try_from(v).ok()?;
            pos += 1 + len;
        }
        return (pos == head.len()).then_some(Addr::V4(a));
    }
    let head = wire.strip_suffix(IP6_ARPA)?;
    if head.len() != 64 {
        return None;
    }
    let mut a = [0u8; 16];
    for (i, pair) in head.chunks_exact(2).enumerate() {
        if pair[0] != 1 {
            return None;
        }
        let nibble = match pair[1] {
            d @ b'0'..=b'9' => d - b'0',
            h @ b'a'..=b'f' => h - b'a' + 10,
            _ => return None,
        };
        // The first label is the lowest nibble of the address.
        let byte = 15 - i / 2;
        a[byte] |= if i % 2 == 0 { nibble } else { nibble << 4 };
    }
    Some(Addr::V6(a))
}

/// Converts a dotted name (optional single trailing dot) to lowercased uncompressed wire form in
/// `out`; returns its length, or `None` for an invalid name. `"."` alone gives the root (length 1).
/// Label bytes must be printable ASCII other than `.` (RFC 2181 §11 allows any octet; dnsmasq
/// accepts these from hosts files); labels are 1..=63 octets and the name at most 255
/// (RFC 1035 §2.3.4).
pub(super) fn text_to_wire(text: &[u8], out: &mut [u8; MAX_NAME_LEN]) -> Option<usize> {
    let text = match text {
        b"." => return Some(write_root(out)),
        [rest @ .., b'.'] => rest,
        t => t,
    };
    // Each label adds a length octet; the name ends with the root octet.
    if text.is_empty() || text.len() + 2 > MAX_NAME_LEN {
        return None;
    }
    let mut at = 0; // the current label's length octet
    let mut len = 0; // the current label's length so far
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        i += 1;
        if b == b'.' {
            if len == 0 {
                return None;
            }
            out[at] = len as u8;
            at += 1 + len;
            len = 0;
        } else {
            if !matches!(b, 0x21..=0x7E) || len == MAX_LABEL_LEN {
                return None;
            }
            len += 1;
            out[at + len] = if b.wrapping_sub(b'A') < 26 {
                b | 0x20
            } else {
                b
            };
        }
    }
    if len == 0 {
        return None;
    }
    out[at] = len as u8;
    at += 1 + len;
    out[at] = 0;
    Some(at + 1)
}

pub(super) fn write_root(out: &mut [u8; MAX_NAME_LEN]) -> usize {
    out[0] = 0;
    1
}

/// A field for an error message.
pub(super) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
