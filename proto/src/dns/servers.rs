//! The upstream server table: which servers a name is forwarded to, and their shared counters.
//!
//! Built by the engine from `--server`, `--local`, `--rev-server` and the resolv-file; replaced as a
//! whole (an immutable snapshot) when any of those change. Domain rules are matched label-wise on
//! the lowercase wire form of the question name, longest suffix first, as dnsmasq does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// One upstream server with its counters, shared by every worker.
#[derive(Debug)]
pub struct Server {
    /// Where queries go.
    pub addr: SocketAddr,
    /// Queries sent to this server (all workers).
    pub queries_sent: AtomicU64,
    /// Queries that failed: timed out, or answered REFUSED/SERVFAIL.
    pub queries_failed: AtomicU64,
    /// Forwarded queries currently waiting on this server (all workers), for `--dns-forward-max`.
    pub in_flight: AtomicU32,
}

impl Server {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            queries_sent: AtomicU64::new(0),
            queries_failed: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
        }
    }

    /// Reserves one in-flight slot if fewer than `max` are in use; false when the server is full.
    pub fn try_reserve(&self, max: u32) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// Gives back a slot taken by [`Server::try_reserve`].
    pub fn release(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// What the table says to do with a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Forward to this group of servers (an index into [`ServerTable::group`]).
    Group(usize),
    /// Never forward: answer from local data only (`--local=/d/`, `--server=/d/`).
    LocalOnly,
    /// No server is configured for this name.
    NoServers,
}

/// A rule attached to a domain suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Group(usize),
    LocalOnly,
    UseDefault,
}

/// An immutable snapshot of all upstream servers and domain rules.
#[derive(Debug, Default)]
pub struct ServerTable {
    servers: Vec<Server>,
    /// Groups of server indices; group 0 (if present) is the default servers.
    groups: Vec<Vec<usize>>,
    default_group: Option<usize>,
    /// Lowercase wire-form suffix (without the root label's terminating zero) to rule.
    suffixes: HashMap<Box<[u8]>, Rule>,
    /// Rule for names with a single label (`--server=//ADDR`).
    unqualified: Option<Rule>,
    /// Text-suffix rules (`/*foo/`), lowercase dotted, longest first.
    wildcards: Vec<(Box<[u8]>, Rule)>,
    /// Rule for the root suffix (`--server=/./ADDR` style rules and `/#/`).
    root: Option<Rule>,
}

/// Builds a [`ServerTable`]; rules added later for the same domain add servers to it.
#[derive(Debug, Default)]
pub struct ServerTableBuilder {
    table: ServerTable,
    group_of_key: HashMap<Vec<u8>, usize>,
}

/// A domain a rule applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainPattern {
    /// The name and every name below it; lowercase, dotted, no trailing dot; `""` is the root.
    Suffix(String),
    /// Names whose text ends with this string, not necessarily at a label boundary
    /// (`/*example.com/` in dnsmasq syntax); lowercase, no trailing dot.
    Wildcard(String),
    /// Names with a single label (`//` in dnsmasq syntax).
    Unqualified,
}

/// What a domain rule does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainAction {
    /// Forward to this server (several rules for one domain make a group).
    Forward(SocketAddr),
    /// Never forward (`--local=/d/`).
    LocalOnly,
    /// Use the default servers (`--server=/d/#`).
    UseDefault,
}

