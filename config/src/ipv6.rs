//! The IPv6 part of the typed configuration: `--dhcp-range` in its IPv6 forms, `--enable-ra`,
//! `--ra-param` and `--dhcp-duid`, with dnsmasq's syntax and defaults, gathered in
//! [`Ipv6Settings`]. The `option6:` forms of `--dhcp-option` are parsed in `option6.rs` and
//! re-exported here.

use std::net::Ipv6Addr;

use crate::dhcp::{LeaseLength, parse_lease};
use crate::value::{ValueError, parse_u32, split_list};

pub use crate::option6::{Dhcp6Option, TaggedOption6, is_option6, option6_code};

/// dnsmasq's default lease time for an IPv6 range (one day).
pub const DEFAULT_LEASE6_SECS: u32 = 86_400;
/// dnsmasq's default interval between unsolicited router advertisements (seconds).
pub const DEFAULT_RA_INTERVAL: u32 = 600;
/// Shortest `--ra-param` interval accepted (seconds); shorter ones are raised to it.
pub const MIN_RA_INTERVAL: u32 = 4;
/// Longest `--ra-param` interval (RFC 4861 6.2.1: MaxRtrAdvInterval at most 1800 s).
pub const MAX_RA_INTERVAL: u32 = 1800;
/// Longest router lifetime (RFC 4861 6.2.1: AdvDefaultLifetime at most 9000 s).
pub const MAX_ROUTER_LIFETIME: u32 = 9000;

/// The mode keywords of an IPv6 `--dhcp-range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range6Modes {
    /// `static`: no pool, only `--dhcp-host` addresses (or stateless DHCPv6 with `::`).
    pub static_only: bool,
    /// `ra-only`: router advertisements only, no DHCPv6.
    pub ra_only: bool,
    /// `slaac`: advertise the prefix for SLAAC (the A bit) as well as DHCPv6.
    pub slaac: bool,
    /// `ra-names`: SLAAC plus names for dual-stack hosts.
    pub ra_names: bool,
    /// `ra-stateless`: SLAAC plus stateless DHCPv6 (the O bit).
    pub ra_stateless: bool,
    /// `ra-advrouter`: the router's address in the prefix option (RFC 6275 7.2).
    pub ra_advrouter: bool,
    /// `off-link`: clear the on-link (L) bit.
    pub off_link: bool,
}

/// One IPv6 `-F/--dhcp-range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRange6 {
    /// `tag:` conditions.
    pub match_tags: Vec<String>,
    /// `set:` tag.
    pub set_tag: Option<String>,
    /// First address, or with `constructor:` the interface part to put under each prefix.
    pub start: Ipv6Addr,
    /// Last address, if given.
    pub end: Option<Ipv6Addr>,
    /// `constructor:IFACE` (may end in `*`): the prefixes come from this interface's addresses.
    pub constructor: Option<String>,
    /// Mode keywords.
    pub modes: Range6Modes,
    /// Prefix length (default 64).
    pub prefix_len: u8,
    /// Lease length (default one day).
    pub lease: LeaseLength,
    /// `deprecated`: preferred lifetime 0.
    pub deprecated: bool,
}

impl DhcpRange6 {
    /// Whether this range hands out addresses over stateful DHCPv6 (it has a pool).
    pub fn stateful(&self) -> bool {
        !self.modes.ra_only
            && !self.modes.ra_stateless
            && !self.modes.ra_names
            && !self.modes.static_only
            && self.end.is_some()
    }

    /// Whether hosts on this range are told to use DHCPv6 for other configuration (stateless).
    pub fn stateless_dhcp(&self) -> bool {
        self.modes.ra_stateless || (self.modes.static_only && self.end.is_none())
    }

    /// Whether the DHCPv6 server answers on this range's links: it has a pool (not `ra-only`),
    /// is `static`, or is `ra-stateless` (INFORMATION-REQUEST only).
    pub fn serves_dhcp6(&self) -> bool {
        !self.modes.ra_only
            && !self.modes.ra_names
            && (self.end.is_some() || self.modes.static_only || self.modes.ra_stateless)
    }

