//! `--dhcp-option=[tag:T,...]option6:NAME,VALUE...`: the DHCPv6 options the server sends (and
//! the DNS servers and search list router advertisements carry), by name or number, with the
//! value encoded as the option's wire format wants.

use std::net::Ipv6Addr;

use crate::dhcp::parse_client_id;
use crate::dhcp_option::TagCondition;
use crate::value::{ValueError, parse_u32, split_list};

/// A `--dhcp-option=option6:...`: sent by the DHCPv6 server; DNS servers and the search list
/// also go into router advertisements (RFC 8106 RDNSS/DNSSL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dhcp6Option {
    /// `option6:dns-server,[ADDR],...` (option 23); `[::]` stands for the server's own address.
    DnsServer(Vec<Ipv6Addr>),
    /// `option6:domain-search,DOMAIN,...` (option 24).
    DomainSearch(Vec<String>),
    /// Any other option, encoded: `ntp-server` (56, RFC 5908 server-address suboptions),
    /// `sntp-server` (31), `information-refresh-time` (32), or a number with IPv6 addresses,
    /// colon hex or text.
    Raw {
        /// Option code.
        code: u16,
        /// Encoded value.
        value: Vec<u8>,
    },
}

/// `[ADDR]` or `ADDR` as an IPv6 address.
fn addr6(a: &str) -> Option<Ipv6Addr> {
    a.strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(a)
        .parse()
        .ok()
}

/// The value of a numbered `option6:N,...`: IPv6 addresses, else colon hex, else text.
fn raw_value(values: &[&str]) -> Vec<u8> {
    if !values.is_empty() && values.iter().all(|v| addr6(v).is_some()) {
        return values
            .iter()
            .filter_map(|v| addr6(v))
            .flat_map(|a| a.octets())
            .collect();
    }
    // Colon hex, else text: the same rule as a client identifier.
    parse_client_id(&values.join(","))
}

/// Whether a `--dhcp-option` value is a DHCPv6 one (`option6:` before the value).
pub fn is_option6(v: &str) -> bool {
    split_list(v).any(|i| i.starts_with("option6:"))
}

/// dnsmasq's DHCPv6 option names (`dnsmasq --help dhcp6`) and their codes.
const OPTION6_NAMES: &[(&str, u16)] = &[
    ("sip-server-domain", 21),
    ("sip-server", 22),
    ("dns-server", 23),
    ("domain-search", 24),
    ("nis-server", 27),
    ("nis+-server", 28),
    ("nis-domain", 29),
    ("nis+-domain", 30),
    ("sntp-server", 31),
    ("information-refresh-time", 32),
    ("posix-timezone", 41),
    ("tzdb-timezone", 42),
    ("ntp-server", 56),
    ("bootfile-url", 59),
    ("bootfile-param", 60),
];

/// The code of an `option6:` name or number (1-65535).
pub fn option6_code(name: &str) -> Option<u16> {
    OPTION6_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, c)| *c)
        .or_else(|| name.parse::<u16>().ok().filter(|c| *c > 0))
}

/// A `--dhcp-option=[tag:T,...]option6:...` line: the option and the tag conditions
/// (`tag:x`, `tag:!x`) that must all hold for it to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedOption6 {
    /// Tag conditions; empty = sent to every client.
    pub tags: Vec<TagCondition>,
    /// The option.
    pub option: Dhcp6Option,
}

impl TaggedOption6 {
    /// Parses `[tag:T,...]option6:NAME,VALUE...`.
    pub fn parse(v: &str) -> Result<TaggedOption6, ValueError> {
        let mut tags = Vec::new();
        let mut rest = v.trim();
        while rest.starts_with("tag:") || rest.starts_with("net:") {
            let (head, tail) = rest.split_once(',').unwrap_or((rest, ""));
            tags.push(crate::dhcp_match::condition(head.trim())?);
            rest = tail.trim_start();
        }
        Ok(TaggedOption6 {
            tags,
            option: Dhcp6Option::parse(rest)?,
        })
    }
}

