//! The DHCPv4 part of the typed configuration: `--dhcp-range`, `--dhcp-host` and the server-wide
//! DHCP flags, with dnsmasq's syntax and defaults. Options (`--dhcp-option`) live in
//! [`crate::dhcp_option`].

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::dhcp_match::{DhcpMatch, TagIf};
use crate::dhcp_option::{DhcpOption, TagCondition};
use crate::value::{ValueError, parse_duration_secs, split_list};

/// Lease file used when `-l/--dhcp-leasefile` is not given.
pub const DEFAULT_LEASE_FILE: &str = "/var/lib/misc/ringmasq.leases";
/// dnsmasq's default `--dhcp-lease-max`.
pub const DEFAULT_LEASE_MAX: u32 = 1000;
/// dnsmasq's default lease time (one hour) for a range without one.
pub const DEFAULT_LEASE_SECS: u32 = 3600;
/// Shortest lease dnsmasq hands out; shorter times are raised to it (two minutes).
pub const MIN_LEASE_SECS: u32 = 120;

/// A lease length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseLength {
    /// This many seconds.
    Secs(u32),
    /// `infinite`.
    Infinite,
}

/// What a `--dhcp-range` hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RangeMode {
    /// Addresses from the pool.
    #[default]
    Dynamic,
    /// `static`: only hosts with a `--dhcp-host` address.
    Static,
    /// `proxy`: proxy-DHCP only.
    Proxy,
}

/// One IPv4 `-F/--dhcp-range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRange {
    /// `tag:` conditions (all must be set).
    pub match_tags: Vec<String>,
    /// `set:` tag.
    pub set_tag: Option<String>,
    /// First address.
    pub start: Ipv4Addr,
    /// Last address (equal to `start` for `static` and `proxy`).
    pub end: Ipv4Addr,
    /// Dynamic, static or proxy.
    pub mode: RangeMode,
    /// Netmask, if given.
    pub netmask: Option<Ipv4Addr>,
    /// Broadcast address, if given.
    pub broadcast: Option<Ipv4Addr>,
    /// Lease length (default one hour, at least two minutes).
    pub lease: LeaseLength,
}

/// A hardware address pattern in `--dhcp-host`: bytes with `*` wildcards, optional type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacPattern {
    /// ARP hardware type (`1-aa:bb:...`), if given.
    pub htype: Option<u8>,
    /// Bytes; `None` is a `*` wildcard.
    pub bytes: Vec<Option<u8>>,
}

/// One `-G/--dhcp-host`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DhcpHost {
    /// Hardware addresses; any one matches.
    pub macs: Vec<MacPattern>,
    /// `id:` client identifiers; any one matches.
    pub client_ids: Vec<Vec<u8>>,
    /// `id:*`: ignore the client identifier.
    pub any_client_id: bool,
    /// `set:` tags.
    pub set_tags: Vec<String>,
    /// `tag:` conditions.
    pub match_tags: Vec<String>,
    /// Fixed address.
    pub addr: Option<Ipv4Addr>,
    /// Fixed IPv6 address for DHCPv6 (`[ADDR]`).
    pub addr6: Option<std::net::Ipv6Addr>,
    /// Host name.
    pub name: Option<String>,
    /// Lease length.
    pub lease: Option<LeaseLength>,
    /// `ignore`.
    pub ignore: bool,
}

