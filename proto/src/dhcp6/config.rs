//! What the DHCPv6 server is told: its ranges, hosts, options and DUID, and the links it
//! serves (an interface's addresses), from which the ranges in effect on a link are resolved.

use std::net::Ipv6Addr;

use super::tags::MatchRule6;
use crate::dhcp::config::TagCond;
use crate::dhcp::matching::TagIf;

/// An address with its prefix length, as configured on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Net {
    /// The address.
    pub addr: Ipv6Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// The interface a datagram arrived on: index, name and its IPv6 addresses.
#[derive(Clone, Copy, Debug)]
pub struct Link6<'a> {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: &'a str,
    /// Its IPv6 addresses (link-local ones included).
    pub addrs: &'a [Ipv6Net],
}

/// Whether `a` is link-local unicast (fe80::/10).
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// `addr` with everything after the first `len` bits cleared.
pub fn mask(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let m = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    Ipv6Addr::from(bits & m)
}

/// Whether the interface `name` matches `pattern` (a trailing `*` matches any suffix).
pub fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(p) => name.starts_with(p),
        None => pattern == name,
    }
}

/// A configured DHCPv6 range (dnsmasq's IPv6 `--dhcp-range`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range6 {
    /// First address (with `constructor:`, only its interface part counts).
    pub start: Ipv6Addr,
    /// Last address; `None` for a range without a pool (stateless or static only).
    pub end: Option<Ipv6Addr>,
    /// Prefix length.
    pub prefix_len: u8,
    /// `constructor:IFACE`: the prefix comes from this interface's global addresses.
    pub constructor: Option<String>,
    /// Lease length in seconds; `None` = infinite.
    pub lease: Option<u32>,
    /// `deprecated`: preferred lifetime 0.
    pub deprecated: bool,
    /// Whether the pool hands out addresses (not `ra-only`, `ra-stateless`, `ra-names` or
    /// `static`).
    pub stateful: bool,
    /// `tag:` conditions: the range serves only clients carrying all of these tags.
    pub match_tags: Vec<String>,
    /// `set:` tag given to clients on this range's link.
    pub set_tag: Option<String>,
}

/// A range resolved on one link: concrete first and last address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRange {
    /// Index of the configured range.
    pub index: usize,
    /// The prefix (masked) and its length.
    pub prefix: Ipv6Net,
    /// First and last pool address, when the range has a pool.
    pub pool: Option<(Ipv6Addr, Ipv6Addr)>,
    /// Lease seconds (`None` = infinite).
    pub lease: Option<u32>,
    /// Preferred lifetime 0.
    pub deprecated: bool,
}

impl LinkRange {
    /// Whether `a` is inside this range's prefix.
    pub fn on_link(&self, a: Ipv6Addr) -> bool {
        mask(a, self.prefix.prefix) == self.prefix.addr
    }

    /// Whether `a` is inside the pool.
    pub fn in_pool(&self, a: Ipv6Addr) -> bool {
        self.pool
            .is_some_and(|(s, e)| (u128::from(s)..=u128::from(e)).contains(&u128::from(a)))
    }
}

/// A `--dhcp-host` usable by DHCPv6.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Host6 {
    /// `id:` DUIDs; any one matches.
    pub duids: Vec<Vec<u8>>,
    /// MAC addresses, matched against the link-layer address inside a DUID-LLT/DUID-LL.
    pub macs: Vec<Vec<u8>>,
    /// `[ADDR]`: fixed address.
    pub addr: Option<Ipv6Addr>,
    /// Host name.
    pub name: Option<String>,
    /// Lease seconds (`None` = the range's).
    pub lease: Option<Option<u32>>,
    /// `ignore`.
    pub ignore: bool,
    /// `set:` tags given to the client this entry names.
    pub set_tags: Vec<String>,
    /// `tag:` conditions: the entry is used only when the request carries all of these.
    pub match_tags: Vec<String>,
}

impl Host6 {
    /// Whether this entry names the client with `duid`.
    pub fn matches(&self, duid: &[u8]) -> bool {
        self.duids.iter().any(|d| d == duid)
            || duid_mac(duid).is_some_and(|m| self.macs.iter().any(|x| x == m))
    }
}

/// The Ethernet address inside a DUID-LLT (type 1) or DUID-LL (type 3) with hardware type 1
/// (RFC 8415 §11.2, §11.4).
pub fn duid_mac(duid: &[u8]) -> Option<&[u8]> {
    match duid {
        [0, 1, 0, 1, _, _, _, _, mac @ ..] | [0, 3, 0, 1, mac @ ..] if mac.len() == 6 => Some(mac),
        _ => None,
    }
}

/// A DUID-LLT (RFC 8415 §11.2) for Ethernet address `mac`, made at `wall` (seconds since the
/// Unix epoch; the DUID counts from 2000-01-01).
pub fn duid_llt(mac: &[u8], wall: u64) -> Vec<u8> {
    let t = wall.saturating_sub(946_684_800) as u32;
    let mut d = vec![0, 1, 0, 1];
    d.extend_from_slice(&t.to_be_bytes());
    d.extend_from_slice(mac);
    d
}

