//! `--help` text: the implemented options with their values, ringmasq's own
//! options, and the dnsmasq options not implemented yet.

use std::fmt::Write;

use crate::option::{ArgKind, Family, OPTIONS, OptionSpec};

/// Description of an option's value, used in help and in "expected" messages.
pub fn metavar(long: &str) -> &'static str {
    match long {
        "port" | "min-port" | "max-port" | "query-port" => "a port number 0-65535",
        "listen-address" => "IP addresses (IPv4 or IPv6), comma separated",
        "interface" | "except-interface" => {
            "interface names, comma separated (trailing * = wildcard)"
        }
        "local-service" => "net or host",
        "server" | "local" => "[/[domain]/[domain/]][ip[#port]][@interface][@source-ip[#port]]",
        "rev-server" => "ip[/prefix][,ip[#port][@interface][@source-ip[#port]]]",
        "address" => "/domain/[domain/][ip|#]",
        "mx-host" => "name[[,target],preference]",
        "alias" => "old-ip|start-ip-end-ip,new-ip[,mask]",
        "mx-target" | "domain" | "domain-suffix" => "a domain name",
        "srv-host" => "_service._proto.domain[,target[,port[,priority[,weight]]]]",
        "txt-record" => "name[[,text],text]",
        "ptr-record" => "name[,target]",
        "naptr-record" => "name,order,preference,flags,service,regexp[,replacement]",
        "caa-record" => "name,flags,tag,value",
        "cname" => "alias[,alias...],target[,ttl]",
        "host-record" => "name[,name...],[ipv4],[ipv6][,ttl]",
        "interface-name" => "name,interface[/4|/6]",
        "synth-domain" => "domain,start,end|ip/len[,prefix[*]]",
        "dynamic-host" => "name,[ipv4],[ipv6],interface",
        "dns-rr" => "name,type-number,[hex data]",
        "resolv-file" | "conf-file" | "servers-file" | "pid-file" => "a file path",
        "addn-hosts" => "a hosts file or directory path",
        "hostsdir" => "a directory path",
        "conf-dir" => "a directory[,.ext-to-skip...|,*.ext-to-load...]",
        "dns-forward-max" | "cache-size" | "max-tcp-connections" => "a whole number",
        "fast-dns-retry" => "initial-ms[,total-ms]",
        "edns-packet-max" => "a UDP payload size 512-65535",
        "neg-ttl" | "max-cache-ttl" | "min-cache-ttl" | "max-ttl" | "local-ttl" => "whole seconds",
        "use-stale-cache" => "whole seconds past expiry (0 = unlimited)",
        "log-facility" => "a syslog facility, a file path containing /, or - for stderr",
        "log-queries" => "extra, proto or auth",
        "log-async" => "a queue length in lines (default 5)",
        "user" => "a user name or numeric uid (empty = do not change)",
        "group" => "a group name or numeric gid (empty = do not change)",
        "bogus-nxdomain" | "ignore-address" => "an IPv4 or IPv6 address, optionally /prefix",
        "rebind-domain-ok" => "a domain, or /domain/[domain/]",
        "filter-rr" | "cache-rr" => "record types (names or numbers), comma separated",
        "dhcp-alternate-port" => "server port[,client port]",
        "threads" => "a worker count (0 = one per online CPU)",
        "trust-anchor" => "[class,]domain,key-tag,algorithm,digest-type,hex-digest",
        "dnssec-check-unsigned" => "no",
        "dnssec-timestamp" => "a file path",
        "dnssec-limits" => "sig-fails[,work[,sub-queries[,nsec3-iterations]]]",
        "io-backend" => "auto, uring or epoll",
        "tcp-idle-timeout" => "a duration (seconds, or with s/m/h/d/w)",
        "tftp-ack-gather" => "microseconds (0 = answer every ACK at once; default 100)",
        "dhcp-range" => "[tag:T,][set:T,]start[,end|static|proxy][,netmask[,broadcast]][,lease]",
        "dhcp-host" => "[mac...][,id:clid|*][,set:T][,tag:T][,ipv4][,name][,lease][,ignore]",
        "dhcp-option" | "dhcp-option-force" => {
            "[tag:[!]T,][encap:N,][vendor:[class],](N|option:name)[,value...]"
        }
        "dhcp-leasefile" | "dhcp-lease" => "a file path",
        "dhcp-script" => "an absolute program path",
        "dhcp-scriptuser" => "a user name or numeric uid",
        "dhcp-lease-max" => "a whole number of leases",
        "dhcp-ttl" => "a TTL in seconds",
        "ra-param" => "interface,[mtu:N|interface|off,][high,|low,]interval[,lifetime]",
        "dhcp-duid" => "enterprise-number,uid-hex",
        "dhcp-hostsfile" | "dhcp-optsfile" => "a file or directory path",
        "dhcp-hostsdir" | "dhcp-optsdir" => "a directory path",
        "dhcp-broadcast" => "tag:[!]T[,tag:[!]T...] (none = every client)",
        "bootp-dynamic" => "[tag:T[,tag:T...]] (none = every BOOTP client)",
        "enable-tftp" => "interface names, comma separated (none = every interface)",
        "tftp-root" => "a directory[,interface]",
        "tftp-unique-root" => "ip or mac (default ip)",
        "tftp-max" => "a whole number of concurrent transfers (default 50)",
        "tftp-mtu" => "an MTU in bytes",
        "tftp-port-range" => "start,end ports",
        "dhcp-match" => "set:T,N|option:NAME|vi-encap:N[,value]",
        "dhcp-vendorclass" | "dhcp-userclass" => "set:T,CLASS",
        "dhcp-circuitid" | "dhcp-remoteid" | "dhcp-subscrid" => "set:T,VALUE (hex bytes or text)",
        "dhcp-mac" => "set:T,MAC (with * wildcards)",
        "dhcp-name-match" => "set:T,NAME[*]",
        "tag-if" => "set:T[,set:T...][,tag:[!]T...]",
        "dhcp-ignore" | "dhcp-ignore-names" | "dhcp-generate-names" => "tag:[!]T[,tag:[!]T...]",
        "dhcp-reply-delay" => "[tag:T,]SECONDS",
        "dhcp-boot" => "[tag:T,]file[,servername[,server address]]",
        "pxe-service" => "[tag:T,]CSA,menu text[,basename|type][,server address]",
        "pxe-prompt" => "[tag:T,]prompt[,timeout]",
        "dhcp-pxe-vendor" => "vendor class[,vendor class...]",
        "no-dhcp-interface" | "no-dhcpv4-interface" | "no-dhcpv6-interface" => "interface names",
        _ => "a value",
    }
}

