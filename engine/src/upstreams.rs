//! Builds the proto server table from the configuration and the resolv-files.

use ringmasq_config::{Config, DomainMatch, ServerAction, parse_resolv_conf};
use ringmasq_proto::dns::servers::{DomainAction, DomainPattern, ServerTable, ServerTableBuilder};
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

/// Builds the server table: domain rules and servers from the configuration, then the
/// resolv-file's nameservers as default servers.
pub fn build_table(cfg: &Config, resolv: &ResolvState, own_listen: &[SocketAddr]) -> ServerTable {
    let mut b = ServerTableBuilder::new();
    for rule in &cfg.servers {
        if rule.domains.is_empty() {
            if let ServerAction::Forward(up) = &rule.action {
                b.add_default(up.addr);
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
                ServerAction::Forward(up) => DomainAction::Forward(up.addr),
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
