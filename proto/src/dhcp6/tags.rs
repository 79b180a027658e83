//! Tags for DHCPv6 requests, with DHCPv4's tag sets, conditions and `--tag-if` rules
//! ([`crate::dhcp::tags`], [`crate::dhcp::matching`]): the sources are the arrival interface's
//! name, the matchers of [`Matcher6`], the `--dhcp-host` entry (its `set:` tags and `known`),
//! the `set:` tags of the ranges on the client's link, then `--tag-if` in order. Tags choose
//! the ranges (`tag:` on a range), hosts (`tag:` on a host), `--dhcp-ignore`,
//! `--dhcp-ignore-names` and the options sent.

use crate::dhcp::config::HwAddrPattern;
use crate::dhcp::matching::{Cond, MatchValue, TagRules, contains};
use crate::dhcp::server::ConfigError;
use crate::dhcp::tags::{TagSet, Tags};

use super::config::{Config6, LinkRange, Option6, duid_mac};
use super::wire::{self, Options, RelayHop, opt};

/// What a DHCPv6 request must carry for a tag to be set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher6 {
    /// `--dhcp-match=set:T,option6:N[,VALUE]`: option N of the client message.
    Option {
        /// Option code.
        code: u16,
        /// Required value.
        value: MatchValue,
    },
    /// `--dhcp-vendorclass=set:T,[enterprise:N,]CLASS`: a Vendor Class option (RFC 8415
    /// §21.16) whose data contains CLASS, of enterprise N when given.
    VendorClass {
        /// IANA enterprise number; `None` = any.
        enterprise: Option<u32>,
        /// Substring of the class data.
        class: Vec<u8>,
    },
    /// `--dhcp-userclass=set:T,CLASS`: the User Class option (RFC 8415 §21.15) contains CLASS.
    UserClass(Vec<u8>),
    /// `--dhcp-remoteid=set:T,ID`: a relay's Remote-ID (RFC 4649 §3), after its enterprise
    /// number, equals ID.
    RemoteId(Vec<u8>),
    /// `--dhcp-subscrid=set:T,ID`: a relay's Subscriber-ID (RFC 4580 §2) equals ID.
    SubscriberId(Vec<u8>),
    /// `--dhcp-mac=set:T,MAC`: the Ethernet address inside a DUID-LLT/DUID-LL matches.
    Mac(HwAddrPattern),
    /// `--dhcp-name-match=set:T,NAME[*]`: the host label of the Client FQDN option (RFC 4704)
    /// equals NAME ignoring case, or starts with it when NAME ends in `*`. Lower case.
    Name(String),
}

/// A tag set when a [`Matcher6`] holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatchRule6 {
    /// The tag to set.
    pub tag: String,
    /// When to set it.
    pub matcher: Matcher6,
}

/// What a request shows the matchers: its options, relay hops and client DUID.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    /// The client message's options area.
    pub options: &'a [u8],
    /// Relay hops, outermost first.
    pub relays: &'a [RelayHop],
    /// The client's DUID (empty if none).
    pub duid: &'a [u8],
}

impl Matcher6 {
    fn holds(&self, seen: &Seen<'_>) -> bool {
        let all = |code: u16| {
            Options::new(seen.options)
                .map_while(Result::ok)
                .filter(move |(c, _)| *c == code)
                .map(|(_, v)| v)
        };
        match self {
            Matcher6::Option { code, value } => all(*code).any(|v| value.holds(v)),
            Matcher6::VendorClass { enterprise, class } => all(opt::VENDOR_CLASS).any(|v| {
                v.len() >= 4
                    && enterprise.is_none_or(|e| v[..4] == e.to_be_bytes())
                    && wire::opaque_items(&v[4..]).any(|d| contains(d, class))
            }),
            Matcher6::UserClass(c) => {
                all(opt::USER_CLASS).any(|v| wire::opaque_items(v).any(|d| contains(d, c)))
            }
            Matcher6::RemoteId(id) => seen.relays.iter().any(|r| {
                r.remote_id
                    .as_deref()
                    .is_some_and(|v| v.get(4..) == Some(id.as_slice()))
            }),
            Matcher6::SubscriberId(id) => seen
                .relays
                .iter()
                .any(|r| r.subscriber_id.as_deref() == Some(id.as_slice())),
            Matcher6::Mac(p) => duid_mac(seen.duid).is_some_and(|m| p.matches(1, m)),
            Matcher6::Name(n) => Options::find(seen.options, opt::CLIENT_FQDN)
                .and_then(wire::fqdn_host)
                .is_some_and(|h| name_matches(n, &h)),
        }
    }
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(stem) => {
            name.len() >= stem.len()
                && name.as_bytes()[..stem.len()].eq_ignore_ascii_case(stem.as_bytes())
        }
        None => name.eq_ignore_ascii_case(pattern),
    }
}

/// How specific an option's conditions are for a request: options with conditions beat
/// those without, then more positive tags other than range `set:` tags (dnsmasq treats the
/// range's tag as second class, so a host's tag overrides it), then more range tags.
type Weight = (bool, u32, u32);

