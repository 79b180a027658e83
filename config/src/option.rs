//! The option table: every option name dnsmasq 2.90 knows, plus ringmasq's own
//! extensions, with its short letter, argument kind and implementation status.
//!
//! The same table serves the command line (`--name`, `-x`) and configuration
//! files (where the long name is the key). The names, letters and argument
//! kinds were checked against the behaviour of the dnsmasq 2.90 binary.

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A flag: giving a value is an error.
    None,
    /// A value must be given (`--opt=v`, `--opt v`, `-xv`, `-x v`, `opt=v`).
    Required,
    /// A value may be given, on the command line only as `--opt=v`.
    Optional,
}

/// Whether ringmasq acts on an option yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed into [`crate::Config`] and honoured.
    Implemented,
    /// Known from dnsmasq but not supported yet: using it is reported as an error.
    NotYetImplemented,
}

/// Where an option comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// An option dnsmasq 2.90 knows.
    Dnsmasq,
    /// An option only ringmasq has.
    Ringmasq,
}

/// One row of the option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Long name without the leading `--`; also the config-file key.
    pub long: &'static str,
    /// Short letter (`-x`), if the option has one.
    pub short: Option<char>,
    /// Argument kind of the long form and of the config-file key.
    pub arg: ArgKind,
    /// Implementation status.
    pub status: Status,
    /// dnsmasq option or ringmasq extension.
    pub family: Family,
}

impl OptionSpec {
    /// Argument kind of the short form.
    ///
    /// dnsmasq's getopt string gives every short option whose long form takes
    /// an optional value a required one, except `-1` (optional, attached only)
    /// and `-q` (a plain flag).
    pub fn short_arg(&self) -> ArgKind {
        match (self.arg, self.long) {
            (ArgKind::Optional, "enable-dbus") => ArgKind::Optional,
            (ArgKind::Optional, "log-queries") => ArgKind::None,
            (ArgKind::Optional, _) => ArgKind::Required,
            (kind, _) => kind,
        }
    }

    /// True when the option is parsed and honoured by ringmasq.
    pub fn is_implemented(&self) -> bool {
        self.status == Status::Implemented
    }
}

const fn spec(long: &'static str, short: Option<char>, arg: ArgKind, status: Status) -> OptionSpec {
    OptionSpec {
        long,
        short,
        arg,
        status,
        family: Family::Dnsmasq,
    }
}

const fn ext(long: &'static str, arg: ArgKind) -> OptionSpec {
    OptionSpec {
        long,
        short: None,
        arg,
        status: Status::Implemented,
        family: Family::Ringmasq,
    }
}

