//! Resource record type mnemonics (RFC 1035 §3.2.2 and the IANA DNS parameters registry),
//! plus the generic `TYPEnnn` form of RFC 3597 §5.

/// Mnemonic and numeric value of the types a query file may name.
const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("LOC", 29),
    ("SRV", 33),
    ("NAPTR", 35),
    ("DS", 43),
    ("SSHFP", 44),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("NSEC3", 50),
    ("TLSA", 52),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("AXFR", 252),
    ("ANY", 255),
    ("CAA", 257),
];

/// Parses a type mnemonic (case-insensitive) or `TYPEnnn` (RFC 3597 §5).
pub fn parse_qtype(s: &str) -> Option<u16> {
    if let Some(&(_, v)) = TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Some(v);
    }
    let digits = s
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("TYPE"))
        .map(|_| &s[4..])?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Writes a type the way [`parse_qtype`] reads it: the mnemonic when known, else `TYPEnnn`.
pub fn qtype_name(v: u16) -> String {
    match TYPES.iter().find(|(_, n)| *n == v) {
        Some((name, _)) => (*name).to_string(),
        None => format!("TYPE{v}"),
    }
}

/// Name of a response code for reports (RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 6895 §2.3).
pub fn rcode_name(rcode: u8) -> &'static str {
    const NAMES: [&str; 16] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
    ];
    NAMES[usize::from(rcode & 0x0f)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_generic() {
        assert_eq!(parse_qtype("a"), Some(1));
        assert_eq!(parse_qtype("AAAA"), Some(28));
        assert_eq!(parse_qtype("type65"), Some(65));
        assert_eq!(parse_qtype("TYPE"), None);
        assert_eq!(parse_qtype("TYPE70000"), None);
        assert_eq!(parse_qtype("BOGUS"), None);
        assert_eq!(qtype_name(28), "AAAA");
        assert_eq!(qtype_name(999), "TYPE999");
        assert_eq!(rcode_name(3), "NXDOMAIN");
    }

    proptest::proptest! {
        #[test]
        fn round_trip(v: u16) {
            proptest::prop_assert_eq!(parse_qtype(&qtype_name(v)), Some(v));
        }
    }
}
