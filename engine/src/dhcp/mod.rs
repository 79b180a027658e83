//! DHCPv4 on its own thread with a plain blocking socket (never inside the DNS workers): the
//! `--dhcp-*` options mapped onto the sans-IO core ([`ringmasq_proto::dhcp`]), a UDP socket on
//! 0.0.0.0:67, the durable lease store, and the expiry timer.
//!
//! Differences from dnsmasq: no ping before an offer (`--no-ping` is always in effect), and the
//! server must start with the privileges to bind port 67, set neighbour entries and write the
//! lease file (DHCP starts after `-u/--user` drops them; use `-d` or run as root).

pub mod log;
pub mod script;
pub mod service;
pub mod settings;
pub mod socket;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::Result;
use arc_swap::ArcSwapOption;
use ringmasq_config::Config;
use ringmasq_proto::dhcp::DhcpNames;

/// Set by SIGHUP; the DHCP thread re-reads its hosts and options files and clears it.
static RELOAD: AtomicBool = AtomicBool::new(false);

/// Asks the DHCP thread (if any) to re-read `--dhcp-hostsfile` and `--dhcp-optsfile`; it does
/// so within a quarter of a second, keeping every lease.
pub fn request_reload() {
    RELOAD.store(true, Ordering::Relaxed);
}

/// Takes a pending reload request.
fn take_reload() -> bool {
    RELOAD.swap(false, Ordering::Relaxed)
}

/// The running DHCP thread; dropping it stops the thread and waits for it (at most ~250 ms).
pub struct DhcpHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for DhcpHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts DHCP when at least one `--dhcp-range` is configured; `None` otherwise. The names of
/// live leases are published into `names` for the DNS workers.
pub fn start(cfg: &Config, names: Arc<ArcSwapOption<DhcpNames>>) -> Result<Option<DhcpHandle>> {
    if !cfg.dhcp.enabled() {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let service = service::DhcpService::new(cfg, socket::SERVER_PORT, Arc::clone(&stop), names)?;
    let thread = std::thread::Builder::new()
        .name("ringmasq-dhcp".into())
        .spawn(move || service.run())?;
    Ok(Some(DhcpHandle {
        stop,
        thread: Some(thread),
    }))
}
