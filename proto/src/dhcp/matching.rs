//! Tags a request earns from what it carries, as dnsmasq's `--dhcp-match`,
//! `--dhcp-vendorclass`, `--dhcp-userclass`, `--dhcp-circuitid`, `--dhcp-remoteid`,
//! `--dhcp-subscrid` and `--dhcp-mac` set them; `--tag-if` rules; and tag conditions
//! (`tag:x`, `tag:!x`) compiled to bit sets.

use super::config::{HwAddrPattern, TagCond};
use super::packet::{OptionTable, Request, code};
use super::server::ConfigError;
use super::tags::{TagSet, Tags};

/// Relay agent information sub-options (RFC 3046 §2.0, RFC 3993 §3).
pub mod agent_sub {
    /// Agent Circuit ID (RFC 3046 §2.1.1).
    pub const CIRCUIT_ID: u8 = 1;
    /// Agent Remote ID (RFC 3046 §2.1.2).
    pub const REMOTE_ID: u8 = 2;
    /// Subscriber-ID (RFC 3993 §3).
    pub const SUBSCRIBER_ID: u8 = 6;
}

/// What an option's value must look like for a `--dhcp-match` to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchValue {
    /// No value given: the option only has to be present.
    Present,
    /// `01:ff:*:02`: the value starts with these bytes (`None` = any byte); more may follow.
    Prefix(Vec<Option<u8>>),
    /// A value in `--dhcp-option` form: the option is read as an array of elements of this
    /// length, and one element must be equal (`option:client-arch,6` matches `00:07:00:06`).
    Element(Vec<u8>),
    /// A text value: the option contains it.
    Substring(Vec<u8>),
}

impl MatchValue {
    pub(crate) fn holds(&self, v: &[u8]) -> bool {
        match self {
            MatchValue::Present => true,
            MatchValue::Prefix(p) => {
                p.len() <= v.len() && p.iter().zip(v).all(|(p, b)| p.is_none_or(|p| p == *b))
            }
            MatchValue::Element(e) => {
                !e.is_empty()
                    && v.len().is_multiple_of(e.len())
                    && v.chunks(e.len()).any(|c| c == e)
            }
            MatchValue::Substring(s) => contains(v, s),
        }
    }
}

/// One source of a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    /// `--dhcp-match=set:T,N|option:NAME[,VALUE]`.
    Option {
        /// Option code.
        code: u8,
        /// Required value.
        value: MatchValue,
    },
    /// `--dhcp-match=set:T,vi-encap:ENTERPRISE[,VALUE]`: option 124, the vendor-identifying
    /// vendor class (RFC 3925 §3), holds data for this enterprise number (matching VALUE).
    ViEncap {
        /// IANA enterprise number.
        enterprise: u32,
        /// Required value of the enterprise's data.
        value: MatchValue,
    },
    /// `--dhcp-vendorclass=set:T,CLASS`: option 60 contains CLASS.
    VendorClass(Vec<u8>),
    /// `--dhcp-userclass=set:T,CLASS`: option 77 contains CLASS.
    UserClass(Vec<u8>),
    /// `--dhcp-circuitid`, `--dhcp-remoteid`, `--dhcp-subscrid`: the relay agent sub-option
    /// `sub` of option 82 equals `value`.
    Agent {
        /// Sub-option code ([`agent_sub`]).
        sub: u8,
        /// Required value.
        value: Vec<u8>,
    },
    /// `--dhcp-mac=set:T,MAC`: the client's hardware address matches (with `*` wildcards).
    Mac(HwAddrPattern),
    /// `--dhcp-name-match=set:T,NAME[*]`: the client's host name (option 12, RFC 2132 §3.14)
    /// equals NAME, ignoring case, or starts with it when NAME ends in `*`. Lower case.
    Name(String),
}

/// A tag set when a [`Matcher`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRule {
    /// The tag to set.
    pub tag: String,
    /// When to set it.
    pub matcher: Matcher,
}