impl ServerTableBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn server_index(&mut self, addr: SocketAddr) -> usize {
        if let Some(i) = self.table.servers.iter().position(|s| s.addr == addr) {
            return i;
        }
        self.table.servers.push(Server::new(addr));
        self.table.servers.len() - 1
    }

    fn group_for(&mut self, key: Vec<u8>) -> usize {
        if let Some(&g) = self.group_of_key.get(&key) {
            return g;
        }
        self.table.groups.push(Vec::new());
        let g = self.table.groups.len() - 1;
        self.group_of_key.insert(key, g);
        g
    }

    /// Adds a default server (used for names no domain rule matches).
    pub fn add_default(&mut self, addr: SocketAddr) -> &mut Self {
        let s = self.server_index(addr);
        let g = self.group_for(b"\0default".to_vec());
        if !self.table.groups[g].contains(&s) {
            self.table.groups[g].push(s);
        }
        self.table.default_group = Some(g);
        self
    }

    /// Adds a domain rule.
    pub fn add_domain(&mut self, pattern: &DomainPattern, action: DomainAction) -> &mut Self {
        let key: Vec<u8> = match pattern {
            DomainPattern::Suffix(s) => dotted_to_wire_suffix(s),
            DomainPattern::Unqualified => b"\0unqualified".to_vec(),
            DomainPattern::Wildcard(w) => {
                let mut k = b"\0wildcard:".to_vec();
                k.extend_from_slice(w.as_bytes());
                k
            }
        };
        let rule = match action {
            DomainAction::Forward(addr) => {
                let s = self.server_index(addr);
                let g = self.group_for(key.clone());
                if !self.table.groups[g].contains(&s) {
                    self.table.groups[g].push(s);
                }
                Rule::Group(g)
            }
            DomainAction::LocalOnly => Rule::LocalOnly,
            DomainAction::UseDefault => Rule::UseDefault,
        };
        match pattern {
            DomainPattern::Unqualified => self.table.unqualified = Some(rule),
            DomainPattern::Wildcard(w) => {
                let text = w.trim_end_matches('.').to_ascii_lowercase().into_bytes();
                match self.table.wildcards.iter_mut().find(|(t, _)| **t == *text) {
                    Some(e) if matches!(rule, Rule::Group(_)) => e.1 = rule,
                    Some(_) => {}
                    None => self.table.wildcards.push((text.into_boxed_slice(), rule)),
                }
                self.table
                    .wildcards
                    .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
            }
            DomainPattern::Suffix(s) if s.is_empty() => self.table.root = Some(rule),
            DomainPattern::Suffix(_) => {
                // A forwarding rule wins over a local-only one for the same domain, as
                // dnsmasq: `local=/d/` then `server=/d/1.2.3.4` forwards.
                let entry = self
                    .table
                    .suffixes
                    .entry(key.into_boxed_slice())
                    .or_insert(rule);
                if matches!(rule, Rule::Group(_)) {
                    *entry = rule;
                }
            }
        }
        self
    }

    /// Finishes the table.
    pub fn build(self) -> ServerTable {
        self.table
    }
}

/// `example.com` → `\x07example\x03com` (no root zero byte), lowercase.
fn dotted_to_wire_suffix(dotted: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(dotted.len() + 1);
    for label in dotted
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let bytes = label.as_bytes();
        out.push(bytes.len().min(63) as u8);
        out.extend(bytes.iter().take(63).map(u8::to_ascii_lowercase));
    }
    out
}

impl ServerTable {
    /// Every server, in the order first configured.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// The server indices of a group.
    pub fn group(&self, g: usize) -> &[usize] {
        self.groups.get(g).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Number of groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// True when no server at all is configured.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    fn resolve(&self, rule: Rule) -> Route {
        match rule {
            Rule::Group(g) => Route::Group(g),
            Rule::LocalOnly => Route::LocalOnly,
            Rule::UseDefault => self.default_route(),
        }
    }

    fn default_route(&self) -> Route {
        match self.default_group {
            Some(g) if !self.groups[g].is_empty() => Route::Group(g),
            _ => Route::NoServers,
        }
    }

    /// Chooses the route for a lowercase wire-form name (with its terminating zero byte).
    ///
    /// The longest matching suffix wins, label by label, as dnsmasq's `--server=/domain/`.
    pub fn route(&self, name_wire: &[u8]) -> Route {
        // Strip the root label.
        let name = match name_wire.split_last() {
            Some((0, rest)) => rest,
            _ => name_wire,
        };
        if name.is_empty() {
            return self
                .root
                .map_or_else(|| self.default_route(), |r| self.resolve(r));
        }
        if let Some(rule) = self.unqualified {
            let first = name[0] as usize;
            if first + 1 == name.len() {
                return self.resolve(rule);
            }
        }
        // The most specific (longest) matching rule wins, label-wise suffixes and text
        // wildcards alike.
        let mut best: Option<(usize, Rule)> = None;
        if !self.suffixes.is_empty() {
            let mut pos = 0usize;
            while pos < name.len() {
                if let Some(&rule) = self.suffixes.get(&name[pos..]) {
                    best = Some((name.len() - pos - 1, rule));
                    break;
                }
                pos += 1 + name[pos] as usize;
            }
        }
        if !self.wildcards.is_empty() {
            let mut text = [0u8; 256];
            let len = dotted(name, &mut text);
            let text = &text[..len];
            if let Some((w, rule)) = self.wildcards.iter().find(|(w, _)| text.ends_with(w))
                && best.is_none_or(|(l, _)| w.len() > l)
            {
                best = Some((w.len(), *rule));
            }
        }
        if let Some((_, rule)) = best {
            return self.resolve(rule);
        }
        self.root
            .map_or_else(|| self.default_route(), |r| self.resolve(r))
    }
}

