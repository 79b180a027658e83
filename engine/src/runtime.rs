//! Startup: binds every socket, starts the workers and runs the control loop.

use crate::access::{AccessPolicy, interface_addrs};
use crate::control::{self, ControlState};
use crate::epoll::{Epoll, Token};
use crate::snapshot::Snapshot;
use crate::socket::{
    Fragments, bound_upstream_socket, eventfd, steer_by_query_id, tcp_listener, upstream_socket,
    wait_udp_free,
};
use crate::tcp::TcpManager;
use crate::upstreams::{SourceBinding, build_table, read_resolv, source_bindings};
use crate::worker::{ClientUdp, Control, WorkerCore, WorkerSockets};
use anyhow::{Context, Result, bail};
use ringmasq_config::{Config, IoBackend, LocalService};
use ringmasq_proto::dns::alias::{AliasFrom, AliasRule};
use ringmasq_proto::dns::answer::NormalizeOptions;
use ringmasq_proto::dns::cache::{CacheConfig, DnsCache};
use ringmasq_proto::dns::forward::{Forwarder, ForwarderConfig, Shared};
use ringmasq_proto::dns::stats::StatsRegistry;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Upstream sockets per address family per worker (the random source-port pool, RFC 5452 §9.2).
pub const UPSTREAM_SLOTS: u16 = 64;

/// Queries one pool socket carries before it is replaced by one on a fresh random port.
pub const PORT_REUSE: u32 = 8;

/// Sockets bound before the process daemonises or drops privileges.
pub struct Bound {
    /// Per worker: its sockets.
    pub workers: Vec<WorkerSockets>,
    /// The addresses we listen on.
    pub listen: Vec<SocketAddr>,
    /// Source bindings of servers (`--server=ADDR@SRC`), one socket each per worker.
    pub bindings: Vec<SourceBinding>,
}

/// The addresses to listen on, from `-a`, `-i`, `-I`, `-z`, `--bind-dynamic` and `-p`
/// (dnsmasq's rules). With `strict`, an `--interface` that has no address is an error; with
/// `--bind-dynamic` it is not (it may come later).
pub fn listen_addresses(cfg: &Config, strict: bool) -> Result<Vec<SocketAddr>> {
    if cfg.port == 0 {
        return Ok(Vec::new());
    }
    let ifaces = interface_addrs();
    let excluded = |name: &str| {
        cfg.except_interfaces
            .iter()
            .any(|e| wildcard_match(e, name))
    };
    let mut addrs: Vec<IpAddr> = cfg.listen_addresses.clone();
    if !cfg.interfaces.is_empty() {
        for want in &cfg.interfaces {
            let found: Vec<IpAddr> = ifaces
                .iter()
                .filter(|a| wildcard_match(want, &a.name) && !excluded(&a.name))
                .map(|a| a.addr)
                .collect();
            if found.is_empty() && strict && !cfg.bind_dynamic {
                bail!("unknown interface {want}");
            }
            addrs.extend(found);
        }
        // dnsmasq adds the loopback interface whenever --interface is used.
        addrs.extend(
            ifaces
                .iter()
                .filter(|a| a.addr.is_loopback())
                .map(|a| a.addr),
        );
    } else if cfg.listen_addresses.is_empty()
        && (cfg.bind_interfaces || cfg.bind_dynamic || !cfg.except_interfaces.is_empty())
    {
        addrs.extend(ifaces.iter().filter(|a| !excluded(&a.name)).map(|a| a.addr));
    }
    let mut out: Vec<SocketAddr> = Vec::new();
    if addrs.is_empty() {
        out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), cfg.port));
        if ipv6_available() {
            out.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), cfg.port));
        }
    } else {
        for a in addrs {
            // Link-local IPv6 addresses need their interface's scope to bind.
            let sa = match a {
                IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => {
                    let scope = ifaces.iter().find(|i| i.addr == a).map_or(0, |i| i.index);
                    SocketAddr::V6(std::net::SocketAddrV6::new(v6, cfg.port, 0, scope))
                }
                _ => SocketAddr::new(a, cfg.port),
            };
            if !out.contains(&sa) {
                out.push(sa);
            }
        }
    }
    Ok(out)
}

