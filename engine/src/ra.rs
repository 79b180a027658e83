//! Router advertisements from the control thread: `--enable-ra` and the IPv6 `--dhcp-range`s
//! mapped onto [`ringmasq_proto::ra`], a raw ICMPv6 socket, one [`Schedule`] per advertising
//! interface, and the interface snapshot from [`crate::netlink`] (an interface or prefix that
//! appears starts a fresh burst of advertisements, without a restart).

use std::collections::HashMap;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use rand::Rng;
use ringmasq_config::Config;
use ringmasq_config::dhcp::LeaseLength;
use ringmasq_config::ipv6::{Dhcp6Option, RaMtu, RouterPreference};
use ringmasq_proto::iface::{INFINITE, Interface};
use ringmasq_proto::ra::message::ROUTER_SOLICITATION;
use ringmasq_proto::ra::{
    Advert, MtuChoice, Preference, RaConfig, RaParams, RaRange, RangeFlags, Schedule, Solicitation,
    advert_for,
};
use ringmasq_proto::time::Instant;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::icmp6::Icmp6Socket;
use crate::netlink::Tracker;

/// All-nodes multicast (RFC 4291 2.7.1): where advertisements go.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// All-routers multicast: where solicitations come.
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Router advertisement counters (logged on SIGUSR1).
#[derive(Debug, Default)]
pub struct RaCounters {
    /// Advertisements sent.
    pub sent: AtomicU64,
    /// Advertisements that failed to send.
    pub send_errors: AtomicU64,
    /// Solicitations taken.
    pub solicitations: AtomicU64,
    /// Solicitations dropped as malformed.
    pub dropped_malformed: AtomicU64,
    /// Solicitations dropped for a hop limit other than 255 (RFC 4861 6.1.1).
    pub dropped_hop_limit: AtomicU64,
    /// Solicitations dropped because no advertisement is made on their interface.
    pub dropped_no_advert: AtomicU64,
}

impl RaCounters {
    /// One line for the statistics log.
    pub fn summary(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "router advertisements sent {}, send errors {}, solicitations {}, dropped: malformed {}, hop limit {}, no advertisement {}",
            g(&self.sent),
            g(&self.send_errors),
            g(&self.solicitations),
            g(&self.dropped_malformed),
            g(&self.dropped_hop_limit),
            g(&self.dropped_no_advert)
        )
    }
}

fn lease_secs(l: LeaseLength) -> u32 {
    match l {
        LeaseLength::Secs(s) => s,
        LeaseLength::Infinite => INFINITE,
    }
}

/// The protocol core's view of the IPv6 ranges and DNS settings in `cfg`.
pub fn ra_config(cfg: &Config) -> RaConfig {
    let ranges = cfg
        .ipv6
        .ranges
        .iter()
        .map(|r| {
            let m = r.modes;
            let slaac = m.ra_only || m.slaac || m.ra_names || m.ra_stateless;
            RaRange {
                start: r.start,
                constructor: r.constructor.clone(),
                prefix_len: r.prefix_len,
                flags: RangeFlags {
                    slaac,
                    managed: r.stateful(),
                    other: r.stateless_dhcp(),
                    advrouter: m.ra_advrouter,
                    off_link: m.off_link,
                    deprecated: r.deprecated,
                },
                lease_secs: lease_secs(r.lease),
            }
        })
        .collect();
    // dnsmasq takes RDNSS and DNSSL from the DHCPv6 dns-server and domain-search options;
    // an RA goes to every host on the link, so only untagged ones count.
    let mut dns_servers = Vec::new();
    let mut domains = Vec::new();
    for o in cfg.ipv6.options.iter().filter(|o| o.tags.is_empty()) {
        match &o.option {
            Dhcp6Option::DnsServer(a) => dns_servers.extend(a.iter().copied()),
            Dhcp6Option::DomainSearch(d) => domains.extend(d.iter().cloned()),
            Dhcp6Option::Raw { .. } => {}
        }
    }
    if domains.is_empty() {
        domains.extend(cfg.domain.iter().cloned());
    }
    RaConfig {
        ranges,
        dns_servers,
        domains,
        dns_enabled: cfg.port != 0,
    }
}

