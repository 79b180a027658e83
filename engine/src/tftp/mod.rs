//! TFTP (read-only, RFC 1350 with RFC 2347/2348/2349/7440 options): the `--enable-tftp` and
//! `--tftp-*` options mapped onto the sans-IO core ([`ringmasq_proto::tftp`]).
//!
//! Threads: one TFTP thread per worker (`--threads`, default one per CPU). Each binds its own
//! port-69 listeners (`--listen-address`es, or the wildcard addresses) into one `SO_REUSEPORT`
//! group per address, so the kernel spreads requests over the threads and keeps each client
//! (address and port) on one of them — which is what `--tftp-single-port` needs for the ACKs.
//! Each transfer gets its own socket (port from `--tftp-port-range`, else ephemeral) unless
//! `--tftp-single-port`. What the threads share ([`Shared`]): the file cache and the count of
//! running transfers, so `--tftp-max` holds for the whole server.
//!
//! Why TFTP threads with their own rings rather than transfers on the DNS workers' rings: a
//! request opens, stats and checks files (blocking system calls), and a burst sends tens of
//! thousands of DATA packets a second; on the DNS rings both would queue behind or in front of
//! DNS answers and lengthen their latency. Separate threads, one per worker, scale the same
//! way while leaving the DNS loops as they are, and the kernel scheduler balances the two.
//!
//! File contents are read once and shared between transfers of every thread
//! ([`files::FileCache`]): the thread that first asks for a file reads it — through its ring
//! into registered buffers (`crate::uring::tftp_load`), or with plain reads on epoll — while
//! transfers (of any thread) send each block as soon as its bytes are there.
//!
//! The transfers ([`service`]) queue what they send ([`outbox`]); an I/O loop carries it out:
//! an io_uring ring (`crate::uring::tftp`: multishot receives on every transfer socket, all
//! sends of a loop turn in one submission) unless `--io-backend=epoll` or io_uring is missing,
//! then epoll with `sendmmsg` ([`poller`]).

pub mod files;
pub mod net;
pub mod outbox;
pub mod poller;
pub mod script;
pub mod service;
pub mod stats;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use anyhow::Result;
use ringmasq_config::{Config, IoBackend};
use ringmasq_proto::tftp::PORT;

pub use stats::TftpStats;

/// The counters of the running TFTP service, for SIGUSR1.
pub static STATS: OnceLock<Arc<TftpStats>> = OnceLock::new();

/// What every TFTP thread shares: the file cache and the count of running transfers
/// (`--tftp-max` is a limit for the whole server, not per thread).
#[derive(Default)]
pub struct Shared {
    /// File contents shared by the transfers of all threads.
    pub cache: files::FileCache,
    /// Transfers running on all threads.
    pub active: AtomicUsize,
}

/// The running TFTP threads; dropping it stops them and waits for them (at most ~50 ms).
pub struct TftpHandle {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for TftpHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The addresses TFTP listens on: port 69 of every `--listen-address`, else 0.0.0.0 and ::.
pub fn listen_addrs(cfg: &Config) -> Vec<SocketAddr> {
    if cfg.listen_addresses.is_empty() {
        let mut v = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)];
        if std::net::UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
            v.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), PORT));
        }
        v
    } else {
        cfg.listen_addresses
            .iter()
            .map(|a| SocketAddr::new(*a, PORT))
            .collect()
    }
}

/// Starts TFTP when `--enable-tftp` is given (one thread per worker, `--threads`); `None`
/// otherwise.
pub fn start(cfg: &Config) -> Result<Option<TftpHandle>> {
    if !cfg.tftp.enabled {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::clone(STATS.get_or_init(|| Arc::new(TftpStats::default())));
    let shared = Arc::new(Shared::default());
    let addrs = listen_addrs(cfg);
    let script = match &cfg.dhcp.script {
        Some(program) => Some(script::TftpScript::start(
            program.clone(),
            cfg.dhcp.script_user.as_deref(),
        )?),
        None => None,
    };
    let n = crate::runtime::worker_count(cfg);
    let mut services = Vec::with_capacity(n);
    for _ in 0..n {
        // Each thread's listeners join one SO_REUSEPORT group per address; the kernel keeps
        // a client (its address and port) on one of them, so its ACKs reach the thread that
        // runs its transfer under --tftp-single-port too.
        let mut service = service::TftpService::new(
            &cfg.tftp,
            &addrs,
            Arc::clone(&stop),
            Arc::clone(&stats),
            Arc::clone(&shared),
        )?;
        if let Some(sc) = &script {
            service.set_script(sc.clone());
        }
        services.push(service);
    }
    let uring = cfg.io_backend != IoBackend::Epoll && crate::uring::probe().is_ok();
    tracing::debug!(
        "TFTP on {} thread(s), {}",
        n,
        if uring { "io_uring" } else { "epoll" }
    );
    let mut threads = Vec::with_capacity(n);
    for (i, service) in services.into_iter().enumerate() {
        let t = std::thread::Builder::new()
            .name(format!("ringmasq-tftp-{i}"))
            .spawn(move || {
                let r = if uring {
                    crate::uring::tftp::run(service)
                } else {
                    poller::run(service)
                };
                if let Err(e) = r {
                    tracing::error!("TFTP stopped: {e}");
                }
            });
        match t {
            Ok(t) => threads.push(t),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                for t in threads {
                    let _ = t.join();
                }
                return Err(e.into());
            }
        }
    }
    tracing::info!(
        "TFTP started on {}; root {}",
        addrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if cfg.tftp.roots.is_empty() {
            "the working directory".to_string()
        } else {
            cfg.tftp
                .roots
                .iter()
                .map(|r| match &r.interface {
                    Some(i) => format!("{} ({i})", r.dir.display()),
                    None => r.dir.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(Some(TftpHandle { stop, threads }))
}
