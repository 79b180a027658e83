//! DHCP names in DNS: every live lease with a host name answers A (`NAME` and `NAME.DOMAIN`)
//! and PTR (to `NAME.DOMAIN`, or `NAME` without `--domain`), as dnsmasq publishes its leases.
//!
//! The DHCP thread builds a new [`DhcpNames`] when the set of named leases changes and
//! publishes it; DNS workers consult it after the hosts files, like a hosts table. Answers are
//! authoritative with TTL `--dhcp-ttl` (default `--local-ttl`).

use std::fmt::Write as _;

use crate::dns::hosts::HostsTable;

/// The names of the current leases, indexed for DNS answers (immutable; share in an `Arc`).
#[derive(Clone, Debug, Default)]
pub struct DhcpNames {
    /// Forward and reverse records, in the hosts table's form.
    pub table: HostsTable,
    /// TTL of every answer made from it.
    pub ttl: u32,
}

impl DhcpNames {
    /// Builds the table from `(address, host name)` pairs (IPv4 or IPv6 addresses). A name is used up to its first dot
    /// and only when it is a valid label (RFC 1123 §2.1); others are skipped. With `domain`,
    /// each name also answers as `NAME.DOMAIN`, which is the PTR target (RFC 1035 §3.5).
    pub fn build<'a, A: std::fmt::Display>(
        leases: impl IntoIterator<Item = (A, &'a str)>,
        domain: Option<&str>,
        ttl: u32,
    ) -> DhcpNames {
        Self::build_with(leases, domain, ttl, false)
    }

    /// [`DhcpNames::build`], or with `qualified_only` (`--dhcp-fqdn`) each name answers only
    /// as `NAME.DOMAIN` (and names are left out when there is no domain).
    pub fn build_with<'a, A: std::fmt::Display>(
        leases: impl IntoIterator<Item = (A, &'a str)>,
        domain: Option<&str>,
        ttl: u32,
        qualified_only: bool,
    ) -> DhcpNames {
        let mut table = HostsTable::new();
        let domain = domain.filter(|d| !d.is_empty());
        if let Some(d) = domain
            && !qualified_only
        {
            // An invalid domain leaves bare names only.
            let _ = table.set_expand_domain(d);
        }
        let mut text = String::new();
        for (addr, name) in leases {
            let label = name.split('.').next().unwrap_or("");
            if !valid_label(label) {
                continue;
            }
            match (qualified_only, domain) {
                (false, _) => {
                    let _ = writeln!(text, "{addr} {label}");
                }
                (true, Some(d)) => {
                    let _ = writeln!(text, "{addr} {label}.{d}");
                }
                (true, None) => {}
            }
        }
        // Every line is built from checked parts; nothing is left to report.
        let _ = table.load_str(&text, "DHCP leases");
        DhcpNames { table, ttl }
    }

    /// Whether no lease has a usable name.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// A host name label: letters, digits and inner hyphens, 1 to 63 bytes (RFC 1123 §2.1).
fn valid_label(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 63
        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    #[test]
    fn names_answer_bare_and_under_the_domain() {
        let n = DhcpNames::build(
            [
                (Ipv4Addr::new(10, 9, 0, 11), "laptop"),
                (Ipv4Addr::new(10, 9, 0, 12), "phone.other.example"),
                (Ipv4Addr::new(10, 9, 0, 13), "bad_name"),
            ],
            Some("lan.example"),
            600,
        );
        let a = |s: &str| n.table.lookup(s);
        assert_eq!(a("laptop"), [IpAddr::from([10, 9, 0, 11])]);
        assert_eq!(a("laptop.lan.example"), [IpAddr::from([10, 9, 0, 11])]);
        assert_eq!(a("phone.lan.example"), [IpAddr::from([10, 9, 0, 12])]);
        assert!(a("bad_name").is_empty());
        assert_eq!(n.ttl, 600);
        assert!(!n.is_empty());
        assert!(DhcpNames::build::<Ipv4Addr>([], None, 0).is_empty());
        // DHCPv6 lease names answer AAAA.
        let v6: Ipv6Addr = "fd00:6::9".parse().unwrap();
        let n = DhcpNames::build([(v6, "fixed")], Some("lan"), 60);
        assert_eq!(n.table.lookup("fixed.lan"), [IpAddr::V6(v6)]);
    }

    #[test]
    fn fqdn_mode_answers_only_qualified_names() {
        let leases = [(Ipv4Addr::new(10, 9, 0, 11), "laptop")];
        let n = DhcpNames::build_with(leases, Some("lan.example"), 600, true);
        assert!(n.table.lookup("laptop").is_empty());
        assert_eq!(
            n.table.lookup("laptop.lan.example"),
            [IpAddr::from([10, 9, 0, 11])]
        );
        assert!(DhcpNames::build_with(leases, None, 600, true).is_empty());
    }
}
