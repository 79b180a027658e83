//! `-O/--dhcp-option` and `--dhcp-option-force`: option numbers and `option:` names, tag
//! conditions, `vendor:` and `encap:`, with values encoded to their wire form (RFC 2132 types).

use std::net::Ipv4Addr;

use crate::value::ValueError;

/// The wire type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One or more IPv4 addresses (RFC 2132 §3.5 style lists).
    Addrs,
    /// One 8-bit number (flags and small counters).
    U8,
    /// One 16-bit number.
    U16,
    /// One 32-bit number.
    U32,
    /// One signed 32-bit number (option 2, RFC 2132 §3.4).
    I32,
    /// Text (NVT ASCII).
    Text,
    /// RFC 3397 domain search list (option 119).
    Names,
    /// RFC 3442 classless static routes (option 121).
    Routes,
    /// Guessed from the value as dnsmasq does for unknown numbers.
    Guess,
}

/// Option names accepted after `option:`, their codes and value types (RFC 2132 unless noted).
const NAMES: &[(&str, u8, Kind)] = &[
    ("netmask", 1, Kind::Addrs),
    ("time-offset", 2, Kind::I32),
    ("router", 3, Kind::Addrs),
    ("dns-server", 6, Kind::Addrs),
    ("log-server", 7, Kind::Addrs),
    ("lpr-server", 9, Kind::Addrs),
    ("hostname", 12, Kind::Text),
    ("boot-file-size", 13, Kind::U16),
    ("domain-name", 15, Kind::Text),
    ("swap-server", 16, Kind::Addrs),
    ("root-path", 17, Kind::Text),
    ("extension-path", 18, Kind::Text),
    ("ip-forward-enable", 19, Kind::U8),
    ("non-local-source-routing", 20, Kind::U8),
    ("policy-filter", 21, Kind::Addrs),
    ("max-datagram-reassembly", 22, Kind::U16),
    ("default-ttl", 23, Kind::U8),
    ("mtu", 26, Kind::U16),
    ("all-subnets-local", 27, Kind::U8),
    ("broadcast", 28, Kind::Addrs),
    ("router-discovery", 31, Kind::U8),
    ("router-solicitation", 32, Kind::Addrs),
    ("static-route", 33, Kind::Addrs),
    ("trailer-encapsulation", 34, Kind::U8),
    ("arp-timeout", 35, Kind::U32),
    ("ethernet-encap", 36, Kind::U8),
    ("tcp-ttl", 37, Kind::U8),
    ("tcp-keepalive", 38, Kind::U32),
    ("nis-domain", 40, Kind::Text),
    ("nis-server", 41, Kind::Addrs),
    ("ntp-server", 42, Kind::Addrs),
    ("vendor-encap", 43, Kind::Guess),
    ("netbios-ns", 44, Kind::Addrs),
    ("netbios-dd", 45, Kind::Addrs),
    ("netbios-nodetype", 46, Kind::U8),
    ("netbios-scope", 47, Kind::Text),
    ("x-windows-fs", 48, Kind::Addrs),
    ("x-windows-dm", 49, Kind::Addrs),
    ("lease-time", 51, Kind::U32),
    ("message", 56, Kind::Text),
    ("max-message-size", 57, Kind::U16),
    ("T1", 58, Kind::U32),
    ("T2", 59, Kind::U32),
    ("vendor-class", 60, Kind::Text),
    ("nis+-domain", 64, Kind::Text),
    ("nis+-server", 65, Kind::Addrs),
    ("tftp-server", 66, Kind::Text),
    ("bootfile-name", 67, Kind::Text),
    ("mobile-ip-home", 68, Kind::Addrs),
    ("smtp-server", 69, Kind::Addrs),
    ("pop3-server", 70, Kind::Addrs),
    ("nntp-server", 71, Kind::Addrs),
    ("irc-server", 74, Kind::Addrs),
    ("user-class", 77, Kind::Guess),
    ("client-arch", 93, Kind::U16),
    ("client-interface-id", 94, Kind::Guess),
    ("client-machine-id", 97, Kind::Guess),
    ("posix-timezone", 100, Kind::Text),
    ("tzdb-timezone", 101, Kind::Text),
    ("subnet-select", 118, Kind::Addrs),
    ("domain-search", 119, Kind::Names),
    ("classless-static-route", 121, Kind::Routes),
    ("tftp-server-address", 150, Kind::Addrs),
];

