//! The options that give DHCP requests tags, and the tag rules: `--dhcp-match`,
//! `-U/--dhcp-vendorclass`, `-j/--dhcp-userclass`, `--dhcp-circuitid`, `--dhcp-remoteid`,
//! `--dhcp-subscrid`, `--dhcp-mac`, `--tag-if`, and the tag-condition lists of
//! `--dhcp-ignore`, `--dhcp-ignore-names`, `--dhcp-generate-names` and `--dhcp-reply-delay`.

use crate::dhcp::{MacPattern, parse_client_id, parse_mac};
use crate::dhcp_option::{TagCondition, encode_match_value};
use crate::value::{ValueError, parse_uint};

/// What an option's value must look like for a match to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchValue {
    /// No value: the option only has to be present.
    Present,
    /// `01:ff:*:02`: a prefix with `*` wildcards.
    Prefix(Vec<Option<u8>>),
    /// A typed value: one element of the option, read as an array, must equal it.
    Element(Vec<u8>),
    /// A text value: matched as a substring.
    Substring(Vec<u8>),
}

/// What a [`DhcpMatch`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchKind {
    /// `--dhcp-match=set:T,N|option:NAME[,VALUE]`.
    Option {
        /// Option code.
        code: u8,
        /// Required value.
        value: MatchValue,
    },
    /// `--dhcp-match=set:T,vi-encap:ENTERPRISE[,VALUE]`.
    ViEncap {
        /// IANA enterprise number.
        enterprise: u32,
        /// Required value.
        value: MatchValue,
    },
    /// `-U/--dhcp-vendorclass=set:T,CLASS`.
    VendorClass(Vec<u8>),
    /// `-j/--dhcp-userclass=set:T,CLASS`.
    UserClass(Vec<u8>),
    /// `--dhcp-circuitid` (1), `--dhcp-remoteid` (2), `--dhcp-subscrid` (6): option 82
    /// sub-option `sub` equals `value`.
    Agent {
        /// Sub-option code.
        sub: u8,
        /// Required value.
        value: Vec<u8>,
    },
    /// `--dhcp-mac=set:T,MAC`.
    Mac(MacPattern),
    /// `--dhcp-name-match=set:T,NAME[*]`: the name the client supplies (option 12), with one
    /// trailing `*` wildcard.
    Name(String),
    /// `--dhcp-match=set:T,option6:N|NAME[,VALUE]`: a DHCPv6 option (DHCPv6 only).
    Option6 {
        /// Option code.
        code: u16,
        /// Required value.
        value: MatchValue,
    },
    /// `--dhcp-vendorclass=set:T,enterprise:N,CLASS`: the DHCPv6 Vendor Class option (16)
    /// of enterprise N contains CLASS (DHCPv6 only).
    VendorClass6 {
        /// IANA enterprise number.
        enterprise: u32,
        /// The class text (substring).
        class: Vec<u8>,
    },
}

impl MatchKind {
    /// Whether this match looks at DHCPv6 data only (never holds for a DHCPv4 request).
    pub fn v6_only(&self) -> bool {
        matches!(
            self,
            MatchKind::Option6 { .. } | MatchKind::VendorClass6 { .. }
        )
    }
}

/// The value of `--dhcp-match=set:T,option6:...,VALUE`: `01:*:02` hex (a prefix), an
/// `[IPv6]` address (one 16-byte element), else text (a substring).
fn match_value6(v: &str) -> Result<MatchValue, ValueError> {
    if v.is_empty() {
        return Ok(MatchValue::Present);
    }
    if let Some(p) = wildcard_hex(v) {
        return Ok(MatchValue::Prefix(p));
    }
    if let Some(a) = v
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok())
    {
        return Ok(MatchValue::Element(a.octets().to_vec()));
    }
    Ok(MatchValue::Substring(bytes_of(v)?))
}

/// One tag-setting match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpMatch {
    /// The tag set when it holds.
    pub tag: String,
    /// What is matched.
    pub kind: MatchKind,
}

/// `--tag-if=set:T[,set:T...][,tag:C...]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagIf {
    /// Tags set.
    pub set: Vec<String>,
    /// Conditions, all of which must hold.
    pub when: Vec<TagCondition>,
}

fn expected(s: &str) -> ValueError {
    ValueError::expected(s)
}

fn tag_name(t: &str) -> Result<String, ValueError> {
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == ',' || c == '!') {
        return Err(expected("a tag name"));
    }
    Ok(t.to_string())
}