impl Dhcp6Option {
    /// Parses `option6:NAME|N,VALUE...` (the part after any `tag:` conditions).
    pub fn parse(v: &str) -> Result<Dhcp6Option, ValueError> {
        let items: Vec<&str> = split_list(v).collect();
        let Some((first, values)) = items.split_first() else {
            return Err(ValueError::expected("option6:NAME,VALUE..."));
        };
        let Some(name) = first.strip_prefix("option6:") else {
            return Err(ValueError::expected(
                "[tag:T,...]option6:NAME,VALUE... (encap:, vendor: and vi-encap: are IPv4 only here)",
            ));
        };
        match name {
            "dns-server" | "23" => {
                let addrs = values
                    .iter()
                    .map(|a| {
                        a.strip_prefix('[')
                            .and_then(|a| a.strip_suffix(']'))
                            .unwrap_or(a)
                            .parse::<Ipv6Addr>()
                            .map_err(|_| ValueError::expected("IPv6 addresses in [brackets]"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if addrs.is_empty() {
                    return Err(ValueError::expected("at least one address"));
                }
                Ok(Dhcp6Option::DnsServer(addrs))
            }
            "domain-search" | "24" => {
                if values.is_empty()
                    || values
                        .iter()
                        .any(|d| d.is_empty() || d.split('.').any(|l| l.len() > 63))
                {
                    return Err(ValueError::expected("domain names"));
                }
                Ok(Dhcp6Option::DomainSearch(
                    values
                        .iter()
                        .map(|d| d.trim_end_matches('.').to_string())
                        .collect(),
                ))
            }
            "ntp-server" | "56"
                if !values.is_empty() && values.iter().all(|v| addr6(v).is_some()) =>
            {
                // RFC 5908 4.1: one NTP_SUBOPTION_SRV_ADDR (1) per server.
                let mut value = Vec::new();
                for a in values.iter().filter_map(|v| addr6(v)) {
                    value.extend_from_slice(&[0, 1, 0, 16]);
                    value.extend_from_slice(&a.octets());
                }
                Ok(Dhcp6Option::Raw { code: 56, value })
            }
            "sntp-server" | "31"
                if !values.is_empty() && values.iter().all(|v| addr6(v).is_some()) =>
            {
                Ok(Dhcp6Option::Raw {
                    code: 31,
                    value: raw_value(values),
                })
            }
            "information-refresh-time" | "32" => {
                let [t] = values else {
                    return Err(ValueError::expected("one number of seconds"));
                };
                Ok(Dhcp6Option::Raw {
                    code: 32,
                    value: parse_u32(t)?.to_be_bytes().to_vec(),
                })
            }
            "ntp-server" | "56" | "sntp-server" | "31" => {
                Err(ValueError::expected("IPv6 addresses in [brackets]"))
            }
            n => match option6_code(n) {
                Some(code) => Ok(Dhcp6Option::Raw {
                    code,
                    value: raw_value(values),
                }),
                None => Err(ValueError::expected(
                    "option6: a name dnsmasq --help dhcp6 lists or an option number",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option6_dns_server_and_domain_search() {
        assert_eq!(
            Dhcp6Option::parse("option6:dns-server,[fd00::53],[::]").unwrap(),
            Dhcp6Option::DnsServer(vec!["fd00::53".parse().unwrap(), Ipv6Addr::UNSPECIFIED])
        );
        assert_eq!(
            Dhcp6Option::parse("option6:domain-search,lab.test,example.org.").unwrap(),
            Dhcp6Option::DomainSearch(vec!["lab.test".into(), "example.org".into()])
        );
        assert!(is_option6("option6:23,[::1]") && !is_option6("option:router,10.0.0.1"));
        assert!(Dhcp6Option::parse("option6:dns-server,10.0.0.1").is_err());
        assert_eq!(
            Dhcp6Option::parse("option6:ntp-server,[fd00::123]").unwrap(),
            Dhcp6Option::Raw {
                code: 56,
                value: [
                    &[0u8, 1, 0, 16][..],
                    &"fd00::123".parse::<Ipv6Addr>().unwrap().octets()
                ]
                .concat()
            }
        );
        assert!(Dhcp6Option::parse("option6:ntp-server,ntp.example").is_err());
        assert_eq!(
            Dhcp6Option::parse("option6:information-refresh-time,600").unwrap(),
            Dhcp6Option::Raw {
                code: 32,
                value: vec![0, 0, 2, 88]
            }
        );
        assert!(Dhcp6Option::parse("option6:no-such-option,1").is_err());
        assert!(Dhcp6Option::parse("tag:x,option6:dns-server,[::1]").is_err());
    }

    #[test]
    fn tagged_option6() {
        let t = TaggedOption6::parse("tag:vip,tag:!guest,option6:dns-server,[fd00::53]").unwrap();
        assert_eq!(
            t.tags,
            [
                TagCondition {
                    tag: "vip".into(),
                    negated: false
                },
                TagCondition {
                    tag: "guest".into(),
                    negated: true
                }
            ]
        );
        assert_eq!(
            t.option,
            Dhcp6Option::DnsServer(vec!["fd00::53".parse().unwrap()])
        );
        let u = TaggedOption6::parse("option6:bootfile-url,http://x/boot").unwrap();
        assert!(u.tags.is_empty());
        assert_eq!(
            u.option,
            Dhcp6Option::Raw {
                code: 59,
                value: b"http://x/boot".to_vec()
            }
        );
        assert!(TaggedOption6::parse("tag:,option6:23,[::1]").is_err());
        assert!(TaggedOption6::parse("tag:x,encap:3,option6:23,[::1]").is_err());
        assert_eq!(option6_code("NTP-server"), Some(56));
        assert_eq!(option6_code("0"), None);
    }
}
