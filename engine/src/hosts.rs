//! Loads local DNS data for the workers: hosts files (`/etc/hosts` unless `-h`, and
//! `-H/--addn-hosts`, with `-E/--expand-hosts` and `-s/--domain`) and the local records of the
//! configuration (`--mx-host`, `--cname`, `--host-record`, ...).

use ringmasq_config::{Config, LocalRecord};
use ringmasq_proto::dns::hosts::HostsTable;
use ringmasq_proto::dns::local::synth::SynthRule;
use ringmasq_proto::dns::local::{LocalData, LocalDataBuilder, LocalError, wire_name};
use ringmasq_proto::dns::local_mx::LocalMx;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

/// The system hosts file dnsmasq reads by default.
pub const SYSTEM_HOSTS: &str = "/etc/hosts";

/// Reads every configured hosts file; bad lines and unreadable files are logged and skipped,
/// the good lines kept. None when no hosts file is configured.
pub fn load(cfg: &Config) -> Option<Arc<HostsTable>> {
    if cfg.no_hosts && cfg.addn_hosts.is_empty() && cfg.hostsdir.is_empty() {
        return None;
    }
    let mut table = HostsTable::new();
    if cfg.expand_hosts
        && let Some(d) = &cfg.domain
        && let Err(e) = table.set_expand_domain(d)
    {
        tracing::error!("--domain={d}: {e}");
    }
    if cfg.expand_hosts {
        // Interface subnets first: an explicit range given for the same addresses wins.
        for (domain, start, end) in interface_domain_ranges(cfg) {
            if let Err(e) = table.add_expand_range(&domain, start, end) {
                tracing::error!("--domain={domain}: {e}");
            }
        }
        for r in &cfg.domain_ranges {
            if let Err(e) = table.add_expand_range(&r.domain, r.start, r.end) {
                tracing::error!("--domain={}: {e}", r.domain);
            }
        }
    }
    let mut paths: Vec<&Path> = Vec::new();
    if !cfg.no_hosts {
        paths.push(Path::new(SYSTEM_HOSTS));
    }
    paths.extend(cfg.addn_hosts.iter().map(|p| p.as_path()));
    paths.extend(cfg.hostsdir.iter().map(|p| p.as_path()));
    for path in paths {
        let before = table.len();
        match table.load_path(path) {
            Ok(errors) => {
                for e in errors {
                    tracing::error!("{e}");
                }
                tracing::info!(
                    "read {} - {} names",
                    path.display(),
                    table.len().saturating_sub(before)
                );
            }
            Err(e) => tracing::error!("failed to load names from {}: {e}", path.display()),
        }
    }
    Some(Arc::new(table))
}

/// This machine's host name (the default MX target, as dnsmasq).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// The `--selfmx` / `--localmx` policy; None without either. `--selfmx` wins, as in dnsmasq.
pub fn local_mx(cfg: &Config) -> Option<LocalMx> {
    if cfg.selfmx {
        return Some(LocalMx::SelfName);
    }
    if !cfg.localmx {
        return None;
    }
    let target = cfg.mx_target.clone().unwrap_or_else(host_name);
    match wire_name(&target) {
        Ok(w) => Some(LocalMx::Target(w)),
        Err(e) => {
            tracing::error!("--localmx: {e}");
            None
        }
    }
}