/// `set:T` (or dnsmasq's older `net:T`) at the front of `v`; returns the tag and the rest.
fn leading_set(v: &str) -> Result<(String, &str), ValueError> {
    let (head, rest) = v.split_once(',').unwrap_or((v, ""));
    let t = head
        .trim()
        .strip_prefix("set:")
        .or_else(|| head.trim().strip_prefix("net:"))
        .ok_or_else(|| expected("set:TAG first"))?;
    Ok((tag_name(t)?, rest.trim()))
}

/// One condition item: `tag:T`, `tag:!T` (or `net:`).
pub(crate) fn condition(item: &str) -> Result<TagCondition, ValueError> {
    let t = item
        .strip_prefix("tag:")
        .or_else(|| item.strip_prefix("net:"))
        .ok_or_else(|| expected("tag:NAME or tag:!NAME items"))?;
    let (negated, t) = match t.strip_prefix('!') {
        Some(t) => (true, t),
        None => (false, t),
    };
    Ok(TagCondition {
        tag: tag_name(t)?,
        negated,
    })
}

/// A list of conditions (`tag:a,tag:!b`); empty input is an empty list (always holds).
pub fn parse_conditions(v: &str) -> Result<Vec<TagCondition>, ValueError> {
    v.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(condition)
        .collect()
}

/// `01:ff:*:02`: colon-separated hex bytes with at least one `*`, or `None` when `v` is not
/// of that form.
fn wildcard_hex(v: &str) -> Option<Vec<Option<u8>>> {
    if !v.contains(':') {
        return None;
    }
    v.split(':')
        .map(|p| match p {
            "*" => Some(None),
            p if (1..=2).contains(&p.len()) => u8::from_str_radix(p, 16).ok().map(Some),
            _ => None,
        })
        .collect()
}

fn match_value(head: &str, v: &str) -> Result<(u8, MatchValue), ValueError> {
    if v.is_empty() {
        let (code, _, _) = encode_match_value(head, "")?;
        return Ok((code, MatchValue::Present));
    }
    if let Some(p) = wildcard_hex(v) {
        let (code, _, _) = encode_match_value(head, "")?;
        return Ok((code, MatchValue::Prefix(p)));
    }
    let (code, bytes, text) = encode_match_value(head, v)?;
    Ok((
        code,
        if text {
            MatchValue::Substring(bytes)
        } else {
            MatchValue::Element(bytes)
        },
    ))
}

/// Raw bytes of a class or relay-agent value: hex bytes (`01:02`) or the text itself.
fn bytes_of(v: &str) -> Result<Vec<u8>, ValueError> {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    if v.is_empty() {
        return Err(expected("a value after the tag"));
    }
    Ok(parse_client_id(v))
}

impl DhcpMatch {
    /// Parses the value of option `option` (the long name: `dhcp-match`, `dhcp-vendorclass`,
    /// `dhcp-userclass`, `dhcp-circuitid`, `dhcp-remoteid`, `dhcp-subscrid`, `dhcp-mac`).
    pub fn parse(option: &str, v: &str) -> Result<DhcpMatch, ValueError> {
        let (tag, rest) = leading_set(v.trim())?;
        let kind = match option {
            "dhcp-match" => {
                let (head, value) = rest.split_once(',').unwrap_or((rest, ""));
                let (head, value) = (head.trim(), value.trim());
                if let Some(n) = head.strip_prefix("option6:") {
                    let code = crate::ipv6::option6_code(n)
                        .ok_or_else(|| expected("an option number or name after option6:"))?;
                    MatchKind::Option6 {
                        code,
                        value: match_value6(value)?,
                    }
                } else if let Some(e) = head.strip_prefix("vi-encap:") {
                    let enterprise = parse_uint(e, u64::from(u32::MAX))
                        .map_err(|_| expected("an enterprise number after vi-encap:"))?
                        as u32;
                    let value = if value.is_empty() {
                        MatchValue::Present
                    } else if let Some(p) = wildcard_hex(value) {
                        MatchValue::Prefix(p)
                    } else {
                        MatchValue::Substring(bytes_of(value)?)
                    };
                    MatchKind::ViEncap { enterprise, value }
                } else {
                    let (code, value) = match_value(head, value)?;
                    MatchKind::Option { code, value }
                }
            }
            "dhcp-vendorclass" | "dhcp-userclass" => {
                if let Some(e) = rest.strip_prefix("enterprise:") {
                    if option != "dhcp-vendorclass" {
                        return Err(expected("a user class"));
                    }
                    let (n, class) = e
                        .split_once(',')
                        .ok_or_else(|| expected("enterprise:NUMBER,CLASS"))?;
                    let enterprise = parse_uint(n.trim(), u64::from(u32::MAX))
                        .map_err(|_| expected("an enterprise number after enterprise:"))?
                        as u32;
                    return Ok(DhcpMatch {
                        tag,
                        kind: MatchKind::VendorClass6 {
                            enterprise,
                            class: bytes_of(class)?,
                        },
                    });
                }
                let b = bytes_of(rest)?;
                if option == "dhcp-vendorclass" {
                    MatchKind::VendorClass(b)
                } else {
                    MatchKind::UserClass(b)
                }
            }
            "dhcp-circuitid" | "dhcp-remoteid" | "dhcp-subscrid" => MatchKind::Agent {
                sub: match option {
                    "dhcp-circuitid" => 1,
                    "dhcp-remoteid" => 2,
                    _ => 6,
                },
                value: bytes_of(rest)?,
            },
            "dhcp-name-match" => {
                let n = rest.trim();
                let stem = n.strip_suffix('*').unwrap_or(n);
                if n.is_empty() || stem.contains('*') || n.contains(',') {
                    return Err(expected("a name with at most one trailing *"));
                }
                MatchKind::Name(n.to_ascii_lowercase())
            }
            "dhcp-mac" => MatchKind::Mac(
                parse_mac(rest).ok_or_else(|| expected("a MAC address (with * wildcards)"))?,
            ),
            _ => return Err(expected("a DHCP match option")),
        };
        Ok(DhcpMatch { tag, kind })
    }
}

