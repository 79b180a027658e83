//! Local DNS records from the configuration: `--mx-host`, `--srv-host`, `--txt-record`,
//! `--ptr-record`, `--naptr-record`, `--caa-record`, `--cname`, `--host-record`, `--dns-rr`,
//! `--interface-name`, `--synth-domain`, `--dynamic-host`.
//!
//! Names are kept as given (lowercased, one trailing dot dropped, label lengths checked);
//! the engine turns them into wire form.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::server::normalize_domain;
use crate::value::{ValueError, parse_u32, split_list};

/// One locally defined record (or record set) from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalRecord {
    /// `--mx-host=NAME[[,TARGET],PREF]`; `target` None = `--mx-target` or this host's name.
    Mx {
        /// Owner name.
        name: String,
        /// Exchange host, if given.
        target: Option<String>,
        /// Preference (default 1).
        preference: u16,
    },
    /// `--srv-host=_service._proto.domain[,TARGET[,PORT[,PRIORITY[,WEIGHT]]]]` (RFC 2782).
    Srv {
        /// Owner name.
        name: String,
        /// Target host; `""` = the root (no service).
        target: String,
        /// Port (default 1).
        port: u16,
        /// Priority (default 0).
        priority: u16,
        /// Weight (default 0).
        weight: u16,
    },
    /// `--txt-record=NAME[[,TEXT],TEXT]`: the character-strings of one TXT record.
    Txt {
        /// Owner name.
        name: String,
        /// Strings, each at most 255 octets (longer text is split, as dnsmasq).
        strings: Vec<Vec<u8>>,
    },
    /// `--ptr-record=NAME[,TARGET]`; no target = the root name.
    Ptr {
        /// Owner name.
        name: String,
        /// Target; `""` = the root.
        target: String,
    },
    /// `--naptr-record=NAME,ORDER,PREF,FLAGS,SERVICE,REGEXP[,REPLACEMENT]` (RFC 3403 §4.1).
    Naptr {
        /// Owner name.
        name: String,
        /// ORDER.
        order: u16,
        /// PREFERENCE.
        preference: u16,
        /// FLAGS character-string.
        flags: String,
        /// SERVICES character-string.
        service: String,
        /// REGEXP character-string.
        regexp: String,
        /// REPLACEMENT name; `""` = the root.
        replacement: String,
    },
    /// `--caa-record=NAME,FLAGS,TAG,VALUE` (RFC 8659 §4.1).
    Caa {
        /// Owner name.
        name: String,
        /// Flags octet.
        flags: u8,
        /// Property tag.
        tag: String,
        /// Property value.
        value: String,
    },
    /// `--cname=ALIAS[,ALIAS...],TARGET[,TTL]`.
    Cname {
        /// The alias names.
        aliases: Vec<String>,
        /// The canonical name.
        target: String,
        /// TTL overriding `--local-ttl`.
        ttl: Option<u32>,
    },
    /// `--host-record=NAME[,NAME...],[IPv4],[IPv6][,TTL]`.
    HostRecord {
        /// The names; the first is the PTR target.
        names: Vec<String>,
        /// IPv4 addresses.
        v4: Vec<Ipv4Addr>,
        /// IPv6 addresses.
        v6: Vec<Ipv6Addr>,
        /// TTL overriding `--local-ttl`.
        ttl: Option<u32>,
    },
    /// `--dns-rr=NAME,TYPE,[HEX]`: an arbitrary class IN record.
    DnsRr {
        /// Owner name.
        name: String,
        /// RR type number.
        rtype: u16,
        /// RDATA.
        data: Vec<u8>,
    },
    /// `--interface-name=NAME,IFACE[/4|/6]`: A/AAAA (and PTR) records from an interface's
    /// current addresses.
    InterfaceName {
        /// Owner name.
        name: String,
        /// Interface name.
        iface: String,
        /// Use the interface's IPv4 addresses.
        v4: bool,
        /// Use the interface's IPv6 addresses.
        v6: bool,
    },
    /// `--dynamic-host=NAME,[IPv4],[IPv6],IFACE`: A/AAAA (and PTR) records whose network part
    /// comes from the interface's current addresses and host part from the given address.
    DynamicHost {
        /// Owner name.
        name: String,
        /// Host part for IPv4.
        v4: Option<Ipv4Addr>,
        /// Host part for IPv6.
        v6: Option<Ipv6Addr>,
        /// Interface name.
        iface: String,
    },
    /// `--synth-domain=DOMAIN,START,END|IP/LEN[,PREFIX[*]]`: A/AAAA and PTR records for the
    /// addresses of a range.
    SynthDomain {
        /// The domain the names are under.
        domain: String,
        /// First address of the range.
        start: IpAddr,
        /// Last address of the range (same family as `start`).
        end: IpAddr,
        /// Label prefix; a trailing `*` asks for sequential names. Empty = none.
        prefix: String,
    },
}

