//! Typed DHCPv4 server configuration: what the server needs, free of dnsmasq's option syntax.
//!
//! The config crate maps `--dhcp-range`, `--dhcp-host`, `--dhcp-option` and friends onto these
//! plain structs; [`crate::dhcp::Server::new`] then compiles them (interning tags, indexing hosts).

use std::net::Ipv4Addr;

use super::matching::{MatchRule, TagIf};

/// How long a lease lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeaseTime {
    /// A lease of this many seconds.
    Secs(u32),
    /// A lease that never expires (`infinite`; option 51 carries 0xffffffff, RFC 2132 §9.2).
    Infinite,
}

impl LeaseTime {
    /// dnsmasq's default lease time: one hour.
    pub const DEFAULT: LeaseTime = LeaseTime::Secs(3600);

    /// The value carried in option 51 (RFC 2132 §9.2: 0xffffffff means infinity).
    pub fn wire(self) -> u32 {
        match self {
            LeaseTime::Secs(s) => s.min(u32::MAX - 1),
            LeaseTime::Infinite => u32::MAX,
        }
    }

    /// The expiry time (seconds since the epoch) of a lease granted at `wall_secs`; 0 means never,
    /// as in dnsmasq's lease file.
    pub fn expiry(self, wall_secs: u64) -> u64 {
        match self {
            LeaseTime::Secs(s) => wall_secs.saturating_add(u64::from(s)).max(1),
            LeaseTime::Infinite => 0,
        }
    }
}

/// What a range hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RangeMode {
    /// Dynamic addresses from `start..=end` (the default).
    #[default]
    Dynamic,
    /// `static`: only clients with a `dhcp-host` address are served on this subnet.
    Static,
    /// `proxy`: proxy-DHCP (PXE) only; no addresses are handed out.
    Proxy,
}

/// One `--dhcp-range` for IPv4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    /// First address of the pool.
    pub start: Ipv4Addr,
    /// Last address of the pool (inclusive; equal to `start` in static/proxy mode).
    pub end: Ipv4Addr,
    /// Netmask; `None` takes the prefix of the matching interface address.
    pub netmask: Option<Ipv4Addr>,
    /// Broadcast address; `None` derives it from the netmask.
    pub broadcast: Option<Ipv4Addr>,
    /// Lease time handed out from this range.
    pub lease_time: LeaseTime,
    /// Dynamic, static or proxy.
    pub mode: RangeMode,
    /// `tag:` conditions: the range serves only requests carrying all of these tags.
    pub match_tags: Vec<String>,
    /// `set:` tag set on requests served by this range.
    pub set_tag: Option<String>,
}

impl Range {
    /// A dynamic range with dnsmasq's defaults (one hour lease, netmask from the interface).
    pub fn new(start: Ipv4Addr, end: Ipv4Addr) -> Self {
        Range {
            start,
            end,
            netmask: None,
            broadcast: None,
            lease_time: LeaseTime::DEFAULT,
            mode: RangeMode::Dynamic,
            match_tags: Vec::new(),
            set_tag: None,
        }
    }
}

/// A hardware address pattern from `dhcp-host`: six or fewer bytes with `*` wildcards, and an
/// optional hardware type (`1-aa:bb:...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HwAddrPattern {
    /// ARP hardware type to match (RFC 1700: 1 = Ethernet); `None` matches any.
    pub htype: Option<u8>,
    /// Address bytes; `None` is a `*` wildcard byte.
    pub bytes: Vec<Option<u8>>,
}

impl HwAddrPattern {
    /// An exact pattern for `mac` with any hardware type.
    pub fn exact(mac: &[u8]) -> Self {
        HwAddrPattern {
            htype: None,
            bytes: mac.iter().map(|b| Some(*b)).collect(),
        }
    }

    /// Whether the pattern matches `htype`/`addr`.
    pub fn matches(&self, htype: u8, addr: &[u8]) -> bool {
        if self.htype.is_some_and(|t| t != htype) || self.bytes.len() != addr.len() {
            return false;
        }
        self.bytes
            .iter()
            .zip(addr)
            .all(|(p, a)| p.is_none_or(|p| p == *a))
    }

    /// Whether the pattern has a wildcard byte.
    pub fn has_wildcard(&self) -> bool {
        self.bytes.iter().any(Option::is_none)
    }
}