fn wildcard_match(pattern: &str, name: &str) -> bool {
    // dnsmasq allows a trailing `*` in interface names.
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

/// Raises the soft limit on open files to the hard limit: each worker holds two sockets per
/// pool slot (IPv4 and IPv6), its listeners and TCP connections, which on a many-core host
/// exceed the usual soft limit of 1,024.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid rlimit struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Whether `e` is EADDRNOTAVAIL (an address not, or not yet, on this host).
fn address_not_available(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.raw_os_error() == Some(libc::EADDRNOTAVAIL))
    })
}

fn ipv6_available() -> bool {
    std::net::UdpSocket::bind("[::1]:0").is_ok()
}

/// The number of workers: `--threads`, else one per online CPU.
pub fn worker_count(cfg: &Config) -> usize {
    match cfg.threads {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// Binds every socket for every worker.
pub fn bind(cfg: &Config) -> Result<Bound> {
    raise_open_file_limit();
    // Ports bound later by other parts of ringmasq stay out of the upstream sockets' draw.
    let pxe = crate::dhcp::socket::PXE_PORT;
    let mut reserved = vec![(cfg.port, cfg.port), (pxe, pxe)];
    if let Some(r) = cfg.tftp.port_range {
        reserved.push(r);
    }
    crate::socket::reserve_ports(reserved);
    let listen = listen_addresses(cfg, true)?;
    let n = worker_count(cfg);
    // dnsmasq draws source ports from 1024-65535 unless --min-port/--max-port narrow it.
    let range = cfg
        .query_port
        .is_none()
        .then(|| (cfg.min_port.unwrap_or(1024), cfg.max_port.unwrap_or(65535)));
    let v6_ok = ipv6_available();
    let bindings = source_bindings(cfg);
    let mut listen = listen;
    let dynamic = crate::listeners::follow_interfaces(cfg);
    let mut usable = Vec::with_capacity(listen.len());
    for a in listen.drain(..) {
        // A server stopped just before may still hold the address for a few milliseconds.
        match wait_udp_free(a, Duration::from_secs(1)) {
            Ok(()) => usable.push(a),
            // Following the interfaces, an address not ready yet (a tentative IPv6 address
            // during DAD) is left to the control thread, which adds it once it can be bound.
            Err(e) if dynamic && address_not_available(&e) => {
                tracing::debug!("not listening on {a} yet: {e:#}");
            }
            Err(e) => return Err(e),
        }
    }
    let listen = usable;
    let mut workers = Vec::with_capacity(n);
    for _ in 0..n {
        let mut w = WorkerSockets {
            udp: Vec::new(),
            tcp: Vec::new(),
            upstream_v4: Vec::new(),
            upstream_v6: Vec::new(),
            upstream_bound: Vec::new(),
            port_range: range,
        };
        for a in &listen {
            w.udp.push(Some(ClientUdp::bind(
                *a,
                Fragments::for_dns(cfg.edns_packet_max),
            )?));
            w.tcp.push(tcp_listener(*a)?);
        }
        // With --query-port every query leaves from that one port.
        let slots = if cfg.query_port.is_some() {
            1
        } else {
            UPSTREAM_SLOTS
        };
        for _ in 0..slots {
            w.upstream_v4
                .push(upstream_socket(false, cfg.query_port, range).context("upstream socket")?);
            if v6_ok {
                w.upstream_v6
                    .push(upstream_socket(true, cfg.query_port, range).context("upstream socket")?);
            }
        }
        for b in &bindings {
            w.upstream_bound.push(
                bound_upstream_socket(b)
                    .with_context(|| format!("upstream socket for servers sending from {b}"))?,
            );
        }
        workers.push(w);
    }
    // Ports every worker shares: answers go to the worker whose lane the query ID is in.
    if n > 1
        && let Some(first) = workers.first()
    {
        if cfg.query_port.is_some() {
            for s in first.upstream_v4.iter().chain(&first.upstream_v6) {
                steer_by_query_id(s, n as u32)?;
            }
        }
        for (b, s) in bindings.iter().zip(&first.upstream_bound) {
            if b.shared_port() {
                steer_by_query_id(s, n as u32)?;
            }
        }
    }
    Ok(Bound {
        workers,
        listen,
        bindings,
    })
}

fn forwarder_config(
    cfg: &Config,
    slots: u16,
    lane: (u16, u16),
    dnssec: Option<ringmasq_proto::dns::forward::DnssecForwarding>,
) -> ForwarderConfig {
    let (attempt, total, backoff) = match cfg.fast_dns_retry {
        Some((initial, total)) => (
            u64::from(initial.max(50)),
            u64::from(total.max(initial)),
            true,
        ),
        None => (1000, 10_000, false),
    };
    ForwarderConfig {
        edns_packet_max: cfg.edns_packet_max.max(512),
        dns_forward_max: cfg.dns_forward_max.max(1),
        strict_order: cfg.strict_order,
        all_servers: cfg.all_servers,
        attempt_timeout_ms: attempt,
        backoff,
        total_timeout_ms: total,
        max_ttl: cfg.max_ttl,
        normalize: NormalizeOptions {
            min_cache_ttl: cfg.min_cache_ttl,
            max_cache_ttl: cfg.max_cache_ttl,
            neg_ttl: cfg.neg_ttl,
        },
        upstream_slots: slots,
        pool_port_shared: cfg.query_port.is_some(),
        port_reuse: if cfg.query_port.is_some() {
            0
        } else {
            PORT_REUSE
        },
        id_lane: lane,
        max_in_flight: 4096,
        local_ttl: cfg.local_ttl,
        guards: crate::guards::guards_from_config(cfg),
        no_ident: cfg.no_ident,
        dnssec,
        proxy_dnssec: cfg.dnssec.proxy,
        local_mx: crate::hosts::local_mx(cfg),
        alias: cfg
            .alias
            .iter()
            .map(|a| AliasRule {
                from: match a.to_end {
                    Some(end) => AliasFrom::Range(a.from, end),
                    None => AliasFrom::Net(a.from),
                },
                to: a.new,
                mask: a.mask,
            })
            .collect(),
    }
}

/// Chooses the backend: io_uring unless asked otherwise or unavailable.
fn uring_usable(cfg: &Config) -> bool {
    match cfg.io_backend {
        IoBackend::Epoll => false,
        IoBackend::Uring | IoBackend::Auto => match crate::uring::probe() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    "io_uring is not available ({e}); using the epoll + recvmmsg/sendmmsg backend"
                );
                false
            }
        },
    }
}

