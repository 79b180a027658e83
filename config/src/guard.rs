//! Values of the query and answer guard options: `-B/--bogus-nxdomain` and `--ignore-address`
//! (`ip[/prefix]`), `--rebind-domain-ok` (`domain` or `/domain/[domain/]`) and `--filter-rr`
//! (`type[,type...]`, names or numbers).

use std::net::IpAddr;

use crate::value::{ValueError, parse_uint};

/// An address with a prefix length (`192.0.2.1` is `/32`, `2001:db8::1` is `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrPrefix {
    /// The address as given.
    pub addr: IpAddr,
    /// Prefix length: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

/// Parses `ip[/prefix]` as dnsmasq 2.90 accepts it for `--bogus-nxdomain` and `--ignore-address`.
pub fn parse_addr_prefix(value: &str) -> Result<AddrPrefix, ValueError> {
    let expected = || ValueError::expected("an IPv4 or IPv6 address, optionally /prefix");
    let (ip, prefix) = match value.trim().split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (value.trim(), None),
    };
    let addr: IpAddr = ip.parse().map_err(|_| expected())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => parse_uint(p, u64::from(max)).map_err(|_| expected())? as u8,
    };
    Ok(AddrPrefix { addr, prefix })
}

/// Parses `--rebind-domain-ok`: one domain, or `/d1/d2/.../`. Names are lowercased and lose a
/// trailing dot; `#` stands for every domain and is returned as the empty name (the root).
pub fn parse_domain_list(value: &str) -> Result<Vec<String>, ValueError> {
    let v = value.trim();
    let parts: Vec<&str> = match v.strip_prefix('/') {
        Some(rest) => {
            let Some(inner) = rest.strip_suffix('/') else {
                return Err(ValueError::expected("a domain, or /domain/[domain/]"));
            };
            inner.split('/').collect()
        }
        None => vec![v],
    };
    let mut out = Vec::new();
    for p in parts {
        let name = p.trim().trim_end_matches('.').to_ascii_lowercase();
        if name == "#" {
            out.push(String::new());
            continue;
        }
        if name.is_empty() {
            continue;
        }
        let ok = name.len() <= 253
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !ok {
            return Err(ValueError::expected("a domain, or /domain/[domain/]"));
        }
        out.push(name);
    }
    Ok(out)
}

/// Record types by name (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 3403, RFC 4034, RFC 5155,
/// RFC 6698, RFC 8659, RFC 9460, RFC 6891).
const RR_TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", 15),
    ("TXT", 16),
    ("RP", 17),
    ("AFSDB", 18),
    ("SIG", 24),
    ("KEY", 25),
    ("AAAA", 28),
    ("LOC", 29),
    ("SRV", 33),
    ("NAPTR", 35),
    ("KX", 36),
    ("CERT", 37),
    ("DNAME", 39),
    ("OPT", 41),
    ("DS", 43),
    ("SSHFP", 44),
    ("IPSECKEY", 45),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("DHCID", 49),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("OPENPGPKEY", 61),
    ("CSYNC", 62),
    ("ZONEMD", 63),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("SPF", 99),
    ("TKEY", 249),
    ("TSIG", 250),
    ("IXFR", 251),
    ("AXFR", 252),
    ("ANY", 255),
    ("URI", 256),
    ("CAA", 257),
];

/// QTYPE of `ANY` (RFC 1035 §3.2.3).
pub const RR_TYPE_ANY: u16 = 255;

/// Parses a record type name (any case) or decimal number 0-65535.
pub fn parse_rr_type(value: &str) -> Result<u16, ValueError> {
    let v = value.trim();
    if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
        return parse_uint(v, 65535)
            .map(|n| n as u16)
            .map_err(|_| ValueError::expected("a record type name or number 0-65535"));
    }
    RR_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(v))
        .map(|&(_, t)| t)
        .ok_or_else(|| ValueError::expected("a record type name (A, MX, TXT, ...) or number"))
}

/// Parses `--filter-rr=type[,type...]`; an empty value adds nothing, as in dnsmasq.
pub fn parse_rr_types(value: &str) -> Result<Vec<u16>, ValueError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(parse_rr_type)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_prefixes() {
        let p = parse_addr_prefix("1.2.3.4/24").unwrap();
        assert_eq!((p.addr, p.prefix), ("1.2.3.4".parse().unwrap(), 24));
        assert_eq!(parse_addr_prefix("198.51.100.66").unwrap().prefix, 32);
        assert_eq!(parse_addr_prefix("2001:db8::/32").unwrap().prefix, 32);
        assert_eq!(parse_addr_prefix("::1").unwrap().prefix, 128);
        // Rejected by dnsmasq 2.90 too.
        for bad in [
            "foo",
            "1.2.3.4/33",
            "::1/129",
            "",
            "1.2.3.4,5.6.7.8",
            "1.2.3.4/",
        ] {
            assert!(parse_addr_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domain_lists_in_both_forms() {
        assert_eq!(parse_domain_list("/a.B/c./").unwrap(), ["a.b", "c"]);
        assert_eq!(parse_domain_list("Lan").unwrap(), ["lan"]);
        assert!(parse_domain_list("").unwrap().is_empty());
        assert_eq!(parse_domain_list("/#/").unwrap(), [""]);
        assert!(parse_domain_list("/a.b").is_err());
        assert!(parse_domain_list("a b").is_err());
        assert!(parse_domain_list("a..b").is_err());
    }

    #[test]
    fn record_types_by_name_or_number() {
        assert_eq!(parse_rr_types("TXT,99,mx").unwrap(), [16, 99, 15]);
        assert_eq!(parse_rr_types("any").unwrap(), [RR_TYPE_ANY]);
        assert_eq!(parse_rr_types("https , caa").unwrap(), [65, 257]);
        assert!(parse_rr_types("").unwrap().is_empty());
        assert!(parse_rr_types("FOO").is_err());
        assert!(parse_rr_types("65536").is_err());
    }
}