/// A tag condition: `tag:x` or `tag:!x`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCondition {
    /// Tag name.
    pub tag: String,
    /// `!`: the tag must not be set.
    pub negated: bool,
}

/// One `--dhcp-option` / `--dhcp-option-force`, its value already in wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpOption {
    /// Option code (a sub-option code with `vendor:` or `encap:`).
    pub code: u8,
    /// Wire value (may be empty: an empty option, as in `dhcp-option=3`).
    pub value: Vec<u8>,
    /// Tag conditions, all of which must hold.
    pub tags: Vec<TagCondition>,
    /// `--dhcp-option-force`.
    pub force: bool,
    /// `vendor:CLASS`: sub-option of option 43 for clients whose option 60 contains CLASS.
    pub vendor_class: Option<String>,
    /// `encap:N`: sub-option of option N.
    pub encap: Option<u8>,
}

fn expected(s: &str) -> ValueError {
    ValueError::expected(s)
}

fn code_of(item: &str) -> Result<(u8, Kind), ValueError> {
    if let Some(name) = item.strip_prefix("option:") {
        return NAMES
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, c, k)| (*c, *k))
            .ok_or_else(|| expected("a known option name after option:"));
    }
    if item.starts_with("option6:") {
        return Err(expected(
            "an IPv4 option (DHCPv6 options are not supported yet)",
        ));
    }
    let n: u8 = item
        .parse()
        .map_err(|_| expected("an option number 1-254 or option:NAME"))?;
    if n == 0 || n == 255 {
        return Err(expected("an option number 1-254"));
    }
    let kind = NAMES
        .iter()
        .find(|(_, c, _)| *c == n)
        .map_or(Kind::Guess, |(_, _, k)| *k);
    Ok((n, kind))
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn addr(s: &str) -> Result<Ipv4Addr, ValueError> {
    let a: Ipv4Addr = s.parse().map_err(|_| expected("IPv4 addresses"))?;
    if a.is_unspecified() {
        // dnsmasq reads 0.0.0.0 as "this server"; ringmasq does not substitute it yet.
        return Err(expected(
            "explicit IPv4 addresses (0.0.0.0 for \"this server\" is not supported yet; \
             router and DNS server default to this server)",
        ));
    }
    Ok(a)
}

