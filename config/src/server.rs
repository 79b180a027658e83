//! Upstream server rules: the `--server`, `--local` and `--rev-server` syntax
//! `[/[domain]/[domain/]][server[#port]][@interface][@source-ip[#port]]`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use crate::origin::Origin;
use crate::value::{ValueError, parse_port};

/// Port used for an upstream server when none is given.
pub const DNS_PORT: u16 = 53;

/// Longest interface name Linux accepts (IFNAMSIZ less the NUL).
const MAX_IFNAME: usize = 15;

/// Which query names a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DomainMatch {
    /// The name is this domain or under it, on whole labels; lowercase, no
    /// trailing dot. `""` is the root: every name (written `/#/`).
    Suffix(String),
    /// The name's text ends with this string, not necessarily on a label
    /// boundary (`/*google.com/` also matches `supergoogle.com`;
    /// `/*.google.com/` matches subdomains only). Lowercase, no trailing dot.
    Wildcard(String),
    /// Names without any dot (written `//`).
    Unqualified,
}

/// What to do with a matching query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerAction {
    /// Forward to this upstream.
    Forward(Upstream),
    /// Answer locally only (hosts, configuration); never forward.
    LocalOnly,
    /// Use the default (non-domain) servers, overriding a less specific rule (`#`).
    UseDefault,
    /// Answer A/AAAA locally with this address (`--address=/domain/ADDR`).
    Address(IpAddr),
    /// Answer A with 0.0.0.0 and AAAA with `::` (`--address=/domain/#`).
    NullAddress,
}

/// An upstream server address with optional outgoing interface and source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Upstream {
    /// Server address; port 53 unless given with `#port`.
    pub addr: SocketAddr,
    /// Interface to send through (`@eth0`).
    pub interface: Option<String>,
    /// Source address and port (`@192.168.1.1#5000`; port 0 = any).
    pub source: Option<SocketAddr>,
}

/// One `--server`/`--local`/`--rev-server` occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerRule {
    /// Domains the rule applies to; empty = a default server for all names.
    pub domains: Vec<DomainMatch>,
    /// What to do with matching queries.
    pub action: ServerAction,
    /// Where the rule was given.
    pub origin: Origin,
}

impl ServerRule {
    /// Parses the value of `--server` or `--local`.
    pub fn parse(value: &str, origin: Origin) -> Result<Self, ValueError> {
        let (domains, rest) = match value.strip_prefix('/') {
            Some(tail) => {
                let end = tail.rfind('/').ok_or_else(|| {
                    ValueError::expected(
                        "a domain list closed by `/`, as in /example.com/192.0.2.1",
                    )
                })?;
                let domains = tail[..end]
                    .split('/')
                    .map(parse_domain)
                    .collect::<Result<Vec<_>, _>>()?;
                (domains, &tail[end + 1..])
            }
            None => (Vec::new(), value),
        };
        let action = parse_action(rest)?;
        match (&action, domains.is_empty()) {
            (ServerAction::LocalOnly, true) => Err(ValueError::expected(
                "a server address, or /domain/ for a local-only domain",
            )),
            (ServerAction::UseDefault, true) => Err(ValueError::expected(
                "/domain/ before `#` (use the default servers for that domain)",
            )),
            _ => Ok(ServerRule {
                domains,
                action,
                origin,
            }),
        }
    }

    /// Parses the value of `-A/--address`: `/domain/[domain/...][ADDR|#]`. No address is
    /// the NXDOMAIN form (like `--local`); `#` answers 0.0.0.0 and `::`.
    pub fn parse_address(value: &str, origin: Origin) -> Result<Self, ValueError> {
        let expected = || ValueError::expected("/domain/[address], as in /example.com/192.0.2.1");
        let tail = value.strip_prefix('/').ok_or_else(expected)?;
        let end = tail.rfind('/').ok_or_else(expected)?;
        let domains = tail[..end]
            .split('/')
            .map(parse_domain)
            .collect::<Result<Vec<_>, _>>()?;
        let action = match &tail[end + 1..] {
            "" => ServerAction::LocalOnly,
            "#" => ServerAction::NullAddress,
            a => ServerAction::Address(
                a.parse()
                    .map_err(|_| ValueError::expected("an IPv4 or IPv6 address, or #"))?,
            ),
        };
        Ok(ServerRule {
            domains,
            action,
            origin,
        })
    }