/// `--tag-if=set:T[,set:T...][,tag:C...]`: when every condition holds, set the tags.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TagIf {
    /// Tags to set.
    pub set: Vec<String>,
    /// Conditions (all must hold; none = always).
    pub when: Vec<TagCond>,
}

/// A compiled list of tag conditions: all of `pos` set, none of `neg`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cond {
    /// Tags that must be set.
    pub pos: TagSet,
    /// Tags that must not be set.
    pub neg: TagSet,
}

impl Cond {
    /// Compiles `conds`, interning their tags.
    pub fn compile(tags: &mut Tags, conds: &[TagCond]) -> Result<Cond, ConfigError> {
        Ok(Cond {
            pos: tags.set_of(conds.iter().filter(|t| !t.negated).map(|t| &t.tag))?,
            neg: tags.set_of(conds.iter().filter(|t| t.negated).map(|t| &t.tag))?,
        })
    }

    /// Whether the conditions hold for `tags`.
    pub fn holds(&self, tags: &TagSet) -> bool {
        tags.contains_all(&self.pos) && !tags.intersects(&self.neg)
    }
}

/// Compiled matchers and tag-if rules.
#[derive(Debug, Default)]
pub struct TagRules {
    matches: Vec<(u16, Matcher)>,
    tag_ifs: Vec<(TagSet, Cond)>,
}

impl TagRules {
    /// Compiles `matches` and `tag_ifs`, interning their tags.
    pub fn compile(
        tags: &mut Tags,
        matches: &[MatchRule],
        tag_ifs: &[TagIf],
    ) -> Result<TagRules, ConfigError> {
        let mut out = TagRules::default();
        for m in matches {
            out.matches.push((tags.intern(&m.tag)?, m.matcher.clone()));
        }
        for t in tag_ifs {
            let set = tags.set_of(t.set.iter())?;
            out.tag_ifs.push((set, Cond::compile(tags, &t.when)?));
        }
        Ok(out)
    }

    /// Adds the tags of every matcher that holds for the request.
    pub fn apply_matches(&self, req: &Request<'_>, opts: &OptionTable, tags: &mut TagSet) {
        for (tag, m) in &self.matches {
            if matches(m, req, opts) {
                tags.insert(*tag);
            }
        }
    }

