//! DHCPv4 on its own thread with a plain blocking socket (never inside the DNS workers): the
//! `--dhcp-*` options mapped onto the sans-IO core ([`ringmasq_proto::dhcp`]), a UDP socket on
//! 0.0.0.0:67, the durable lease store, and the expiry timer.
//!
//! Before an OFFER of a newly picked address the address is pinged ([`ping`]; off with
//! `--no-ping`): the OFFER is held, without blocking the loop, until 1 s of silence; an address
//! that answers is quarantined and the request handled again for another. A lease stored
//! without a client id is matched by MAC when the client later sends one (as dnsmasq).
//!
//! DHCP starts after `-u/--user` has dropped privileges: binding port 67, raw sends, the ping
//! check's raw ICMP socket and neighbour entries use the capabilities kept for it, and
//! [`prepare_lease_files`] hands the lease file and journal to the new user beforehand (their
//! directory may stay root's).

pub mod batch;
pub mod files;
pub mod held;
pub mod journal_writer;
pub mod log;
pub mod outage;
pub mod ping;
pub mod ra_names;
pub mod script;
pub mod service;
pub mod settings;
pub mod socket;
pub mod store;
#[cfg(test)]
mod store_faults;
pub mod v6;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::snapshot::Snapshot;
use anyhow::Result;
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

/// Set when a `--dhcp-hostsdir`/`--dhcp-optsdir` directory changed; the DHCP thread reads the
/// new and changed files and clears it.
static DIR_CHANGE: AtomicBool = AtomicBool::new(false);

/// Asks the DHCP thread to read the new and changed files of `--dhcp-hostsdir` and
/// `--dhcp-optsdir` (within a quarter of a second), adding their lines.
pub fn request_dir_read() {
    DIR_CHANGE.store(true, Ordering::Relaxed);
}

/// Takes a pending directory change.
fn take_dir_change() -> bool {
    DIR_CHANGE.swap(false, Ordering::Relaxed)
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

/// Before `-u` drops privileges: creates the lease file and its journal when missing and gives
/// them to `uid`:`gid`, so the DHCP thread can open them after the switch. The directory is left
/// alone; if the new user cannot write it, compaction rewrites the file in place (journaled).
pub fn prepare_lease_files(cfg: &Config, uid: u32, gid: u32) -> std::io::Result<()> {
    if !enabled(cfg) || cfg.dhcp.lease_file_ro {
        return Ok(());
    }
    let file = &cfg.dhcp.lease_file;
    for p in [file.clone(), store::LeaseStore::journal_path_for(file)] {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)?;
        std::os::unix::fs::chown(&p, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// Whether the DHCP thread runs: an IPv4 `--dhcp-range`, or an IPv6 one DHCPv6 serves.
pub fn enabled(cfg: &Config) -> bool {
    cfg.dhcp.enabled() || cfg.ipv6.dhcp6_enabled()
}

/// Starts DHCP when at least one `--dhcp-range` is configured; `None` otherwise. The names of
/// live leases are published into `names` for the DNS workers.
pub fn start(
    cfg: &Config,
    names: Arc<Snapshot<Option<Arc<DhcpNames>>>>,
) -> Result<Option<DhcpHandle>> {
    if !enabled(cfg) {
        return Ok(None);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let service =
        service::DhcpService::new(cfg, socket::server_port(cfg), Arc::clone(&stop), names)?;
    let thread = std::thread::Builder::new()
        .name("ringmasq-dhcp".into())
        .spawn(move || service.run())?;
    Ok(Some(DhcpHandle {
        stop,
        thread: Some(thread),
    }))
}