    /// Parses the IPv6 forms of `--dhcp-range`:
    /// `[tag:T,...][set:T,]START[,END|constructor:IF][,MODE...][,PREFIXLEN][,LEASE|deprecated]`.
    pub fn parse(v: &str) -> Result<DhcpRange6, ValueError> {
        let usage = || {
            ValueError::expected(
                "START6[,END6|constructor:IFACE][,MODE...][,PREFIX-LENGTH][,LEASE] (MODE: static, ra-only, slaac, ra-names, ra-stateless, ra-advrouter, off-link)",
            )
        };
        let mut items = split_list(v).peekable();
        let mut match_tags = Vec::new();
        let mut set_tag = None;
        while let Some(item) = items.peek().copied() {
            if let Some(t) = item.strip_prefix("tag:") {
                match_tags.push(tag_name(t)?);
            } else if let Some(t) = item.strip_prefix("set:").or(item.strip_prefix("net:")) {
                set_tag = Some(tag_name(t)?);
            } else {
                break;
            }
            items.next();
        }
        let rest: Vec<&str> = items.collect();
        let start = rest
            .first()
            .and_then(|s| s.parse::<Ipv6Addr>().ok())
            .ok_or_else(usage)?;
        let mut r = DhcpRange6 {
            match_tags,
            set_tag,
            start,
            end: None,
            constructor: None,
            modes: Range6Modes::default(),
            prefix_len: 64,
            lease: LeaseLength::Secs(DEFAULT_LEASE6_SECS),
            deprecated: false,
        };
        let mut i = 1;
        if let Some(e) = rest.get(i).and_then(|s| s.parse::<Ipv6Addr>().ok()) {
            r.end = Some(e);
            i += 1;
        }
        if let Some(c) = rest.get(i).and_then(|s| s.strip_prefix("constructor:")) {
            if c.is_empty() {
                return Err(ValueError::expected("an interface name after constructor:"));
            }
            r.constructor = Some(c.to_string());
            i += 1;
        }
        let mut lease_seen = false;
        let mut len_seen = false;
        for item in &rest[i..] {
            match *item {
                "static" => r.modes.static_only = true,
                "ra-only" => r.modes.ra_only = true,
                "slaac" => r.modes.slaac = true,
                "ra-names" => r.modes.ra_names = true,
                "ra-stateless" => r.modes.ra_stateless = true,
                "ra-advrouter" => r.modes.ra_advrouter = true,
                "off-link" => r.modes.off_link = true,
                "deprecated" => r.deprecated = true,
                x if !len_seen && !lease_seen && x.len() <= 3 && x.parse::<u8>().is_ok() => {
                    let n: u8 = x.parse().map_err(|_| usage())?;
                    // dnsmasq: at least /64; exactly /64 where SLAAC or a constructor needs it.
                    if !(64..=128).contains(&n) {
                        return Err(ValueError::expected("a prefix length of 64 to 128"));
                    }
                    r.prefix_len = n;
                    len_seen = true;
                }
                x if !lease_seen
                    && (x.eq_ignore_ascii_case("infinite")
                        || x.starts_with(|c: char| c.is_ascii_digit())) =>
                {
                    r.lease = parse_lease(x)?;
                    lease_seen = true;
                }
                _ => return Err(usage()),
            }
        }
        let advertises_slaac = r.modes.slaac || r.modes.ra_names || r.modes.ra_stateless;
        if (advertises_slaac || r.constructor.is_some()) && r.prefix_len != 64 {
            return Err(ValueError::expected(
                "prefix length 64 for SLAAC and constructor: ranges",
            ));
        }
        if let Some(e) = r.end
            && u128::from(e) < u128::from(r.start)
        {
            r.end = Some(r.start);
            r.start = e;
        }
        if let Some(e) = r.end
            && r.constructor.is_none()
            && prefix(r.start, r.prefix_len) != prefix(e, r.prefix_len)
        {
            return Err(ValueError::expected(
                "start and end addresses in the same prefix",
            ));
        }
        Ok(r)
    }
}

/// `addr` with everything after the first `len` bits cleared.
pub fn prefix(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(addr);
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    Ipv6Addr::from(bits & mask)
}

fn tag_name(t: &str) -> Result<String, ValueError> {
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == '!') {
        return Err(ValueError::expected("a tag name"));
    }
    Ok(t.to_string())
}

/// Router preference (RFC 4191 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RouterPreference {
    /// `high`.
    High,
    /// The default.
    #[default]
    Medium,
    /// `low`.
    Low,
}

/// The MTU advertised on an interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RaMtu {
    /// The interface's own MTU.
    #[default]
    Interface,
    /// `mtu:N`.
    Value(u32),
    /// `mtu:IFACE`: another interface's MTU.
    Of(String),
    /// `mtu:off`: no MTU option.
    Off,
}

/// One `--ra-param`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaParam {
    /// Interface name; may end in `*`.
    pub interface: String,
    /// MTU option.
    pub mtu: RaMtu,
    /// Router preference.
    pub preference: RouterPreference,
    /// Interval between unsolicited advertisements, seconds (4 to 1800).
    pub interval: u32,
    /// Router lifetime, seconds; `None` = three times the interval.
    pub lifetime: Option<u32>,
}