/// Every option, sorted by long name within each family (dnsmasq first).
///
/// `dhcp-lease` and `domain-suffix` are dnsmasq's hidden aliases of
/// `dhcp-leasefile` (`-l`) and `domain` (`-s`); the short letters belong to the
/// canonical names.
pub static OPTIONS: &[OptionSpec] = &[
    spec(
        "add-cpe-id",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "add-mac",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "add-subnet",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "addn-hosts",
        Some('H'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("address", Some('A'), ArgKind::Required, Status::Implemented),
    spec(
        "alias",
        Some('V'),
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec("all-servers", None, ArgKind::None, Status::Implemented),
    spec(
        "auth-peer",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "auth-sec-servers",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "auth-server",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "auth-soa",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "auth-ttl",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "auth-zone",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec("bind-dynamic", None, ArgKind::None, Status::Implemented),
    spec(
        "bind-interfaces",
        Some('z'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "bogus-nxdomain",
        Some('B'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("bogus-priv", Some('b'), ArgKind::None, Status::Implemented),
    spec(
        "bootp-dynamic",
        Some('3'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "bridge-interface",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec("caa-record", None, ArgKind::Required, Status::Implemented),
    spec(
        "cache-rr",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "cache-size",
        Some('c'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("clear-on-reload", None, ArgKind::None, Status::Implemented),
    spec("cname", None, ArgKind::Required, Status::Implemented),
    spec(
        "conf-dir",
        Some('7'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "conf-file",
        Some('C'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "conf-script",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "connmark-allowlist",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "connmark-allowlist-enable",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec("conntrack", None, ArgKind::None, Status::NotYetImplemented),
    spec(
        "dhcp-alternate-port",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "dhcp-authoritative",
        Some('K'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "dhcp-boot",
        Some('M'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-broadcast",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "dhcp-circuitid",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-client-update",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec("dhcp-duid", None, ArgKind::Required, Status::Implemented),
    spec("dhcp-fqdn", None, ArgKind::None, Status::Implemented),
    spec(
        "dhcp-generate-names",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "dhcp-host",
        Some('G'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-hostsdir",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-hostsfile",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-ignore",
        Some('J'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("dhcp-ignore-clid", None, ArgKind::None, Status::Implemented),
    spec(
        "dhcp-ignore-names",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("dhcp-lease", None, ArgKind::Required, Status::Implemented),
    spec(
        "dhcp-lease-max",
        Some('X'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-leasefile",
        Some('l'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "dhcp-luascript",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "dhcp-mac",
        Some('4'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("dhcp-match", None, ArgKind::Required, Status::Implemented),
    spec(
        "dhcp-name-match",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-no-override",
        None,
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec(
        "dhcp-option",
        Some('O'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-option-force",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("dhcp-optsdir", None, ArgKind::Required, Status::Implemented),
    spec(
        "dhcp-optsfile",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-proxy",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "dhcp-pxe-vendor",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-range",
        Some('F'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-rapid-commit",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "dhcp-relay",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "dhcp-remoteid",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-reply-delay",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-script",
        Some('6'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-scriptuser",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-sequential-ip",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "dhcp-subscrid",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("dhcp-ttl", None, ArgKind::Required, Status::Implemented),
    spec(
        "dhcp-userclass",
        Some('j'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dhcp-vendorclass",
        Some('U'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dns-forward-max",
        Some('0'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dns-loop-detect",
        None,
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec("dns-rr", None, ArgKind::Required, Status::Implemented),
    spec("dnssec", None, ArgKind::None, Status::Implemented),
    spec(
        "dnssec-check-unsigned",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("dnssec-debug", None, ArgKind::None, Status::Implemented),
    spec(
        "dnssec-limits",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "dnssec-no-timecheck",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "dnssec-timestamp",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("domain", Some('s'), ArgKind::Required, Status::Implemented),
    spec(
        "domain-needed",
        Some('D'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "domain-suffix",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "dumpfile",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "dumpmask",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec("dynamic-host", None, ArgKind::Required, Status::Implemented),
    spec(
        "edns-packet-max",
        Some('P'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "enable-dbus",
        Some('1'),
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec("enable-ra", None, ArgKind::None, Status::Implemented),
    spec("enable-tftp", None, ArgKind::Optional, Status::Implemented),
    spec(
        "enable-ubus",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "except-interface",
        Some('I'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "expand-hosts",
        Some('E'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "fast-dns-retry",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("filter-A", None, ArgKind::None, Status::Implemented),
    spec("filter-AAAA", None, ArgKind::None, Status::Implemented),
    spec("filter-rr", None, ArgKind::Required, Status::Implemented),
    spec("filterwin2k", Some('f'), ArgKind::None, Status::Implemented),
    spec("group", Some('g'), ArgKind::Optional, Status::Implemented),
    spec("help", Some('w'), ArgKind::None, Status::Implemented),
    spec("host-record", None, ArgKind::Required, Status::Implemented),
    spec("hostsdir", None, ArgKind::Required, Status::Implemented),
    spec(
        "ignore-address",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "interface",
        Some('i'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "interface-name",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("ipset", None, ArgKind::Required, Status::NotYetImplemented),
    spec(
        "keep-in-foreground",
        Some('k'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "leasefile-ro",
        Some('9'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "listen-address",
        Some('a'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("local", None, ArgKind::Required, Status::Implemented),
    spec(
        "local-service",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "local-ttl",
        Some('T'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "localise-queries",
        Some('y'),
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec(
        "localmx",
        Some('L'),
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec("log-async", None, ArgKind::Optional, Status::Implemented),
    spec("log-debug", None, ArgKind::None, Status::Implemented),
    spec("log-dhcp", None, ArgKind::None, Status::Implemented),
    spec(
        "log-facility",
        Some('8'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "log-queries",
        Some('q'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec(
        "max-cache-ttl",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("max-port", None, ArgKind::Required, Status::Implemented),
    spec(
        "max-tcp-connections",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("max-ttl", None, ArgKind::Required, Status::Implemented),
    spec(
        "min-cache-ttl",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("min-port", None, ArgKind::Required, Status::Implemented),
    spec("mx-host", Some('m'), ArgKind::Required, Status::Implemented),
    spec(
        "mx-target",
        Some('t'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("naptr-record", None, ArgKind::Required, Status::Implemented),
    spec("neg-ttl", None, ArgKind::Required, Status::Implemented),
    spec("nftset", None, ArgKind::Required, Status::NotYetImplemented),
    spec("no-daemon", Some('d'), ArgKind::None, Status::Implemented),
    spec(
        "no-dhcp-interface",
        Some('2'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "no-dhcpv4-interface",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "no-dhcpv6-interface",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("no-hosts", Some('h'), ArgKind::None, Status::Implemented),
    spec("no-ident", None, ArgKind::None, Status::Implemented),
    spec("no-negcache", Some('N'), ArgKind::None, Status::Implemented),
    spec("no-ping", Some('5'), ArgKind::None, Status::Implemented),
    spec("no-poll", Some('n'), ArgKind::None, Status::Implemented),
    spec("no-resolv", Some('R'), ArgKind::None, Status::Implemented),
    spec("no-round-robin", None, ArgKind::None, Status::Implemented),
    spec(
        "pid-file",
        Some('x'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("port", Some('p'), ArgKind::Required, Status::Implemented),
    spec(
        "port-limit",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec("proxy-dnssec", None, ArgKind::None, Status::Implemented),
    spec("ptr-record", None, ArgKind::Required, Status::Implemented),
    spec("pxe-prompt", None, ArgKind::Required, Status::Implemented),
    spec("pxe-service", None, ArgKind::Required, Status::Implemented),
    spec(
        "query-port",
        Some('Q'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("quiet-dhcp", None, ArgKind::None, Status::Implemented),
    spec("quiet-dhcp6", None, ArgKind::None, Status::Implemented),
    spec("quiet-ra", None, ArgKind::None, Status::Implemented),
    spec("quiet-tftp", None, ArgKind::None, Status::NotYetImplemented),
    spec("ra-param", None, ArgKind::Required, Status::Implemented),
    spec("read-ethers", Some('Z'), ArgKind::None, Status::Implemented),
    spec(
        "rebind-domain-ok",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "rebind-localhost-ok",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "resolv-file",
        Some('r'),
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("rev-server", None, ArgKind::Required, Status::Implemented),
    spec("script-arp", None, ArgKind::None, Status::Implemented),
    spec(
        "script-on-renewal",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec(
        "selfmx",
        Some('e'),
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec("server", Some('S'), ArgKind::Required, Status::Implemented),
    spec("servers-file", None, ArgKind::Required, Status::Implemented),
    spec(
        "shared-network",
        None,
        ArgKind::Required,
        Status::NotYetImplemented,
    ),
    spec(
        "srv-host",
        Some('W'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("stop-dns-rebind", None, ArgKind::None, Status::Implemented),
    spec(
        "strict-order",
        Some('o'),
        ArgKind::None,
        Status::Implemented,
    ),
    spec("strip-mac", None, ArgKind::None, Status::NotYetImplemented),
    spec(
        "strip-subnet",
        None,
        ArgKind::None,
        Status::NotYetImplemented,
    ),
    spec("synth-domain", None, ArgKind::Required, Status::Implemented),
    spec("tag-if", None, ArgKind::Required, Status::Implemented),
    spec("test", None, ArgKind::None, Status::Implemented),
    spec("tftp-lowercase", None, ArgKind::None, Status::Implemented),
    spec("tftp-max", None, ArgKind::Required, Status::Implemented),
    spec("tftp-mtu", None, ArgKind::Required, Status::Implemented),
    spec(
        "tftp-no-blocksize",
        None,
        ArgKind::None,
        Status::Implemented,
    ),
    spec("tftp-no-fail", None, ArgKind::None, Status::Implemented),
    spec(
        "tftp-port-range",
        None,
        ArgKind::Required,
        Status::Implemented,
    ),
    spec("tftp-root", None, ArgKind::Required, Status::Implemented),
    spec("tftp-secure", None, ArgKind::None, Status::Implemented),
    spec("tftp-single-port", None, ArgKind::None, Status::Implemented),
    spec(
        "tftp-unique-root",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("trust-anchor", None, ArgKind::Required, Status::Implemented),
    spec(
        "txt-record",
        Some('Y'),
        ArgKind::Required,
        Status::Implemented,
    ),
    spec(
        "umbrella",
        None,
        ArgKind::Optional,
        Status::NotYetImplemented,
    ),
    spec(
        "use-stale-cache",
        None,
        ArgKind::Optional,
        Status::Implemented,
    ),
    spec("user", Some('u'), ArgKind::Optional, Status::Implemented),
    spec("version", Some('v'), ArgKind::None, Status::Implemented),
    ext("io-backend", ArgKind::Required),
    ext("tcp-idle-timeout", ArgKind::Required),
    ext("threads", ArgKind::Required),
];

/// Looks an option up by its exact long name (config-file key).
pub fn find_long(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.long == name)
}

/// Looks an option up by its short letter.
pub fn find_short(letter: char) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.short == Some(letter))
}

/// Outcome of a command-line long-name look-up, which like getopt_long accepts
/// an unambiguous prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixMatch {
    /// Exactly one option matches.
    Found(&'static OptionSpec),
    /// No option matches.
    Unknown,
    /// The prefix matches several options (their long names).
    Ambiguous(Vec<&'static str>),
}

/// Looks an option up by long name or unambiguous prefix of one.
pub fn find_prefix(name: &str) -> PrefixMatch {
    if let Some(spec) = find_long(name) {
        return PrefixMatch::Found(spec);
    }
    if name.is_empty() {
        return PrefixMatch::Unknown;
    }
    let mut hits = OPTIONS.iter().filter(|o| o.long.starts_with(name));
    match (hits.next(), hits.next()) {
        (None, _) => PrefixMatch::Unknown,
        (Some(one), None) => PrefixMatch::Found(one),
        (Some(a), Some(b)) => {
            let mut names = vec![a.long, b.long];
            names.extend(hits.map(|o| o.long));
            PrefixMatch::Ambiguous(names)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_letters_are_unique() {
        let mut longs = HashSet::new();
        let mut shorts = HashSet::new();
        for o in OPTIONS {
            assert!(longs.insert(o.long), "duplicate long name {}", o.long);
            if let Some(c) = o.short {
                assert!(shorts.insert(c), "duplicate short letter {c}");
            }
        }
    }

    #[test]
    fn table_has_every_dnsmasq_option() {
        let dnsmasq = OPTIONS
            .iter()
            .filter(|o| o.family == Family::Dnsmasq)
            .count();
        assert_eq!(dnsmasq, 189);
        for name in [
            "server",
            "local",
            "address",
            "dhcp-range",
            "user",
            "group",
            "conf-script",
        ] {
            assert!(find_long(name).is_some(), "{name}");
        }
    }

    #[test]
    fn short_letters_map_to_dnsmasq_names() {
        assert_eq!(find_short('p').unwrap().long, "port");
        assert_eq!(find_short('S').unwrap().long, "server");
        assert_eq!(find_short('C').unwrap().long, "conf-file");
        assert_eq!(find_short('7').unwrap().long, "conf-dir");
        assert_eq!(find_short('0').unwrap().long, "dns-forward-max");
        assert_eq!(find_short('l').unwrap().long, "dhcp-leasefile");
        assert_eq!(find_short('s').unwrap().long, "domain");
        assert!(find_short('G').is_some());
        assert!(find_short('j').is_some());
    }

    #[test]
    fn short_arg_kinds_follow_getopt_string() {
        assert_eq!(find_short('q').unwrap().short_arg(), ArgKind::None);
        assert_eq!(find_short('1').unwrap().short_arg(), ArgKind::Optional);
        assert_eq!(find_short('C').unwrap().short_arg(), ArgKind::Required);
        assert_eq!(find_short('x').unwrap().short_arg(), ArgKind::Required);
        assert_eq!(find_short('k').unwrap().short_arg(), ArgKind::None);
    }

    #[test]
    fn prefixes_resolve_like_getopt_long() {
        assert_eq!(
            find_prefix("keep-in"),
            PrefixMatch::Found(find_long("keep-in-foreground").unwrap())
        );
        assert_eq!(
            find_prefix("port"),
            PrefixMatch::Found(find_long("port").unwrap())
        );
        assert!(matches!(find_prefix("dhcp-"), PrefixMatch::Ambiguous(v) if v.len() > 2));
        assert_eq!(find_prefix("no-such-thing"), PrefixMatch::Unknown);
        assert_eq!(find_prefix(""), PrefixMatch::Unknown);
    }
}
