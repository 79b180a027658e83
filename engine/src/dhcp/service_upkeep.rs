//! The DHCP thread's housekeeping between turns: lease names published for DNS, SIGHUP
//! reloads of the hosts and options files, and the once-a-second tick (clock steps, expiry,
//! script neighbour polling, interface refresh, compaction requests, drop counters).

use super::*;

/// At most this often are lease names republished during a burst of lease changes.
pub(super) const NAMES_INTERVAL: Duration = Duration::from_millis(100);

/// `(address, name)` of every lease that has a name, by address (IPv4 first).
fn named(
    v4: Vec<(Ipv4Addr, String)>,
    v6: Option<&V6>,
    ra: Option<&RaNames>,
) -> Vec<(IpAddr, String)> {
    let mut v: Vec<(IpAddr, String)> = v4.into_iter().map(|(a, n)| (IpAddr::V4(a), n)).collect();
    if let Some(v6) = v6 {
        v.extend(v6.names().into_iter().map(|(a, n)| (IpAddr::V6(a), n)));
    }
    if let Some(ra) = ra {
        v.extend(ra.names().into_iter().map(|(a, n)| (IpAddr::V6(a), n)));
    }
    v
}

impl DhcpService {
    /// Publishes the names of the live leases for DNS when they changed (RFC 2131 leases
    /// named by option 12 or their `dhcp-host`).
    pub(super) fn publish_names(&mut self) {
        self.names_dirty = false;
        self.names_at = StdInstant::now();
        let now = named(
            self.server.allocator().named(self.wall()),
            self.v6.as_ref(),
            self.ra_names.as_ref(),
        );
        if now == self.published {
            return;
        }
        let table = DhcpNames::build_with(
            now.iter().map(|(a, n)| (*a, n.as_str())),
            self.domain.as_deref(),
            self.dns_ttl,
            self.cfg.dhcp.fqdn,
        );
        self.names
            .store((!table.is_empty()).then(|| Arc::new(table)));
        self.published = now;
    }

    /// SIGHUP: re-reads the hosts and options files and recompiles the server around the same
    /// allocator (every lease kept). A configuration that no longer compiles keeps the old one.
    /// The script hears `old` for every lease, as with dnsmasq.
    pub(super) fn reload(&mut self) {
        self.files = super::super::files::DhcpFiles::load(&self.cfg);
        self.rebuild();
        let wall = self.wall();
        if let Some(s) = &mut self.script {
            let mut events = Vec::new();
            s.leases.all_old(&mut events);
            s.runner.submit(&events, wall);
            if let Some(v6) = &mut self.v6 {
                v6.all_old();
            }
        }
        self.submit_v6_events();
    }

    /// Recompiles the server from the configuration and the files' entries, around the same
    /// allocator (every lease kept). A configuration that no longer compiles keeps the old one.
    pub(super) fn rebuild(&mut self) {
        let pcfg = super::super::settings::dhcp_config_with(
            &self.cfg,
            &self.files.hosts(),
            &self.files.options(),
        );
        match Server::with_allocator(pcfg, Arc::clone(self.server.allocator())) {
            Ok(mut server) => {
                server.stats = std::mem::take(&mut self.server.stats);
                server.dns_self = self.server.dns_self;
                self.server = server;
                // Names given by dhcp-host lines apply from the next exchange.
                self.names_dirty = true;
            }
            Err(e) => tracing::error!("DHCP configuration after reload: {e}; keeping the old one"),
        }
    }

    /// Once a second: a step of the system clock (more than [`lease_clock::STEP_SECS`]) moves
    /// every lease by it, so each keeps its remaining time, and rewrites the lease file.
    fn follow_clock(&mut self) {
        let Some(step) = self.clock.check(system_wall(), crate::clock::boottime()) else {
            return;
        };
        let moved =
            self.server.allocator().shift(step) + self.v6.as_mut().map_or(0, |v| v.shift(step));
        tracing::warn!(
            "system clock stepped by {step} s; {moved} DHCP lease(s) keep their remaining time"
        );
        self.names_dirty = true;
        self.request_compaction();
    }

    pub(super) fn tick(&mut self, logged_drops: u64) -> u64 {
        self.follow_clock();
        let wall = self.wall();
        if self.server.allocator().expire(wall) > 0 {
            self.names_dirty = true;
        }
        if let Some(s) = &mut self.script {
            let mut events = Vec::new();
            s.leases.expire(wall, &mut events);
            s.runner.submit(&events, wall);
            s.poll_neighbours();
        }
        self.ifaces = interfaces();
        if let Some(r) = &mut self.ra_names {
            // A lease, its name or the advertised prefix that went takes its AAAA with it.
            self.names_dirty |= r.sync(&self.server.allocator().snapshot(wall));
        }
        if let Some(v6) = &mut self.v6 {
            if v6.expire(wall) {
                self.names_dirty = true;
            }
            // New interfaces and prefixes (constructor: ranges) are served from here on.
            v6.refresh();
        }
        self.submit_v6_events();
        if self
            .writer
            .as_ref()
            .is_some_and(JournalWriter::wants_compaction)
        {
            self.request_compaction();
        }
        let refused = self.held.refused() + self.in_flight.dropped;
        if refused != self.logged_refused {
            self.logged_refused = refused;
            tracing::error!(
                "DHCP: {refused} ACK(s) dropped so far: the lease journal is too far behind"
            );
        }
        let drops = self.server.stats.total_drops() + self.v6.as_ref().map_or(0, V6::drops);
        if drops != logged_drops {
            tracing::info!("DHCP: {drops} malformed or unusable packet(s) dropped so far");
        }
        drops
    }
}