/// Runs the server until SIGTERM/SIGINT.
pub fn run(cfg: Config, bound: Bound) -> Result<()> {
    let n = bound.workers.len();
    let registry = Arc::new(StatsRegistry::new(n));
    // Identical questions on different workers share one upstream query (CVE-2020-25686).
    let in_flight = (n > 1).then(|| Arc::new(ringmasq_proto::dns::forward::SharedInFlight::new()));
    if !cfg.cache_rr.is_empty() {
        // dnsmasq caches A, AAAA, CNAME and SRV unless told more; this cache holds every type.
        tracing::info!(
            "--cache-rr: answers of every record type are cached, the {} listed included",
            cfg.cache_rr.len()
        );
    }
    let cache = (cfg.cache_size > 0).then(|| {
        Arc::new(DnsCache::new(CacheConfig {
            max_entries: cfg.cache_size as usize,
            use_stale_secs: cfg.use_stale_cache,
            no_negcache: cfg.no_negcache,
        }))
    });
    let resolv = read_resolv(&cfg);
    let table = Arc::new(build_table(&cfg, &resolv, &bound.listen, &bound.bindings));
    if table.is_empty() && cfg.port != 0 {
        tracing::warn!("no upstream servers configured");
    }
    for s in table.servers() {
        tracing::info!("using nameserver {}#{}", s.addr.ip(), s.addr.port());
    }
    let servers = Arc::new(Snapshot::new(table));
    let hosts_table = crate::hosts::load(&cfg);
    let local = Arc::new(Snapshot::new(crate::hosts::load_local(
        &cfg,
        hosts_table.as_deref(),
    )));
    let hosts = Arc::new(Snapshot::new(hosts_table));
    let dhcp_names = Arc::new(Snapshot::empty());
    let use_uring = !bound.listen.is_empty() && uring_usable(&cfg);
    if cfg.io_backend == IoBackend::Uring && !use_uring && !bound.listen.is_empty() {
        bail!("--io-backend=uring was requested but io_uring cannot be used here");
    }
    let ifaces = interface_addrs();
    let access = match cfg.local_service {
        Some(_) if !cfg.listen_addresses.is_empty() || !cfg.interfaces.is_empty() => {
            AccessPolicy::open()
        }
        Some(LocalService::Host) => AccessPolicy::host_only(&ifaces),
        Some(LocalService::Net) => AccessPolicy::local_subnets(&ifaces),
        None => AccessPolicy::open(),
    };
    let dnssec = crate::dnssec::forwarding(&cfg)?;
    let open_tcp = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    let mut doorbells = Vec::new();
    for (id, sockets) in bound.workers.into_iter().enumerate() {
        let slots = sockets.upstream_v4.len().max(1) as u16;
        let (tx, rx) = crossbeam_channel::bounded(16);
        let doorbell = eventfd()?;
        doorbells.push((tx, doorbell));
        let epoll = Epoll::new()?;
        epoll.add(doorbell, Token::Doorbell, false)?;
        let WorkerSockets {
            udp,
            tcp,
            upstream_v4,
            upstream_v6,
            upstream_bound,
            port_range,
        } = sockets;
        let tcp_mgr = TcpManager::new(
            tcp,
            &epoll,
            u64::from(cfg.tcp_idle_timeout_secs.max(1)) * 1000,
            Arc::clone(&open_tcp),
            cfg.max_tcp_connections.max(1) as usize,
            access.clone(),
        )?;
        let counters = registry.worker(id);
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let fwd = Forwarder::new(
            forwarder_config(&cfg, slots, (id as u16, n as u16), dnssec.clone()),
            Shared {
                cache: cache.clone(),
                registry: Arc::clone(&registry),
                in_flight: in_flight.clone(),
            },
            Arc::clone(&counters),
            servers.load_full(),
            seed,
        );
        let core = WorkerCore {
            id,
            fwd,
            outbox: Default::default(),
            tcp: tcp_mgr,
            epoll,
            doorbell,
            control: rx,
            servers: Arc::clone(&servers),
            hosts: Arc::clone(&hosts),
            local: Arc::clone(&local),
            dhcp_names: Arc::clone(&dhcp_names),
            access: access.clone(),
            counters,
            log_queries: cfg.log_queries || cfg.log_queries_extra,
            log_queries_extra: cfg.log_queries_extra,
            log_serial: 0,
            stopping: false,
            scratch: Vec::with_capacity(1024),
            renewals: Vec::with_capacity(usize::from(slots)),
            renew_failures: 0,
            udp_changes: Vec::new(),
            seen_versions: [u64::MAX; 4],
        };
        let sockets = WorkerSockets {
            udp,
            tcp: Vec::new(),
            upstream_v4,
            upstream_v6,
            upstream_bound,
            port_range,
        };
        let handle = std::thread::Builder::new()
            .name(format!("ringmasq-w{id}"))
            .spawn(move || {
                let result = if use_uring {
                    crate::uring::run(core, sockets)
                } else {
                    crate::mmsg::run(core, sockets)
                };
                if let Err(e) = &result {
                    tracing::error!("worker {id} stopped: {e:#}");
                }
                result
            })?;
        handles.push(handle);
    }
    tracing::info!(
        "started: {} worker(s) on the {} backend, listening on {}",
        n,
        if use_uring { "io_uring" } else { "epoll" },
        bound
            .listen
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let domain_subnets = crate::hosts::interface_domain_ranges(&cfg);
    let dynamic = crate::listeners::follow_interfaces(&cfg).then(|| {
        crate::listeners::DynamicListeners::new(
            doorbells.iter().map(|(tx, fd)| (tx.clone(), *fd)).collect(),
        )
    });
    let state = ControlState {
        dynamic,
        cfg,
        cache,
        registry,
        servers,
        hosts,
        local,
        resolv,
        listen: bound.listen,
        bindings: bound.bindings,
        domain_subnets,
    };
    // DHCPv4 runs on its own thread; dropped (stopped) when the control loop returns.
    let dhcp = crate::dhcp::start(&state.cfg, dhcp_names)?;
    // TFTP too.
    let tftp = crate::tftp::start(&state.cfg)?;
    control::run(state)?;
    drop(tftp);
    drop(dhcp);
    for (tx, fd) in &doorbells {
        let _ = tx.send(Control::Shutdown);
        let one = 1u64;
        // SAFETY: writes 8 bytes from a u64 we own to our eventfd.
        unsafe {
            libc::write(*fd, (&one as *const u64).cast(), 8);
        }
    }
    for h in handles {
        let _ = h.join();
    }
    Ok(())
}