/// Encodes the configuration's local records (CNAME chains resolved against `hosts`). None
/// when there are none. A record that cannot be encoded is logged and skipped.
pub fn load_local(cfg: &Config, hosts: Option<&HostsTable>) -> Option<Arc<LocalData>> {
    if cfg.local_records.is_empty() && cfg.mx_target.is_none() {
        return None;
    }
    let mut b = LocalDataBuilder::new();
    let default_mx = || cfg.mx_target.clone().unwrap_or_else(host_name);
    let mut any_mx = false;
    // `--interface-name`: the interfaces' addresses now (start, SIGHUP). Live tracking of
    // address changes (rtnetlink) is not done yet.
    let ifaddrs = cfg
        .local_records
        .iter()
        .any(|r| {
            matches!(
                r,
                LocalRecord::InterfaceName { .. } | LocalRecord::DynamicHost { .. }
            )
        })
        .then(crate::access::interface_addrs)
        .unwrap_or_default();
    for r in &cfg.local_records {
        if let LocalRecord::InterfaceName {
            name,
            iface,
            v4,
            v6,
        } = r
        {
            let addrs = interface_name_addrs(&ifaddrs, iface, *v4, *v6);
            if let Err(e) = b.interface_name(name, &addrs) {
                tracing::error!("{e}");
            }
            continue;
        }
        if let LocalRecord::DynamicHost {
            name,
            v4,
            v6,
            iface,
        } = r
        {
            let addrs = dynamic_host_addrs(&ifaddrs, iface, *v4, *v6);
            // Same records and precedence as an `--interface-name` (observed with dnsmasq 2.90:
            // TTL --local-ttl, PTRs, the first name for an address wins).
            if let Err(e) = b.interface_name(name, &addrs) {
                tracing::error!("{e}");
            }
            continue;
        }
        if let Err(e) = add(&mut b, r, &default_mx, &mut any_mx) {
            tracing::error!("{e}");
        }
    }
    // `--mx-target` without `--mx-host`: an MX record for this host pointing to the target.
    if !any_mx
        && let Some(t) = &cfg.mx_target
        && let Err(e) = b.mx(&host_name(), 1, t)
    {
        tracing::error!("{e}");
    }
    Some(Arc::new(b.build(cfg.local_ttl, hosts)))
}

/// The addresses of `--dynamic-host`: for each address of `iface` (IPv6 link-local ones left
/// out, as dnsmasq 2.90), its network part with the host part of `v4`/`v6`. Taken at start and
/// SIGHUP; following address changes live comes with the IPv6 (router advertisement) work.
pub fn dynamic_host_addrs(
    all: &[crate::access::InterfaceAddr],
    iface: &str,
    v4: Option<std::net::Ipv4Addr>,
    v6: Option<std::net::Ipv6Addr>,
) -> Vec<IpAddr> {
    all.iter()
        .filter(|a| a.name == iface)
        .filter_map(|a| match (a.addr, v4, v6) {
            (IpAddr::V4(net), Some(host), _) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(a.prefix)).unwrap_or(0);
                let n = (u32::from(net) & mask) | (u32::from(host) & !mask);
                Some(IpAddr::V4(n.into()))
            }
            (IpAddr::V6(net), _, Some(host)) if (net.segments()[0] & 0xffc0) != 0xfe80 => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(a.prefix))
                    .unwrap_or(0);
                let n = (u128::from(net) & mask) | (u128::from(host) & !mask);
                Some(IpAddr::V6(n.into()))
            }
            _ => None,
        })
        .collect()
}

