//! The upstream server table: which servers a name is forwarded to, and their shared counters.
//!
//! Built by the engine from `--server`, `--local`, `--rev-server` and the resolv-file; replaced as a
//! whole (an immutable snapshot) when any of those change. Domain rules are matched label-wise on
//! the lowercase wire form of the question name, longest suffix first, as dnsmasq does.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The socket a server's queries leave from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Egress {
    /// A random one of the worker's pool of random-port sockets for the server's family.
    #[default]
    Pool,
    /// A socket the engine bound for this server alone (`--server=ADDR@SRC` or `ADDR@IF`),
    /// by index among the worker's bound sockets.
    Bound {
        /// Index of the socket among the worker's bound sockets.
        socket: u16,
        /// The socket's port is shared by every worker (`@SRC#PORT`): the kernel steers answers
        /// to workers by query ID, so the ID must carry the worker's lane.
        shared_port: bool,
    },
}

/// One upstream server with its counters, shared by every worker.
#[derive(Debug)]
pub struct Server {
    /// Where queries go.
    pub addr: SocketAddr,
    /// Which socket they leave from.
    pub egress: Egress,
    /// Queries sent to this server (all workers).
    pub queries_sent: AtomicU64,
    /// Queries that failed: timed out, or answered REFUSED/SERVFAIL.
    pub queries_failed: AtomicU64,
    /// Forwarded queries currently waiting on this server (all workers), for `--dns-forward-max`.
    pub in_flight: AtomicU32,
}

impl Server {
    fn new(addr: SocketAddr, egress: Egress) -> Self {
        Self {
            addr,
            egress,
            queries_sent: AtomicU64::new(0),
            queries_failed: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
        }
    }

    /// Reserves one in-flight slot if fewer than `max` are in use; false when the server is full.
    pub fn try_reserve(&self, max: u32) -> bool {
        update_counter(&self.in_flight, |n| (n < max).then_some(n + 1))
    }

    /// Gives back a slot taken by [`Server::try_reserve`].
    pub fn release(&self) {
        update_counter(&self.in_flight, |n| n.checked_sub(1));
    }
}

/// Applies `f` to `counter` atomically (a compare-exchange loop); false, leaving the counter
/// alone, when `f` declines. Written out rather than with `fetch_update`, whose name newer
/// toolchains deprecate.
fn update_counter(counter: &AtomicU32, f: impl Fn(u32) -> Option<u32>) -> bool {
    let mut current = counter.load(Ordering::Relaxed);
    while let Some(next) = f(current) {
        match counter.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(seen) => current = seen,
        }
    }
    false
}

/// What the table says to do with a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Forward to this group of servers (an index into [`ServerTable::group`]).
    Group(usize),
    /// Never forward: answer NXDOMAIN unless local data has the name (`--local=/d/`,
    /// `--server=/d/`, `--address=/d/`).
    LocalOnly,
    /// No server is configured for this name.
    NoServers,
    /// Answer from `--address=/d/ADDR` data: see [`ServerTable::address_v4`] and
    /// [`ServerTable::address_v6`].
    Address(AddressAnswer),
}

/// Which `--address` records answer a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressAnswer {
    rules: u32,
    /// The kind of answer.
    pub kind: AddressKind,
}

/// The kind of an `--address` answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressKind {
    /// The domain's IPv4 addresses (A; also ANY when the domain has no IPv6 address).
    V4,
    /// The domain's IPv6 addresses (AAAA and ANY).
    V6,
    /// `--address=/d/#`: A 0.0.0.0 and/or AAAA `::`.
    Null,
}

/// A server rule attached to a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Group(usize),
    UseDefault,
}

/// Everything configured for one domain, in dnsmasq's order of precedence: IPv6 addresses,
/// IPv4 addresses, `#` null addresses, servers, local-only.
#[derive(Clone, Debug, Default)]
struct DomainRules {
    v6: Vec<Ipv6Addr>,
    v4: Vec<Ipv4Addr>,
    null: bool,
    server: Option<Rule>,
    local: bool,
}

/// RR types the address rules care about (RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 1035 §3.2.3).
const QTYPE_A: u16 = 1;
const QTYPE_AAAA: u16 = 28;
const QTYPE_ANY: u16 = 255;

/// An immutable snapshot of all upstream servers and domain rules.
#[derive(Debug, Default)]
pub struct ServerTable {
    servers: Vec<Server>,
    /// Groups of server indices; group 0 (if present) is the default servers.
    groups: Vec<Vec<usize>>,
    default_group: Option<usize>,
    /// Every domain's rules; the maps below index into it.
    rules: Vec<DomainRules>,
    /// Lowercase wire-form suffix (without the root label's terminating zero) to rules.
    suffixes: HashMap<Box<[u8]>, u32>,
    /// Rules for names with a single label (`--server=//ADDR`).
    unqualified: Option<u32>,
    /// Text-suffix rules (`/*foo/`), lowercase dotted, longest first.
    wildcards: Vec<(Box<[u8]>, u32)>,
    /// Rules for the root suffix (`--server=/#/ADDR` style rules).
    root: Option<u32>,
    /// Some rule answers locally (address or local-only).
    answers_locally: bool,
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
    /// Forward to this server through a chosen socket (`--server=/d/ADDR@SRC`).
    ForwardVia(SocketAddr, Egress),
    /// Never forward (`--local=/d/`).
    LocalOnly,
    /// Use the default servers (`--server=/d/#`).
    UseDefault,
    /// Answer A or AAAA with this address (`--address=/d/ADDR`).
    Address(IpAddr),
    /// Answer A with 0.0.0.0 and AAAA with `::` (`--address=/d/#`).
    NullAddress,
}

