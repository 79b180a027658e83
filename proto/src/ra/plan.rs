//! What to advertise on an interface: the IPv6 ranges that apply to it (an explicit prefix the
//! interface has an address in, or a `constructor:` range naming it), their modes turned into
//! prefix flags and M/O bits, RDNSS/DNSSL, MTU and router lifetime.

use std::net::Ipv6Addr;

use super::message::{Advert, Preference, PrefixInfo};
use crate::iface::{INFINITE, Interface, join, name_matches, prefix_of};

/// How a range hands out addresses, as far as router advertisements care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RangeFlags {
    /// Hosts may autoconfigure addresses in the prefix (A bit): `ra-only`, `slaac`, `ra-names`,
    /// `ra-stateless`.
    pub slaac: bool,
    /// Addresses come from DHCPv6 (M bit): a range with a pool that is not `ra-only`/`ra-names`/
    /// `ra-stateless`.
    pub managed: bool,
    /// Other configuration from DHCPv6 (O bit): managed ranges and `ra-stateless`.
    pub other: bool,
    /// `ra-advrouter`: put the router's address in the prefix option (R bit, RFC 6275 7.2).
    pub advrouter: bool,
    /// `off-link`: clear the L bit.
    pub off_link: bool,
    /// `deprecated`: preferred lifetime 0.
    pub deprecated: bool,
}

/// One IPv6 range as router advertisements see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaRange {
    /// An address in the prefix (explicit ranges) or the host part (`constructor:`).
    pub start: Ipv6Addr,
    /// `constructor:` interface pattern.
    pub constructor: Option<String>,
    /// Prefix length.
    pub prefix_len: u8,
    /// Flags from the mode keywords.
    pub flags: RangeFlags,
    /// Lease time in seconds ([`INFINITE`] for `infinite`): the prefix's lifetimes.
    pub lease_secs: u32,
}

/// The MTU option for an interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MtuChoice {
    /// The interface's own MTU.
    #[default]
    Own,
    /// This value.
    Value(u32),
    /// No MTU option.
    Off,
}

/// Per-interface advertisement parameters (`--ra-param`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaParams {
    /// MaxRtrAdvInterval, seconds.
    pub interval_secs: u32,
    /// Router lifetime, seconds.
    pub router_lifetime: u32,
    /// Default router preference.
    pub preference: Preference,
    /// MTU option.
    pub mtu: MtuChoice,
}

impl Default for RaParams {
    fn default() -> Self {
        RaParams {
            interval_secs: 600,
            router_lifetime: 1800,
            preference: Preference::Medium,
            mtu: MtuChoice::Own,
        }
    }
}

/// Everything that decides the advertisements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RaConfig {
    /// The IPv6 ranges.
    pub ranges: Vec<RaRange>,
    /// DNS servers to advertise (`option6:dns-server`; `::` stands for the interface's
    /// link-local address); empty = the link-local address (dnsmasq's default).
    pub dns_servers: Vec<Ipv6Addr>,
    /// Search domains (`option6:domain-search`, else `--domain`).
    pub domains: Vec<String>,
    /// Whether the DNS server is running (no RDNSS default when `--port=0`).
    pub dns_enabled: bool,
}

/// Hop limit advertised (RFC 4861 6.2.1 AdvCurHopLimit; 64 is the IANA default TTL).
pub const HOP_LIMIT: u8 = 64;

/// The prefix `r` gives on `iface` and the interface's own address in it, if the range applies.
pub fn prefixes_on(r: &RaRange, iface: &Interface) -> Vec<(Ipv6Addr, Ipv6Addr, u32, u32)> {
    let mut out: Vec<(Ipv6Addr, Ipv6Addr, u32, u32)> = Vec::new();
    match &r.constructor {
        Some(pattern) => {
            if !name_matches(pattern, &iface.name) {
                return out;
            }
            // Addresses on the interface (not privacy ones) supply the prefixes; their
            // remaining lifetimes bound the advertised ones.
            for a in iface.global_v6() {
                let Some(v6) = a.v6() else { continue };
                if a.temporary || a.prefix_len != r.prefix_len {
                    continue;
                }
                let p = prefix_of(v6, r.prefix_len);
                if !out.iter().any(|(q, ..)| *q == p) {
                    out.push((p, v6, a.valid_secs, a.preferred_secs));
                }
            }
        }
        None => {
            let p = prefix_of(r.start, r.prefix_len);
            if let Some(a) = iface
                .global_v6()
                .find(|a| a.v6().is_some_and(|v| prefix_of(v, r.prefix_len) == p))
                && let Some(v6) = a.v6()
            {
                out.push((p, v6, INFINITE, INFINITE));
            }
        }
    }
    out
}