fn describe(long: &str) -> &'static str {
    match long {
        "dhcp-range" => "Serve DHCPv4 addresses from this range (enables DHCP).",
        "enable-tftp" => "Serve files over TFTP (read-only) on port 69.",
        "tftp-root" => "Serve TFTP files from this directory (per interface when one is named).",
        "tftp-unique-root" => "Serve each client from ROOT/<its IP or MAC> when that exists.",
        "tftp-secure" => "Only serve files owned by our user (as root: world-readable files).",
        "tftp-lowercase" => "Lower-case requested TFTP file names.",
        "tftp-max" => "Most concurrent TFTP transfers.",
        "tftp-mtu" => "Ceiling on the TFTP block size, as an MTU.",
        "tftp-no-blocksize" => "Do not negotiate the TFTP block size.",
        "tftp-port-range" => "Ports for TFTP transfers.",
        "tftp-single-port" => "Run every TFTP transfer on port 69.",
        "tftp-no-fail" => "Start even if a TFTP root is missing.",
        "dhcp-host" => "Fixed address, name, lease time or ignore for matching DHCP clients.",
        "dhcp-option" => "Send this DHCP option to clients that ask for it.",
        "dhcp-option-force" => "Send this DHCP option even when not asked for.",
        "dhcp-leasefile" | "dhcp-lease" => {
            "DHCP lease file (default /var/lib/misc/ringmasq.leases)."
        }
        "leasefile-ro" => {
            "Never read or write the DHCP lease file (with --dhcp-script: the script keeps leases)."
        }
        "dhcp-script" => "Run this program on DHCP lease changes (add, old, del, init).",
        "dhcp-scriptuser" => "Run the lease-change script as this user (default root).",
        "script-on-renewal" => "Also run the lease-change script when a lease is renewed.",
        "script-arp" => "Also run the lease-change script for arp-add/arp-del neighbour events.",
        "dhcp-authoritative" => "NAK requests for leases this server does not know.",
        "dhcp-alternate-port" => "DHCPv4 on other ports (alone: 1067/1068; PORT: PORT and PORT+1).",
        "dhcp-no-override" => "Never carry DHCP options in the file and sname fields (overload).",
        "dhcp-rapid-commit" => "Answer DISCOVER with rapid commit straight with an ACK (RFC 4039).",
        "dhcp-lease-max" => "Most DHCP leases held at once (default 1000).",
        "dhcp-sequential-ip" => "Give the lowest free address instead of one from the client hash.",
        "dhcp-ignore-clid" => "Identify DHCP clients by MAC address only.",
        "dhcp-ttl" => "TTL of DNS answers for DHCP lease names (default --local-ttl).",
        "enable-ra" => "Send IPv6 router advertisements for the IPv6 dhcp-ranges.",
        "quiet-ra" => "Do not log router advertisement changes.",
        "quiet-tftp" => {
            "Do not log each TFTP transfer (problems still; a missing file is not one)."
        }
        "quiet-dhcp" => "Do not log each DHCPv4 reply (errors still; --log-dhcp overrides).",
        "quiet-dhcp6" => "Do not log each DHCPv6 reply (errors still; --log-dhcp overrides).",
        "dhcp-duid" => "The DHCPv6 server's DUID: ENTERPRISE-NUMBER,UID (hex) as a DUID-EN.",
        "ra-param" => "Router advertisement MTU, preference, interval and lifetime per interface.",
        "dhcp-hostsfile" => "Read dhcp-host lines from this file or directory (again on SIGHUP).",
        "dhcp-optsfile" => "Read dhcp-option lines from this file or directory (again on SIGHUP).",
        "dhcp-hostsdir" => "Read dhcp-host lines from every file here; new lines apply live.",
        "dhcp-optsdir" => "Read dhcp-option lines from every file here; new lines apply live.",
        "dhcp-broadcast" => "Always broadcast DHCP replies (to clients with these tags).",
        "bootp-dynamic" => "Give BOOTP clients dynamic addresses.",
        "dhcp-match" => "Tag DHCP requests that carry this option (with this value).",
        "dhcp-vendorclass" => "Tag DHCP requests whose vendor class (option 60) contains this.",
        "dhcp-userclass" => "Tag DHCP requests whose user class (option 77) contains this.",
        "dhcp-circuitid" => "Tag relayed DHCP requests with this relay agent circuit-id.",
        "dhcp-remoteid" => "Tag relayed DHCP requests with this relay agent remote-id.",
        "dhcp-subscrid" => "Tag relayed DHCP requests with this relay agent subscriber-id.",
        "dhcp-mac" => "Tag DHCP requests from matching MAC addresses.",
        "dhcp-name-match" => "Tag DHCP requests whose client-supplied name matches.",
        "tag-if" => "Set tags when all the given tags are set (rules run in order).",
        "dhcp-ignore" => "Ignore DHCP requests whose tags match.",
        "dhcp-ignore-names" => "Do not use the names DHCP clients send (when the tags match).",
        "dhcp-generate-names" => "Name DHCP clients without a name after their MAC address.",
        "dhcp-reply-delay" => "Hold back DHCPOFFERs for this many seconds.",
        "dhcp-boot" => "Boot file, server name and next-server address for DHCP clients.",
        "pxe-service" => "A PXE boot menu item for one client system type.",
        "pxe-prompt" => "The PXE boot menu prompt and its timeout.",
        "dhcp-pxe-vendor" => "Vendor classes taken as PXE clients besides PXEClient.",
        "dhcp-fqdn" => "Put only qualified DHCP names (NAME.DOMAIN) in the DNS.",
        "read-ethers" => "Read /etc/ethers (MAC and name or IPv4 address) as DHCP hosts.",
        "dhcp-client-update" => "Let DHCP clients update DNS themselves (option 81 flags).",
        "no-dhcp-interface" => "Serve DNS but not DHCP (v4 or v6) or RA on these interfaces.",
        "no-dhcpv4-interface" => "Serve no DHCPv4 on these interfaces.",
        "no-dhcpv6-interface" => "Serve no DHCPv6 or RA on these interfaces.",
        "no-ping" => "Offer DHCP addresses without pinging them first.",
        "keep-in-foreground" => "Stay in the foreground; otherwise run normally.",
        "no-daemon" => "Debug mode: stay in the foreground and log to stderr too.",
        "conf-file" => "Read this configuration file instead of /etc/ringmasq.conf (- = stdin).",
        "conf-dir" => "Read every file in a directory as configuration.",
        "servers-file" => "Read server= and rev-server= lines from a file, again on SIGHUP.",
        "test" => "Check the configuration and exit.",
        "help" => "Show this text and exit.",
        "version" => "Show the version and exit.",
        "port" => "DNS port to listen on (default 53; 0 disables DNS).",
        "listen-address" => "Listen on these addresses.",
        "interface" => "Listen on these interfaces (plus loopback).",
        "except-interface" => "Never listen on these interfaces.",
        "bind-interfaces" => "Bind each listening address rather than the wildcard.",
        "bind-dynamic" => "Bind each address, following addresses as they come and go.",
        "local-service" => {
            "Only answer hosts on directly connected networks (or, =host, this host)."
        }
        "server" => "Upstream server, optionally only for some domains.",
        "local" => "Same as --server; commonly a domain that is never forwarded.",
        "address" => {
            "Answer A/AAAA for a domain with this address (# = 0.0.0.0/::, none = NXDOMAIN)."
        }
        "mx-host" => "Answer an MX record for a name.",
        "mx-target" => "Default MX target (default this host's name).",
        "localmx" => "MX record for each local machine (hosts, leases) pointing to --mx-target.",
        "selfmx" => "MX record for each local machine (hosts, leases) pointing to itself.",
        "srv-host" => "Answer an SRV record.",
        "txt-record" => "Answer a TXT record.",
        "ptr-record" => "Answer a PTR record.",
        "naptr-record" => "Answer a NAPTR record.",
        "caa-record" => "Answer a CAA record.",
        "cname" => "Answer a CNAME record (target should be local data).",
        "host-record" => "Answer A/AAAA and PTR records for names and addresses.",
        "interface-name" => "Answer a name with the addresses of an interface.",
        "hostsdir" => "Read every file in this directory as a hosts file; changes apply live.",
        "synth-domain" => "Answer A/AAAA and PTR for an address range with generated names.",
        "dynamic-host" => "Answer a name with an interface's network and this host part.",
        "dns-rr" => "Answer an arbitrary record given in hex.",
        "no-ident" => "Do not answer CHAOS version.bind and statistics queries (NOTIMP).",
        "expand-hosts" => "Add --domain to simple names in hosts files.",
        "domain" => "The local domain (for --expand-hosts).",
        "domain-suffix" => "Same as --domain (dnsmasq's hidden alias).",
        "rev-server" => "Upstream server for reverse lookups in an address prefix.",
        "resolv-file" => "Read upstream servers from this file (default /etc/resolv.conf).",
        "no-resolv" => "Do not read resolver files.",
        "no-poll" => "Do not watch resolver files for changes.",
        "clear-on-reload" => "Clear the DNS cache whenever the resolver file is re-read.",
        "strict-order" => "Try upstream servers in the order given.",
        "all-servers" => "Send each query to every upstream server.",
        "dns-forward-max" => "Most concurrent forwarded queries (default 150).",
        "fast-dns-retry" => "Retry upstream queries ourselves (default 1000ms, for 10000ms).",
        "query-port" => "Send upstream queries from this fixed port (0 = one OS port).",
        "min-port" => "Lowest random source port for upstream queries.",
        "max-port" => "Highest random source port for upstream queries.",
        "edns-packet-max" => "Largest EDNS UDP payload (default 1232).",
        "cache-size" => "Cache entries (default 150; 0 disables caching).",
        "no-negcache" => "Do not cache negative answers.",
        "neg-ttl" => "TTL for negative answers that carry no SOA.",
        "max-cache-ttl" => "Cap TTLs stored in the cache.",
        "min-cache-ttl" => "Raise short TTLs stored in the cache (at most 3600).",
        "max-ttl" => "Cap TTLs sent to clients.",
        "use-stale-cache" => {
            "Answer from expired cache entries while refreshing (default limit one day)."
        }
        "local-ttl" => "TTL for answers from hosts files and configuration (default 0).",
        "no-hosts" => "Do not read /etc/hosts.",
        "addn-hosts" => "Also read this hosts file or directory.",
        "log-queries" => "Log every query.",
        "log-facility" => "Where to log (default syslog DAEMON).",
        "log-async" => "Log through a bounded queue; lines are dropped and counted when full.",
        "log-debug" => "Also log debug messages.",
        "log-dhcp" => "Log every DHCP request and the options sent in each reply.",
        "user" => {
            "After binding, run as this user, keeping only CAP_NET_BIND_SERVICE, CAP_NET_RAW \
             and CAP_NET_ADMIN. Unlike dnsmasq there is no default: without -u the user is kept."
        }
        "group" => {
            "Run as this group (with --user: default dip if it exists, else the user's own)."
        }
        "pid-file" => {
            "Where to write the PID (default /run/ringmasq.pid when daemonising; no value = none)."
        }
        "max-tcp-connections" => "Most concurrent TCP connections (default 20).",
        "domain-needed" => "Never forward A/AAAA queries for names without a dot (NXDOMAIN).",
        "bogus-priv" => "Answer reverse lookups of private ranges (RFC 6303) NXDOMAIN.",
        "filterwin2k" => "Answer SOA, SRV and ANY-with-underscore queries locally (NODATA).",
        "stop-dns-rebind" => "Block upstream answers with private addresses.",
        "rebind-localhost-ok" => "Allow 127.0.0.0/8 and ::1 in answers despite --stop-dns-rebind.",
        "rebind-domain-ok" => "No rebind check for names in these domains.",
        "bogus-nxdomain" => "Turn answers with this address into NXDOMAIN.",
        "cache-rr" => "Also cache these record types (ringmasq caches every type anyway).",
        "alias" => "Rewrite IPv4 addresses in upstream answers (OLD|START-END,NEW[,MASK]).",
        "ignore-address" => "Ignore answers with this address and wait for another.",
        "filter-A" => "Remove A records from answers.",
        "filter-AAAA" => "Remove AAAA records from answers.",
        "filter-rr" => "Remove records of these types from answers (ANY: defang ANY answers).",
        "no-round-robin" => "Keep the upstream order of records (ringmasq never reorders).",
        "dnssec" => "Validate answers with DNSSEC; AD on secure answers, SERVFAIL on bogus ones.",
        "trust-anchor" => "A DS record trusted as the start of DNSSEC chains of trust.",
        "dnssec-check-unsigned" => "Prove unsigned answers insecure (default; =no to trust them).",
        "dnssec-no-timecheck" => "Do not check DNSSEC signature times until SIGINT.",
        "dnssec-timestamp" => {
            "Check DNSSEC signature times once the clock passes this file's time."
        }
        "proxy-dnssec" => "Copy the AD bit from upstream answers.",
        "dnssec-debug" => "Set CD upstream; pass bogus answers on instead of SERVFAIL.",
        "dnssec-limits" => "DNSSEC work limits per answer (default 20,200,40,150).",
        "threads" => "Worker threads (default one per online CPU).",
        "io-backend" => "Packet I/O: io_uring, epoll, or auto (default).",
        "tcp-idle-timeout" => "Close idle TCP connections after this long (default 10s).",
        "tftp-ack-gather" => "Gather ACKs of concurrent TFTP transfers this long (io_uring).",
        _ => "",
    }
}

