//! A snapshot of the host's network interfaces and their addresses, as the engine learns them
//! (rtnetlink) and hands them to the protocol cores that depend on them (RA, DHCPv6).

use std::net::{IpAddr, Ipv6Addr};

/// Lifetime value meaning "forever" (RFC 4861 4.6.2, and the kernel's address lifetimes).
pub const INFINITE: u32 = u32::MAX;

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Configured by hand or by a program (not SLAAC or privacy extensions).
    pub permanent: bool,
    /// Still undergoing duplicate address detection, or DAD failed.
    pub tentative: bool,
    /// Deprecated (preferred lifetime over).
    pub deprecated: bool,
    /// A temporary (privacy, RFC 8981) address.
    pub temporary: bool,
    /// Remaining valid lifetime, seconds ([`INFINITE`] = forever).
    pub valid_secs: u32,
    /// Remaining preferred lifetime, seconds.
    pub preferred_secs: u32,
}

impl IfAddr {
    /// The IPv6 address, if this is one.
    pub fn v6(&self) -> Option<Ipv6Addr> {
        match self.addr {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// Kernel interface index.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Link-layer address (empty when the link has none).
    pub mac: Vec<u8>,
    /// MTU.
    pub mtu: u32,
    /// Administratively up and running.
    pub up: bool,
    /// Loopback.
    pub loopback: bool,
    /// Addresses, in the kernel's order.
    pub addrs: Vec<IfAddr>,
}

/// `fe80::/10` (RFC 4291 2.5.6).
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

impl Interface {
    /// The first usable (not tentative) IPv6 link-local address.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.addrs
            .iter()
            .filter(|a| !a.tentative)
            .filter_map(IfAddr::v6)
            .find(|a| is_link_local(*a))
    }

    /// Global (or unique-local) IPv6 addresses: not link-local, not loopback, not multicast.
    pub fn global_v6(&self) -> impl Iterator<Item = &IfAddr> {
        self.addrs.iter().filter(|a| {
            a.v6()
                .is_some_and(|v| !is_link_local(v) && !v.is_loopback() && !v.is_multicast())
        })
    }
}

/// `addr` with everything after the first `len` bits cleared.
pub fn prefix_of(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let mask = match len {
        0 => 0,
        l => u128::MAX << (128 - u32::from(l.min(128))),
    };
    Ipv6Addr::from(u128::from(addr) & mask)
}

/// The prefix of `prefix` (first `len` bits) joined with the host part of `host`.
pub fn join(prefix: Ipv6Addr, len: u8, host: Ipv6Addr) -> Ipv6Addr {
    let net = u128::from(prefix_of(prefix, len));
    let mask = match len {
        0 => 0,
        l => u128::MAX << (128 - u32::from(l.min(128))),
    };
    Ipv6Addr::from(net | (u128::from(host) & !mask))
}

/// Whether the interface name `name` matches `pattern` (exactly, or a prefix ending in `*`).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(p) => name.starts_with(p),
        None => pattern == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_joins() {
        let a: Ipv6Addr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        assert_eq!(
            prefix_of(a, 64),
            "2001:db8:1:2::".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(prefix_of(a, 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(prefix_of(a, 128), a);
        assert_eq!(
            join(a, 64, "::10".parse().unwrap()),
            "2001:db8:1:2::10".parse::<Ipv6Addr>().unwrap()
        );
        assert!(name_matches("eth*", "eth0") && !name_matches("eth0", "eth01"));
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(!is_link_local("fd00::1".parse().unwrap()));
    }
}