/// The host part of a constructor range placed under a prefix found on the interface (what
/// DHCPv6 hands out there).
pub fn constructed(r: &RaRange, prefix: Ipv6Addr) -> Ipv6Addr {
    join(prefix, r.prefix_len, r.start)
}

/// The advertisement for `iface`, or `None` when no range applies to it or it has no usable
/// link-local address to send from (RFC 4861 4.2: the source must be link-local).
pub fn advert_for(cfg: &RaConfig, params: &RaParams, iface: &Interface) -> Option<Advert> {
    let link_local = iface.link_local()?;
    let mut a = Advert {
        hop_limit: HOP_LIMIT,
        preference: params.preference,
        router_lifetime: params.router_lifetime.min(u32::from(u16::MAX)) as u16,
        ..Advert::default()
    };
    // RFC 4861 6.2.1: a lifetime of 0 also means the preference must be sent as medium
    // (RFC 4191 2.2).
    if a.router_lifetime == 0 {
        a.preference = Preference::Medium;
    }
    // The lifetimes a prefix may advertise: the lease time, but never less than three
    // intervals, so a prefix does not lapse between two advertisements.
    let floor = params.interval_secs.saturating_mul(3);
    for r in &cfg.ranges {
        for (prefix, own, valid_left, preferred_left) in prefixes_on(r, iface) {
            let valid = if r.lease_secs == INFINITE {
                INFINITE
            } else {
                r.lease_secs.max(floor)
            }
            .min(valid_left);
            let preferred = if r.flags.deprecated {
                0
            } else {
                valid.min(preferred_left)
            };
            a.managed |= r.flags.managed;
            a.other |= r.flags.other || r.flags.managed;
            if let Some(existing) = a
                .prefixes
                .iter_mut()
                .find(|p| prefix_of(p.prefix, p.len) == prefix && p.len == r.prefix_len)
            {
                existing.autonomous |= r.flags.slaac;
                continue;
            }
            a.prefixes.push(PrefixInfo {
                prefix: if r.flags.advrouter { own } else { prefix },
                len: r.prefix_len,
                on_link: !r.flags.off_link,
                autonomous: r.flags.slaac,
                router_address: r.flags.advrouter,
                valid,
                preferred,
            });
        }
    }
    if a.prefixes.is_empty() {
        return None;
    }
    if !iface.mac.is_empty() {
        a.source_lla = Some(iface.mac.clone());
    }
    a.mtu = match params.mtu {
        MtuChoice::Own if iface.mtu >= 1280 => Some(iface.mtu),
        MtuChoice::Own | MtuChoice::Off => None,
        MtuChoice::Value(m) => Some(m),
    };
    // RFC 8106 5.1: the lifetime SHOULD be at least 3 * MaxRtrAdvInterval.
    let dns_lifetime = params.interval_secs.saturating_mul(3);
    let servers = if cfg.dns_servers.is_empty() {
        if cfg.dns_enabled {
            vec![link_local]
        } else {
            Vec::new()
        }
    } else {
        cfg.dns_servers
            .iter()
            .map(|a| if a.is_unspecified() { link_local } else { *a })
            .collect()
    };
    if !servers.is_empty() {
        a.rdnss = Some((dns_lifetime, servers));
    }
    if !cfg.domains.is_empty() {
        a.dnssl = Some((dns_lifetime, cfg.domains.clone()));
    }
    Some(a)
}