fn number(s: &str, max: u64) -> Result<u64, ValueError> {
    crate::value::parse_uint(s, max)
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.contains(':') {
        return None;
    }
    s.split(':')
        .map(|p| {
            ((1..=2).contains(&p.len()))
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect()
}

/// RFC 1035 §3.1 name encoding without compression (RFC 3397 §2 allows it).
fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), ValueError> {
    let name = name.trim_end_matches('.');
    for label in name.split('.').filter(|l| !l.is_empty()) {
        if label.len() > 63 {
            return Err(expected("domain names with labels of at most 63 bytes"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Ok(())
}

/// RFC 3442 §2: each route is the prefix length, the significant octets of the destination,
/// then the router.
fn encode_routes(items: &[&str], out: &mut Vec<u8>) -> Result<(), ValueError> {
    let err = || expected("pairs of NETWORK/PREFIX,ROUTER");
    if !items.len().is_multiple_of(2) {
        return Err(err());
    }
    for pair in items.chunks(2) {
        let (net, prefix) = pair[0].split_once('/').ok_or_else(err)?;
        let net: Ipv4Addr = net.parse().map_err(|_| err())?;
        let prefix = number(prefix, 32).map_err(|_| err())? as u8;
        let router: Ipv4Addr = pair[1].parse().map_err(|_| err())?;
        out.push(prefix);
        out.extend_from_slice(&net.octets()[..usize::from(prefix).div_ceil(8)]);
        out.extend_from_slice(&router.octets());
    }
    Ok(())
}

/// Guesses a value's type as dnsmasq does for options it has no type for: addresses, a
/// number (in the fewest of 1, 2 or 4 bytes), colon-separated hex bytes, else text.
fn guess(items: &[&str], whole: &str, out: &mut Vec<u8>) -> Result<(), ValueError> {
    if items.iter().all(|i| i.parse::<Ipv4Addr>().is_ok()) {
        for i in items {
            out.extend_from_slice(&addr(i)?.octets());
        }
    } else if let [one] = items
        && let Ok(n) = number(one, u64::from(u32::MAX))
    {
        match n {
            0..=0xff => out.push(n as u8),
            0x100..=0xffff => out.extend_from_slice(&(n as u16).to_be_bytes()),
            _ => out.extend_from_slice(&(n as u32).to_be_bytes()),
        }
    } else if let [one] = items
        && let Some(b) = hex_bytes(one)
    {
        out.extend_from_slice(&b);
    } else {
        out.extend_from_slice(unquote(whole).as_bytes());
    }
    Ok(())
}

fn encode(kind: Kind, whole: &str, out: &mut Vec<u8>) -> Result<(), ValueError> {
    if whole.is_empty() {
        return Ok(());
    }
    let items: Vec<&str> = whole.split(',').map(str::trim).collect();
    let one = || -> Result<&str, ValueError> {
        match items.as_slice() {
            [one] => Ok(one),
            _ => Err(expected("a single value")),
        }
    };
    match kind {
        Kind::Addrs => {
            for i in &items {
                out.extend_from_slice(&addr(i)?.octets());
            }
        }
        Kind::U8 => out.push(number(one()?, 0xff)? as u8),
        Kind::U16 => out.extend_from_slice(&(number(one()?, 0xffff)? as u16).to_be_bytes()),
        Kind::U32 => {
            out.extend_from_slice(&(number(one()?, u64::from(u32::MAX))? as u32).to_be_bytes())
        }
        Kind::I32 => {
            let v: i32 = one()?
                .parse()
                .map_err(|_| expected("a signed 32-bit number"))?;
            out.extend_from_slice(&v.to_be_bytes());
        }
        Kind::Text => out.extend_from_slice(unquote(whole).as_bytes()),
        Kind::Names => {
            for i in &items {
                encode_name(unquote(i), out)?;
            }
        }
        Kind::Routes => encode_routes(&items, out)?,
        Kind::Guess => guess(&items, whole, out)?,
    }
    Ok(())
}

/// Encodes a `--dhcp-match` value for option `head` (`N` or `option:NAME`) as `--dhcp-option`
/// would: its code, the wire bytes, and whether the value is text (matched as a substring).
pub(crate) fn encode_match_value(
    head: &str,
    value: &str,
) -> Result<(u8, Vec<u8>, bool), ValueError> {
    let (code, kind) = code_of(head)?;
    let mut out = Vec::new();
    encode(kind, value, &mut out)?;
    let text = match kind {
        Kind::Text => true,
        // A guess that fell through to text keeps the value's own bytes.
        Kind::Guess => out == unquote(value).as_bytes(),
        _ => false,
    };
    Ok((code, out, text))
}

impl DhcpOption {
    /// Parses the value of `--dhcp-option` (`force` false) or `--dhcp-option-force`:
    /// `[tag:T,...][encap:N,][vendor:[CLASS],](N|option:NAME)[,VALUE...]`.
    pub fn parse(v: &str, force: bool) -> Result<DhcpOption, ValueError> {
        let mut rest = v.trim();
        let mut tags = Vec::new();
        let mut vendor_class = None;
        let mut encap = None;
        let next = |rest: &mut &str| -> String {
            let (head, tail) = rest.split_once(',').unwrap_or((rest, ""));
            let head = head.trim().to_string();
            *rest = tail.trim_start();
            head
        };
        let head = loop {
            let head = next(&mut rest);
            if let Some(t) = head
                .strip_prefix("tag:")
                .or_else(|| head.strip_prefix("net:"))
            {
                let (negated, t) = match t.strip_prefix('!') {
                    Some(t) => (true, t),
                    None => (false, t),
                };
                if t.is_empty() {
                    return Err(expected("a tag name after tag:"));
                }
                tags.push(TagCondition {
                    tag: t.to_string(),
                    negated,
                });
            } else if let Some(n) = head.strip_prefix("encap:") {
                encap = Some(
                    number(n, 254).map_err(|_| expected("an option number after encap:"))? as u8,
                );
            } else if let Some(c) = head.strip_prefix("vendor:") {
                vendor_class = Some(c.to_string());
            } else if head.starts_with("vi-encap:") {
                return Err(expected("no vi-encap: (not supported yet)"));
            } else {
                break head;
            }
        };
        if vendor_class.is_some() && encap.is_some() {
            return Err(expected("either vendor: or encap:, not both"));
        }
        let (code, kind) = code_of(&head)?;
        // Sub-options have no registered types: guess from the value.
        let kind = if vendor_class.is_some() || encap.is_some() {
            Kind::Guess
        } else {
            kind
        };
        let mut value = Vec::new();
        encode(kind, rest.trim(), &mut value)?;
        if encap.is_some() || vendor_class.is_some() {
            if value.len() > 255 {
                return Err(expected("a sub-option value of at most 255 bytes"));
            }
        } else if value.len() > 255 * 8 {
            return Err(expected("a value of at most 2040 bytes"));
        }
        Ok(DhcpOption {
            code,
            value,
            tags,
            force,
            vendor_class,
            encap,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &str) -> DhcpOption {
        DhcpOption::parse(v, false).unwrap()
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(p("3,192.168.0.1").value, [192, 168, 0, 1]);
        assert_eq!(p("option:router,192.168.0.1").code, 3);
        let o = p("option:ntp-server,192.168.0.4,10.10.0.5");
        assert_eq!((o.code, o.value.len()), (42, 8));
        assert_eq!(p("option:domain-name,example.net").value, b"example.net");
        assert_eq!(p("option:mtu,1500").value, [5, 220]);
        assert_eq!(
            p("option:time-offset,-3600").value,
            (-3600i32).to_be_bytes()
        );
        assert_eq!(p("19,0").value, [0]);
        assert!(p("3").value.is_empty());
        assert_eq!(p("option:root-path,\"/a,b\"").value, b"/a,b");
    }

    #[test]
    fn domain_search_and_routes() {
        assert_eq!(
            p("option:domain-search,eng.apple.com,marketing.apple.com").value[..5],
            [3, b'e', b'n', b'g', 5]
        );
        // RFC 3442 §3 example shapes: /24 takes three octets, /0 none.
        assert_eq!(
            p("121,192.168.2.0/24,10.0.0.1,0.0.0.0/0,10.0.0.2").value,
            [24, 192, 168, 2, 10, 0, 0, 1, 0, 10, 0, 0, 2]
        );
    }

    #[test]
    fn tags_vendor_encap_force() {
        let o = p("tag:red,tag:!blue,option:router,10.0.0.1");
        assert_eq!(o.tags.len(), 2);
        assert!(o.tags[1].negated);
        let o = p("vendor:MSFT,2,1i");
        assert_eq!(o.vendor_class.as_deref(), Some("MSFT"));
        assert_eq!((o.code, o.value.as_slice()), (2, b"1i".as_slice()));
        let o = p("encap:175,190,iscsi-client0");
        assert_eq!((o.encap, o.code), (Some(175), 190));
        let o = p("vendor:PXEClient,1,0.0.0.1");
        assert_eq!(o.value, [0, 0, 0, 1]);
        assert_eq!(p("250,1234").value, [4, 210]);
        assert_eq!(p("250,01:02:ff").value, [1, 2, 255]);
        assert!(
            DhcpOption::parse("option:router,10.0.0.1", true)
                .unwrap()
                .force
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "0,1",
            "255,1",
            "option:nosuch,1",
            "option6:dns-server,[::1]",
            "option:router,0.0.0.0",
            "option:router,banana",
            "option:mtu,70000",
            "vi-encap:13,1,x",
            "121,10.0.0.0/8",
            "tag:,3,10.0.0.1",
        ] {
            assert!(DhcpOption::parse(bad, false).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn address_lists_encode_in_order(addrs in proptest::collection::vec(1u32.., 1..8)) {
            let text: Vec<String> = addrs.iter().map(|a| Ipv4Addr::from(*a).to_string()).collect();
            let o = DhcpOption::parse(&format!("option:dns-server,{}", text.join(",")), false).unwrap();
            let back: Vec<u32> = o.value.chunks(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
            proptest::prop_assert_eq!(back, addrs);
        }
    }
}
