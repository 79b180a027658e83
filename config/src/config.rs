//! The typed configuration model, with dnsmasq's defaults.

use std::net::IpAddr;
use std::path::PathBuf;

use crate::server::ServerRule;

/// Default `--port`.
pub const DEFAULT_PORT: u16 = 53;
/// Default `--dns-forward-max`.
pub const DEFAULT_DNS_FORWARD_MAX: u32 = 150;
/// Default `--edns-packet-max` (the 2020 DNS flag day size).
pub const DEFAULT_EDNS_PACKET_MAX: u16 = 1232;
/// Smallest `--edns-packet-max` used; smaller values are raised to it
/// (RFC 1035 §2.3.4: 512 octets is the classic UDP limit).
pub const MIN_EDNS_PACKET_MAX: u16 = 512;
/// Default `--cache-size`.
pub const DEFAULT_CACHE_SIZE: u32 = 150;
/// Largest `--cache-size`; larger values are lowered to it, as dnsmasq does.
pub const MAX_CACHE_SIZE: u32 = 5_000_000;
/// Largest `--min-cache-ttl`; larger values are lowered to it, as dnsmasq does.
pub const MAX_MIN_CACHE_TTL: u32 = 3600;
/// Default `--max-tcp-connections`.
pub const DEFAULT_MAX_TCP_CONNECTIONS: u32 = 20;
/// Default `--tcp-idle-timeout` in seconds.
pub const DEFAULT_TCP_IDLE_TIMEOUT_SECS: u32 = 10;
/// `--fast-dns-retry` with no value: first retry after this many ms...
pub const DEFAULT_FAST_RETRY_INITIAL_MS: u32 = 1000;
/// ...and keep retrying for this many ms.
pub const DEFAULT_FAST_RETRY_TOTAL_MS: u32 = 10_000;
/// Smallest accepted `--fast-dns-retry` initial delay in ms (as dnsmasq).
pub const MIN_FAST_RETRY_INITIAL_MS: u32 = 50;
/// `--use-stale-cache` with no value: serve data at most this many seconds past expiry.
pub const DEFAULT_STALE_CACHE_SECS: u32 = 86_400;
/// Configuration file read when no `-C/--conf-file` is given on the command line.
pub const DEFAULT_CONF_FILE: &str = "/etc/ringmasq.conf";
/// Resolver file read unless `--resolv-file` or `--no-resolv` says otherwise.
pub const DEFAULT_RESOLV_FILE: &str = "/etc/resolv.conf";
/// PID file written when daemonising unless `--pid-file` says otherwise.
pub const DEFAULT_PID_FILE: &str = "/run/ringmasq.pid";

/// `--log-async` with no value: queue this many lines (dnsmasq's default).
pub const DEFAULT_LOG_ASYNC_LINES: u32 = 5;
/// Largest `--log-async` queue. dnsmasq caps it at 100; ringmasq serves many
/// cores and accepts more (a larger value is lowered to this one).
pub const MAX_LOG_ASYNC_LINES: u32 = 65_536;

/// `--local-service` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalService {
    /// Accept queries only from directly connected networks (`=net`, the default).
    Net,
    /// Listen on loopback only and accept queries from this host only (`=host`).
    Host,
}

/// `--io-backend` (ringmasq extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IoBackend {
    /// io_uring when the kernel allows it, else epoll.
    #[default]
    Auto,
    /// io_uring only; fail if unavailable.
    Uring,
    /// epoll with recvmmsg.
    Epoll,
}

