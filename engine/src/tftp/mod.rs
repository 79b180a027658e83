//! TFTP (read-only, RFC 1350 with RFC 2347/2348/2349/7440 options) on its own thread: the
//! `--enable-tftp` and `--tftp-*` options mapped onto the sans-IO core
//! ([`ringmasq_proto::tftp`]).
//!
//! Listeners: port 69 on each `--listen-address`, or the wildcard addresses when none is
//! given. Each transfer gets its own socket (port from `--tftp-port-range`, else ephemeral)
//! unless `--tftp-single-port`. File contents are read once and shared between transfers.
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use anyhow::Result;
use ringmasq_config::{Config, IoBackend};
use ringmasq_proto::tftp::PORT;

pub use stats::TftpStats;

/// The counters of the running TFTP service, for SIGUSR1.
pub static STATS: OnceLock<Arc<TftpStats>> = OnceLock::new();

/// The running TFTP thread; dropping it stops the thread and waits for it (at most ~50 ms).
pub struct TftpHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for TftpHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
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

/// Starts TFTP when `--enable-tftp` is given; `None` otherwise.
pub fn start(cfg: &Config) -> Result<Option<TftpHandle>> {
    if !cfg.tftp.enabled {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::clone(STATS.get_or_init(|| Arc::new(TftpStats::default())));
    let addrs = listen_addrs(cfg);
    let mut service = service::TftpService::new(&cfg.tftp, &addrs, Arc::clone(&stop), stats)?;
    if let Some(program) = &cfg.dhcp.script {
        service.set_script(script::TftpScript::start(
            program.clone(),
            cfg.dhcp.script_user.as_deref(),
        )?);
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
    let uring = cfg.io_backend != IoBackend::Epoll && crate::uring::probe().is_ok();
    tracing::debug!("TFTP on {}", if uring { "io_uring" } else { "epoll" });
    let thread = std::thread::Builder::new()
        .name("ringmasq-tftp".into())
        .spawn(move || {
            let r = if uring {
                crate::uring::tftp::run(service)
            } else {
                poller::run(service)
            };
            if let Err(e) = r {
                tracing::error!("TFTP stopped: {e}");
            }
        })?;
    Ok(Some(TftpHandle {
        stop,
        thread: Some(thread),
    }))
}