    /// True when the rule has no domains: a default upstream for every name.
    pub fn is_default(&self) -> bool {
        self.domains.is_empty()
    }
}

/// Parses what follows the domain list: empty, `#`, or an upstream.
pub(crate) fn parse_action(text: &str) -> Result<ServerAction, ValueError> {
    match text {
        "" => Ok(ServerAction::LocalOnly),
        "#" => Ok(ServerAction::UseDefault),
        _ => parse_upstream(text).map(ServerAction::Forward),
    }
}

/// Parses `server[#port][@interface][@source-ip[#port]]`.
pub fn parse_upstream(text: &str) -> Result<Upstream, ValueError> {
    let (server, via) = match text.split_once('@') {
        Some((s, v)) => (s, Some(v)),
        None => (text, None),
    };
    let (host, port) = match server.split_once('#') {
        Some((h, "")) => (h, DNS_PORT),
        Some((h, p)) => (h, parse_port(p).map_err(|_| bad_server_port(p))?),
        None => (server, DNS_PORT),
    };
    if port == 0 {
        return Err(bad_server_port("0"));
    }
    let addr = parse_ip_with_scope(host)?;
    let addr = with_port(addr, port);
    let (interface, source) = match via {
        None => (None, None),
        Some(via) => {
            let (iface, src) = match via.split_once('@') {
                Some((i, s)) => (Some(i), Some(s)),
                None => {
                    let (ip, _) = via.split_once('#').unwrap_or((via, ""));
                    if ip.parse::<IpAddr>().is_ok() {
                        (None, Some(via))
                    } else {
                        (Some(via), None)
                    }
                }
            };
            let interface = iface.map(parse_interface).transpose()?;
            let source = src.map(parse_source).transpose()?;
            (interface, source)
        }
    };
    if let Some(src) = source
        && src.is_ipv4() != addr.is_ipv4()
    {
        return Err(ValueError::expected(format!(
            "a source address of the same family as the server {}",
            addr.ip()
        )));
    }
    Ok(Upstream {
        addr,
        interface,
        source,
    })
}

fn bad_server_port(p: &str) -> ValueError {
    ValueError::expected(format!(
        "a server port from 1 to 65535 after `#`, not `{p}`"
    ))
}

fn with_port(addr: SocketAddr, port: u16) -> SocketAddr {
    let mut a = addr;
    a.set_port(port);
    a
}

/// Parses an IP address; IPv6 may carry `%scope` (interface name or index).
fn parse_ip_with_scope(host: &str) -> Result<SocketAddr, ValueError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    if let Some((ip, scope)) = host.split_once('%')
        && let Ok(v6) = ip.parse::<Ipv6Addr>()
    {
        let scope_id = scope_index(scope)?;
        return Ok(SocketAddr::V6(SocketAddrV6::new(v6, 0, 0, scope_id)));
    }
    if host.is_empty() {
        return Err(ValueError::expected("a server IP address"));
    }
    Err(ValueError::expected(format!(
        "a server IP address, not `{host}` (ringmasq does not resolve host names in server options: give the address)"
    )))
}

/// Interface index for a `%scope`: a number, or a name looked up in sysfs.
fn scope_index(scope: &str) -> Result<u32, ValueError> {
    if let Ok(n) = scope.parse::<u32>() {
        return Ok(n);
    }
    let name = parse_interface(scope)?;
    std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| {
            ValueError::expected(format!(
                "an existing interface or index for scope `%{scope}`"
            ))
        })
}

fn parse_source(text: &str) -> Result<SocketAddr, ValueError> {
    let (ip, port) = match text.split_once('#') {
        Some((ip, p)) => (ip, parse_port(p)?),
        None => (text, 0),
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| ValueError::expected(format!("a source IP address after `@`, not `{ip}`")))?;
    Ok(SocketAddr::new(ip, port))
}