/// The whole configuration after the command line and all files are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `-k/--keep-in-foreground`.
    pub keep_in_foreground: bool,
    /// `-d/--no-daemon` (debug mode).
    pub no_daemon: bool,
    /// `--test`: check the configuration and exit.
    pub test_only: bool,
    /// `-w/--help`.
    pub show_help: bool,
    /// `-v/--version`.
    pub show_version: bool,
    /// `-p/--port`; 0 disables DNS.
    pub port: u16,
    /// `-a/--listen-address`, in order given.
    pub listen_addresses: Vec<IpAddr>,
    /// `-i/--interface`; a trailing `*` is a wildcard.
    pub interfaces: Vec<String>,
    /// `-I/--except-interface`; a trailing `*` is a wildcard.
    pub except_interfaces: Vec<String>,
    /// `-z/--bind-interfaces`.
    pub bind_interfaces: bool,
    /// `--bind-dynamic`: bind each address, opening and closing listeners as addresses come
    /// and go.
    pub bind_dynamic: bool,
    /// `--local-service[=net|host]`.
    pub local_service: Option<LocalService>,
    /// `-S/--server`, `--local`, `--rev-server` and servers-file rules, files
    /// first (in reading order), then the command line.
    pub servers: Vec<ServerRule>,
    /// `--servers-file` paths, to re-read on SIGHUP with [`crate::load_servers_file`].
    pub servers_files: Vec<PathBuf>,
    /// `-r/--resolv-file`; `["/etc/resolv.conf"]` unless given.
    pub resolv_files: Vec<PathBuf>,
    /// `-R/--no-resolv`.
    pub no_resolv: bool,
    /// `-n/--no-poll`.
    pub no_poll: bool,
    /// `--clear-on-reload`: clear the cache whenever the resolv-file is re-read.
    pub clear_on_reload: bool,
    /// `-o/--strict-order`.
    pub strict_order: bool,
    /// `--all-servers`.
    pub all_servers: bool,
    /// `-0/--dns-forward-max`.
    pub dns_forward_max: u32,
    /// `--fast-dns-retry`: (initial delay ms, total retry time ms).
    pub fast_dns_retry: Option<(u32, u32)>,
    /// `-Q/--query-port`; `Some(0)` = one OS-chosen port.
    pub query_port: Option<u16>,
    /// `--min-port` (dnsmasq uses 1024 when absent).
    pub min_port: Option<u16>,
    /// `--max-port`.
    pub max_port: Option<u16>,
    /// `-P/--edns-packet-max`.
    pub edns_packet_max: u16,
    /// `-c/--cache-size`; 0 disables caching.
    pub cache_size: u32,
    /// `-N/--no-negcache`.
    pub no_negcache: bool,
    /// `--neg-ttl` seconds.
    pub neg_ttl: Option<u32>,
    /// `--max-cache-ttl` seconds.
    pub max_cache_ttl: Option<u32>,
    /// `--min-cache-ttl` seconds, at most 3600.
    pub min_cache_ttl: Option<u32>,
    /// `--max-ttl` seconds.
    pub max_ttl: Option<u32>,
    /// `--use-stale-cache[=secs]`: max seconds past expiry, 0 = no limit.
    pub use_stale_cache: Option<u32>,
    /// `-T/--local-ttl` seconds (default 0).
    pub local_ttl: u32,
    /// `-h/--no-hosts`.
    pub no_hosts: bool,
    /// `-H/--addn-hosts` files or directories.
    pub addn_hosts: Vec<PathBuf>,
    /// `--hostsdir` directories: every file in them is a hosts file, re-read when it changes.
    pub hostsdir: Vec<PathBuf>,
    /// `-E/--expand-hosts`.
    pub expand_hosts: bool,
    /// `-s/--domain` without an address range: the default domain.
    pub domain: Option<String>,
    /// `-s/--domain=DOMAIN,RANGE[,local]`: domains for address ranges, in the order given
    /// (the last range holding an address gives its domain, as dnsmasq 2.90; else
    /// [`Config::domain`]).
    pub domain_ranges: Vec<crate::DomainRange>,
    /// `--domain=NAME,INTERFACE`: (domain, interface) for every subnet of the interface.
    pub domain_interfaces: Vec<(String, String)>,
    /// Local records (`--mx-host`, `--cname`, `--host-record`, ...), in the order given.
    pub local_records: Vec<crate::LocalRecord>,
    /// `-t/--mx-target`.
    pub mx_target: Option<String>,
    /// `-L/--localmx`: an MX record for every local machine (hosts files, DHCP leases)
    /// pointing to the `--mx-target` or this host.
    pub localmx: bool,
    /// `-e/--selfmx`: an MX record for every local machine pointing to itself (wins over
    /// `--localmx`).
    pub selfmx: bool,
    /// `-D/--domain-needed`: never forward A/AAAA/ANY queries for names without a dot.
    pub domain_needed: bool,
    /// `-b/--bogus-priv`: answer private reverse lookups (RFC 6303) NXDOMAIN.
    pub bogus_priv: bool,
    /// `-f/--filterwin2k`: answer SOA, SRV and `_`-name ANY queries NODATA.
    pub filterwin2k: bool,
    /// `--stop-dns-rebind`: block upstream answers with private addresses.
    pub stop_dns_rebind: bool,
    /// `--rebind-localhost-ok`: exempt 127.0.0.0/8 and ::1 from the rebind check.
    pub rebind_localhost_ok: bool,
    /// `--rebind-domain-ok`: lowercase domains (no trailing dot; "" = every domain) exempt
    /// from the rebind check.
    pub rebind_domain_ok: Vec<String>,
    /// `-V/--alias`: IPv4 addresses in upstream answers rewritten, in the order given.
    pub alias: Vec<crate::alias::Alias>,
    /// `-B/--bogus-nxdomain`: answers with these addresses become NXDOMAIN.
    pub bogus_nxdomain: Vec<crate::AddrPrefix>,
    /// `--ignore-address`: answers with these addresses are ignored.
    pub ignore_address: Vec<crate::AddrPrefix>,
    /// `--filter-A`: remove A records from answers.
    pub filter_a: bool,
    /// `--filter-AAAA`: remove AAAA records from answers.
    pub filter_aaaa: bool,
    /// `--cache-rr`: record types to cache beyond dnsmasq's default A, AAAA, CNAME and SRV.
    /// ringmasq caches answers of every type, so these are cached in any case.
    pub cache_rr: Vec<u16>,
    /// `--filter-rr`: record types removed from answers (255 = ANY: answers to ANY queries
    /// keep only A, AAAA, MX and CNAME).
    pub filter_rr: Vec<u16>,
    /// `--no-round-robin`: keep upstream record order (ringmasq never reorders records).
    pub no_round_robin: bool,
    /// `--no-ident`: no CHAOS `*.bind` answers.
    pub no_ident: bool,
    /// `-q/--log-queries`.
    pub log_queries: bool,
    /// `--log-queries=extra` (also `=proto`, `=auth`): serial number and client on each line.
    pub log_queries_extra: bool,
    /// `-8/--log-facility`: a syslog facility, a file path (contains `/`) or `-` (stderr).
    pub log_facility: Option<String>,
    /// `--log-async[=N]`: queue up to N lines for a logger thread (lines are
    /// dropped and counted when it is full); `None` = log synchronously.
    pub log_async: Option<u32>,
    /// `--log-debug`: also log debug-level messages.
    pub log_debug: bool,
    /// `--log-dhcp`: log every DHCP request and the options of every reply.
    pub log_dhcp: bool,
    /// `-u/--user`: the user to run as after binding sockets. `None` (not
    /// given, or given empty) = keep the starting user. Unlike dnsmasq,
    /// ringmasq does not drop to `nobody` by default.
    pub user: Option<String>,
    /// `-g/--group`: the group to run as. `None` = with `--user`, the group
    /// `dip` when it exists (dnsmasq's default), else the user's own group.
    pub group: Option<String>,
    /// `-x/--pid-file`: `None` = not given (the engine then writes
    /// [`DEFAULT_PID_FILE`] only when it daemonises, as dnsmasq does);
    /// `Some("")` = disabled (`--pid-file` with no value); else the path.
    pub pid_file: Option<PathBuf>,
    /// `--max-tcp-connections`.
    pub max_tcp_connections: u32,
    /// `--threads` (ringmasq): worker count; `None` = one per online CPU.
    pub threads: Option<usize>,
    /// `--io-backend` (ringmasq).
    pub io_backend: IoBackend,
    /// `--tcp-idle-timeout` (ringmasq), seconds.
    pub tcp_idle_timeout_secs: u32,
    /// DHCPv4: ranges, hosts, options and server flags.
    pub dhcp: crate::dhcp::DhcpSettings,
    /// TFTP: `--enable-tftp` and the `--tftp-*` options.
    pub tftp: crate::tftp::TftpSettings,
    /// DNSSEC validation settings.
    pub dnssec: crate::dnssec::DnssecSettings,
    /// IPv6: DHCPv6 ranges and router advertisements.
    pub ipv6: crate::ipv6::Ipv6Settings,
    /// Every configuration, conf-dir and servers file read, in reading order.
    pub conf_files_read: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keep_in_foreground: false,
            no_daemon: false,
            test_only: false,
            show_help: false,
            show_version: false,
            port: DEFAULT_PORT,
            listen_addresses: Vec::new(),
            interfaces: Vec::new(),
            except_interfaces: Vec::new(),
            bind_interfaces: false,
            bind_dynamic: false,
            local_service: None,
            servers: Vec::new(),
            servers_files: Vec::new(),
            resolv_files: vec![PathBuf::from(DEFAULT_RESOLV_FILE)],
            no_resolv: false,
            no_poll: false,
            clear_on_reload: false,
            strict_order: false,
            all_servers: false,
            dns_forward_max: DEFAULT_DNS_FORWARD_MAX,
            fast_dns_retry: None,
            query_port: None,
            min_port: None,
            max_port: None,
            edns_packet_max: DEFAULT_EDNS_PACKET_MAX,
            cache_size: DEFAULT_CACHE_SIZE,
            no_negcache: false,
            neg_ttl: None,
            max_cache_ttl: None,
            min_cache_ttl: None,
            max_ttl: None,
            use_stale_cache: None,
            local_ttl: 0,
            no_hosts: false,
            addn_hosts: Vec::new(),
            expand_hosts: false,
            domain: None,
            local_records: Vec::new(),
            domain_ranges: Vec::new(),
            domain_interfaces: Vec::new(),
            hostsdir: Vec::new(),
            mx_target: None,
            localmx: false,
            selfmx: false,
            no_ident: false,
            domain_needed: false,
            bogus_priv: false,
            filterwin2k: false,
            stop_dns_rebind: false,
            rebind_localhost_ok: false,
            rebind_domain_ok: Vec::new(),
            alias: Vec::new(),
            bogus_nxdomain: Vec::new(),
            ignore_address: Vec::new(),
            filter_a: false,
            filter_aaaa: false,
            cache_rr: Vec::new(),
            filter_rr: Vec::new(),
            no_round_robin: false,
            log_queries: false,
            log_queries_extra: false,
            log_facility: None,
            log_async: None,
            log_debug: false,
            log_dhcp: false,
            user: None,
            group: None,
            pid_file: None,
            max_tcp_connections: DEFAULT_MAX_TCP_CONNECTIONS,
            threads: None,
            io_backend: IoBackend::Auto,
            tcp_idle_timeout_secs: DEFAULT_TCP_IDLE_TIMEOUT_SECS,
            dhcp: crate::dhcp::DhcpSettings::default(),
            tftp: crate::tftp::TftpSettings::default(),
            dnssec: crate::dnssec::DnssecSettings::default(),
            ipv6: crate::ipv6::Ipv6Settings::default(),
            conf_files_read: Vec::new(),
        }
    }
}