/// A DUID-EN (RFC 8415 §11.3) from `--dhcp-duid=ENTERPRISE,ID`.
pub fn duid_en(enterprise: u32, id: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 2];
    d.extend_from_slice(&enterprise.to_be_bytes());
    d.extend_from_slice(id);
    d
}

/// One option the server sends (already encoded value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Option6 {
    /// Option code.
    pub code: u16,
    /// Value bytes; for DNS servers, `::` entries stand for the server's address on the link.
    pub value: Vec<u8>,
    /// Tag conditions (`tag:x`, `tag:!x`), all of which must hold for the option to be sent.
    pub tags: Vec<TagCond>,
}

/// The DHCPv6 server's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Config6 {
    /// Ranges, in order.
    pub ranges: Vec<Range6>,
    /// Hosts, in order.
    pub hosts: Vec<Host6>,
    /// The server's DUID.
    pub server_duid: Vec<u8>,
    /// DNS servers (option 23); `None` = the server's own address on the link, `::` entries
    /// likewise.
    pub dns_servers: Option<Vec<Ipv6Addr>>,
    /// Domain search list (option 24); empty = `--domain` if set.
    pub domain_search: Vec<String>,
    /// `--domain`.
    pub domain: Option<String>,
    /// Other options and tagged DNS server (23) / domain search (24) options, in order; per
    /// code the one whose tags hold and are most specific is sent (see [`super::tags`]).
    pub options: Vec<Option6>,
    /// `--dhcp-match=option6:`, `--dhcp-vendorclass`, `--dhcp-userclass`, `--dhcp-remoteid`,
    /// `--dhcp-subscrid`, `--dhcp-mac`, `--dhcp-name-match`: tags from what a request carries.
    pub matches: Vec<MatchRule6>,
    /// `--tag-if` rules, in order.
    pub tag_ifs: Vec<TagIf>,
    /// `--dhcp-ignore` condition lists: a client whose tags meet one gets no answer.
    pub ignore: Vec<Vec<TagCond>>,
    /// `--dhcp-ignore-names` condition lists: the name a matching client supplies is not used.
    pub ignore_names: Vec<Vec<TagCond>>,
    /// Where DHCPv6 answers: `-i`, `-I`, `--no-dhcp-interface`, `--no-dhcpv6-interface`.
    pub interfaces: crate::dhcp::InterfaceFilter,
    /// `--dhcp-client-update`: the Client FQDN option echoes the client's S bit.
    pub client_update: bool,
}

impl Config6 {
    /// The ranges in effect on `link`: explicit ranges whose prefix holds one of its
    /// addresses, and `constructor:` ranges built on each of its global prefixes.
    pub fn ranges_on(&self, link: &Link6<'_>) -> Vec<LinkRange> {
        let mut out = Vec::new();
        for (i, r) in self.ranges.iter().enumerate() {
            let low =
                |a: Ipv6Addr| u128::from(a) & ((1u128 << (128 - u32::from(r.prefix_len))) - 1);
            match &r.constructor {
                Some(pat) => {
                    if !iface_matches(pat, link.name) {
                        continue;
                    }
                    for a in link.addrs.iter().filter(|a| !is_link_local(a.addr)) {
                        if a.prefix != r.prefix_len {
                            continue;
                        }
                        let p = mask(a.addr, r.prefix_len);
                        if out
                            .iter()
                            .any(|x: &LinkRange| x.index == i && x.prefix.addr == p)
                        {
                            continue;
                        }
                        let base = u128::from(p);
                        out.push(LinkRange {
                            index: i,
                            prefix: Ipv6Net {
                                addr: p,
                                prefix: r.prefix_len,
                            },
                            pool: r.end.filter(|_| r.stateful).map(|e| {
                                (
                                    Ipv6Addr::from(base | low(r.start)),
                                    Ipv6Addr::from(base | low(e)),
                                )
                            }),
                            lease: r.lease,
                            deprecated: r.deprecated,
                        });
                    }
                }
                None => {
                    let p = mask(r.start, r.prefix_len);
                    if !r.start.is_unspecified()
                        && !link.addrs.iter().any(|a| mask(a.addr, r.prefix_len) == p)
                    {
                        continue;
                    }
                    out.push(self.explicit(i, r));
                }
            }
        }
        out
    }

    /// The explicit (non-constructor) ranges whose prefix holds `link_addr`: a relay's link.
    pub fn ranges_for_relay(&self, link_addr: Ipv6Addr) -> Vec<LinkRange> {
        self.ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.constructor.is_none()
                    && (r.start.is_unspecified()
                        || mask(r.start, r.prefix_len) == mask(link_addr, r.prefix_len))
            })
            .map(|(i, r)| self.explicit(i, r))
            .collect()
    }

    fn explicit(&self, i: usize, r: &Range6) -> LinkRange {
        LinkRange {
            index: i,
            prefix: Ipv6Net {
                addr: mask(r.start, r.prefix_len),
                prefix: r.prefix_len,
            },
            pool: r.end.filter(|_| r.stateful).map(|e| (r.start, e)),
            lease: r.lease,
            deprecated: r.deprecated,
        }
    }

    /// The first `--dhcp-host` entry naming the client, ignoring tag conditions.
    pub fn host(&self, duid: &[u8]) -> Option<&Host6> {
        self.hosts.iter().find(|h| h.matches(duid))
    }
}