/// The `--ra-param` in force on `iface` (MTU taken from another interface where named).
pub fn ra_params(cfg: &Config, iface: &Interface, all: &[Interface]) -> RaParams {
    let Some(p) = cfg.ipv6.ra_param(&iface.name) else {
        return RaParams::default();
    };
    RaParams {
        interval_secs: p.interval,
        router_lifetime: p.router_lifetime(),
        preference: match p.preference {
            RouterPreference::High => Preference::High,
            RouterPreference::Medium => Preference::Medium,
            RouterPreference::Low => Preference::Low,
        },
        mtu: match &p.mtu {
            RaMtu::Interface => MtuChoice::Own,
            RaMtu::Value(v) => MtuChoice::Value(*v),
            RaMtu::Off => MtuChoice::Off,
            RaMtu::Of(name) => all
                .iter()
                .find(|i| &i.name == name)
                .map_or(MtuChoice::Own, |i| MtuChoice::Value(i.mtu)),
        },
    }
}

/// Starts interface tracking and router advertisements on the current tokio runtime when the
/// configuration asks for them; the counters, for the statistics log.
pub async fn start(cfg: &Config) -> Result<Option<Arc<RaCounters>>> {
    if !cfg.ipv6.ra_enabled() {
        return Ok(None);
    }
    let tracker = crate::netlink::start().await?;
    let counters = Arc::new(RaCounters::default());
    let service = RaService::new(cfg, tracker, Arc::clone(&counters))?;
    tokio::spawn(service.run());
    Ok(Some(counters))
}

struct Advertising {
    name: String,
    advert: Advert,
    bytes: Vec<u8>,
    schedule: Schedule,
}

/// The router advertisement service.
pub struct RaService {
    cfg: Config,
    core: RaConfig,
    socket: AsyncFd<Icmp6Socket>,
    tracker: Tracker,
    counters: Arc<RaCounters>,
    interfaces: HashMap<u32, Advertising>,
    epoch: std::time::Instant,
}

impl RaService {
    /// Opens the ICMPv6 socket (needs CAP_NET_RAW) on the current tokio runtime.
    pub fn new(cfg: &Config, tracker: Tracker, counters: Arc<RaCounters>) -> Result<RaService> {
        let socket = Icmp6Socket::open(ROUTER_SOLICITATION)
            .context("opening the ICMPv6 socket for router advertisements")?;
        Ok(RaService {
            cfg: cfg.clone(),
            core: ra_config(cfg),
            // SAFETY: `Icmp6Socket` owns its descriptor and closes it only when dropped; the
            // `AsyncFd` owns the socket, so the descriptor stays open and the same for its life.
            socket: unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }?,
            tracker,
            counters,
            interfaces: HashMap::new(),
            epoch: std::time::Instant::now(),
        })
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// Recomputes every interface's advertisement from the current snapshot: a new interface
    /// or a changed advertisement starts a fresh burst (RFC 4861 6.2.4).
    fn refresh(&mut self) {
        let now = self.now();
        let all = self.tracker.current.load_full();
        let mut seen = Vec::new();
        // As dnsmasq: no advertisements where -i/-I or --no-dhcp(v6)-interface rule out DHCPv6.
        let served = ringmasq_proto::dhcp::InterfaceFilter {
            only: self.cfg.interfaces.clone(),
            except: self.cfg.except_interfaces.clone(),
            no_dhcp: self.cfg.dhcp.no_dhcp6_interfaces.clone(),
        };
        for i in all
            .iter()
            .filter(|i| i.up && !i.loopback && served.serves(&i.name))
        {
            let params = ra_params(&self.cfg, i, &all);
            let Some(advert) = advert_for(&self.core, &params, i) else {
                continue;
            };
            seen.push(i.index);
            match self.interfaces.get_mut(&i.index) {
                Some(a) if a.advert == advert => {}
                Some(a) => {
                    if !self.cfg.ipv6.quiet_ra {
                        tracing::info!("router advertisement on {} changed", i.name);
                    }
                    a.bytes = advert.encode();
                    a.advert = advert;
                    a.schedule.restart(now);
                }
                None => {
                    if let Err(e) = self.socket.get_ref().join(ALL_ROUTERS, i.index) {
                        tracing::warn!("joining ff02::2 on {}: {e}", i.name);
                    }
                    let prefixes: Vec<String> = advert
                        .prefixes
                        .iter()
                        .map(|p| format!("{}/{}", p.prefix, p.len))
                        .collect();
                    if !self.cfg.ipv6.quiet_ra {
                        tracing::info!(
                            "router advertisement on {}: {}",
                            i.name,
                            prefixes.join(", ")
                        );
                    }
                    self.interfaces.insert(
                        i.index,
                        Advertising {
                            name: i.name.clone(),
                            bytes: advert.encode(),
                            advert,
                            schedule: Schedule::new(now, params.interval_secs),
                        },
                    );
                }
            }
        }
        let quiet = self.cfg.ipv6.quiet_ra;
        self.interfaces.retain(|index, a| {
            let keep = seen.contains(index);
            if !keep && !quiet {
                tracing::info!("router advertisements on {} stopped", a.name);
            }
            keep
        });
    }