impl RaParam {
    /// Parses `IFACE,[mtu:N|IFACE|off,][high,|low,]INTERVAL[,LIFETIME]`.
    pub fn parse(v: &str) -> Result<RaParam, ValueError> {
        let usage =
            || ValueError::expected("INTERFACE,[mtu:N|IFACE|off,][high,|low,]INTERVAL[,LIFETIME]");
        let items: Vec<&str> = split_list(v).collect();
        let Some((iface, rest)) = items.split_first() else {
            return Err(usage());
        };
        if iface.is_empty() {
            return Err(usage());
        }
        let mut p = RaParam {
            interface: iface.to_string(),
            mtu: RaMtu::Interface,
            preference: RouterPreference::Medium,
            interval: DEFAULT_RA_INTERVAL,
            lifetime: None,
        };
        let mut rest = rest;
        if let Some(m) = rest.first().and_then(|s| s.strip_prefix("mtu:")) {
            p.mtu = match m {
                "off" => RaMtu::Off,
                m if m.starts_with(|c: char| c.is_ascii_digit()) => {
                    let n = parse_u32(m)?;
                    // RFC 8200 5: IPv6 links carry at least 1280 octets.
                    if n < 1280 {
                        return Err(ValueError::expected("an MTU of at least 1280"));
                    }
                    RaMtu::Value(n)
                }
                "" => return Err(usage()),
                m => RaMtu::Of(m.to_string()),
            };
            rest = &rest[1..];
        }
        match rest.first().copied() {
            Some("high") => {
                p.preference = RouterPreference::High;
                rest = &rest[1..];
            }
            Some("low") => {
                p.preference = RouterPreference::Low;
                rest = &rest[1..];
            }
            _ => {}
        }
        if let Some(i) = rest.first() {
            let n = parse_u32(i)?;
            p.interval = if n == 0 {
                DEFAULT_RA_INTERVAL
            } else {
                n.clamp(MIN_RA_INTERVAL, MAX_RA_INTERVAL)
            };
            rest = &rest[1..];
        }
        if let Some(l) = rest.first() {
            p.lifetime = Some(parse_u32(l)?.min(MAX_ROUTER_LIFETIME));
            rest = &rest[1..];
        }
        if !rest.is_empty() {
            return Err(usage());
        }
        Ok(p)
    }

    /// The router lifetime in effect: as given, else three times the interval (at most 9000 s).
    pub fn router_lifetime(&self) -> u32 {
        self.lifetime
            .unwrap_or((self.interval * 3).min(MAX_ROUTER_LIFETIME))
    }
}

/// Everything IPv6 in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipv6Settings {
    /// `--dhcp-option=[tag:T,...]option6:...`, in order.
    pub options: Vec<TaggedOption6>,
    /// `--quiet-ra`: no log line per router advertisement change.
    pub quiet_ra: bool,
    /// `--quiet-dhcp6`: no log line per DHCPv6 reply (`--log-dhcp` overrides it).
    pub quiet_dhcp6: bool,
    /// IPv6 `--dhcp-range`s, in order.
    pub ranges: Vec<DhcpRange6>,
    /// `--enable-ra`.
    pub enable_ra: bool,
    /// `--ra-param`, in order.
    pub ra_params: Vec<RaParam>,
    /// `--dhcp-duid=ENTERPRISE,UID`: the server's DUID-EN.
    pub duid: Option<(u32, Vec<u8>)>,
}

/// Parses `--dhcp-duid=ENTERPRISE-NUMBER,UID-HEX`.
pub fn parse_duid(v: &str) -> Result<(u32, Vec<u8>), ValueError> {
    let usage = || ValueError::expected("ENTERPRISE-NUMBER,UID as colon-separated hex");
    let (e, id) = v.split_once(',').ok_or_else(usage)?;
    let e = parse_u32(e.trim())?;
    let id: Vec<u8> = id
        .trim()
        .split(':')
        .map(|p| {
            u8::from_str_radix(p, 16)
                .ok()
                .filter(|_| (1..=2).contains(&p.len()))
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|b| !b.is_empty() && b.len() <= 122)
        .ok_or_else(usage)?;
    Ok((e, id))
}

impl Ipv6Settings {
    /// Whether router advertisements are sent: `--enable-ra`, or a range whose mode needs them.
    pub fn ra_enabled(&self) -> bool {
        self.enable_ra
            || self.ranges.iter().any(|r| {
                r.modes.ra_only || r.modes.slaac || r.modes.ra_names || r.modes.ra_stateless
            })
    }

    /// Whether a range needs the DHCPv6 server: a pool, `static`, or `ra-stateless`.
    pub fn dhcp6_enabled(&self) -> bool {
        self.ranges.iter().any(DhcpRange6::serves_dhcp6)
    }

    /// The `--ra-param` for `iface` (the first whose name, or `*`-prefix, matches).
    pub fn ra_param(&self, iface: &str) -> Option<&RaParam> {
        self.ra_params
            .iter()
            .find(|p| iface_matches(&p.interface, iface))
    }
}

/// Whether the interface name `name` matches `pattern` (exact, or a prefix ending in `*`).
pub fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(p) => name.starts_with(p),
        None => pattern == name,
    }
}