/// One `--dhcp-host` line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Host {
    /// Hardware addresses (any one matches).
    pub macs: Vec<HwAddrPattern>,
    /// Client identifiers (option 61 contents, `id:`); any one matches.
    pub client_ids: Vec<Vec<u8>>,
    /// `id:*`: ignore the client identifier of clients matching by MAC.
    pub any_client_id: bool,
    /// Fixed address.
    pub addr: Option<Ipv4Addr>,
    /// Host name to give the client (and to publish in DNS).
    pub name: Option<String>,
    /// Lease time overriding the range's.
    pub lease_time: Option<LeaseTime>,
    /// `ignore`: never answer this client.
    pub ignore: bool,
    /// `set:` tags set on a match.
    pub set_tags: Vec<String>,
    /// `tag:` conditions that must all be set for the entry to match.
    pub match_tags: Vec<String>,
}

/// A tag condition on an option: `tag:x` or `tag:!x`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagCond {
    /// The tag name.
    pub tag: String,
    /// `!tag`: the tag must not be set.
    pub negated: bool,
}

/// One `--dhcp-option` or `--dhcp-option-force`, already encoded to its wire value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// Option code (or sub-option code when `encap` is set).
    pub code: u8,
    /// Wire value (without code and length); may exceed 255 bytes (split per RFC 3396).
    pub value: Vec<u8>,
    /// Tag conditions; all must hold.
    pub tags: Vec<TagCond>,
    /// `--dhcp-option-force`: sent even when the client did not ask for it (option 55).
    pub force: bool,
    /// `vendor:CLASS`: a sub-option of option 43, sent only when option 60 contains CLASS.
    pub vendor_class: Option<String>,
    /// `encap:N`: a sub-option encapsulated in option N.
    pub encap: Option<u8>,
}

impl OptionSpec {
    /// An unconditional, non-forced option.
    pub fn new(code: u8, value: Vec<u8>) -> Self {
        OptionSpec {
            code,
            value,
            tags: Vec::new(),
            force: false,
            vendor_class: None,
            encap: None,
        }
    }
}

/// The interfaces DHCP answers on: those of `-i` (all when none; `*` ends a prefix), minus
/// `-I` and `--no-dhcp-interface` (as dnsmasq: DHCP follows the DNS interface options).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InterfaceFilter {
    /// `-i/--interface`.
    pub only: Vec<String>,
    /// `-I/--except-interface`.
    pub except: Vec<String>,
    /// `-2/--no-dhcp-interface` and `--no-dhcpv4-interface`.
    pub no_dhcp: Vec<String>,
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl InterfaceFilter {
    /// Whether DHCP is served on interface `name`.
    pub fn serves(&self, name: &str) -> bool {
        let any = |l: &[String]| l.iter().any(|p| name_matches(p, name));
        (self.only.is_empty() || any(&self.only)) && !any(&self.except) && !any(&self.no_dhcp)
    }
}

