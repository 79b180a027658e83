//! `--rev-server=ip[/prefix][,server...]`: a server rule for the reverse-lookup
//! zones covering an address prefix.

use std::net::IpAddr;

use crate::origin::Origin;
use crate::server::{DomainMatch, ServerRule, parse_action};
use crate::value::{ValueError, parse_uint};

/// Parses a `--rev-server` value into the equivalent server rule.
pub fn parse_rev_server(value: &str, origin: Origin) -> Result<ServerRule, ValueError> {
    let (net, server) = value.split_once(',').unwrap_or((value, ""));
    let (ip_text, prefix_text) = match net.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (net, None),
    };
    let ip: IpAddr = ip_text.trim().parse().map_err(|_| {
        ValueError::expected(format!(
            "an IP address or address/prefix before the comma, not `{net}`"
        ))
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => max,
        Some(p) => parse_uint(p.trim(), u64::from(max))
            .ok()
            .filter(|&n| n >= 1)
            .map(|n| n as u8)
            .ok_or_else(|| {
                ValueError::expected(format!("a prefix length from 1 to {max}, not `{p}`"))
            })?,
    };
    let domains = reverse_zones(ip, prefix)
        .into_iter()
        .map(DomainMatch::Suffix)
        .collect();
    let action = parse_action(server.trim())?;
    Ok(ServerRule {
        domains,
        action,
        origin,
    })
}

/// The reverse zones (`in-addr.arpa`, RFC 1035 §3.5; `ip6.arpa`, RFC 3596
/// §2.5) that together cover `ip/prefix` exactly. A prefix on an octet (IPv4)
/// or nibble (IPv6) boundary gives one zone; any other prefix gives every zone
/// one label longer that falls inside it (e.g. a /20 gives sixteen /24 zones).
/// Host bits in `ip` are ignored. `prefix` is clamped to the family's width.
pub fn reverse_zones(ip: IpAddr, prefix: u8) -> Vec<String> {
    match ip {
        IpAddr::V4(v4) => zones(&v4.octets(), 8, prefix.min(32), "in-addr.arpa", |v| {
            v.to_string()
        }),
        IpAddr::V6(v6) => {
            let nibbles: Vec<u8> = v6.octets().iter().flat_map(|b| [b >> 4, b & 0xf]).collect();
            zones(&nibbles, 4, prefix.min(128), "ip6.arpa", |v| {
                format!("{v:x}")
            })
        }
    }
}

/// Builds zones from `digits` (each `bits` wide), most significant first.
fn zones(
    digits: &[u8],
    bits: u8,
    prefix: u8,
    suffix: &str,
    fmt: impl Fn(u8) -> String,
) -> Vec<String> {
    let full = usize::from(prefix / bits);
    let rem = prefix % bits;
    let name = |labels: &[u8]| -> String {
        let mut s: String = labels.iter().rev().map(|&d| fmt(d) + ".").collect();
        s.push_str(suffix);
        s
    };
    if rem == 0 {
        return vec![name(&digits[..full])];
    }
    let free = bits - rem;
    let base = digits[full] >> free << free;
    let mut labels = digits[..=full].to_vec();
    (0..1u16 << free)
        .map(|offset| {
            labels[full] = base + offset as u8;
            name(&labels)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerAction;

    fn zones_of(v: &str) -> Vec<String> {
        parse_rev_server(v, Origin::CommandLine)
            .unwrap()
            .domains
            .into_iter()
            .map(|d| match d {
                DomainMatch::Suffix(s) => s,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn octet_boundaries() {
        assert_eq!(zones_of("1.2.3.0/24,192.168.0.1"), ["3.2.1.in-addr.arpa"]);
        assert_eq!(zones_of("10.0.0.0/8"), ["10.in-addr.arpa"]);
        assert_eq!(zones_of("1.2.3.4"), ["4.3.2.1.in-addr.arpa"]);
        assert_eq!(zones_of("1.2.3.99/16,1.1.1.1"), ["2.1.in-addr.arpa"]);
    }

    #[test]
    fn non_octet_prefix_covers_with_longer_zones() {
        let z = zones_of("192.168.17.0/20,1.1.1.1");
        assert_eq!(z.len(), 16);
        assert_eq!(z[0], "16.168.192.in-addr.arpa");
        assert_eq!(z[15], "31.168.192.in-addr.arpa");
        assert_eq!(zones_of("128.0.0.0/1").len(), 128);
        assert_eq!(
            zones_of("10.0.0.0/31"),
            ["0.0.0.10.in-addr.arpa", "1.0.0.10.in-addr.arpa"]
        );
    }

    #[test]
    fn ipv6_nibbles() {
        assert_eq!(zones_of("2001:db8::/32,::1"), ["8.b.d.0.1.0.0.2.ip6.arpa"]);
        let z = zones_of("2001:db8::/30");
        assert_eq!(
            z,
            [
                "8.b.d.0.1.0.0.2.ip6.arpa",
                "9.b.d.0.1.0.0.2.ip6.arpa",
                "a.b.d.0.1.0.0.2.ip6.arpa",
                "b.b.d.0.1.0.0.2.ip6.arpa"
            ]
        );
        assert_eq!(zones_of("::1")[0].split('.').count(), 34);
    }

    #[test]
    fn server_part() {
        let r = parse_rev_server("1.2.3.0/24,192.168.0.1#5353@eth0", Origin::CommandLine).unwrap();
        match r.action {
            ServerAction::Forward(u) => {
                assert_eq!(u.addr, "192.168.0.1:5353".parse().unwrap());
                assert_eq!(u.interface.as_deref(), Some("eth0"));
            }
            other => panic!("{other:?}"),
        }
        let r = parse_rev_server("1.2.3.0/24", Origin::CommandLine).unwrap();
        assert_eq!(r.action, ServerAction::LocalOnly);
    }

    #[test]
    fn bad_prefixes() {
        for v in [
            "1.2.3.0/0,1.1.1.1",
            "1.2.3.0/33,1.1.1.1",
            "::/129",
            "1.2.3.0/x",
            "host/24,1.1.1.1",
            "1.2.3.0/24,name",
        ] {
            assert!(parse_rev_server(v, Origin::CommandLine).is_err(), "{v}");
        }
        assert!(
            parse_rev_server("1.2.3.0/33", Origin::CommandLine)
                .unwrap_err()
                .expected
                .contains("1 to 32")
        );
    }
}