impl ServerTableBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn server_index(&mut self, addr: SocketAddr, egress: Egress) -> usize {
        if let Some(i) = self
            .table
            .servers
            .iter()
            .position(|s| s.addr == addr && s.egress == egress)
        {
            return i;
        }
        self.table.servers.push(Server::new(addr, egress));
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
        self.add_default_via(addr, Egress::Pool)
    }

    /// Adds a default server whose queries leave from a chosen socket.
    pub fn add_default_via(&mut self, addr: SocketAddr, egress: Egress) -> &mut Self {
        let s = self.server_index(addr, egress);
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
        let target = match action {
            DomainAction::Forward(addr) => Some((addr, Egress::Pool)),
            DomainAction::ForwardVia(addr, egress) => Some((addr, egress)),
            _ => None,
        };
        let server = match (action, target) {
            (_, Some((addr, egress))) => {
                let s = self.server_index(addr, egress);
                let g = self.group_for(key.clone());
                if !self.table.groups[g].contains(&s) {
                    self.table.groups[g].push(s);
                }
                Some(Rule::Group(g))
            }
            (DomainAction::UseDefault, _) => Some(Rule::UseDefault),
            _ => None,
        };
        let idx = match pattern {
            DomainPattern::Unqualified => self.slot(|t| &mut t.unqualified),
            DomainPattern::Suffix(s) if s.is_empty() => self.slot(|t| &mut t.root),
            DomainPattern::Suffix(_) => {
                let next = self.table.rules.len() as u32;
                let idx = *self
                    .table
                    .suffixes
                    .entry(key.into_boxed_slice())
                    .or_insert(next);
                if idx == next {
                    self.table.rules.push(DomainRules::default());
                }
                idx
            }
            DomainPattern::Wildcard(w) => {
                let text = w.trim_end_matches('.').to_ascii_lowercase().into_bytes();
                match self.table.wildcards.iter().find(|(t, _)| **t == *text) {
                    Some(&(_, i)) => i,
                    None => {
                        let i = self.table.rules.len() as u32;
                        self.table.rules.push(DomainRules::default());
                        self.table.wildcards.push((text.into_boxed_slice(), i));
                        self.table
                            .wildcards
                            .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
                        i
                    }
                }
            }
        };
        let r = &mut self.table.rules[idx as usize];
        match action {
            // A forwarding rule wins over `#` and over a local-only one for the same domain,
            // as dnsmasq: `local=/d/` then `server=/d/1.2.3.4` forwards.
            DomainAction::Forward(_) | DomainAction::ForwardVia(..) => r.server = server,
            DomainAction::UseDefault => {
                r.server.get_or_insert(Rule::UseDefault);
            }
            DomainAction::LocalOnly => r.local = true,
            DomainAction::Address(IpAddr::V4(a)) => {
                if !r.v4.contains(&a) {
                    r.v4.push(a);
                }
            }
            DomainAction::Address(IpAddr::V6(a)) => {
                if !r.v6.contains(&a) {
                    r.v6.push(a);
                }
            }
            DomainAction::NullAddress => r.null = true,
        }
        if matches!(
            action,
            DomainAction::LocalOnly | DomainAction::Address(_) | DomainAction::NullAddress
        ) {
            self.table.answers_locally = true;
        }
        self
    }

    /// The rules index in an optional slot, made on first use.
    fn slot(&mut self, f: impl Fn(&mut ServerTable) -> &mut Option<u32>) -> u32 {
        let next = self.table.rules.len() as u32;
        let idx = *f(&mut self.table).get_or_insert(next);
        if idx == next {
            self.table.rules.push(DomainRules::default());
        }
        idx
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
            Rule::UseDefault => self.default_route(),
        }
    }

    fn default_route(&self) -> Route {
        match self.default_group {
            Some(g) if !self.groups[g].is_empty() => Route::Group(g),
            _ => Route::NoServers,
        }
    }

    /// True when some rule answers locally (`--address`, `--local`), so the route must be
    /// looked up before the cache.
    pub fn answers_locally(&self) -> bool {
        self.answers_locally
    }

    /// The IPv4 addresses of an [`AddressKind::V4`] answer (empty otherwise).
    pub fn address_v4(&self, a: AddressAnswer) -> &[Ipv4Addr] {
        match a.kind {
            AddressKind::V4 => &self.rules[a.rules as usize].v4,
            _ => &[],
        }
    }

    /// The IPv6 addresses of an [`AddressKind::V6`] answer (empty otherwise).
    pub fn address_v6(&self, a: AddressAnswer) -> &[Ipv6Addr] {
        match a.kind {
            AddressKind::V6 => &self.rules[a.rules as usize].v6,
            _ => &[],
        }
    }

    /// True when the name is at or below a domain with `--address=/d/ADDR` or `--address=/d/#`
    /// data, whatever more specific rule routes it: dnsmasq 2.90 then turns an upstream NXDOMAIN
    /// for it into NOERROR (the NXDOMAIN form `--address=/d/` and `--local=/d/` do not count).
    /// `name_wire` is lowercase wire form. No allocation.
    pub fn under_address(&self, name_wire: &[u8]) -> bool {
        if !self.answers_locally {
            return false;
        }
        let has = |idx: u32| {
            let r = &self.rules[idx as usize];
            !r.v4.is_empty() || !r.v6.is_empty() || r.null
        };
        let name = match name_wire.split_last() {
            Some((0, rest)) => rest,
            _ => name_wire,
        };
        if self.root.is_some_and(has) {
            return true;
        }
        if let Some(idx) = self.unqualified
            && !name.is_empty()
            && usize::from(name[0]) + 1 == name.len()
            && has(idx)
        {
            return true;
        }
        let mut pos = 0usize;
        while pos < name.len() {
            if let Some(&idx) = self.suffixes.get(&name[pos..])
                && has(idx)
            {
                return true;
            }
            pos += 1 + usize::from(name[pos]);
        }
        if !self.wildcards.is_empty() {
            let mut text = [0u8; 256];
            let len = dotted(name, &mut text);
            return self
                .wildcards
                .iter()
                .any(|(w, idx)| text[..len].ends_with(w) && has(*idx));
        }
        false
    }

    /// What one domain's rules say for a question of type `qtype`, in dnsmasq's order: IPv6
    /// addresses (AAAA, ANY), IPv4 addresses (A, ANY), `#` (A, AAAA, ANY), servers,
    /// local-only; None when none applies (the next shorter domain is tried).
    fn filter(&self, idx: u32, qtype: u16) -> Option<Route> {
        let r = &self.rules[idx as usize];
        let v6 = matches!(qtype, QTYPE_AAAA | QTYPE_ANY);
        let v4 = matches!(qtype, QTYPE_A | QTYPE_ANY);
        let kind = if !r.v6.is_empty() && v6 {
            Some(AddressKind::V6)
        } else if !r.v4.is_empty() && v4 {
            Some(AddressKind::V4)
        } else if r.null && (v4 || v6) {
            Some(AddressKind::Null)
        } else {
            None
        };
        if let Some(kind) = kind {
            return Some(Route::Address(AddressAnswer { rules: idx, kind }));
        }
        if let Some(rule) = r.server {
            return Some(self.resolve(rule));
        }
        r.local.then_some(Route::LocalOnly)
    }

    /// Chooses the route for a lowercase wire-form name (with its terminating zero byte), for
    /// forwarding only (address rules are ignored): [`ServerTable::route_for`] with no type.
    pub fn route(&self, name_wire: &[u8]) -> Route {
        self.route_for(name_wire, 0)
    }

    /// Chooses the route for a question: lowercase wire-form name (with its terminating zero
    /// byte) and type.
    ///
    /// The longest matching domain whose rules apply to `qtype` wins, label by label, as
    /// dnsmasq's `--server=/domain/` and `--address=/domain/` (a domain with only IPv4
    /// addresses does not answer AAAA, so a shorter domain's rules decide).
    pub fn route_for(&self, name_wire: &[u8], qtype: u16) -> Route {
        // Strip the root label.
        let name = match name_wire.split_last() {
            Some((0, rest)) => rest,
            _ => name_wire,
        };
        let fallback = || {
            self.root
                .and_then(|r| self.filter(r, qtype))
                .unwrap_or_else(|| self.default_route())
        };
        if name.is_empty() {
            return fallback();
        }
        if let Some(idx) = self.unqualified {
            let first = name[0] as usize;
            if first + 1 == name.len()
                && let Some(r) = self.filter(idx, qtype)
            {
                return r;
            }
        }
        // The most specific (longest) matching rule wins, label-wise suffixes and text
        // wildcards alike.
        let mut best: Option<(usize, Route)> = None;
        if !self.suffixes.is_empty() {
            let mut pos = 0usize;
            while pos < name.len() {
                if let Some(&idx) = self.suffixes.get(&name[pos..])
                    && let Some(r) = self.filter(idx, qtype)
                {
                    best = Some((name.len() - pos - 1, r));
                    break;
                }
                pos += 1 + name[pos] as usize;
            }
        }
        if !self.wildcards.is_empty() {
            let mut text = [0u8; 256];
            let len = dotted(name, &mut text);
            let text = &text[..len];
            for (w, idx) in &self.wildcards {
                if text.ends_with(w)
                    && best.is_none_or(|(l, _)| w.len() > l)
                    && let Some(r) = self.filter(*idx, qtype)
                {
                    best = Some((w.len(), r));
                    break;
                }
            }
        }
        match best {
            Some((_, r)) => r,
            None => fallback(),
        }
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
mod tests;