/// Everything the DHCPv4 server needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhcpConfig {
    /// `--dhcp-range` lines (IPv4).
    pub ranges: Vec<Range>,
    /// `--dhcp-host` lines (and hostsfile entries).
    pub hosts: Vec<Host>,
    /// `--dhcp-option` / `--dhcp-option-force` lines.
    pub options: Vec<OptionSpec>,
    /// `--dhcp-authoritative`: NAK requests for unknown leases instead of staying silent.
    pub authoritative: bool,
    /// `--dhcp-rapid-commit` (RFC 4039).
    pub rapid_commit: bool,
    /// `--dhcp-no-override`: options that do not fit the options field are left out rather
    /// than carried in the `file` and `sname` fields (option overload, RFC 2132 §9.3), for
    /// clients that do not follow overload.
    pub no_override: bool,
    /// `--dhcp-lease-max` (dnsmasq default 1000).
    pub lease_max: usize,
    /// `--dhcp-sequential-ip`: lowest free address instead of the identity hash.
    pub sequential_ip: bool,
    /// `--dhcp-ignore-clid`: identify clients by MAC only.
    pub ignore_clid: bool,
    /// `--dhcp-broadcast`: replies to clients for which any of these condition lists holds
    /// (an empty list holds for every client) are always broadcast.
    pub broadcast: Vec<Vec<TagCond>>,
    /// `--bootp-dynamic`: BOOTP clients may get dynamic addresses.
    pub bootp_dynamic: bool,
    /// `--bootp-dynamic=TAG,...`: only BOOTP clients with all of these tags.
    pub bootp_dynamic_tags: Vec<String>,
    /// `--domain`: domain name (option 15) when no explicit option 15 is set.
    pub domain: Option<String>,
    /// `--dhcp-ignore`: a request for which any of these condition lists holds is ignored.
    pub ignore: Vec<Vec<TagCond>>,
    /// `--dhcp-ignore-names`: when any list holds, the client's own name (options 12, 81) is
    /// not used.
    pub ignore_names: Vec<Vec<TagCond>>,
    /// `--dhcp-generate-names`: when any list holds, a client without a name is named after
    /// its MAC address (`52-54-00-12-34-56`).
    pub generate_names: Vec<Vec<TagCond>>,
    /// `--dhcp-match` and friends, in order.
    pub matches: Vec<MatchRule>,
    /// `--tag-if` rules, in order.
    pub tag_ifs: Vec<TagIf>,
    /// `--dhcp-client-update`: let the client update DNS itself (option 81 flags, RFC 4702).
    pub client_update: bool,
    /// `--dhcp-fqdn`: lease names are published only qualified with `--domain`.
    pub fqdn: bool,
    /// `--dhcp-reply-delay`: seconds to hold back an OFFER, by tag conditions (first match).
    pub reply_delay: Vec<(Vec<TagCond>, u32)>,
    /// Which interfaces DHCP is served on (`-i`, `-I`, `--no-dhcp-interface`).
    pub interfaces: InterfaceFilter,
    /// How long an address declined by a client stays out of the pool (seconds; dnsmasq: 600).
    pub decline_quarantine_secs: u32,
    /// How long an offered address is held for the client (seconds).
    pub offer_hold_secs: u32,
    /// Probe a newly picked address with an ICMP echo before offering it (off with
    /// `-5/--no-ping`): OFFERs of such addresses come as [`super::Action::Probe`].
    pub ping: bool,
    /// `--dhcp-boot` lines, in order.
    pub boot: Vec<super::pxe::BootSpec>,
    /// `--pxe-service` lines, in order.
    pub pxe_services: Vec<super::pxe::PxeService>,
    /// `--pxe-prompt` lines, in order.
    pub pxe_prompts: Vec<super::pxe::PxePrompt>,
    /// `--dhcp-pxe-vendor` classes; empty means `PXEClient`.
    pub pxe_vendors: Vec<String>,
}

impl Default for DhcpConfig {
    fn default() -> Self {
        DhcpConfig {
            ranges: Vec::new(),
            hosts: Vec::new(),
            options: Vec::new(),
            authoritative: false,
            rapid_commit: false,
            no_override: false,
            lease_max: 1000,
            sequential_ip: false,
            ignore_clid: false,
            broadcast: Vec::new(),
            bootp_dynamic: false,
            bootp_dynamic_tags: Vec::new(),
            domain: None,
            ignore: Vec::new(),
            ignore_names: Vec::new(),
            generate_names: Vec::new(),
            matches: Vec::new(),
            tag_ifs: Vec::new(),
            client_update: false,
            fqdn: false,
            reply_delay: Vec::new(),
            interfaces: InterfaceFilter::default(),
            decline_quarantine_secs: 600,
            offer_hold_secs: 60,
            ping: true,
            boot: Vec::new(),
            pxe_services: Vec::new(),
            pxe_prompts: Vec::new(),
            pxe_vendors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_mac_matches() {
        let p = HwAddrPattern {
            htype: None,
            bytes: vec![Some(0x52), Some(0x54), None, None, None, Some(1)],
        };
        assert!(p.matches(1, &[0x52, 0x54, 9, 9, 9, 1]));
        assert!(!p.matches(1, &[0x52, 0x54, 9, 9, 9, 2]));
        assert!(!p.matches(1, &[0x52, 0x54, 9, 9, 9]));
        assert!(p.has_wildcard());
        let typed = HwAddrPattern {
            htype: Some(6),
            ..HwAddrPattern::exact(&[1, 2])
        };
        assert!(!typed.matches(1, &[1, 2]));
        assert!(typed.matches(6, &[1, 2]));
    }

    #[test]
    fn interface_filter() {
        let f = InterfaceFilter {
            only: vec!["eth*".into(), "br0".into()],
            except: vec!["eth9".into()],
            no_dhcp: vec!["eth2".into()],
        };
        assert!(f.serves("eth0") && f.serves("br0"));
        assert!(!f.serves("eth9") && !f.serves("eth2") && !f.serves("wlan0"));
        assert!(InterfaceFilter::default().serves("anything"));
    }

    #[test]
    fn lease_time_wire_and_expiry() {
        assert_eq!(LeaseTime::Infinite.wire(), u32::MAX);
        assert_eq!(LeaseTime::Infinite.expiry(100), 0);
        assert_eq!(LeaseTime::Secs(60).expiry(100), 160);
    }
}