fn usage(spec: &OptionSpec) -> String {
    let mut s = match spec.short {
        Some(c) => format!("-{c}, --{}", spec.long),
        None => format!("    --{}", spec.long),
    };
    match spec.arg {
        ArgKind::None => {}
        ArgKind::Required => s.push_str("=<value>"),
        ArgKind::Optional => s.push_str("[=<value>]"),
    }
    s
}

/// The full `--help` text.
pub fn help_text() -> String {
    let mut out = format!(
        "Usage: ringmasq [options]\n\
         ringmasq {} reads dnsmasq's command line and configuration files.\n\
         Every option may also be written in a configuration file as name[=value].\n\n\
         Options:\n",
        crate::VERSION
    );
    let implemented = OPTIONS
        .iter()
        .filter(|o| o.is_implemented() && o.family == Family::Dnsmasq);
    for spec in implemented {
        let _ = writeln!(out, "{:<32} {}", usage(spec), describe(spec.long));
        if spec.arg != ArgKind::None {
            let _ = writeln!(out, "{:<32}   value: {}", "", metavar(spec.long));
        }
    }
    out.push_str("\nringmasq extensions (not in dnsmasq):\n");
    for spec in OPTIONS.iter().filter(|o| o.family == Family::Ringmasq) {
        let _ = writeln!(out, "{:<32} {}", usage(spec), describe(spec.long));
        let _ = writeln!(out, "{:<32}   value: {}", "", metavar(spec.long));
    }
    out.push_str("\ndnsmasq options recognised but not implemented yet (using one is an error):\n");
    let mut line = String::new();
    for spec in OPTIONS.iter().filter(|o| !o.is_implemented()) {
        if line.len() + spec.long.len() + 3 > 78 {
            out.push_str(line.trim_end());
            out.push('\n');
            line.clear();
        }
        let _ = write!(line, "--{} ", spec.long);
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_option_is_described() {
        for spec in OPTIONS.iter().filter(|o| o.is_implemented()) {
            assert!(!describe(spec.long).is_empty(), "{}", spec.long);
            if spec.arg != ArgKind::None {
                assert_ne!(metavar(spec.long), "a value", "{}", spec.long);
            }
        }
    }

    #[test]
    fn help_lists_extensions_and_unimplemented() {
        let h = help_text();
        for needle in [
            "--threads",
            "--io-backend",
            "--tcp-idle-timeout",
            "-p, --port",
            "--dhcp-range",
            "-u, --user",
        ] {
            assert!(h.contains(needle), "{needle}");
        }
    }
}