/// Validates an interface name (1-15 characters, no `/ @ # %` or blanks).
pub(crate) fn parse_interface(name: &str) -> Result<String, ValueError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/@#%,".contains(c));
    if ok {
        Ok(name.to_string())
    } else {
        Err(ValueError::expected(format!(
            "an interface name of 1 to {MAX_IFNAME} characters, not `{name}`"
        )))
    }
}

/// Parses one domain between slashes.
fn parse_domain(text: &str) -> Result<DomainMatch, ValueError> {
    match text {
        "" => Ok(DomainMatch::Unqualified),
        "#" => Ok(DomainMatch::Suffix(String::new())),
        _ => match text.strip_prefix('*') {
            Some(pattern) => {
                let body = pattern.strip_prefix('.').unwrap_or(pattern);
                let name = normalize_domain(body)?;
                let dot = if pattern.starts_with('.') { "." } else { "" };
                Ok(DomainMatch::Wildcard(format!("{dot}{name}")))
            }
            // RFC 1035 §3.1: a leading dot adds nothing; dnsmasq treats
            // `/.example.com/` as `/example.com/`.
            None => {
                normalize_domain(text.strip_prefix('.').unwrap_or(text)).map(DomainMatch::Suffix)
            }
        },
    }
}

/// Lowercases a domain (a Unicode one becomes its punycode form), drops one trailing dot and
/// checks label lengths
/// (RFC 1035 §2.3.4: labels 1-63 octets, names up to 255 octets).
pub(crate) fn normalize_domain(text: &str) -> Result<String, ValueError> {
    let name = text.strip_suffix('.').unwrap_or(text);
    if name.is_empty() {
        return Ok(String::new());
    }
    // Names given in Unicode are used in their punycode form (IDNA, RFC 5891), as dnsmasq does.
    let punycode;
    let name = if name.is_ascii() {
        name
    } else {
        punycode = idna::domain_to_ascii(name).map_err(|_| {
            ValueError::expected(format!(
                "a valid internationalised domain name, not `{text}`"
            ))
        })?;
        punycode.as_str()
    };
    if name.len() > 253 {
        return Err(ValueError::expected(
            "a domain name of at most 253 characters",
        ));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(ValueError::expected(format!(
                "a domain name made of labels of 1 to 63 characters, not `{text}`"
            )));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/#*@\\\"".contains(&b))
        {
            return Err(ValueError::expected(format!(
                "a domain name without blanks or any of / # * @ \\ \", not `{text}`"
            )));
        }
    }
    Ok(name.to_ascii_lowercase())
}

impl fmt::Display for DomainMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainMatch::Suffix(s) if s.is_empty() => f.write_str("#"),
            DomainMatch::Suffix(s) => f.write_str(s),
            DomainMatch::Wildcard(s) => write!(f, "*{s}"),
            DomainMatch::Unqualified => Ok(()),
        }
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            SocketAddr::V4(a) => write!(f, "{}#{}", a.ip(), a.port())?,
            SocketAddr::V6(a) if a.scope_id() != 0 => {
                write!(f, "{}%{}#{}", a.ip(), a.scope_id(), a.port())?
            }
            SocketAddr::V6(a) => write!(f, "{}#{}", a.ip(), a.port())?,
        }
        if let Some(i) = &self.interface {
            write!(f, "@{i}")?;
        }
        if let Some(s) = &self.source {
            write!(f, "@{}#{}", s.ip(), s.port())?;
        }
        Ok(())
    }
}

impl fmt::Display for ServerAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAction::Forward(u) => u.fmt(f),
            ServerAction::LocalOnly => Ok(()),
            ServerAction::UseDefault => f.write_str("#"),
            // `--address` syntax (parsed back by [`ServerRule::parse_address`]).
            ServerAction::Address(a) => a.fmt(f),
            ServerAction::NullAddress => f.write_str("#"),
        }
    }
}