/// Writes a wire name (without the root byte) as lowercase dotted text; returns its length.
fn dotted(name: &[u8], out: &mut [u8; 256]) -> usize {
    let mut pos = 0;
    let mut len = 0;
    while pos < name.len() {
        let l = name[pos] as usize;
        if len > 0 && len < out.len() {
            out[len] = b'.';
            len += 1;
        }
        for &b in name.get(pos + 1..pos + 1 + l).unwrap_or(&[]) {
            if len < out.len() {
                out[len] = b.to_ascii_lowercase();
                len += 1;
            }
        }
        pos += 1 + l;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str) -> Vec<u8> {
        let mut w = dotted_to_wire_suffix(s);
        w.push(0);
        w
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_suffix_wins() {
        let mut b = ServerTableBuilder::new();
        b.add_default(addr("127.0.0.1:53"));
        b.add_domain(
            &DomainPattern::Suffix("example.com".into()),
            DomainAction::Forward(addr("127.0.0.2:53")),
        );
        b.add_domain(
            &DomainPattern::Suffix("a.example.com".into()),
            DomainAction::Forward(addr("127.0.0.3:53")),
        );
        b.add_domain(
            &DomainPattern::Suffix("local.example.com".into()),
            DomainAction::LocalOnly,
        );
        b.add_domain(
            &DomainPattern::Suffix("def.example.com".into()),
            DomainAction::UseDefault,
        );
        let t = b.build();
        let server_of = |name: &str| match t.route(&wire(name)) {
            Route::Group(g) => t.servers()[t.group(g)[0]].addr,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(server_of("www.example.com"), addr("127.0.0.2:53"));
        assert_eq!(
            server_of("EXAMPLE.com".to_lowercase().as_str()),
            addr("127.0.0.2:53")
        );
        assert_eq!(server_of("x.a.example.com"), addr("127.0.0.3:53"));
        assert_eq!(server_of("x.def.example.com"), addr("127.0.0.1:53"));
        assert_eq!(server_of("other.org"), addr("127.0.0.1:53"));
        // "xexample.com" is not under "example.com": matching is label-wise.
        assert_eq!(server_of("xexample.com"), addr("127.0.0.1:53"));
        assert_eq!(t.route(&wire("h.local.example.com")), Route::LocalOnly);
    }

    #[test]
    fn wildcard_matches_text_suffix() {
        let mut b = ServerTableBuilder::new();
        b.add_default(addr("127.0.0.1:53"));
        b.add_domain(
            &DomainPattern::Wildcard("google.com".into()),
            DomainAction::Forward(addr("127.0.0.9:53")),
        );
        let t = b.build();
        let first = |name: &str| match t.route(&wire(name)) {
            Route::Group(g) => t.servers()[t.group(g)[0]].addr,
            other => panic!("{other:?}"),
        };
        assert_eq!(first("supergoogle.com"), addr("127.0.0.9:53"));
        assert_eq!(first("www.google.com"), addr("127.0.0.9:53"));
        assert_eq!(first("google.org"), addr("127.0.0.1:53"));
    }

    #[test]
    fn unqualified_and_no_servers() {
        let mut b = ServerTableBuilder::new();
        b.add_domain(&DomainPattern::Unqualified, DomainAction::LocalOnly);
        let t = b.build();
        assert_eq!(t.route(&wire("printer")), Route::LocalOnly);
        assert_eq!(t.route(&wire("printer.lan")), Route::NoServers);
    }

    #[test]
    fn in_flight_limit() {
        let s = Server::new(addr("127.0.0.1:53"));
        assert!(s.try_reserve(2));
        assert!(s.try_reserve(2));
        assert!(!s.try_reserve(2));
        s.release();
        assert!(s.try_reserve(2));
    }
}
