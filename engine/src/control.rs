//! The control thread: signals, resolv-file polling, `--hostsdir` changes (inotify), statistics.
//!
//! Runs on a tokio current-thread runtime. tokio-uring was the brief's first choice for this
//! thread; it is unmaintained (last release 2024, io-uring 0.6, no multishot) and nothing here
//! is I/O-bound, so plain tokio is used (see README, "Design notes").

use crate::snapshot::Snapshot;
use crate::upstreams::{ResolvState, build_table, read_resolv, resolv_changed};
use anyhow::Result;
use ringmasq_config::Config;
use ringmasq_proto::dns::cache::DnsCache;
use ringmasq_proto::dns::hosts::HostsTable;
use ringmasq_proto::dns::local::LocalData;
use ringmasq_proto::dns::servers::ServerTable;
use ringmasq_proto::dns::stats::{Counter, DropReason, StatsRegistry};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// What the control thread owns.
pub struct ControlState {
    /// The configuration.
    pub cfg: Config,
    /// The shared cache.
    pub cache: Option<Arc<DnsCache>>,
    /// Every worker's counters.
    pub registry: Arc<StatsRegistry>,
    /// The published server table.
    pub servers: Arc<Snapshot<Arc<ServerTable>>>,
    /// The published hosts-file data.
    pub hosts: Arc<Snapshot<Option<Arc<HostsTable>>>>,
    /// The published local records.
    pub local: Arc<Snapshot<Option<Arc<LocalData>>>>,
    /// The resolv-file as last read.
    pub resolv: ResolvState,
    /// Our listening addresses (never used as upstreams).
    pub listen: Vec<SocketAddr>,
    /// Source bindings the workers opened sockets for at start.
    pub bindings: Vec<crate::upstreams::SourceBinding>,
    /// Listeners that follow the interfaces (`--bind-dynamic`), if they do.
    pub dynamic: Option<crate::listeners::DynamicListeners>,
    /// The subnets `--domain=NAME,INTERFACE` stood for when the hosts data was last built.
    pub domain_subnets: Vec<(String, std::net::IpAddr, std::net::IpAddr)>,
}

impl ControlState {
    fn publish_servers(&mut self) {
        let table = build_table(&self.cfg, &self.resolv, &self.listen, &self.bindings);
        for s in table.servers() {
            tracing::info!("using nameserver {}#{}", s.addr.ip(), s.addr.port());
        }
        self.servers.store(Arc::new(table));
    }

    /// Opens and closes listeners as addresses come and go (`--bind-dynamic`).
    fn follow_addresses(&mut self) {
        if let Some(d) = &self.dynamic
            && d.update(&self.cfg, &mut self.listen)
        {
            // Our own addresses are never used as upstreams.
            self.publish_servers();
        }
    }

    fn poll_resolv(&mut self) {
        if resolv_changed(&self.cfg, &self.resolv) {
            self.resolv = read_resolv(&self.cfg);
            if let Some(p) = &self.resolv.path {
                tracing::info!("reading {}", p.display());
            }
            if self.cfg.clear_on_reload
                && let Some(c) = &self.cache
            {
                c.clear();
                tracing::info!("cleared cache");
            }
            self.publish_servers();
        }
    }

    /// Empties the cache (the workers' DNSSEC key stores follow: they watch its generation).
    fn clear_cache(&self) {
        if let Some(c) = &self.cache {
            c.clear();
        }
        tracing::info!("cleared cache");
    }

    /// SIGHUP: clear the cache and re-read what dnsmasq re-reads (the servers-files always,
    /// the resolv-file when it is not polled). A file that fails to parse keeps its old rules.
    fn reload(&mut self) {
        crate::dhcp::request_reload();
        self.clear_cache();
        self.reload_hosts();
        let mut changed = false;
        if !self.cfg.servers_files.is_empty() {
            changed |= self.reload_servers_files();
        }
        if self.cfg.no_poll {
            self.resolv = read_resolv(&self.cfg);
            changed = true;
        }
        if changed {
            self.publish_servers();
        }
    }

    /// Re-reads the hosts files (SIGHUP, a `--hostsdir` change); the old table serves until the
    /// new one is ready. Local records follow: their CNAME chains may end in hosts-file names.
    fn reload_hosts(&mut self) {
        self.domain_subnets = crate::hosts::interface_domain_ranges(&self.cfg);
        let hosts = crate::hosts::load(&self.cfg);
        self.local
            .store(crate::hosts::load_local(&self.cfg, hosts.as_deref()));
        self.hosts.store(hosts);
    }

    /// Re-reads every `--servers-file`, replacing the rules that came from it.
    fn reload_servers_files(&mut self) -> bool {
        let mut changed = false;
        for path in self.cfg.servers_files.clone() {
            match ringmasq_config::load_servers_file(&path) {
                Ok(rules) => {
                    tracing::info!("read {}", path.display());
                    self.cfg.servers.retain(|r| {
                        !matches!(&r.origin, ringmasq_config::Origin::File { path: p, .. } if *p == path)
                    });
                    self.cfg.servers.extend(rules);
                    changed = true;
                }
                Err(errors) => {
                    for e in errors.errors() {
                        tracing::error!("{e}; keeping the previous servers of {}", path.display());
                    }
                }
            }
        }
        changed
    }