/// The first and last address of `addr/len` (`len` at most 32 or 128).
fn prefix_range(addr: IpAddr, len: u32) -> Option<(IpAddr, IpAddr)> {
    match addr {
        IpAddr::V4(a) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            let n = u32::from(a) & mask;
            Some((Ipv4Addr::from(n).into(), Ipv4Addr::from(n | !mask).into()))
        }
        IpAddr::V6(a) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            let n = u128::from(a) & mask;
            Some((Ipv6Addr::from(n).into(), Ipv6Addr::from(n | !mask).into()))
        }
        _ => None,
    }
}

fn name_of(text: &str) -> Result<String, ValueError> {
    if text.is_empty() {
        return Err(ValueError::expected("a domain name"));
    }
    normalize_domain(text)
}

fn u16_of(text: &str, what: &str) -> Result<u16, ValueError> {
    parse_u32(text)
        .ok()
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| ValueError::expected(format!("{what} from 0 to 65535")))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl LocalRecord {
    /// Parses the value of the option `option` (one of the record options above).
    pub fn parse(option: &str, value: &str) -> Result<Self, ValueError> {
        let items: Vec<&str> = split_list(value).collect();
        let item = |i: usize| items.get(i).copied().unwrap_or("");
        match option {
            "mx-host" => {
                let name = name_of(item(0))?;
                let (target, preference) = match items.len() {
                    1 => (None, 1),
                    2 if is_number(item(1)) => (None, u16_of(item(1), "a preference")?),
                    2 => (Some(name_of(item(1))?), 1),
                    _ => (Some(name_of(item(1))?), u16_of(item(2), "a preference")?),
                };
                Ok(Self::Mx {
                    name,
                    target,
                    preference,
                })
            }
            "srv-host" => Ok(Self::Srv {
                name: name_of(item(0))?,
                target: normalize_domain(item(1))?,
                port: if item(2).is_empty() {
                    1
                } else {
                    u16_of(item(2), "a port")?
                },
                priority: if item(3).is_empty() {
                    0
                } else {
                    u16_of(item(3), "a priority")?
                },
                weight: if item(4).is_empty() {
                    0
                } else {
                    u16_of(item(4), "a weight")?
                },
            }),
            "txt-record" => {
                let name = name_of(item(0))?;
                let mut strings = Vec::new();
                for s in items.iter().skip(1) {
                    let b = s.as_bytes();
                    if b.is_empty() {
                        strings.push(Vec::new());
                    }
                    strings.extend(b.chunks(255).map(<[u8]>::to_vec));
                }
                if strings.is_empty() {
                    strings.push(Vec::new());
                }
                Ok(Self::Txt { name, strings })
            }
            "ptr-record" => Ok(Self::Ptr {
                name: name_of(item(0))?,
                target: normalize_domain(item(1))?,
            }),
            "naptr-record" => {
                if items.len() < 6 {
                    return Err(ValueError::expected(
                        "NAME,ORDER,PREFERENCE,FLAGS,SERVICE,REGEXP[,REPLACEMENT]",
                    ));
                }
                Ok(Self::Naptr {
                    name: name_of(item(0))?,
                    order: u16_of(item(1), "an order")?,
                    preference: u16_of(item(2), "a preference")?,
                    flags: item(3).to_string(),
                    service: item(4).to_string(),
                    regexp: item(5).to_string(),
                    replacement: normalize_domain(item(6))?,
                })
            }
            "caa-record" => {
                if items.len() < 4 {
                    return Err(ValueError::expected("NAME,FLAGS,TAG,VALUE"));
                }
                let flags = parse_u32(item(1))
                    .ok()
                    .and_then(|v| u8::try_from(v).ok())
                    .ok_or_else(|| ValueError::expected("CAA flags from 0 to 255"))?;
                let tag = item(2);
                // RFC 8659 §4.1.1: the tag is 1-15 ASCII letters and digits.
                if tag.is_empty()
                    || tag.len() > 15
                    || !tag.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(ValueError::expected(
                        "a CAA tag of 1 to 15 letters and digits",
                    ));
                }
                Ok(Self::Caa {
                    name: name_of(item(0))?,
                    flags,
                    tag: tag.to_string(),
                    value: items[3..].join(","),
                })
            }
            "cname" => {
                let mut rest: &[&str] = &items;
                let mut ttl = None;
                if rest.len() >= 3 && is_number(rest[rest.len() - 1]) {
                    ttl = Some(parse_u32(rest[rest.len() - 1])?);
                    rest = &rest[..rest.len() - 1];
                }
                if rest.len() < 2 {
                    return Err(ValueError::expected("ALIAS[,ALIAS...],TARGET[,TTL]"));
                }
                let (target, aliases) = rest.split_last().expect("two items");
                Ok(Self::Cname {
                    aliases: aliases
                        .iter()
                        .map(|a| name_of(a))
                        .collect::<Result<_, _>>()?,
                    target: name_of(target)?,
                    ttl,
                })
            }
            "host-record" => {
                let mut names = Vec::new();
                let (mut v4, mut v6) = (Vec::new(), Vec::new());
                let mut ttl = None;
                for (i, it) in items.iter().enumerate() {
                    if it.is_empty() {
                        continue;
                    }
                    match it.parse::<IpAddr>() {
                        Ok(IpAddr::V4(a)) => v4.push(a),
                        Ok(IpAddr::V6(a)) => v6.push(a),
                        Err(_) if i + 1 == items.len() && is_number(it) && !names.is_empty() => {
                            ttl = Some(parse_u32(it)?)
                        }
                        Err(_) => names.push(name_of(it)?),
                    }
                }
                if names.is_empty() || (v4.is_empty() && v6.is_empty()) {
                    return Err(ValueError::expected(
                        "NAME[,NAME...],[IPv4-address],[IPv6-address][,TTL]",
                    ));
                }
                Ok(Self::HostRecord { names, v4, v6, ttl })
            }
            "interface-name" => {
                if items.len() != 2 || item(1).is_empty() {
                    return Err(ValueError::expected("NAME,INTERFACE[/4|/6]"));
                }
                let name = name_of(item(0))?;
                let (iface, v4, v6) = match item(1).rsplit_once('/') {
                    Some((i, "4")) => (i, true, false),
                    Some((i, "6")) => (i, false, true),
                    Some(_) => return Err(ValueError::expected("NAME,INTERFACE[/4|/6]")),
                    None => (item(1), true, true),
                };
                Ok(Self::InterfaceName {
                    name,
                    iface: iface.to_string(),
                    v4,
                    v6,
                })
            }
            "dynamic-host" => {
                const FORM: &str = "NAME,[IPv4-address],[IPv6-address],INTERFACE";
                if !(3..=4).contains(&items.len()) || item(items.len() - 1).is_empty() {
                    return Err(ValueError::expected(FORM));
                }
                let name = name_of(item(0))?;
                let (mut v4, mut v6) = (None, None);
                for it in &items[1..items.len() - 1] {
                    match it.parse::<IpAddr>() {
                        _ if it.is_empty() => {}
                        Ok(IpAddr::V4(a)) if v4.is_none() => v4 = Some(a),
                        Ok(IpAddr::V6(a)) if v6.is_none() => v6 = Some(a),
                        _ => return Err(ValueError::expected(FORM)),
                    }
                }
                if v4.is_none() && v6.is_none() {
                    return Err(ValueError::expected(FORM));
                }
                Ok(Self::DynamicHost {
                    name,
                    v4,
                    v6,
                    iface: item(items.len() - 1).to_string(),
                })
            }
            "synth-domain" => {
                const FORM: &str = "DOMAIN,START,END|IP/LEN[,PREFIX[*]]";
                let domain = name_of(item(0))?;
                let ip = |t: &str| t.parse::<IpAddr>().map_err(|_| ValueError::expected(FORM));
                let (start, end, rest) = match item(1).split_once('/') {
                    Some((a, l)) => {
                        let len = parse_u32(l)?;
                        let (s, e) =
                            prefix_range(ip(a)?, len).ok_or_else(|| ValueError::expected(FORM))?;
                        // dnsmasq 2.90: sequential IPv6 names need a /64 or longer.
                        if s.is_ipv6() && len < 64 && item(2).ends_with('*') {
                            return Err(ValueError::expected("a prefix length of 64 or more"));
                        }
                        (s, e, 2)
                    }
                    None => (ip(item(1))?, ip(item(2))?, 3),
                };
                let ok_order = match (start, end) {
                    (IpAddr::V4(s), IpAddr::V4(e)) => s <= e,
                    (IpAddr::V6(s), IpAddr::V6(e)) => s <= e,
                    _ => false,
                };
                let prefix = item(rest).to_ascii_lowercase();
                if !ok_order || items.len() > rest + 1 || prefix.contains('.') {
                    return Err(ValueError::expected(FORM));
                }
                Ok(Self::SynthDomain {
                    domain,
                    start,
                    end,
                    prefix,
                })
            }
            "dns-rr" => {
                if items.len() < 2 {
                    return Err(ValueError::expected("NAME,TYPE,[HEX-DATA]"));
                }
                let rtype = u16_of(item(1), "an RR type number")?;
                let hex: Vec<u8> = items[2..]
                    .join("")
                    .bytes()
                    .filter(|b| !matches!(b, b':' | b' '))
                    .collect();
                if !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(ValueError::expected("hex data such as 01:23:45 or 012345"));
                }
                let data = hex
                    .chunks(2)
                    .map(|p| {
                        let s = std::str::from_utf8(p).unwrap_or("00");
                        u8::from_str_radix(s, 16).unwrap_or(0)
                    })
                    .collect();
                Ok(Self::DnsRr {
                    name: name_of(item(0))?,
                    rtype,
                    data,
                })
            }
            _ => Err(ValueError::expected("a local record option")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            LocalRecord::parse("mx-host", "MX.test,mail.mx.test,5").unwrap(),
            LocalRecord::Mx {
                name: "mx.test".into(),
                target: Some("mail.mx.test".into()),
                preference: 5
            }
        );
        assert_eq!(
            LocalRecord::parse("mx-host", "mx2.test").unwrap(),
            LocalRecord::Mx {
                name: "mx2.test".into(),
                target: None,
                preference: 1
            }
        );
        assert_eq!(
            LocalRecord::parse("srv-host", "_sip._tcp.x,sip.x,5060,1,2").unwrap(),
            LocalRecord::Srv {
                name: "_sip._tcp.x".into(),
                target: "sip.x".into(),
                port: 5060,
                priority: 1,
                weight: 2
            }
        );
        assert_eq!(
            LocalRecord::parse("txt-record", "t.x,hello world,b").unwrap(),
            LocalRecord::Txt {
                name: "t.x".into(),
                strings: vec![b"hello world".to_vec(), b"b".to_vec()]
            }
        );
        assert_eq!(
            LocalRecord::parse("cname", "a.x,b.x,t.x,300").unwrap(),
            LocalRecord::Cname {
                aliases: vec!["a.x".into(), "b.x".into()],
                target: "t.x".into(),
                ttl: Some(300)
            }
        );
        assert_eq!(
            LocalRecord::parse("host-record", "h.x,h2.x,192.0.2.1,2001:db8::1,60").unwrap(),
            LocalRecord::HostRecord {
                names: vec!["h.x".into(), "h2.x".into()],
                v4: vec!["192.0.2.1".parse().unwrap()],
                v6: vec!["2001:db8::1".parse().unwrap()],
                ttl: Some(60)
            }
        );
        assert_eq!(
            LocalRecord::parse("dns-rr", "r.x,99,01:02 ff").unwrap(),
            LocalRecord::DnsRr {
                name: "r.x".into(),
                rtype: 99,
                data: vec![1, 2, 0xff]
            }
        );
        assert!(matches!(
            LocalRecord::parse("caa-record", "c.x,0,issue,ca.example").unwrap(),
            LocalRecord::Caa { flags: 0, .. }
        ));
        assert!(matches!(
            LocalRecord::parse("naptr-record", "n.x,10,20,s,SIP+D2U,,_sip._udp.n.x").unwrap(),
            LocalRecord::Naptr { order: 10, .. }
        ));
    }

    #[test]
    fn rejects_bad_values() {
        assert!(LocalRecord::parse("cname", "only").is_err());
        assert!(LocalRecord::parse("host-record", "h.x").is_err());
        assert!(LocalRecord::parse("dns-rr", "r.x,99,0g").is_err());
        assert!(LocalRecord::parse("caa-record", "c.x,300,issue,v").is_err());
        assert!(LocalRecord::parse("mx-host", "m.x,t.x,70000").is_err());
    }

    #[test]
    fn dynamic_host() {
        assert_eq!(
            LocalRecord::parse("dynamic-host", "DH.test,0.0.0.8,::5,eth0").unwrap(),
            LocalRecord::DynamicHost {
                name: "dh.test".into(),
                v4: Some("0.0.0.8".parse().unwrap()),
                v6: Some("::5".parse().unwrap()),
                iface: "eth0".into(),
            }
        );
        assert_eq!(
            LocalRecord::parse("dynamic-host", "dh.test,::7,lo").unwrap(),
            LocalRecord::DynamicHost {
                name: "dh.test".into(),
                v4: None,
                v6: Some("::7".parse().unwrap()),
                iface: "lo".into(),
            }
        );
        for bad in [
            "dh.test",
            "dh.test,lo",
            "dh.test,x,lo",
            "dh.test,1.2.3.4,1.2.3.5,lo",
        ] {
            assert!(LocalRecord::parse("dynamic-host", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn synth_domain() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            LocalRecord::parse("synth-domain", "Syn.Test,192.168.0.7/24,internal-").unwrap(),
            LocalRecord::SynthDomain {
                domain: "syn.test".into(),
                start: ip("192.168.0.0"),
                end: ip("192.168.0.255"),
                prefix: "internal-".into(),
            }
        );
        assert_eq!(
            LocalRecord::parse("synth-domain", "seq.test,10.1.0.50,10.1.0.70,host-*").unwrap(),
            LocalRecord::SynthDomain {
                domain: "seq.test".into(),
                start: ip("10.1.0.50"),
                end: ip("10.1.0.70"),
                prefix: "host-*".into(),
            }
        );
        assert_eq!(
            LocalRecord::parse("synth-domain", "v6.test,2001:db8::/64").unwrap(),
            LocalRecord::SynthDomain {
                domain: "v6.test".into(),
                start: ip("2001:db8::"),
                end: ip("2001:db8::ffff:ffff:ffff:ffff"),
                prefix: String::new(),
            }
        );
        for bad in [
            "d.test",
            "d.test,10.0.0.2,10.0.0.1",
            "d.test,10.0.0.1,::1",
            "d.test,10.0.0.0/33",
            "d.test,fd00::/48,n-*",
            "d.test,10.0.0.0/8,a.b",
            "d.test,10.0.0.0/8,a,b",
        ] {
            assert!(LocalRecord::parse("synth-domain", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interface_name() {
        assert_eq!(
            LocalRecord::parse("interface-name", "GW.lan,eth0/4").unwrap(),
            LocalRecord::InterfaceName {
                name: "gw.lan".into(),
                iface: "eth0".into(),
                v4: true,
                v6: false
            }
        );
        assert_eq!(
            LocalRecord::parse("interface-name", "gw.lan,lo").unwrap(),
            LocalRecord::InterfaceName {
                name: "gw.lan".into(),
                iface: "lo".into(),
                v4: true,
                v6: true
            }
        );
        for bad in ["gw.lan", "gw.lan,lo/5", "gw.lan,", "gw.lan,lo,x"] {
            assert!(LocalRecord::parse("interface-name", bad).is_err(), "{bad}");
        }
    }
}