/// Everything DHCPv4 in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpSettings {
    /// `-F/--dhcp-range` (IPv4), in order.
    pub ranges: Vec<DhcpRange>,
    /// `-G/--dhcp-host`, in order.
    pub hosts: Vec<DhcpHost>,
    /// `-O/--dhcp-option` and `--dhcp-option-force`, in order.
    pub options: Vec<DhcpOption>,
    /// `-l/--dhcp-leasefile`.
    pub lease_file: PathBuf,
    /// `-9/--leasefile-ro`: never write the lease file.
    pub lease_file_ro: bool,
    /// `-K/--dhcp-authoritative`.
    pub authoritative: bool,
    /// `--dhcp-rapid-commit`.
    pub rapid_commit: bool,
    /// `--dhcp-no-override`: never use the `file` and `sname` fields as option space.
    pub no_override: bool,
    /// `--dhcp-alternate-port[=SERVER[,CLIENT]]`: the DHCPv4 server and client ports instead
    /// of 67 and 68 (alone: 1067 and 1068; one port: it and the next).
    pub alternate_ports: Option<(u16, u16)>,
    /// `-X/--dhcp-lease-max`.
    pub lease_max: u32,
    /// `--dhcp-sequential-ip`.
    pub sequential_ip: bool,
    /// `--dhcp-ignore-clid`.
    pub ignore_clid: bool,
    /// `--dhcp-broadcast[=tag:x,...]`, one condition list per line (empty: every client).
    pub broadcast: Vec<Vec<TagCondition>>,
    /// `--bootp-dynamic`.
    pub bootp_dynamic: bool,
    /// `--bootp-dynamic=TAG,...`: only for BOOTP clients with all these tags.
    pub bootp_dynamic_tags: Vec<String>,
    /// `-5/--no-ping`: offer addresses without first checking with an ICMP echo that no other
    /// host answers on them.
    pub no_ping: bool,
    /// `--dhcp-ttl`: TTL of DNS answers made from leases.
    pub ttl: Option<u32>,
    /// `--dhcp-hostsfile` files and directories (re-read on SIGHUP).
    pub hosts_files: Vec<PathBuf>,
    /// `--dhcp-optsfile` files and directories (re-read on SIGHUP).
    pub opts_files: Vec<PathBuf>,
    /// `--dhcp-hostsdir` directories: new and changed files read as they appear (inotify),
    /// removed lines forgotten on SIGHUP.
    pub hosts_dirs: Vec<PathBuf>,
    /// `--dhcp-optsdir` directories, read as `--dhcp-hostsdir` ones.
    pub opts_dirs: Vec<PathBuf>,
    /// `-Z/--read-ethers`: `/etc/ethers` as static hosts (re-read on SIGHUP).
    pub read_ethers: bool,
    /// `-6/--dhcp-script`: run on lease changes (an absolute path).
    pub script: Option<PathBuf>,
    /// `--dhcp-scriptuser`: the user the script runs as (default root).
    pub script_user: Option<String>,
    /// `--script-on-renewal`: also call the script when only the expiry changes.
    pub script_on_renewal: bool,
    /// `--script-arp`: also call the script with `arp-add`/`arp-del` for neighbour entries.
    pub script_arp: bool,
    /// `--quiet-dhcp`: no log line per DHCPv4 reply (`--log-dhcp` overrides it).
    pub quiet: bool,
    /// `--dhcp-match`, `-U`, `-j`, `--dhcp-circuitid`/`remoteid`/`subscrid`, `--dhcp-mac`.
    pub matches: Vec<DhcpMatch>,
    /// `--tag-if`, in order.
    pub tag_ifs: Vec<TagIf>,
    /// `--dhcp-ignore` condition lists.
    pub ignore: Vec<Vec<TagCondition>>,
    /// `--dhcp-ignore-names` condition lists.
    pub ignore_names: Vec<Vec<TagCondition>>,
    /// `--dhcp-generate-names` condition lists.
    pub generate_names: Vec<Vec<TagCondition>>,
    /// `--dhcp-reply-delay`: conditions and seconds.
    pub reply_delay: Vec<(Vec<TagCondition>, u32)>,
    /// `--dhcp-fqdn`.
    pub fqdn: bool,
    /// `--dhcp-client-update`.
    pub client_update: bool,
    /// `-2/--no-dhcp-interface` and `--no-dhcpv4-interface`.
    pub no_dhcp_interfaces: Vec<String>,
    /// `-2/--no-dhcp-interface` and `--no-dhcpv6-interface`: no DHCPv6 and no router
    /// advertisements there.
    pub no_dhcp6_interfaces: Vec<String>,
    /// `-M/--dhcp-boot`, in order.
    pub boot: Vec<crate::pxe::DhcpBoot>,
    /// `--pxe-service`, in order.
    pub pxe_services: Vec<crate::pxe::PxeService>,
    /// `--pxe-prompt`, in order.
    pub pxe_prompts: Vec<crate::pxe::PxePrompt>,
    /// `--dhcp-pxe-vendor`: vendor classes (option 60 prefixes) taken as PXE clients;
    /// empty means `PXEClient`.
    pub pxe_vendors: Vec<String>,
}

