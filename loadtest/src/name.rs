//! Presentation-format domain names to wire format (RFC 1035 §3.1, escapes per §5.1).

use thiserror::Error;

/// Longest encoded name, including the root label (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE: usize = 255;
/// Longest single label (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;

/// Why a name could not be encoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    /// A label was empty (two dots in a row or a leading dot).
    #[error("empty label in name")]
    EmptyLabel,
    /// A label was longer than 63 octets.
    #[error("label longer than 63 octets")]
    LabelTooLong,
    /// The encoded name was longer than 255 octets.
    #[error("name longer than 255 octets")]
    NameTooLong,
    /// A backslash escape was cut short or named a value above 255.
    #[error("bad escape sequence")]
    BadEscape,
}

/// Encodes `text` (e.g. `www.example.com` or `www.example.com.`) into `out` as an
/// uncompressed wire name and returns its length. `.` and the empty string are the root.
///
/// Escapes follow RFC 1035 §5.1: `\X` is the literal `X`, `\DDD` is the octet with
/// decimal value DDD.
pub fn encode_name(text: &str, out: &mut [u8; MAX_NAME_WIRE]) -> Result<usize, NameError> {
    let b = text.as_bytes();
    if b.is_empty() || b == b"." {
        out[0] = 0;
        return Ok(1);
    }
    let mut pos = 0usize; // index of the current label's length octet
    let mut len = 0usize; // current label length
    let mut i = 0usize;
    let push = |out: &mut [u8; MAX_NAME_WIRE], pos: usize, len: &mut usize, v: u8| {
        if *len >= MAX_LABEL {
            return Err(NameError::LabelTooLong);
        }
        let at = pos + 1 + *len;
        if at >= MAX_NAME_WIRE - 1 {
            return Err(NameError::NameTooLong);
        }
        out[at] = v;
        *len += 1;
        Ok(())
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'.' => {
                if len == 0 {
                    return Err(NameError::EmptyLabel);
                }
                out[pos] = len as u8;
                pos += 1 + len;
                len = 0;
                i += 1;
                if i == b.len() {
                    // Trailing dot: fully qualified.
                    break;
                }
            }
            b'\\' => {
                let rest = &b[i + 1..];
                if rest.len() >= 3 && rest[..3].iter().all(u8::is_ascii_digit) {
                    let v = u32::from(rest[0] - b'0') * 100
                        + u32::from(rest[1] - b'0') * 10
                        + u32::from(rest[2] - b'0');
                    let v = u8::try_from(v).map_err(|_| NameError::BadEscape)?;
                    push(out, pos, &mut len, v)?;
                    i += 4;
                } else if let Some(&x) = rest.first() {
                    push(out, pos, &mut len, x)?;
                    i += 2;
                } else {
                    return Err(NameError::BadEscape);
                }
            }
            _ => {
                push(out, pos, &mut len, c)?;
                i += 1;
            }
        }
    }
    if len > 0 {
        out[pos] = len as u8;
        pos += 1 + len;
    }
    if pos >= MAX_NAME_WIRE {
        return Err(NameError::NameTooLong);
    }
    out[pos] = 0;
    Ok(pos + 1)
}

/// Writes the wire name in `wire` back as presentation text (lower-level inverse of
/// [`encode_name`]), escaping `.`, `\` and non-printable octets (RFC 1035 §5.1).
pub fn decode_name(wire: &[u8], out: &mut String) {
    let mut i = 0;
    let mut first = true;
    while i < wire.len() {
        let l = wire[i] as usize;
        if l == 0 {
            break;
        }
        if !first {
            out.push('.');
        }
        first = false;
        for &c in wire.get(i + 1..i + 1 + l).unwrap_or(&[]) {
            match c {
                b'.' | b'\\' => {
                    out.push('\\');
                    out.push(c as char);
                }
                0x21..=0x7e => out.push(c as char),
                _ => {
                    out.push('\\');
                    out.push_str(&format!("{c:03}"));
                }
            }
        }
        i += 1 + l;
    }
    if first {
        out.push('.');
    }
}

/// Compares two uncompressed wire names the DNS way: length octets exactly, label
/// octets ASCII case-insensitively (RFC 4343 §3). Returns `false` on malformed input.
pub fn names_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        let l = a[i];
        if l != b[i] || l > MAX_LABEL as u8 {
            return false;
        }
        if l == 0 {
            return i + 1 == a.len();
        }
        let end = i + 1 + l as usize;
        if end > a.len() || !a[i + 1..end].eq_ignore_ascii_case(&b[i + 1..end]) {
            return false;
        }
        i = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Result<Vec<u8>, NameError> {
        let mut buf = [0u8; MAX_NAME_WIRE];
        encode_name(s, &mut buf).map(|n| buf[..n].to_vec())
    }

    #[test]
    fn encodes_plain_and_fqdn() {
        let want = b"\x03www\x07example\x03com\x00".to_vec();
        assert_eq!(enc("www.example.com").unwrap(), want);
        assert_eq!(enc("www.example.com.").unwrap(), want);
        assert_eq!(enc(".").unwrap(), vec![0]);
    }

    #[test]
    fn escapes() {
        assert_eq!(enc(r"a\.b.c").unwrap(), b"\x03a.b\x01c\x00".to_vec());
        assert_eq!(enc(r"\065.c").unwrap(), b"\x01A\x01c\x00".to_vec());
        assert_eq!(enc(r"\256.c"), Err(NameError::BadEscape));
        assert_eq!(enc("a\\"), Err(NameError::BadEscape));
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(enc("a..b"), Err(NameError::EmptyLabel));
        assert_eq!(enc(&"x".repeat(64)), Err(NameError::LabelTooLong));
        let long = vec!["abcdefghij"; 30].join(".");
        assert_eq!(enc(&long), Err(NameError::NameTooLong));
    }

    #[test]
    fn compares_case_insensitively() {
        let a = enc("WwW.Example.COM").unwrap();
        let b = enc("www.example.com").unwrap();
        assert!(names_equal(&a, &b));
        let c = enc("www.example.org").unwrap();
        assert!(!names_equal(&a, &c));
        // A length octet must never be folded: 0x41 vs 0x61 would be 'A' vs 'a'.
        assert!(!names_equal(b"\x41", b"\x61"));
    }

    proptest::proptest! {
        #[test]
        fn round_trip(labels in proptest::collection::vec("[a-zA-Z0-9_.\\\\ -]{1,20}", 1..5)) {
            let mut wire = Vec::new();
            for l in &labels { wire.push(l.len() as u8); wire.extend_from_slice(l.as_bytes()); }
            wire.push(0);
            let mut text = String::new();
            decode_name(&wire, &mut text);
            proptest::prop_assert_eq!(enc(&text).unwrap(), wire);
        }
    }
}