impl TagIf {
    /// Parses `set:T[,set:T...][,tag:C...]`: at least one `set:`, all of them before the
    /// conditions.
    pub fn parse(v: &str) -> Result<TagIf, ValueError> {
        let mut t = TagIf::default();
        for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Some(s) = item.strip_prefix("set:") {
                if !t.when.is_empty() {
                    return Err(expected("set: items before the tag: conditions"));
                }
                t.set.push(tag_name(s)?);
            } else {
                t.when.push(condition(item)?);
            }
        }
        if t.set.is_empty() {
            return Err(expected("set:TAG[,set:TAG...][,tag:TAG...]"));
        }
        Ok(t)
    }
}

/// `--dhcp-reply-delay=[tag:T,]SECONDS`.
pub fn parse_reply_delay(v: &str) -> Result<(Vec<TagCondition>, u32), ValueError> {
    let (conds, secs) = match v.rsplit_once(',') {
        Some((c, s)) => (parse_conditions(c)?, s.trim()),
        None => (Vec::new(), v.trim()),
    };
    let secs = parse_uint(secs, 3600).map_err(|_| expected("[tag:T,]SECONDS (0-3600)"))?;
    Ok((conds, secs as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(o: &str, v: &str) -> MatchKind {
        DhcpMatch::parse(o, v).unwrap().kind
    }

    #[test]
    fn v6_match_forms() {
        assert_eq!(
            m("dhcp-match", "set:fq,option6:39"),
            MatchKind::Option6 {
                code: 39,
                value: MatchValue::Present
            }
        );
        assert_eq!(
            m("dhcp-match", "set:uc,option6:15,00:04:*"),
            MatchKind::Option6 {
                code: 15,
                value: MatchValue::Prefix(vec![Some(0), Some(4), None])
            }
        );
        assert_eq!(
            m("dhcp-match", "set:d,option6:dns-server,[fd00::1]"),
            MatchKind::Option6 {
                code: 23,
                value: MatchValue::Element(
                    "fd00::1"
                        .parse::<std::net::Ipv6Addr>()
                        .unwrap()
                        .octets()
                        .to_vec()
                )
            }
        );
        assert!(DhcpMatch::parse("dhcp-match", "set:x,option6:nosuch").is_err());
        let v = m("dhcp-vendorclass", "set:v,enterprise:4491,docsis3.0");
        assert_eq!(
            v,
            MatchKind::VendorClass6 {
                enterprise: 4491,
                class: b"docsis3.0".to_vec()
            }
        );
        assert!(v.v6_only());
        assert!(!m("dhcp-vendorclass", "set:v,docsis").v6_only());
        assert!(DhcpMatch::parse("dhcp-vendorclass", "set:v,enterprise:x,c").is_err());
        assert!(DhcpMatch::parse("dhcp-userclass", "set:v,enterprise:1,c").is_err());
    }

    #[test]
    fn match_forms() {
        assert_eq!(
            m("dhcp-match", "set:efi,option:client-arch,6"),
            MatchKind::Option {
                code: 93,
                value: MatchValue::Element(vec![0, 6])
            }
        );
        assert_eq!(
            m("dhcp-match", "set:x,60"),
            MatchKind::Option {
                code: 60,
                value: MatchValue::Present
            }
        );
        assert_eq!(
            m("dhcp-match", "set:x,77,01:*:03"),
            MatchKind::Option {
                code: 77,
                value: MatchValue::Prefix(vec![Some(1), None, Some(3)])
            }
        );
        assert_eq!(
            m("dhcp-match", "set:x,60,PXEClient"),
            MatchKind::Option {
                code: 60,
                value: MatchValue::Substring(b"PXEClient".to_vec())
            }
        );
        assert_eq!(
            m("dhcp-match", "set:ipxe,vi-encap:3561"),
            MatchKind::ViEncap {
                enterprise: 3561,
                value: MatchValue::Present
            }
        );
        assert_eq!(
            m("dhcp-vendorclass", "set:pxe,PXEClient"),
            MatchKind::VendorClass(b"PXEClient".to_vec())
        );
        assert_eq!(
            m("dhcp-userclass", "net:u,office"),
            MatchKind::UserClass(b"office".to_vec())
        );
        assert_eq!(
            m("dhcp-circuitid", "set:c,01:02"),
            MatchKind::Agent {
                sub: 1,
                value: vec![1, 2]
            }
        );
        assert_eq!(
            m("dhcp-subscrid", "set:s,\"sub 1\""),
            MatchKind::Agent {
                sub: 6,
                value: b"sub 1".to_vec()
            }
        );
        let MatchKind::Mac(p) = m("dhcp-mac", "set:vm,52:54:00:*:*:*") else {
            panic!("not a MAC");
        };
        assert_eq!(p.bytes[3], None);
        assert_eq!(
            m("dhcp-name-match", "set:wpad-ignore,WPAD"),
            MatchKind::Name("wpad".into())
        );
        assert_eq!(
            m("dhcp-name-match", "set:lab,lab-*"),
            MatchKind::Name("lab-*".into())
        );
    }

    #[test]
    fn match_errors() {
        for (o, v) in [
            ("dhcp-match", "60"),
            ("dhcp-match", "set:x,option:nonesuch"),
            ("dhcp-vendorclass", "set:x,enterprise:311"),
            ("dhcp-userclass", "set:x"),
            ("dhcp-mac", "set:x,zz:zz"),
            ("dhcp-name-match", "set:x,a*b"),
            ("dhcp-name-match", "set:x,"),
            ("dhcp-circuitid", "set:,abc"),
        ] {
            assert!(DhcpMatch::parse(o, v).is_err(), "{o}={v}");
        }
    }

    #[test]
    fn tag_if_and_conditions() {
        let t = TagIf::parse("set:a,set:b,tag:c,tag:!d").unwrap();
        assert_eq!(t.set, ["a", "b"]);
        assert_eq!(t.when.len(), 2);
        assert!(t.when[1].negated);
        assert!(TagIf::parse("tag:c").is_err());
        assert!(TagIf::parse("tag:c,set:a").is_err());
        assert!(parse_conditions("").unwrap().is_empty());
        assert!(parse_conditions("tag:x,foo").is_err());
        assert_eq!(parse_reply_delay("tag:pxe,3").unwrap().1, 3);
        assert_eq!(parse_reply_delay("2").unwrap(), (vec![], 2));
        assert!(parse_reply_delay("tag:x,soon").is_err());
    }

    #[test]
    fn bootp_dynamic_tags_through_the_loader() {
        let args: Vec<std::ffi::OsString> = ["--conf-file=/dev/null", "--bootp-dynamic=tag:a,b"]
            .iter()
            .map(Into::into)
            .collect();
        let c = crate::load(&args).unwrap();
        assert!(c.dhcp.bootp_dynamic);
        assert_eq!(c.dhcp.bootp_dynamic_tags, ["a", "b"]);
        let bad: Vec<std::ffi::OsString> = ["--conf-file=/dev/null", "--bootp-dynamic=tag:!a"]
            .iter()
            .map(Into::into)
            .collect();
        assert!(crate::load(&bad).is_err());
    }
}