/// The tag configuration of a DHCPv6 server, compiled to bit sets.
#[derive(Debug, Default)]
pub struct Tagger6 {
    tags: Tags,
    matches: Vec<(u16, Matcher6)>,
    rules: TagRules,
    range_need: Vec<TagSet>,
    range_set: Vec<TagSet>,
    /// Every range's `set:` tag.
    range_tags: TagSet,
    host_need: Vec<TagSet>,
    host_set: Vec<TagSet>,
    known: TagSet,
    ignore: Vec<Cond>,
    ignore_names: Vec<Cond>,
    /// Conditions of `cfg.options`, index for index.
    opts: Vec<Cond>,
}

impl Tagger6 {
    /// Compiles the tags of `cfg`, interning their names.
    pub fn compile(cfg: &Config6) -> Result<Tagger6, ConfigError> {
        let mut t = Tagger6::default();
        let tags = &mut t.tags;
        for r in &cfg.ranges {
            t.range_need.push(tags.set_of(r.match_tags.iter())?);
            let set = tags.set_of(r.set_tag.iter())?;
            t.range_tags.union(&set);
            t.range_set.push(set);
        }
        for h in &cfg.hosts {
            t.host_need.push(tags.set_of(h.match_tags.iter())?);
            t.host_set.push(tags.set_of(h.set_tags.iter())?);
        }
        t.known = tags.set_of(["known"].iter())?;
        for m in &cfg.matches {
            t.matches.push((tags.intern(&m.tag)?, m.matcher.clone()));
        }
        t.rules = TagRules::compile(tags, &[], &cfg.tag_ifs)?;
        for c in &cfg.ignore {
            t.ignore.push(Cond::compile(tags, c)?);
        }
        for c in &cfg.ignore_names {
            t.ignore_names.push(Cond::compile(tags, c)?);
        }
        for o in &cfg.options {
            t.opts.push(Cond::compile(tags, &o.tags)?);
        }
        Ok(t)
    }

    /// The request's tags and its `--dhcp-host` entry (index into `cfg.hosts`), in dnsmasq's
    /// order of sources; `on_link` are the ranges on the client's link.
    pub fn request(
        &self,
        cfg: &Config6,
        iface: &str,
        seen: &Seen<'_>,
        on_link: &[LinkRange],
    ) -> (TagSet, Option<usize>) {
        let mut tags = TagSet::default();
        if let Some(t) = self.tags.id(iface) {
            tags.insert(t);
        }
        for (tag, m) in &self.matches {
            if m.holds(seen) {
                tags.insert(*tag);
            }
        }
        // dnsmasq: tagged --dhcp-host entries are used in preference to untagged ones.
        let usable = |i: usize, tagged: bool| {
            let need = &self.host_need[i];
            (need.count() > 0) == tagged
                && tags.contains_all(need)
                && cfg.hosts[i].matches(seen.duid)
        };
        let host = (0..cfg.hosts.len())
            .find(|i| usable(*i, true))
            .or_else(|| (0..cfg.hosts.len()).find(|i| usable(*i, false)));
        if let Some(h) = host {
            tags.union(&self.host_set[h]);
            tags.union(&self.known);
        }
        let mut net = TagSet::default();
        for r in on_link {
            if tags.contains_all(&self.range_need[r.index]) {
                net.union(&self.range_set[r.index]);
            }
        }
        tags.union(&net);
        self.rules.apply_tag_ifs(&mut tags);
        (tags, host)
    }

    /// Whether configured range `index` may serve a client with `tags` (its `tag:` hold).
    pub fn range_serves(&self, index: usize, tags: &TagSet) -> bool {
        self.range_need
            .get(index)
            .is_none_or(|need| tags.contains_all(need))
    }

    /// Adds the `set:` tags of `ranges` to `tags`.
    pub fn add_range_tags(&self, ranges: &[LinkRange], tags: &mut TagSet) {
        for r in ranges {
            if let Some(set) = self.range_set.get(r.index) {
                tags.union(set);
            }
        }
    }

    /// Whether a `--dhcp-ignore` holds for `tags`.
    pub fn ignored(&self, tags: &TagSet) -> bool {
        self.ignore.iter().any(|c| c.holds(tags))
    }

    /// Whether a `--dhcp-ignore-names` holds for `tags`.
    pub fn ignore_names(&self, tags: &TagSet) -> bool {
        self.ignore_names.iter().any(|c| c.holds(tags))
    }

    /// The option with `code` to send to a client with `tags`: among those whose conditions
    /// hold, the most specific ([`Weight`]); the first configured on a tie.
    pub fn best<'c>(&self, cfg: &'c Config6, code: u16, tags: &TagSet) -> Option<&'c Option6> {
        let mut best: Option<(Weight, &Option6)> = None;
        for (o, c) in cfg.options.iter().zip(&self.opts) {
            if o.code != code || !c.holds(tags) {
                continue;
            }
            let w = self.weight(c);
            if best.is_none_or(|(b, _)| w > b) {
                best = Some((w, o));
            }
        }
        best.map(|(_, o)| o)
    }

    fn weight(&self, c: &Cond) -> Weight {
        let all = c.pos.count();
        let second = c.pos.common(&self.range_tags);
        (all > 0 || c.neg.count() > 0, all - second, second)
    }

    /// The names of the tags in `set`, sorted (`DNSMASQ_TAGS`).
    pub fn names(&self, set: &TagSet) -> Vec<String> {
        self.tags.names_in(set)
    }
}