    /// Runs the `--tag-if` rules in order; a tag set by one is seen by those after it.
    pub fn apply_tag_ifs(&self, tags: &mut TagSet) {
        for (set, cond) in &self.tag_ifs {
            if cond.holds(tags) {
                tags.union(set);
            }
        }
    }
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The value of sub-option `sub` in a TLV list (`code, len, value`...), as in option 82
/// (RFC 3046 §2.0). Malformed trailing bytes end the walk.
pub fn sub_option(list: &[u8], sub: u8) -> Option<&[u8]> {
    let mut i = 0;
    while i + 2 <= list.len() {
        let len = usize::from(list[i + 1]);
        let v = list.get(i + 2..i + 2 + len)?;
        if list[i] == sub {
            return Some(v);
        }
        i += 2 + len;
    }
    None
}

/// The data for `enterprise` in an option 124 value: `enterprise(4) len(1) data` repeated
/// (RFC 3925 §3).
fn vi_data(v: &[u8], enterprise: u32) -> Option<&[u8]> {
    let mut i = 0;
    while i + 5 <= v.len() {
        let e = u32::from_be_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
        let len = usize::from(v[i + 4]);
        let d = v.get(i + 5..i + 5 + len)?;
        if e == enterprise {
            return Some(d);
        }
        i += 5 + len;
    }
    None
}

fn matches(m: &Matcher, req: &Request<'_>, opts: &OptionTable) -> bool {
    match m {
        Matcher::Option { code, value } => opts.get(*code).is_some_and(|v| value.holds(v)),
        Matcher::ViEncap { enterprise, value } => opts
            .get(code::VI_VENDOR_CLASS)
            .and_then(|v| vi_data(v, *enterprise))
            .is_some_and(|d| value.holds(d)),
        Matcher::VendorClass(c) => opts.get(code::VENDOR_CLASS).is_some_and(|v| contains(v, c)),
        // Option 77 is a list of length-prefixed classes (RFC 3004 §4) or, from older
        // clients, one bare string: a substring of the raw value covers both.
        Matcher::UserClass(c) => opts.get(code::USER_CLASS).is_some_and(|v| contains(v, c)),
        Matcher::Agent { sub, value } => opts
            .get(code::RELAY_AGENT)
            .and_then(|a| sub_option(a, *sub))
            .is_some_and(|v| v == value.as_slice()),
        Matcher::Mac(p) => p.matches(req.htype, req.chaddr),
        Matcher::Name(n) => opts.get(code::HOSTNAME).is_some_and(|v| name_matches(n, v)),
    }
}

/// `pattern` (lower case, optional trailing `*`) against a client-supplied name; a trailing
/// NUL some clients send is ignored.
fn name_matches(pattern: &str, name: &[u8]) -> bool {
    let name = name.strip_suffix(&[0]).unwrap_or(name);
    match pattern.strip_suffix('*') {
        Some(stem) => {
            name.len() >= stem.len() && name[..stem.len()].eq_ignore_ascii_case(stem.as_bytes())
        }
        None => name.eq_ignore_ascii_case(pattern.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert!(MatchValue::Present.holds(&[]));
        let p = MatchValue::Prefix(vec![Some(1), None, Some(3)]);
        assert!(p.holds(&[1, 9, 3, 4]));
        assert!(!p.holds(&[1, 9]));
        assert!(!p.holds(&[2, 9, 3]));
        let e = MatchValue::Element(vec![0, 6]);
        assert!(e.holds(&[0, 7, 0, 6]));
        assert!(!e.holds(&[7, 0, 6]));
        assert!(!e.holds(&[6, 0]));
        assert!(MatchValue::Substring(b"PXE".to_vec()).holds(b"PXEClient:Arch"));
    }

    #[test]
    fn names() {
        assert!(name_matches("wpad", b"WPAD"));
        assert!(name_matches("wpad", b"wpad\0"));
        assert!(!name_matches("wpad", b"wpad2"));
        assert!(name_matches("lab-*", b"Lab-7"));
        assert!(name_matches("lab-*", b"lab-"));
        assert!(!name_matches("lab-*", b"lab"));
    }

    #[test]
    fn agent_and_vi_walks() {
        let a = [1, 3, b'a', b'b', b'c', 2, 1, 9];
        assert_eq!(sub_option(&a, 1), Some(&b"abc"[..]));
        assert_eq!(sub_option(&a, 2), Some(&[9][..]));
        assert_eq!(sub_option(&a, 6), None);
        assert_eq!(sub_option(&[1, 9, 0], 1), None);
        let vi = [0, 0, 0, 9, 1, 7, 0, 0, 0xd, 0x80, 2, 1, 2];
        assert_eq!(vi_data(&vi, 9), Some(&[7][..]));
        assert_eq!(vi_data(&vi, 3456), Some(&[1, 2][..]));
        assert_eq!(vi_data(&vi, 1), None);
    }

    #[test]
    fn tag_if_order() {
        let mut tags = Tags::default();
        let rules = TagRules::compile(
            &mut tags,
            &[],
            &[
                TagIf {
                    set: vec!["b".into()],
                    when: vec![TagCond {
                        tag: "a".into(),
                        negated: false,
                    }],
                },
                TagIf {
                    set: vec!["c".into()],
                    when: vec![
                        TagCond {
                            tag: "b".into(),
                            negated: false,
                        },
                        TagCond {
                            tag: "x".into(),
                            negated: true,
                        },
                    ],
                },
            ],
        )
        .unwrap();
        let mut t = TagSet::default();
        t.insert(tags.id("a").unwrap());
        rules.apply_tag_ifs(&mut t);
        assert!(t.contains(tags.id("c").unwrap()));
        let mut t = TagSet::default();
        t.insert(tags.id("a").unwrap());
        t.insert(tags.id("x").unwrap());
        rules.apply_tag_ifs(&mut t);
        assert!(t.contains(tags.id("b").unwrap()));
        assert!(!t.contains(tags.id("c").unwrap()));
    }
}