/// Formats the rule in `--server` syntax (without its origin), such that
/// [`ServerRule::parse`] gives the same rule back.
impl fmt::Display for ServerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.domains.is_empty() {
            f.write_str("/")?;
            for d in &self.domains {
                write!(f, "{d}/")?;
            }
        }
        self.action.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(v: &str) -> ServerRule {
        ServerRule::parse(v, Origin::CommandLine).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    #[test]
    fn unicode_domains_become_punycode() {
        // RFC 5891: the A-label of bücher is xn--bcher-kva.
        assert_eq!(
            rule("/Bücher.Example/192.0.2.1").domains,
            vec![DomainMatch::Suffix("xn--bcher-kva.example".into())]
        );
    }

    fn err(v: &str) -> String {
        ServerRule::parse(v, Origin::CommandLine)
            .unwrap_err()
            .expected
    }

    fn fwd(v: &str) -> Upstream {
        match rule(v).action {
            ServerAction::Forward(u) => u,
            other => panic!("{v}: {other:?}"),
        }
    }

    fn suffix(s: &str) -> DomainMatch {
        DomainMatch::Suffix(s.into())
    }

    #[test]
    fn plain_servers() {
        let u = fwd("192.0.2.1");
        assert_eq!(u.addr, "192.0.2.1:53".parse().unwrap());
        assert!(rule("192.0.2.1").is_default());
        assert_eq!(fwd("192.0.2.1#5353").addr.port(), 5353);
        assert_eq!(fwd("192.0.2.1#").addr.port(), 53);
        assert_eq!(fwd("::1#5353").addr, "[::1]:5353".parse().unwrap());
        assert_eq!(fwd("2001:db8::1").addr, "[2001:db8::1]:53".parse().unwrap());
    }

    #[test]
    fn interface_and_source() {
        let u = fwd("192.0.2.1@eth0");
        assert_eq!((u.interface.as_deref(), u.source), (Some("eth0"), None));
        let u = fwd("192.0.2.1@192.0.2.9#5000");
        assert_eq!(
            (u.interface, u.source),
            (None, Some("192.0.2.9:5000".parse().unwrap()))
        );
        let u = fwd("192.0.2.1@192.0.2.9");
        assert_eq!(u.source, Some("192.0.2.9:0".parse().unwrap()));
        let u = fwd("192.0.2.1#54@eth1@192.0.2.9#99");
        assert_eq!(u.addr.port(), 54);
        assert_eq!(u.interface.as_deref(), Some("eth1"));
        assert_eq!(u.source, Some("192.0.2.9:99".parse().unwrap()));
        assert!(err("192.0.2.1@::1").contains("same family"));
    }

    #[test]
    fn ipv6_scope() {
        let u = fwd("fe80::1%3#5353");
        match u.addr {
            SocketAddr::V6(a) => assert_eq!((a.scope_id(), a.port()), (3, 5353)),
            _ => panic!(),
        }
        if std::path::Path::new("/sys/class/net/lo/ifindex").exists() {
            let u = fwd("fe80::1%lo");
            assert!(matches!(u.addr, SocketAddr::V6(a) if a.scope_id() >= 1));
        }
        assert!(err("fe80::1%no-such-if0").contains("scope"));
    }

    #[test]
    fn domains() {
        let r = rule("/example.com/192.0.2.1");
        assert_eq!(r.domains, [suffix("example.com")]);
        let r = rule("/Example.COM./.foo.org/bar/192.0.2.1");
        assert_eq!(
            r.domains,
            [suffix("example.com"), suffix("foo.org"), suffix("bar")]
        );
        assert_eq!(rule("//192.0.2.1").domains, [DomainMatch::Unqualified]);
        assert_eq!(rule("/#/192.0.2.1").domains, [suffix("")]);
        assert_eq!(
            rule("/*google.com/192.0.2.1").domains,
            [DomainMatch::Wildcard("google.com".into())]
        );
        assert_eq!(
            rule("/*.google.com/192.0.2.1").domains,
            [DomainMatch::Wildcard(".google.com".into())]
        );
    }

    #[test]
    fn local_and_default_actions() {
        let r = rule("/lan/");
        assert_eq!(
            (r.domains, r.action),
            (vec![suffix("lan")], ServerAction::LocalOnly)
        );
        assert_eq!(rule("//").action, ServerAction::LocalOnly);
        assert_eq!(rule("/www.google.com/#").action, ServerAction::UseDefault);
        assert_eq!(rule("/*x/").action, ServerAction::LocalOnly);
    }

    #[test]
    fn refusals_say_what_was_expected() {
        assert!(err("dns.example.net").contains("does not resolve host names"));
        assert!(err("/x").contains("closed by `/`"));
        assert!(err("x/1.2.3.4").contains("IP address"));
        assert!(err("").contains("server address"));
        assert!(err("#").contains("/domain/"));
        assert!(err("192.0.2.1#0").contains("port"));
        assert!(err("192.0.2.1#70000").contains("port"));
        assert!(err("[::1]").contains("IP address"));
        assert!(err("/a..b/192.0.2.1").contains("labels"));
        assert!(err("/a b/192.0.2.1").contains("blanks"));
        assert!(err("/a b/192.0.2.1").contains("without blanks"));
        assert!(err("192.0.2.1@@").contains("interface"));
        assert!(err("192.0.2.1@eth0@nope").contains("source"));
    }

    #[test]
    fn display_is_server_syntax() {
        assert_eq!(rule("/lan/").to_string(), "/lan/");
        assert_eq!(rule("//").to_string(), "//");
        assert_eq!(rule("/#/1.2.3.4").to_string(), "/#/1.2.3.4#53");
        assert_eq!(rule("/a/*b/#").to_string(), "/a/*b/#");
        assert_eq!(
            rule("1.2.3.4@eth0@5.6.7.8").to_string(),
            "1.2.3.4#53@eth0@5.6.7.8#0"
        );
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9_][a-z0-9-]{0,10}"
    }

    fn domain_name() -> impl Strategy<Value = String> {
        prop::collection::vec(label(), 1..4).prop_map(|l| l.join("."))
    }

    fn domain_match() -> impl Strategy<Value = DomainMatch> {
        prop_oneof![
            domain_name().prop_map(DomainMatch::Suffix),
            Just(DomainMatch::Suffix(String::new())),
            domain_name().prop_map(DomainMatch::Wildcard),
            domain_name().prop_map(|d| DomainMatch::Wildcard(format!(".{d}"))),
            Just(DomainMatch::Unqualified),
        ]
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u16; 8]>().prop_map(IpAddr::from)
        ]
    }

    fn upstream() -> impl Strategy<Value = Upstream> {
        (
            ip(),
            1u16..,
            prop::option::of("[a-z][a-z0-9]{0,7}"),
            prop::option::of((ip(), any::<u16>())),
            any::<u32>(),
        )
            .prop_map(|(ip, port, interface, src, scope)| {
                let addr = match ip {
                    IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, scope)),
                    IpAddr::V4(_) => SocketAddr::new(ip, port),
                };
                let source = src.map(|(s, p)| match (ip, s) {
                    (IpAddr::V4(_), IpAddr::V6(_)) => {
                        SocketAddr::new(IpAddr::from([10, 0, 0, 1]), p)
                    }
                    (IpAddr::V6(_), IpAddr::V4(_)) => {
                        SocketAddr::new(IpAddr::from([0xfe80u16, 0, 0, 0, 0, 0, 0, 1]), p)
                    }
                    _ => SocketAddr::new(s, p),
                });
                Upstream {
                    addr,
                    interface,
                    source,
                }
            })
    }

    fn server_rule() -> impl Strategy<Value = ServerRule> {
        (
            prop::collection::vec(domain_match(), 0..4),
            prop_oneof![
                upstream().prop_map(ServerAction::Forward),
                Just(ServerAction::LocalOnly),
                Just(ServerAction::UseDefault),
            ],
        )
            .prop_filter("local-only and # need a domain", |(d, a)| {
                !d.is_empty() || matches!(a, ServerAction::Forward(_))
            })
            .prop_map(|(domains, action)| ServerRule {
                domains,
                action,
                origin: Origin::CommandLine,
            })
    }

    proptest! {
        #[test]
        fn display_round_trips(r in server_rule()) {
            let text = r.to_string();
            let back = ServerRule::parse(&text, Origin::CommandLine);
            prop_assert_eq!(back.as_ref(), Ok(&r), "{}", text);
        }

        #[test]
        fn parser_never_panics(s in "[/#@%a-z0-9.:*]{0,30}") {
            let _ = ServerRule::parse(&s, Origin::CommandLine);
        }
    }
}
