//! Builds the proto server table from the configuration and the resolv-files.

use ringmasq_config::{Config, DomainMatch, ServerAction, Upstream, parse_resolv_conf};
use ringmasq_proto::dns::servers::{
    DomainAction, DomainPattern, Egress, ServerTable, ServerTableBuilder,
};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The resolv-file currently in use and what it said.
#[derive(Clone, Debug, Default)]
pub struct ResolvState {
    /// The file the servers came from (the newest of several).
    pub path: Option<PathBuf>,
    /// Its modification time and inode when read.
    pub stamp: Option<(SystemTime, u64)>,
    /// The nameservers it listed.
    pub servers: Vec<SocketAddr>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.ino()))
}

/// Reads the resolv-files as dnsmasq does: with several, the most recently modified one wins; a
/// missing file is not an error (it may appear later).
pub fn read_resolv(cfg: &Config) -> ResolvState {
    if cfg.no_resolv {
        return ResolvState::default();
    }
    let newest = cfg
        .resolv_files
        .iter()
        .filter_map(|p| stamp(p).map(|s| (p.clone(), s)))
        .max_by_key(|(_, s)| s.0);
    let Some((path, st)) = newest else {
        return ResolvState::default();
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    ResolvState {
        path: Some(path),
        stamp: Some(st),
        servers: parse_resolv_conf(&text),
    }
}

/// True when a resolv-file changed since `state` was read.
pub fn resolv_changed(cfg: &Config, state: &ResolvState) -> bool {
    if cfg.no_resolv {
        return false;
    }
    let newest = cfg
        .resolv_files
        .iter()
        .filter_map(|p| stamp(p).map(|s| (p.clone(), s)))
        .max_by_key(|(_, s)| s.0);
    match (newest, &state.path) {
        (None, None) => false,
        (Some((p, s)), Some(old)) => &p != old || Some(s) != state.stamp,
        _ => true,
    }
}

/// Where the queries of a `--server=ADDR@SRC` or `--server=ADDR@IF` server leave from. Each
/// worker binds one socket per distinct binding at start.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SourceBinding {
    /// The server's address family.
    pub v6: bool,
    /// Source address and port (`@192.168.1.1#5000`; port 0 = any).
    pub source: Option<SocketAddr>,
    /// Interface to send through (`@eth0`).
    pub interface: Option<String>,
}

impl SourceBinding {
    /// The binding a server asks for, if any.
    pub fn of(up: &Upstream) -> Option<Self> {
        (up.source.is_some() || up.interface.is_some()).then(|| Self {
            v6: up.addr.is_ipv6(),
            source: up.source,
            interface: up.interface.clone(),
        })
    }

    /// True when every worker binds the same port, so answers must be steered by query ID.
    pub fn shared_port(&self) -> bool {
        self.source.is_some_and(|s| s.port() != 0)
    }
}

impl std::fmt::Display for SourceBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.source, &self.interface) {
            (Some(s), Some(i)) => write!(f, "{s} on {i}"),
            (Some(s), None) => write!(f, "{s}"),
            (None, Some(i)) => write!(f, "interface {i}"),
            (None, None) => write!(f, "any"),
        }
    }
}

/// Every distinct source binding the configured servers ask for, in order of first use.
pub fn source_bindings(cfg: &Config) -> Vec<SourceBinding> {
    let mut out: Vec<SourceBinding> = Vec::new();
    for rule in &cfg.servers {
        if let ServerAction::Forward(up) = &rule.action
            && let Some(b) = SourceBinding::of(up)
            && !out.contains(&b)
        {
            out.push(b);
        }
    }
    out
}

/// The socket a server's queries leave from, given the bindings made at start; None when the
/// server needs a binding that was not made (a servers-file line added after start).
fn egress_of(up: &Upstream, bindings: &[SourceBinding]) -> Option<Egress> {
    let Some(b) = SourceBinding::of(up) else {
        return Some(Egress::Pool);
    };
    let k = bindings.iter().position(|x| *x == b)?;
    Some(Egress::Bound {
        socket: k as u16,
        shared_port: b.shared_port(),
    })
}

/// Builds the server table: domain rules and servers from the configuration, then the
/// resolv-file's nameservers as default servers. `bindings` are the source bindings the
/// workers opened sockets for at start.
pub fn build_table(
    cfg: &Config,
    resolv: &ResolvState,
    own_listen: &[SocketAddr],
    bindings: &[SourceBinding],
) -> ServerTable {
    let mut b = ServerTableBuilder::new();
    let egress = |up: &Upstream| {
        let e = egress_of(up, bindings);
        if e.is_none() {
            tracing::error!(
                "server {}: its source address or interface was not in the configuration at \
                 start; restart ringmasq to use it",
                up.addr
            );
        }
        e
    };
    for rule in &cfg.servers {
        if rule.domains.is_empty() {
            if let ServerAction::Forward(up) = &rule.action
                && let Some(e) = egress(up)
            {
                b.add_default_via(up.addr, e);
            }
            continue;
        }
        for d in &rule.domains {
            let pattern = match d {
                DomainMatch::Suffix(s) => DomainPattern::Suffix(s.clone()),
                DomainMatch::Wildcard(w) => DomainPattern::Wildcard(w.clone()),
                DomainMatch::Unqualified => DomainPattern::Unqualified,
            };
            let action = match &rule.action {
                ServerAction::Forward(up) => match egress(up) {
                    Some(e) => DomainAction::ForwardVia(up.addr, e),
                    None => continue,
                },
                ServerAction::LocalOnly => DomainAction::LocalOnly,
                ServerAction::UseDefault => DomainAction::UseDefault,
                ServerAction::Address(a) => DomainAction::Address(*a),
                ServerAction::NullAddress => DomainAction::NullAddress,
            };
            b.add_domain(&pattern, action);
        }
    }
    for s in &resolv.servers {
        // dnsmasq ignores a nameserver that is one of our own listening addresses (a loop).
        if own_listen.iter().any(|l| l == s) {
            continue;
        }
        b.add_default(*s);
    }
    b.build()
}