/// The addresses `--interface-name` uses for `iface`: IPv4 and/or IPv6, without IPv6
/// link-local ones (fe80::/10), as dnsmasq 2.90.
pub fn interface_name_addrs(
    all: &[crate::access::InterfaceAddr],
    iface: &str,
    v4: bool,
    v6: bool,
) -> Vec<IpAddr> {
    all.iter()
        .filter(|a| a.name == iface)
        .map(|a| a.addr)
        .filter(|a| match a {
            IpAddr::V4(_) => v4,
            IpAddr::V6(x) => v6 && (x.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect()
}

fn add(
    b: &mut LocalDataBuilder,
    r: &LocalRecord,
    default_mx: &dyn Fn() -> String,
    any_mx: &mut bool,
) -> Result<(), LocalError> {
    match r {
        LocalRecord::Mx {
            name,
            target,
            preference,
        } => {
            *any_mx = true;
            let t = target.clone().unwrap_or_else(default_mx);
            b.mx(name, *preference, &t)
        }
        LocalRecord::Srv {
            name,
            target,
            port,
            priority,
            weight,
        } => b.srv(name, *priority, *weight, *port, target),
        LocalRecord::Txt { name, strings } => b.txt(name, strings),
        LocalRecord::Ptr { name, target } => b.ptr(name, target),
        LocalRecord::Naptr {
            name,
            order,
            preference,
            flags,
            service,
            regexp,
            replacement,
        } => b.naptr(
            name,
            *order,
            *preference,
            flags,
            service,
            regexp,
            replacement,
        ),
        LocalRecord::Caa {
            name,
            flags,
            tag,
            value,
        } => b.caa(name, *flags, tag, value),
        LocalRecord::Cname {
            aliases,
            target,
            ttl,
        } => aliases.iter().try_for_each(|a| b.cname(a, target, *ttl)),
        LocalRecord::HostRecord { names, v4, v6, ttl } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            v4.iter()
                .map(|a| std::net::IpAddr::V4(*a))
                .chain(v6.iter().map(|a| std::net::IpAddr::V6(*a)))
                .try_for_each(|a| b.host(&names, a, *ttl))
        }
        LocalRecord::DnsRr { name, rtype, data } => b.raw(name, *rtype, data),
        LocalRecord::SynthDomain {
            domain,
            start,
            end,
            prefix,
        } => {
            b.synth_domain(SynthRule::new(domain, *start, *end, prefix)?);
            Ok(())
        }
        // Handled by the caller, which has the interface addresses.
        LocalRecord::InterfaceName { .. } | LocalRecord::DynamicHost { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::InterfaceAddr;

    fn ifa(name: &str, addr: &str, prefix: u8) -> InterfaceAddr {
        InterfaceAddr {
            name: name.into(),
            index: 1,
            addr: addr.parse().unwrap(),
            prefix,
        }
    }

    /// The cases dnsmasq 2.90 answered with lo = 127.0.0.1/8, ::1/128 and eth0 =
    /// 192.0.2.2/24, fd00::2/64, fe80::fc:ff:fe00:1/64.
    #[test]
    fn dynamic_host_network_and_host_parts() {
        let all = [
            ifa("lo", "127.0.0.1", 8),
            ifa("lo", "::1", 128),
            ifa("eth0", "192.0.2.2", 24),
            ifa("eth0", "fd00::2", 64),
            ifa("eth0", "fe80::fc:ff:fe00:1", 64),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let v4 = |s: &str| Some(s.parse().unwrap());
        let v6 = |s: &str| Some(s.parse().unwrap());
        assert_eq!(
            dynamic_host_addrs(&all, "lo", v4("0.0.0.8"), v6("::5")),
            [ip("127.0.0.8"), ip("::1")]
        );
        assert_eq!(
            dynamic_host_addrs(&all, "lo", v4("1.2.3.9"), None),
            [ip("127.2.3.9")]
        );
        assert_eq!(
            dynamic_host_addrs(&all, "eth0", v4("0.0.0.8"), v6("::5")),
            [ip("192.0.2.8"), ip("fd00::5")]
        );
        assert!(dynamic_host_addrs(&all, "nosuch0", v4("0.0.0.8"), None).is_empty());
    }
}

/// The address ranges `--domain=NAME,INTERFACE` stands for now: every subnet of the interface,
/// as (domain, first address, last address), in configuration order.
pub fn interface_domain_ranges(cfg: &Config) -> Vec<(String, IpAddr, IpAddr)> {
    if cfg.domain_interfaces.is_empty() {
        return Vec::new();
    }
    let addrs = crate::access::interface_addrs();
    let mut out = Vec::new();
    for (domain, iface) in &cfg.domain_interfaces {
        for a in addrs.iter().filter(|a| a.name == *iface) {
            let (start, end) = subnet_bounds(a.addr, a.prefix);
            out.push((domain.clone(), start, end));
        }
    }
    out
}

/// First and last address of the subnet `addr/prefix`.
fn subnet_bounds(addr: IpAddr, prefix: u8) -> (IpAddr, IpAddr) {
    match addr {
        IpAddr::V4(v) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            let n = u32::from(v) & mask;
            (IpAddr::V4(n.into()), IpAddr::V4((n | !mask).into()))
        }
        IpAddr::V6(v) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            let n = u128::from(v) & mask;
            (IpAddr::V6(n.into()), IpAddr::V6((n | !mask).into()))
        }
    }
}

#[cfg(test)]
mod subnet_tests {
    use super::subnet_bounds;

    #[test]
    fn bounds_of_subnets() {
        let ip = |s: &str| s.parse().unwrap();
        assert_eq!(
            subnet_bounds(ip("192.168.7.9"), 24),
            (ip("192.168.7.0"), ip("192.168.7.255"))
        );
        assert_eq!(
            subnet_bounds(ip("127.0.0.1"), 8),
            (ip("127.0.0.0"), ip("127.255.255.255"))
        );
        assert_eq!(subnet_bounds(ip("::1"), 128), (ip("::1"), ip("::1")));
        assert_eq!(
            subnet_bounds(ip("10.1.2.3"), 0),
            (ip("0.0.0.0"), ip("255.255.255.255"))
        );
    }
}