impl Default for DhcpSettings {
    fn default() -> Self {
        DhcpSettings {
            ranges: Vec::new(),
            hosts: Vec::new(),
            options: Vec::new(),
            lease_file: PathBuf::from(DEFAULT_LEASE_FILE),
            lease_file_ro: false,
            authoritative: false,
            rapid_commit: false,
            no_override: false,
            alternate_ports: None,
            lease_max: DEFAULT_LEASE_MAX,
            sequential_ip: false,
            ignore_clid: false,
            broadcast: Vec::new(),
            bootp_dynamic: false,
            bootp_dynamic_tags: Vec::new(),
            no_ping: false,
            ttl: None,
            hosts_files: Vec::new(),
            opts_files: Vec::new(),
            hosts_dirs: Vec::new(),
            opts_dirs: Vec::new(),
            read_ethers: false,
            script: None,
            script_user: None,
            script_on_renewal: false,
            script_arp: false,
            quiet: false,
            matches: Vec::new(),
            tag_ifs: Vec::new(),
            ignore: Vec::new(),
            ignore_names: Vec::new(),
            generate_names: Vec::new(),
            reply_delay: Vec::new(),
            fqdn: false,
            client_update: false,
            no_dhcp_interfaces: Vec::new(),
            no_dhcp6_interfaces: Vec::new(),
            boot: Vec::new(),
            pxe_services: Vec::new(),
            pxe_prompts: Vec::new(),
            pxe_vendors: Vec::new(),
        }
    }
}

impl DhcpSettings {
    /// Whether DHCPv4 is enabled (at least one range, as in dnsmasq).
    pub fn enabled(&self) -> bool {
        !self.ranges.is_empty()
    }
}

/// Parses a lease time: `infinite` or a duration with an optional `s/m/h/d/w` suffix; short
/// times are raised to [`MIN_LEASE_SECS`] as dnsmasq does.
pub fn parse_lease(v: &str) -> Result<LeaseLength, ValueError> {
    if v.eq_ignore_ascii_case("infinite") {
        return Ok(LeaseLength::Infinite);
    }
    parse_duration_secs(v).map(|s| LeaseLength::Secs(s.max(MIN_LEASE_SECS)))
}

fn looks_like_lease(v: &str) -> bool {
    v.eq_ignore_ascii_case("infinite") || v.starts_with(|c: char| c.is_ascii_digit())
}

/// Splits a leading `tag:`/`set:`/`net:` prefix off a list item.
fn tag_item(item: &str) -> Option<(&'static str, &str)> {
    for p in ["tag:", "set:", "net:"] {
        if let Some(rest) = item.strip_prefix(p) {
            return Some((if p == "tag:" { "tag" } else { "set" }, rest));
        }
    }
    None
}

fn tag_name(t: &str) -> Result<String, ValueError> {
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == '!') {
        return Err(ValueError::expected(
            "a tag name (negated tags only in dhcp-option)",
        ));
    }
    Ok(t.to_string())
}

impl DhcpRange {
    /// Parses the IPv4 forms of `--dhcp-range`:
    /// `[tag:T,...][set:T,]START[,END|static|proxy][,NETMASK[,BROADCAST]][,LEASE]`.
    pub fn parse(v: &str) -> Result<DhcpRange, ValueError> {
        let mut items = split_list(v).peekable();
        let mut match_tags = Vec::new();
        let mut set_tag = None;
        while let Some((kind, t)) = items.peek().and_then(|i| tag_item(i)) {
            if kind == "tag" {
                match_tags.push(tag_name(t)?);
            } else {
                set_tag = Some(tag_name(t)?);
            }
            items.next();
        }
        let rest: Vec<&str> = items.collect();
        let addr_err =
            || ValueError::expected("START[,END|static|proxy][,NETMASK[,BROADCAST]][,LEASE]");
        let Some(first) = rest.first() else {
            return Err(addr_err());
        };
        let start: Ipv4Addr = match first.parse() {
            Ok(a) => a,
            Err(_) if first.contains(':') => {
                return Err(ValueError::expected(
                    "an IPv4 range (DHCPv6 ranges are not supported yet)",
                ));
            }
            Err(_) => return Err(addr_err()),
        };
        let mut r = DhcpRange {
            match_tags,
            set_tag,
            start,
            end: start,
            mode: RangeMode::Dynamic,
            netmask: None,
            broadcast: None,
            lease: LeaseLength::Secs(DEFAULT_LEASE_SECS),
        };
        let mut i = 1;
        match rest.get(1).copied() {
            Some("static") => {
                r.mode = RangeMode::Static;
                i = 2;
            }
            Some("proxy") => {
                r.mode = RangeMode::Proxy;
                i = 2;
            }
            Some(e) if e.parse::<Ipv4Addr>().is_ok() => {
                r.end = e.parse().map_err(|_| addr_err())?;
                i = 2;
            }
            _ => {}
        }
        let mut addrs = Vec::new();
        while let Some(a) = rest.get(i).and_then(|s| s.parse::<Ipv4Addr>().ok()) {
            addrs.push(a);
            i += 1;
        }
        if addrs.len() > 2 {
            return Err(addr_err());
        }
        r.netmask = addrs.first().copied();
        r.broadcast = addrs.get(1).copied();
        if let Some(l) = rest.get(i) {
            if !looks_like_lease(l) {
                return Err(addr_err());
            }
            r.lease = parse_lease(l)?;
            i += 1;
        }
        if i != rest.len() {
            return Err(addr_err());
        }
        if u32::from(r.end) < u32::from(r.start) {
            std::mem::swap(&mut r.start, &mut r.end);
        }
        if let Some(m) = r.netmask {
            let bits = u32::from(m);
            if bits.leading_ones() + bits.trailing_zeros() != 32 {
                return Err(ValueError::expected("a contiguous netmask"));
            }
            if u32::from(r.start) & bits != u32::from(r.end) & bits {
                return Err(ValueError::expected(
                    "start and end addresses in the same subnet",
                ));
            }
        }
        Ok(r)
    }
}

/// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) with `*` wildcards and an optional `T-` type.
pub(crate) fn parse_mac(v: &str) -> Option<MacPattern> {
    let (htype, body) = match v.split_once('-') {
        // `1-aa:bb:...`: a hardware type before the first dash, when the rest uses colons.
        Some((t, rest)) if rest.contains(':') && t.len() <= 3 && t.parse::<u8>().is_ok() => {
            (Some(t.parse().ok()?), rest)
        }
        _ => (None, v),
    };
    let parts: Vec<&str> = body.split([':', '-']).collect();
    if parts.len() < 2 || parts.len() > 16 {
        return None;
    }
    let bytes = parts
        .iter()
        .map(|p| match *p {
            "*" => Some(None),
            p if (1..=2).contains(&p.len()) => u8::from_str_radix(p, 16).ok().map(Some),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(MacPattern { htype, bytes })
}

/// Parses a client identifier: colon-separated hex bytes, or else the literal text.
pub(crate) fn parse_client_id(v: &str) -> Vec<u8> {
    let hex: Option<Vec<u8>> = v
        .split(':')
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect();
    match hex {
        Some(b) if v.contains(':') => b,
        _ => v.as_bytes().to_vec(),
    }
}

/// A host name as dnsmasq accepts in `--dhcp-host`: letters, digits, `-`, `_` and dots.
pub(crate) fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

impl DhcpHost {
    /// Parses `--dhcp-host`: a comma list of MACs, `id:` client ids (`id:*`), `set:`/`tag:` tags,
    /// an IPv4 address, a host name, a lease time and `ignore`, in any order.
    pub fn parse(v: &str) -> Result<DhcpHost, ValueError> {
        let mut h = DhcpHost::default();
        for item in split_list(v) {
            if item.is_empty() {
                continue;
            }
            if item == "ignore" {
                h.ignore = true;
            } else if let Some(id) = item.strip_prefix("id:") {
                if id == "*" {
                    h.any_client_id = true;
                } else if id.is_empty() {
                    return Err(ValueError::expected("a client id after id:"));
                } else {
                    h.client_ids.push(parse_client_id(id));
                }
            } else if let Some((kind, t)) = tag_item(item) {
                let t = tag_name(t)?;
                if kind == "tag" {
                    h.match_tags.push(t);
                } else {
                    h.set_tags.push(t);
                }
            } else if let Some(a6) = item.strip_prefix('[').and_then(|i| i.strip_suffix(']')) {
                let a6 = a6.parse::<std::net::Ipv6Addr>().map_err(|_| {
                    ValueError::expected(
                        "an IPv6 address in brackets ([::x] forms and prefixes are not supported)",
                    )
                })?;
                if a6.is_unspecified() || h.addr6.replace(a6).is_some() {
                    return Err(ValueError::expected("at most one IPv6 address"));
                }
            } else if let Ok(a) = item.parse::<Ipv4Addr>() {
                if h.addr.replace(a).is_some() {
                    return Err(ValueError::expected("at most one IPv4 address"));
                }
            } else if let Some(m) = parse_mac(item) {
                h.macs.push(m);
            } else if looks_like_lease(item) && parse_lease(item).is_ok() {
                h.lease = Some(parse_lease(item)?);
            } else if valid_name(item) {
                if h.name.is_some() {
                    return Err(ValueError::expected("at most one host name"));
                }
                h.name = Some(item.to_ascii_lowercase());
            } else {
                return Err(ValueError::expected(
                    "MAC addresses, id:, set:/tag:, an IPv4 address, a name, a lease time or ignore",
                ));
            }
        }
        if h.macs.is_empty() && h.client_ids.is_empty() && h.name.is_none() && !h.any_client_id {
            return Err(ValueError::expected(
                "a MAC address, client id or name to match",
            ));
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn range_forms() {
        let r = DhcpRange::parse("192.168.0.50,192.168.0.150,12h").unwrap();
        assert_eq!((r.start, r.end), (ip("192.168.0.50"), ip("192.168.0.150")));
        assert_eq!(r.lease, LeaseLength::Secs(43_200));
        let r = DhcpRange::parse("192.168.0.50,192.168.0.150,255.255.255.0,12h").unwrap();
        assert_eq!(r.netmask, Some(ip("255.255.255.0")));
        let r = DhcpRange::parse("set:red,10.0.0.10,10.0.0.20,255.255.255.0,10.0.0.255,infinite")
            .unwrap();
        assert_eq!(r.set_tag.as_deref(), Some("red"));
        assert_eq!(r.broadcast, Some(ip("10.0.0.255")));
        assert_eq!(r.lease, LeaseLength::Infinite);
        let r = DhcpRange::parse("tag:a,tag:b,192.168.0.0,static").unwrap();
        assert_eq!(r.mode, RangeMode::Static);
        assert_eq!(r.match_tags, ["a", "b"]);
        let r = DhcpRange::parse("192.168.0.0,proxy,255.255.255.0").unwrap();
        assert_eq!(r.mode, RangeMode::Proxy);
        let h =
            DhcpHost::parse("id:00:01:00:01:2c:9a:5e:11:02:00:00:00:00:01,[fd00::5],h6").unwrap();
        assert_eq!(h.addr6, Some("fd00::5".parse().unwrap()));
        assert_eq!(h.client_ids[0].len(), 14);
        assert!(DhcpHost::parse("id:01,[fd00::5/64]").is_err());
        let r = DhcpRange::parse("10.0.0.9,10.0.0.2,30").unwrap();
        assert_eq!((r.start, r.end), (ip("10.0.0.2"), ip("10.0.0.9")));
        assert_eq!(r.lease, LeaseLength::Secs(MIN_LEASE_SECS));
        assert_eq!(
            DhcpRange::parse("10.0.0.2").unwrap().lease,
            LeaseLength::Secs(3600)
        );
    }

    #[test]
    fn range_errors() {
        for bad in [
            "",
            "x",
            "1234::,ra-only",
            "10.0.0.1,10.0.0.5,255.0.255.0",
            "10.0.0.1,10.0.1.5,255.255.255.0",
            "10.0.0.1,10.0.0.5,12h,extra",
            "10.0.0.1,10.0.0.5,bogus",
        ] {
            assert!(DhcpRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn host_forms() {
        let h = DhcpHost::parse("00:20:e0:3b:13:af,wap,infinite").unwrap();
        assert_eq!(h.macs[0].bytes[0], Some(0));
        assert_eq!(h.name.as_deref(), Some("wap"));
        assert_eq!(h.lease, Some(LeaseLength::Infinite));
        let h = DhcpHost::parse("11:22:33:44:55:66,12:34:56:78:90:12,192.168.0.2").unwrap();
        assert_eq!(h.macs.len(), 2);
        assert_eq!(h.addr, Some(ip("192.168.0.2")));
        let h = DhcpHost::parse("id:01:02:03:04,set:red,tag:x,45m").unwrap();
        assert_eq!(h.client_ids, [vec![1, 2, 3, 4]]);
        assert_eq!(h.set_tags, ["red"]);
        assert_eq!(h.lease, Some(LeaseLength::Secs(2700)));
        let h = DhcpHost::parse("id:marjorie,192.168.0.60").unwrap();
        assert_eq!(h.client_ids, [b"marjorie".to_vec()]);
        let h = DhcpHost::parse("00:20:e0:3b:13:*,ignore").unwrap();
        assert!(h.ignore);
        assert_eq!(h.macs[0].bytes[5], None);
        let h = DhcpHost::parse("6-00:0f:b0:3a:b5:0b,id:*,Lap").unwrap();
        assert_eq!(h.macs[0].htype, Some(6));
        assert!(h.any_client_id);
        assert_eq!(h.name.as_deref(), Some("lap"));
        let h = DhcpHost::parse("judge").unwrap();
        assert_eq!(h.name.as_deref(), Some("judge"));
    }

    #[test]
    fn host_errors() {
        for bad in [
            "",
            "10.0.0.1",
            "a,b",
            "[::1],x!",
            "aa:bb,[::1],[::2]",
            "aa:bb,[fd00::/64]",
            "aa:bb,tag:!x",
            "aa:bb,10.0.0.1,10.0.0.2",
            "bad name!",
        ] {
            assert!(DhcpHost::parse(bad).is_err(), "{bad}");
        }
    }
}
