//! Applying one implemented directive to the typed [`Config`], with dnsmasq's
//! validation and clamping.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::config::{
    Config, DEFAULT_FAST_RETRY_INITIAL_MS, DEFAULT_FAST_RETRY_TOTAL_MS, DEFAULT_LOG_ASYNC_LINES,
    DEFAULT_STALE_CACHE_SECS, IoBackend, LocalService, MAX_CACHE_SIZE, MAX_LOG_ASYNC_LINES,
    MAX_MIN_CACHE_TTL, MIN_EDNS_PACKET_MAX, MIN_FAST_RETRY_INITIAL_MS,
};
use crate::directive::Directive;
use crate::error::ConfigError;
use crate::guard::{parse_addr_prefix, parse_domain_list, parse_rr_types};
use crate::rev_server::parse_rev_server;
use crate::server::{ServerRule, parse_interface};
use crate::value::{
    ValueError, parse_duration_secs, parse_port, parse_u32, parse_uint, split_list,
};

/// Most worker threads accepted by `--threads`.
pub const MAX_THREADS: usize = 1024;

/// State carried between directives while applying.
#[derive(Debug, Default)]
pub(crate) struct ApplyState {
    /// A `--resolv-file` has replaced the default list.
    resolv_given: bool,
}

/// Syslog facility names accepted by `--log-facility` (the glibc table dnsmasq uses).
const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "mark", "news", "security",
    "syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
    "local7",
];