    fn send_due(&mut self) {
        let now = self.now();
        for (index, a) in &mut self.interfaces {
            if !a.schedule.is_due(now) {
                continue;
            }
            let dst = SocketAddrV6::new(ALL_NODES, 0, 0, *index);
            match self.socket.get_ref().send_to(&a.bytes, dst) {
                Ok(()) => {
                    self.counters.sent.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("router advertisement sent on {}", a.name);
                }
                Err(e) => {
                    self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("router advertisement on {}: {e}", a.name);
                }
            }
            a.schedule.sent(now, rand::rng().random());
        }
    }

    fn receive(&mut self) {
        let mut buf = [0u8; 1500];
        loop {
            let r = match self.socket.get_ref().recv(&mut buf) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!("ICMPv6 receive: {e}");
                    return;
                }
            };
            // RFC 4861 6.1.1: a solicitation not sent with hop limit 255 came from off-link.
            if r.hop_limit != 255 {
                self.counters
                    .dropped_hop_limit
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Ok(s) = Solicitation::decode(&buf[..r.len]) else {
                self.counters
                    .dropped_malformed
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            };
            // RFC 4861 6.1.1: from the unspecified address, no link-layer address option.
            if r.src.is_unspecified() && s.source_lla.is_some() {
                self.counters
                    .dropped_malformed
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let now = self.now();
            match self.interfaces.get_mut(&r.ifindex) {
                Some(a) => {
                    self.counters.solicitations.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!("router solicitation from {} on {}", r.src, a.name);
                    a.schedule.solicited(now, rand::rng().random());
                }
                None => {
                    self.counters
                        .dropped_no_advert
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Runs until the runtime stops.
    pub async fn run(mut self) {
        self.refresh();
        loop {
            let next = self
                .interfaces
                .values()
                .map(|a| a.schedule.due())
                .min()
                .map(|d| d.as_millis().saturating_sub(self.now().as_millis()));
            let sleep =
                tokio::time::sleep(std::time::Duration::from_millis(next.unwrap_or(3_600_000)));
            tokio::select! {
                r = self.tracker.changed.changed() => {
                    if r.is_err() {
                        tracing::warn!("interface tracking ended; router advertisements keep the last interfaces");
                        std::future::pending::<()>().await;
                    }
                    self.refresh();
                }
                g = self.socket.readable() => {
                    match g {
                        // Cleared first, then drained to EAGAIN: nothing that arrives in
                        // between is missed.
                        Ok(mut guard) => guard.clear_ready(),
                        Err(e) => tracing::warn!("ICMPv6 socket: {e}"),
                    }
                    self.receive();
                }
                _ = sleep => self.send_due(),
            }
        }
    }
}