impl Config {
    /// Upstream servers to use for names no domain rule matches: the
    /// `--server` lines without domains (resolv.conf servers come on top,
    /// unless `no_resolv`).
    pub fn default_servers(&self) -> impl Iterator<Item = &ServerRule> {
        self.servers.iter().filter(|s| s.is_default())
    }

    /// The PID file to write, if any, given whether the process daemonises.
    pub fn effective_pid_file(&self, daemonising: bool) -> Option<&std::path::Path> {
        match &self.pid_file {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p),
            None if daemonising => Some(std::path::Path::new(DEFAULT_PID_FILE)),
            None => None,
        }
    }

    /// Resolver files to read: empty under `--no-resolv`.
    pub fn effective_resolv_files(&self) -> &[PathBuf] {
        if self.no_resolv {
            &[]
        } else {
            &self.resolv_files
        }
    }

    /// True when DNS service is enabled (`--port` is not 0).
    pub fn dns_enabled(&self) -> bool {
        self.port != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_dnsmasq() {
        let c = Config::default();
        assert_eq!(c.port, 53);
        assert_eq!(c.cache_size, 150);
        assert_eq!(c.dns_forward_max, 150);
        assert_eq!(c.edns_packet_max, 1232);
        assert_eq!(c.max_tcp_connections, 20);
        assert_eq!(c.local_ttl, 0);
        assert_eq!(c.resolv_files, [PathBuf::from("/etc/resolv.conf")]);
        assert_eq!(c.tcp_idle_timeout_secs, 10);
        assert_eq!(c.io_backend, IoBackend::Auto);
        assert!(c.dns_enabled());
        assert!(c.servers.is_empty() && c.conf_files_read.is_empty());
    }

    #[test]
    fn no_resolv_hides_resolv_files() {
        let c = Config {
            no_resolv: true,
            ..Config::default()
        };
        assert!(c.effective_resolv_files().is_empty());
    }
}