/// Applies `d`; the caller has already checked that it is implemented.
pub(crate) fn apply(c: &mut Config, d: &Directive, st: &mut ApplyState) -> Result<(), ConfigError> {
    let invalid = |value: &str, e: ValueError| ConfigError::InvalidValue {
        origin: d.origin.clone(),
        option: d.name().to_string(),
        value: value.to_string(),
        expected: e.expected,
    };
    let value = d.value.as_deref();
    let req = || {
        value.ok_or_else(|| ConfigError::MissingValue {
            origin: d.origin.clone(),
            option: d.name().to_string(),
            expected: crate::help::metavar(d.name()).to_string(),
        })
    };
    // As in dnsmasq, an empty number (`local-ttl=`) reads as 0.
    let u32_of = |v: &str| {
        if v.is_empty() {
            Ok(0)
        } else {
            parse_u32(v).map_err(|e| invalid(v, e))
        }
    };
    let port_of = |v: &str| {
        if v.is_empty() {
            Ok(0)
        } else {
            parse_port(v).map_err(|e| invalid(v, e))
        }
    };
    let non_empty = |v: &str| {
        if v.is_empty() {
            Err(invalid(v, ValueError::expected("a non-empty path")))
        } else {
            Ok(PathBuf::from(v))
        }
    };
    match d.name() {
        "keep-in-foreground" => c.keep_in_foreground = true,
        "no-daemon" => c.no_daemon = true,
        "test" => c.test_only = true,
        "help" => c.show_help = true,
        "version" => c.show_version = true,
        "bind-interfaces" => c.bind_interfaces = true,
        "bind-dynamic" => c.bind_dynamic = true,
        "no-resolv" => c.no_resolv = true,
        "no-poll" => c.no_poll = true,
        "clear-on-reload" => c.clear_on_reload = true,
        "strict-order" => c.strict_order = true,
        "all-servers" => c.all_servers = true,
        "no-negcache" => c.no_negcache = true,
        "no-hosts" => c.no_hosts = true,
        "domain-needed" => c.domain_needed = true,
        "bogus-priv" => c.bogus_priv = true,
        "filterwin2k" => c.filterwin2k = true,
        "stop-dns-rebind" => c.stop_dns_rebind = true,
        "rebind-localhost-ok" => c.rebind_localhost_ok = true,
        "filter-A" => c.filter_a = true,
        "filter-AAAA" => c.filter_aaaa = true,
        "no-round-robin" => c.no_round_robin = true,
        "dnssec" => c.dnssec.enabled = true,
        "dnssec-no-timecheck" => c.dnssec.no_timecheck = true,
        "proxy-dnssec" => c.dnssec.proxy = true,
        "dnssec-debug" => c.dnssec.debug = true,
        "dnssec-check-unsigned" => {
            c.dnssec.check_unsigned = match value {
                None => true,
                Some(v) if v.eq_ignore_ascii_case("no") => false,
                Some(v) => return Err(invalid(v, ValueError::expected("nothing or `no`"))),
            }
        }
        "dnssec-timestamp" => c.dnssec.timestamp = Some(non_empty(req()?)?),
        "trust-anchor" => {
            let v = req()?;
            let a = crate::dnssec::parse_trust_anchor(v).map_err(|e| invalid(v, e))?;
            c.dnssec.trust_anchors.push(a);
        }
        "dnssec-limits" => {
            let v = req()?;
            c.dnssec.limits =
                crate::dnssec::parse_limits(v, c.dnssec.limits).map_err(|e| invalid(v, e))?;
        }
        "alias" => {
            let v = req()?;
            c.alias
                .push(crate::alias::parse_alias(v).map_err(|e| invalid(v, e))?);
        }
        "bogus-nxdomain" | "ignore-address" => {
            let v = req()?;
            let p = parse_addr_prefix(v).map_err(|e| invalid(v, e))?;
            if d.name() == "bogus-nxdomain" {
                c.bogus_nxdomain.push(p);
            } else {
                c.ignore_address.push(p);
            }
        }
        "rebind-domain-ok" => {
            let v = req()?;
            let domains = parse_domain_list(v).map_err(|e| invalid(v, e))?;
            c.rebind_domain_ok.extend(domains);
        }
        "cache-rr" => {
            let v = req()?;
            let types = parse_rr_types(v).map_err(|e| invalid(v, e))?;
            c.cache_rr.extend(types);
        }
        "filter-rr" => {
            let v = req()?;
            let types = parse_rr_types(v).map_err(|e| invalid(v, e))?;
            c.filter_rr.extend(types);
        }
        // Handled by the loader while reading files.
        "conf-file" | "conf-dir" | "servers-file" => {}
        "port" => {
            c.port = port_of(req()?)?;
        }
        "listen-address" => {
            let v = req()?;
            for item in split_list(v) {
                let ip: IpAddr = item
                    .parse()
                    .map_err(|_| invalid(item, ValueError::expected("an IPv4 or IPv6 address")))?;
                c.listen_addresses.push(ip);
            }
        }
        "interface" | "except-interface" => {
            let v = req()?;
            // Empty names (`interface=`, as in dnsmasq's example file) add nothing.
            for item in split_list(v).filter(|i| !i.is_empty()) {
                let name = parse_interface(item).map_err(|e| invalid(item, e))?;
                if d.name() == "interface" {
                    c.interfaces.push(name);
                } else {
                    c.except_interfaces.push(name);
                }
            }
        }
        "local-service" => {
            c.local_service = Some(match value {
                None | Some("net") => LocalService::Net,
                Some("host") => LocalService::Host,
                Some(v) => return Err(invalid(v, ValueError::expected("net or host"))),
            });
        }
        "server" | "local" => {
            let v = req()?;
            c.servers
                .push(ServerRule::parse(v, d.origin.clone()).map_err(|e| invalid(v, e))?);
        }
        "address" => {
            let v = req()?;
            c.servers
                .push(ServerRule::parse_address(v, d.origin.clone()).map_err(|e| invalid(v, e))?);
        }
        "mx-host" | "srv-host" | "txt-record" | "ptr-record" | "naptr-record" | "caa-record"
        | "cname" | "host-record" | "dns-rr" | "interface-name" | "synth-domain"
        | "dynamic-host" => {
            let v = req()?;
            c.local_records
                .push(crate::LocalRecord::parse(d.name(), v).map_err(|e| invalid(v, e))?);
        }
        "mx-target" => {
            let v = req()?;
            let t = crate::server::normalize_domain(v).map_err(|e| invalid(v, e))?;
            c.mx_target = Some(t);
        }
        "localmx" => c.localmx = true,
        "selfmx" => c.selfmx = true,
        "no-ident" => c.no_ident = true,
        "expand-hosts" => c.expand_hosts = true,
        "domain" | "domain-suffix" => {
            let v = req()?;
            let (name, range) = crate::DomainRange::parse(v).map_err(|e| invalid(v, e))?;
            match range {
                None => c.domain = (!name.is_empty()).then_some(name),
                Some(crate::DomainScope::Interface { domain, interface }) => {
                    c.domain_interfaces.push((domain, interface));
                }
                Some(crate::DomainScope::Range(r)) => {
                    if r.local
                        && let Some(len) = r.prefix
                    {
                        // `local` is `--local=/DOMAIN/` plus the range's reverse zones.
                        let zones = crate::reverse_zones(r.start, len).join("/");
                        let rule = format!("/{}/{zones}/", r.domain);
                        c.servers.push(
                            ServerRule::parse(&rule, d.origin.clone())
                                .map_err(|e| invalid(v, e))?,
                        );
                    }
                    c.domain_ranges.push(r);
                }
            }
        }
        "rev-server" => {
            let v = req()?;
            c.servers
                .push(parse_rev_server(v, d.origin.clone()).map_err(|e| invalid(v, e))?);
        }
        "resolv-file" => {
            // The first --resolv-file replaces the default; later ones add.
            // With no file name the list is emptied.
            if !st.resolv_given {
                c.resolv_files.clear();
                st.resolv_given = true;
            }
            match value {
                None | Some("") => c.resolv_files.clear(),
                Some(p) => c.resolv_files.push(PathBuf::from(p)),
            }
        }
        "dns-forward-max" => c.dns_forward_max = u32_of(req()?)?,
        "fast-dns-retry" => {
            c.fast_dns_retry = Some(match value {
                None => (DEFAULT_FAST_RETRY_INITIAL_MS, DEFAULT_FAST_RETRY_TOTAL_MS),
                Some(v) => {
                    let expected = || {
                        ValueError::expected(format!(
                            "initial-ms[,total-ms] with initial-ms at least {MIN_FAST_RETRY_INITIAL_MS}"
                        ))
                    };
                    let (first, total) = match v.split_once(',') {
                        Some((a, b)) => (a.trim(), Some(b.trim())),
                        None => (v.trim(), None),
                    };
                    let initial = parse_u32(first).map_err(|_| invalid(v, expected()))?;
                    if initial < MIN_FAST_RETRY_INITIAL_MS {
                        return Err(invalid(v, expected()));
                    }
                    let total = match total {
                        Some(t) => parse_u32(t).map_err(|_| invalid(v, expected()))?,
                        None => DEFAULT_FAST_RETRY_TOTAL_MS,
                    };
                    (initial, total)
                }
            });
        }
        "query-port" | "min-port" | "max-port" => {
            let p = Some(port_of(req()?)?);
            match d.name() {
                "query-port" => c.query_port = p,
                "min-port" => c.min_port = p,
                _ => c.max_port = p,
            }
        }
        "edns-packet-max" => {
            let v = req()?;
            let n = parse_uint(if v.is_empty() { "0" } else { v }, 65535)
                .map_err(|_| invalid(v, ValueError::expected("a UDP payload size up to 65535")))?;
            c.edns_packet_max = (n as u16).max(MIN_EDNS_PACKET_MAX);
        }
        "cache-size" => {
            let v = req()?;
            let n = if v.is_empty() {
                0
            } else {
                parse_uint(v, u64::MAX).map_err(|e| invalid(v, e))?
            };
            c.cache_size = n.min(u64::from(MAX_CACHE_SIZE)) as u32;
        }
        "neg-ttl" => c.neg_ttl = Some(u32_of(req()?)?),
        "max-cache-ttl" => c.max_cache_ttl = Some(u32_of(req()?)?),
        "min-cache-ttl" => c.min_cache_ttl = Some(u32_of(req()?)?.min(MAX_MIN_CACHE_TTL)),
        "max-ttl" => c.max_ttl = Some(u32_of(req()?)?),
        "local-ttl" => c.local_ttl = u32_of(req()?)?,
        "use-stale-cache" => {
            c.use_stale_cache = Some(match value {
                None => DEFAULT_STALE_CACHE_SECS,
                Some(v) => u32_of(v)?,
            });
        }
        "addn-hosts" => c.addn_hosts.push(non_empty(req()?)?),
        "hostsdir" => c.hostsdir.push(non_empty(req()?)?),
        "log-queries" => {
            c.log_queries = true;
            match value {
                None => {}
                Some("extra" | "proto" | "auth") => c.log_queries_extra = true,
                Some(v) => return Err(invalid(v, ValueError::expected("extra, proto or auth"))),
            }
        }
        "log-facility" => {
            let v = req()?;
            let ok = v == "-"
                || v.contains('/')
                || FACILITIES.contains(&v.to_ascii_lowercase().as_str());
            if !ok {
                return Err(invalid(
                    v,
                    ValueError::expected(
                        "a syslog facility (daemon, local0-local7, ...), a file path containing /, or -",
                    ),
                ));
            }
            c.log_facility = Some(v.to_string());
        }
        "log-async" => {
            // As in dnsmasq, no value means the default queue and 0 means the default too.
            let n = match value {
                None => DEFAULT_LOG_ASYNC_LINES,
                Some(v) => u32_of(v)?,
            };
            let n = if n == 0 { DEFAULT_LOG_ASYNC_LINES } else { n };
            c.log_async = Some(n.min(MAX_LOG_ASYNC_LINES));
        }
        "log-debug" => c.log_debug = true,
        "log-dhcp" => c.log_dhcp = true,
        "user" | "group" => {
            // An empty name (`-u` alone, `user=`) means "do not change", as in dnsmasq.
            let name = value.map(str::trim).filter(|v| !v.is_empty());
            if let Some(n) = name
                && n.chars()
                    .any(|ch| ch.is_whitespace() || ch == ':' || ch == '\0')
            {
                return Err(invalid(
                    n,
                    ValueError::expected("a user or group name, or a numeric id"),
                ));
            }
            let name = name.map(str::to_string);
            if d.name() == "user" {
                c.user = name;
            } else {
                c.group = name;
            }
        }
        "pid-file" => {
            // No value disables the PID file: recorded as an empty path.
            c.pid_file = Some(PathBuf::from(value.unwrap_or("")));
        }
        "max-tcp-connections" => {
            let v = req()?;
            let n = u32_of(v)?;
            if n == 0 {
                return Err(invalid(v, ValueError::expected("at least 1 connection")));
            }
            c.max_tcp_connections = n;
        }
        "threads" => {
            let v = req()?;
            let n = parse_uint(v, MAX_THREADS as u64).map_err(|e| invalid(v, e))? as usize;
            c.threads = (n != 0).then_some(n);
        }
        "io-backend" => {
            let v = req()?;
            c.io_backend = match v {
                "auto" => IoBackend::Auto,
                "uring" | "io_uring" | "io-uring" => IoBackend::Uring,
                "epoll" => IoBackend::Epoll,
                _ => return Err(invalid(v, ValueError::expected("auto, uring or epoll"))),
            };
        }
        "tcp-idle-timeout" => {
            let v = req()?;
            let secs = parse_duration_secs(v).map_err(|e| invalid(v, e))?;
            if secs == 0 {
                return Err(invalid(
                    v,
                    ValueError::expected("a timeout of at least 1 second"),
                ));
            }
            c.tcp_idle_timeout_secs = secs;
        }
        n if n == "enable-tftp" || n == "quiet-tftp" || n.starts_with("tftp-") => {
            c.tftp
                .apply(n, value)
                .map_err(|e| invalid(value.unwrap_or(""), e))?;
        }
        "dhcp-range" if value.is_some_and(crate::ipv6::is_ipv6_range) => {
            let v = req()?;
            let r = crate::ipv6::DhcpRange6::parse(v).map_err(|e| invalid(v, e))?;
            c.ipv6.ranges.push(r);
        }
        "enable-ra" => c.ipv6.enable_ra = true,
        "quiet-ra" => c.ipv6.quiet_ra = true,
        "quiet-dhcp" => c.dhcp.quiet = true,
        "quiet-dhcp6" => c.ipv6.quiet_dhcp6 = true,
        "dhcp-duid" => {
            let v = req()?;
            c.ipv6.duid = Some(crate::ipv6::parse_duid(v).map_err(|e| invalid(v, e))?);
        }
        "dhcp-option" if value.is_some_and(crate::ipv6::is_option6) => {
            let v = req()?;
            let o = crate::ipv6::TaggedOption6::parse(v).map_err(|e| invalid(v, e))?;
            c.ipv6.options.push(o);
        }
        "ra-param" => {
            let v = req()?;
            let p = crate::ipv6::RaParam::parse(v).map_err(|e| invalid(v, e))?;
            c.ipv6.ra_params.push(p);
        }
        "dhcp-range" => {
            let v = req()?;
            let r = crate::dhcp::DhcpRange::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.ranges.push(r);
        }
        "dhcp-host" => {
            let v = req()?;
            let h = crate::dhcp::DhcpHost::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.hosts.push(h);
        }
        "dhcp-option" | "dhcp-option-force" => {
            let v = req()?;
            let o = crate::dhcp_option::DhcpOption::parse(v, d.name() == "dhcp-option-force")
                .map_err(|e| invalid(v, e))?;
            c.dhcp.options.push(o);
        }
        "dhcp-leasefile" | "dhcp-lease" => {
            c.dhcp.lease_file = non_empty(req()?)?;
        }
        "leasefile-ro" => c.dhcp.lease_file_ro = true,
        "dhcp-script" => {
            let v = req()?;
            let p = non_empty(v)?;
            if !p.is_absolute() {
                return Err(invalid(v, ValueError::expected("an absolute path")));
            }
            c.dhcp.script = Some(p);
        }
        "dhcp-scriptuser" => c.dhcp.script_user = Some(req()?.to_owned()),
        "script-on-renewal" => c.dhcp.script_on_renewal = true,
        "script-arp" => c.dhcp.script_arp = true,
        "dhcp-authoritative" => c.dhcp.authoritative = true,
        "dhcp-rapid-commit" => c.dhcp.rapid_commit = true,
        "dhcp-no-override" => c.dhcp.no_override = true,
        "dhcp-alternate-port" => {
            c.dhcp.alternate_ports = Some(match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => (1067, 1068),
                Some(v) => {
                    let mut ports = v.split(',').map(|p| crate::value::parse_port(p.trim()));
                    let server = ports.next().unwrap_or(Ok(0)).map_err(|e| invalid(v, e))?;
                    let client = match ports.next() {
                        Some(p) => p.map_err(|e| invalid(v, e))?,
                        None => server.checked_add(1).ok_or_else(|| {
                            invalid(v, crate::value::ValueError::expected("a port below 65535"))
                        })?,
                    };
                    if ports.next().is_some() || server == 0 || client == 0 {
                        return Err(invalid(
                            v,
                            crate::value::ValueError::expected("SERVER-PORT[,CLIENT-PORT]"),
                        ));
                    }
                    (server, client)
                }
            });
        }
        "dhcp-sequential-ip" => c.dhcp.sequential_ip = true,
        "dhcp-ignore-clid" => c.dhcp.ignore_clid = true,
        // ringmasq never pings before offering (dnsmasq does unless -5 is given): a no-op.
        "no-ping" => c.dhcp.no_ping = true,
        "dhcp-lease-max" => {
            c.dhcp.lease_max = u32_of(req()?)?;
        }
        "dhcp-broadcast" => {
            // All the line's tags must hold (dnsmasq's man page); no tags: every client.
            let v = value.unwrap_or("");
            let conds = crate::dhcp_match::parse_conditions(v).map_err(|e| invalid(v, e))?;
            c.dhcp.broadcast.push(conds);
        }
        "bootp-dynamic" => {
            // `--bootp-dynamic[=TAG[,TAG...]]`: with tags, only BOOTP clients with all of them.
            for t in value.map(split_list).into_iter().flatten() {
                let t = t.trim();
                let name = t
                    .strip_prefix("tag:")
                    .or_else(|| t.strip_prefix("net:"))
                    .unwrap_or(t);
                if name.is_empty() || name.starts_with('!') || name.contains(char::is_whitespace) {
                    return Err(invalid(t, ValueError::expected("tag names")));
                }
                c.dhcp.bootp_dynamic_tags.push(name.to_string());
            }
            c.dhcp.bootp_dynamic = true;
        }
        "dhcp-ttl" => {
            c.dhcp.ttl = Some(u32_of(req()?)?);
        }
        "dhcp-match" | "dhcp-vendorclass" | "dhcp-userclass" | "dhcp-circuitid"
        | "dhcp-remoteid" | "dhcp-subscrid" | "dhcp-mac" | "dhcp-name-match" => {
            let v = req()?;
            let m = crate::dhcp_match::DhcpMatch::parse(d.name(), v).map_err(|e| invalid(v, e))?;
            c.dhcp.matches.push(m);
        }
        "tag-if" => {
            let v = req()?;
            let t = crate::dhcp_match::TagIf::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.tag_ifs.push(t);
        }
        "dhcp-ignore" | "dhcp-ignore-names" | "dhcp-generate-names" => {
            let v = value.unwrap_or("");
            let conds = crate::dhcp_match::parse_conditions(v).map_err(|e| invalid(v, e))?;
            match d.name() {
                "dhcp-ignore" => c.dhcp.ignore.push(conds),
                "dhcp-ignore-names" => c.dhcp.ignore_names.push(conds),
                _ => c.dhcp.generate_names.push(conds),
            }
        }
        "dhcp-reply-delay" => {
            let v = req()?;
            let r = crate::dhcp_match::parse_reply_delay(v).map_err(|e| invalid(v, e))?;
            c.dhcp.reply_delay.push(r);
        }
        "dhcp-fqdn" => c.dhcp.fqdn = true,
        "read-ethers" => c.dhcp.read_ethers = true,
        "dhcp-client-update" => c.dhcp.client_update = true,
        "no-dhcp-interface" | "no-dhcpv4-interface" | "no-dhcpv6-interface" => {
            let v = req()?;
            for item in split_list(v).filter(|i| !i.is_empty()) {
                let name = parse_interface(item).map_err(|e| invalid(item, e))?;
                // -2 covers DHCPv4, DHCPv6 and router advertisements, as dnsmasq.
                if d.name() != "no-dhcpv6-interface" {
                    c.dhcp.no_dhcp_interfaces.push(name.clone());
                }
                if d.name() != "no-dhcpv4-interface" {
                    c.dhcp.no_dhcp6_interfaces.push(name);
                }
            }
        }
        "dhcp-boot" => {
            let v = req()?;
            let b = crate::pxe::DhcpBoot::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.boot.push(b);
        }
        "pxe-service" => {
            let v = req()?;
            let s = crate::pxe::PxeService::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.pxe_services.push(s);
        }
        "pxe-prompt" => {
            let v = req()?;
            let p = crate::pxe::PxePrompt::parse(v).map_err(|e| invalid(v, e))?;
            c.dhcp.pxe_prompts.push(p);
        }
        "dhcp-pxe-vendor" => {
            let v = req()?;
            for item in split_list(v).filter(|i| !i.is_empty()) {
                c.dhcp.pxe_vendors.push(item.to_string());
            }
        }
        "dhcp-hostsfile" => c.dhcp.hosts_files.push(non_empty(req()?)?),
        "dhcp-optsfile" => c.dhcp.opts_files.push(non_empty(req()?)?),
        "dhcp-hostsdir" => c.dhcp.hosts_dirs.push(non_empty(req()?)?),
        "dhcp-optsdir" => c.dhcp.opts_dirs.push(non_empty(req()?)?),
        other => {
            // Every implemented option is handled above; reaching here means
            // the table and this function disagree.
            return Err(ConfigError::UnknownOption {
                origin: d.origin.clone(),
                option: other.to_string(),
            });
        }
    }
    Ok(())
}