    /// SIGUSR1: statistics to the log, in dnsmasq's words.
    pub fn log_stats(&self) {
        if let Some(t) = crate::tftp::STATS.get() {
            tracing::info!("{}", t.line());
        }
        let r = &self.registry;
        if let Some(c) = &self.cache {
            let s = c.stats();
            tracing::info!(
                "cache size {}, {}/{} cache insertions re-used unexpired cache entries.",
                s.capacity,
                s.evictions,
                s.insertions
            );
            tracing::info!("cache hits {}, cache misses {}", s.hits, s.misses);
        } else {
            tracing::info!("cache size 0, 0/0 cache insertions re-used unexpired cache entries.");
        }
        tracing::info!(
            "queries forwarded {}, queries answered locally {}",
            r.total(Counter::Forwarded),
            r.total(Counter::CacheAnswers) + r.total(Counter::LocalAnswers)
        );
        for s in self.servers.load().servers() {
            tracing::info!(
                "server {}#{}: queries sent {}, retried or failed {}",
                s.addr.ip(),
                s.addr.port(),
                s.queries_sent.load(Ordering::Relaxed),
                s.queries_failed.load(Ordering::Relaxed)
            );
        }
        let counters: Vec<String> = Counter::ALL
            .iter()
            .map(|c| format!("{} {}", c.name(), r.total(*c)))
            .collect();
        tracing::info!("counters: {}", counters.join(", "));
        let drops: Vec<String> = DropReason::ALL
            .iter()
            .map(|d| format!("{} {}", d.name(), r.drops(*d)))
            .collect();
        tracing::info!("dropped: {}", drops.join(", "));
        let lost = crate::logging::dropped_lines();
        if lost > 0 {
            tracing::info!("log lines lost (--log-async queue full): {lost}");
        }
    }
}

/// Runs until SIGTERM or SIGINT.
pub fn run(mut state: ControlState) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut hup = signal(SignalKind::hangup())?;
        let mut usr1 = signal(SignalKind::user_defined1())?;
        let mut usr2 = signal(SignalKind::user_defined2())?;
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        // Handlers are in place: signals that came during startup are delivered now.
        crate::signals::unblock_control_signals();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut hostsdir = crate::hostsdir::HostsDirWatch::new("--hostsdir", &state.cfg.hostsdir);
        let dhcp_dirs: Vec<_> = (state.cfg.dhcp.hosts_dirs.iter())
            .chain(&state.cfg.dhcp.opts_dirs)
            .cloned()
            .collect();
        let mut dhcp_dirs =
            crate::hostsdir::HostsDirWatch::new("--dhcp-hostsdir/--dhcp-optsdir", &dhcp_dirs);
        if dhcp_dirs.is_some() {
            // Files written between the DHCP thread's first read and the watch are read now.
            crate::dhcp::request_dir_read();
        }
        let ra = crate::ra::start(&state.cfg).await?;
        let mut links = match &state.dynamic {
            Some(_) => match crate::netlink::start().await {
                Ok(t) => Some(t.changed),
                Err(e) => {
                    tracing::warn!(
                        "interface tracking unavailable, checking addresses every second: {e:#}"
                    );
                    None
                }
            },
            None => None,
        };
        loop {
            tokio::select! {
                _ = hup.recv() => state.reload(),
                _ = async {
                    match links.as_mut() {
                        Some(rx) => {
                            if rx.changed().await.is_err() {
                                std::future::pending::<()>().await;
                            }
                        }
                        None => std::future::pending::<()>().await,
                    }
                } => state.follow_addresses(),
                _ = crate::hostsdir::next_change(&mut hostsdir) => state.reload_hosts(),
                _ = crate::hostsdir::next_change(&mut dhcp_dirs) => crate::dhcp::request_dir_read(),
                _ = usr1.recv() => {
                    state.log_stats();
                    if let Some(c) = &ra {
                        tracing::info!("{}", c.summary());
                    }
                }
                _ = usr2.recv() => crate::logging::reopen(),
                _ = term.recv() => { tracing::info!("exiting on receipt of SIGTERM"); break; }
                _ = int.recv() => {
                    // --dnssec-no-timecheck: SIGINT turns the time checks on instead (dnsmasq).
                    if crate::dnssec::enable_timecheck() {
                        state.clear_cache();
                        continue;
                    }
                    tracing::info!("exiting on receipt of SIGINT");
                    break;
                }
                _ = tick.tick() => {
                    state.follow_addresses();
                    if crate::dnssec::poll_timestamp() {
                        state.clear_cache();
                    }
                    // dnsmasq checks the resolv-file about once a second unless --no-poll.
                    if !state.cfg.no_poll {
                        state.poll_resolv();
                    }
                    // `--domain=NAME,INTERFACE` follows the interface's addresses.
                    if state.cfg.expand_hosts
                        && crate::hosts::interface_domain_ranges(&state.cfg) != state.domain_subnets
                    {
                        tracing::info!("interface addresses changed; re-reading hosts data");
                        state.reload_hosts();
                    }
                }
            }
        }
        Ok::<(), anyhow::Error>(())
    })
}
