//! `-s/--domain=DOMAIN[,RANGE[,local]]`: the domain for hosts in an address range.

use std::net::IpAddr;

use crate::server::normalize_domain;
use crate::value::{ValueError, parse_u32, split_list};

/// A `--domain` given for an address range (`name,IP/LEN`, `name,START,END` or a single
/// address). dnsmasq 2.90 has no `START-END` form (it reads that as an interface name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRange {
    /// The domain (lowercase, no trailing dot).
    pub domain: String,
    /// First address of the range.
    pub start: IpAddr,
    /// Last address of the range (same family).
    pub end: IpAddr,
    /// The prefix length when given as `IP/LEN` (the `local` flag needs one).
    pub prefix: Option<u8>,
    /// `local`: also `--local=/DOMAIN/` and the range's reverse zones.
    pub local: bool,
}

const FORM: &str = "DOMAIN[,IP/LEN[,local]|,START,END|,IP|,INTERFACE]";

/// Where a `--domain` applies besides everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainScope {
    /// An address range.
    Range(DomainRange),
    /// `--domain=NAME,INTERFACE`: every subnet the interface has (followed as its addresses
    /// change).
    Interface {
        /// The domain (lowercase, no trailing dot).
        domain: String,
        /// The interface name.
        interface: String,
    },
}

/// A plausible Linux interface name: 1 to 15 bytes (IFNAMSIZ - 1), no `/`, whitespace or `,`.
fn is_interface_name(t: &str) -> bool {
    (1..=15).contains(&t.len())
        && t.parse::<IpAddr>().is_err()
        && !t
            .bytes()
            .any(|b| b == b'/' || b == b',' || b.is_ascii_whitespace())
}

fn ip(t: &str) -> Result<IpAddr, ValueError> {
    t.parse().map_err(|_| ValueError::expected(FORM))
}

impl DomainRange {
    /// True when `addr` is in the range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.start, self.end, addr) {
            (IpAddr::V4(s), IpAddr::V4(e), IpAddr::V4(a)) => s <= a && a <= e,
            (IpAddr::V6(s), IpAddr::V6(e), IpAddr::V6(a)) => s <= a && a <= e,
            _ => false,
        }
    }

    /// Parses a `--domain` value: the domain alone (`Ok((domain, None))`) or with a range or
    /// an interface.
    pub fn parse(value: &str) -> Result<(String, Option<DomainScope>), ValueError> {
        let items: Vec<&str> = split_list(value).collect();
        let domain = normalize_domain(items[0])?;
        if items.len() == 1 {
            return Ok((domain, None));
        }
        if domain.is_empty() {
            return Err(ValueError::expected(FORM));
        }
        if items.len() == 2 && !items[1].contains('/') && items[1].parse::<IpAddr>().is_err() {
            if !is_interface_name(items[1]) {
                return Err(ValueError::expected(FORM));
            }
            return Ok((
                domain.clone(),
                Some(DomainScope::Interface {
                    domain,
                    interface: items[1].to_string(),
                }),
            ));
        }
        let (start, end, prefix, rest) = if let Some((a, l)) = items[1].split_once('/') {
            let a = ip(a)?;
            let width = if a.is_ipv4() { 32 } else { 128 };
            let len = parse_u32(l)?;
            if len > width {
                return Err(ValueError::expected(FORM));
            }
            let (s, e) = match a {
                IpAddr::V4(v) => {
                    let m = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                    let n = u32::from(v) & m;
                    (IpAddr::V4(n.into()), IpAddr::V4((n | !m).into()))
                }
                IpAddr::V6(v) => {
                    let m = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                    let n = u128::from(v) & m;
                    (IpAddr::V6(n.into()), IpAddr::V6((n | !m).into()))
                }
            };
            (s, e, Some(len as u8), &items[2..])
        } else if items.len() > 2 && items[2] != "local" {
            (ip(items[1])?, ip(items[2])?, None, &items[3..])
        } else {
            let a = ip(items[1])?;
            (a, a, None, &items[2..])
        };
        let local = match rest {
            [] => false,
            ["local"] if prefix.is_some() => true,
            _ => return Err(ValueError::expected(FORM)),
        };
        let r = Self {
            domain,
            start,
            end,
            prefix,
            local,
        };
        if !r.contains(start) || !r.contains(end) {
            return Err(ValueError::expected(FORM));
        }
        Ok((r.domain.clone(), Some(DomainScope::Range(r))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipa(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn range(v: &str) -> DomainRange {
        match DomainRange::parse(v).unwrap().1 {
            Some(DomainScope::Range(r)) => r,
            other => panic!("{v}: {other:?}"),
        }
    }

    #[test]
    fn interface_form() {
        assert_eq!(
            DomainRange::parse("Lan.Test,eth0").unwrap().1,
            Some(DomainScope::Interface {
                domain: "lan.test".into(),
                interface: "eth0".into()
            })
        );
        assert!(DomainRange::parse("x.test,averyveryverylongname").is_err());
        assert!(DomainRange::parse("x.test,eth0,local").is_err());
    }

    #[test]
    fn forms() {
        assert_eq!(
            DomainRange::parse("Lan.Test").unwrap(),
            ("lan.test".into(), None)
        );
        let r = range("a.test,192.168.1.7/24,local");
        assert_eq!(
            (r.start, r.end, r.prefix, r.local),
            (ipa("192.168.1.0"), ipa("192.168.1.255"), Some(24), true)
        );
        let r = range("b.test,10.0.0.5,10.0.0.9");
        assert_eq!(
            (r.start, r.end, r.local),
            (ipa("10.0.0.5"), ipa("10.0.0.9"), false)
        );
        assert!(r.contains(ipa("10.0.0.9")) && !r.contains(ipa("10.0.0.10")));
        assert!(range("d.test,fd00::/64").contains(ipa("fd00::1:2")));
        assert_eq!(range("e.test,10.0.0.5").end, ipa("10.0.0.5"));
        for bad in [
            "x.test,10.0.0.9,10.0.0.5",
            "x.test,10.0.0.5,local",
            "x.test,10.0.0.0/33",
            "x.test,10.0.0.0/8,other",
            "x.test,10.0.0.1,::1",
            "x.test,10.0.0.5-10.0.0.9",
        ] {
            assert!(DomainRange::parse(bad).is_err(), "{bad}");
        }
    }
}
