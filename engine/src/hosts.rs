//! Loads hosts files (`/etc/hosts` unless `-h`, and `-H/--addn-hosts`) for the workers.

use ringmasq_config::Config;
use ringmasq_proto::dns::hosts::HostsTable;
use std::path::Path;
use std::sync::Arc;

/// The system hosts file dnsmasq reads by default.
pub const SYSTEM_HOSTS: &str = "/etc/hosts";

/// Reads every configured hosts file; bad lines and unreadable files are logged and skipped,
/// the good lines kept. None when no hosts file is configured.
pub fn load(cfg: &Config) -> Option<Arc<HostsTable>> {
    if cfg.no_hosts && cfg.addn_hosts.is_empty() {
        return None;
    }
    let mut table = HostsTable::new();
    let mut paths: Vec<&Path> = Vec::new();
    if !cfg.no_hosts {
        paths.push(Path::new(SYSTEM_HOSTS));
    }
    paths.extend(cfg.addn_hosts.iter().map(|p| p.as_path()));
    for path in paths {
        let before = table.len();
        match table.load_path(path) {
            Ok(errors) => {
                for e in errors {
                    tracing::error!("{e}");
                }
                tracing::info!(
                    "read {} - {} names",
                    path.display(),
                    table.len().saturating_sub(before)
                );
            }
            Err(e) => tracing::error!("failed to load names from {}: {e}", path.display()),
        }
    }
    Some(Arc::new(table))
}