/// Whether a `--dhcp-range` value is one of the IPv6 forms (its first address item is IPv6).
pub fn is_ipv6_range(v: &str) -> bool {
    split_list(v)
        .find(|i| !(i.starts_with("tag:") || i.starts_with("set:") || i.starts_with("net:")))
        .is_some_and(|i| i.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_range_with_modes_and_lease() {
        let r = DhcpRange6::parse("tag:lan,set:v6,fd00:1::10,fd00:1::ff,slaac,64,2h").unwrap();
        assert_eq!(r.match_tags, vec!["lan"]);
        assert_eq!(r.set_tag.as_deref(), Some("v6"));
        assert_eq!(r.start, "fd00:1::10".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.end, Some("fd00:1::ff".parse().unwrap()));
        assert!(r.modes.slaac && !r.modes.ra_only);
        assert_eq!(r.lease, LeaseLength::Secs(7200));
        assert!(r.stateful());
    }

    #[test]
    fn constructor_ra_only_infinite() {
        let r = DhcpRange6::parse("::,constructor:eth0,ra-only,infinite").unwrap();
        assert_eq!(r.constructor.as_deref(), Some("eth0"));
        assert!(r.modes.ra_only);
        assert_eq!(r.lease, LeaseLength::Infinite);
        assert!(!r.stateful());
        let r = DhcpRange6::parse("::1,::400,constructor:eth*,ra-names,12h").unwrap();
        assert_eq!(r.end, Some("::400".parse().unwrap()));
        assert!(r.modes.ra_names);
        assert_eq!(r.lease, LeaseLength::Secs(43_200));
    }

    #[test]
    fn defaults_and_errors() {
        let r = DhcpRange6::parse("fd00::5,fd00::1").unwrap();
        assert_eq!(r.start, "fd00::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(r.lease, LeaseLength::Secs(DEFAULT_LEASE6_SECS));
        assert_eq!(r.prefix_len, 64);
        assert!(DhcpRange6::parse("fd00::1,fd01::1").is_err());
        assert!(DhcpRange6::parse("fd00::1,ra-only,48").is_err());
        assert!(DhcpRange6::parse("fd00::1,fd00::9,slaac,96").is_err());
        assert!(DhcpRange6::parse("fd00::1,bogus").is_err());
        assert!(DhcpRange6::parse("::,constructor:").is_err());
        assert!(is_ipv6_range("set:x,::1,constructor:eth0"));
        assert!(!is_ipv6_range("tag:x,10.0.0.1,10.0.0.9"));
    }

    #[test]
    fn dhcp_duid() {
        assert_eq!(parse_duid("1234,01:02:0a").unwrap(), (1234, vec![1, 2, 10]));
        assert!(parse_duid("1234").is_err() && parse_duid("x,01").is_err());
    }

    #[test]
    fn ra_param_forms() {
        let p = RaParam::parse("eth0,mtu:1280,low,60,1200").unwrap();
        assert_eq!(p.mtu, RaMtu::Value(1280));
        assert_eq!(p.preference, RouterPreference::Low);
        assert_eq!((p.interval, p.router_lifetime()), (60, 1200));
        let p = RaParam::parse("eth*,high").unwrap();
        assert_eq!(p.preference, RouterPreference::High);
        assert_eq!(p.router_lifetime(), 1800);
        let p = RaParam::parse("br0,0,0").unwrap();
        assert_eq!((p.interval, p.router_lifetime()), (DEFAULT_RA_INTERVAL, 0));
        assert_eq!(RaParam::parse("br0,1").unwrap().interval, MIN_RA_INTERVAL);
        assert_eq!(
            RaParam::parse("br0,mtu:wan0,30").unwrap().mtu,
            RaMtu::Of("wan0".into())
        );
        assert!(RaParam::parse("br0,mtu:100,30").is_err());
        assert!(RaParam::parse("br0,30,40,50").is_err());
        let s = Ipv6Settings {
            ra_params: vec![p, RaParam::parse("eth*,high").unwrap()],
            ..Default::default()
        };
        assert!(s.ra_param("eth3").is_some());
        assert!(s.ra_param("wlan0").is_none());
    }
}
