//! Listening addresses that follow the interfaces: with `--bind-dynamic`, or `--interface`
//! without `--bind-interfaces` (where dnsmasq listens on the wildcard and so serves new
//! addresses too), an address that appears gets listeners on every worker and one that goes
//! away loses them, without a restart. The control thread computes the wanted set (on each
//! rtnetlink change and once a second), binds the new sockets — it keeps
//! CAP_NET_BIND_SERVICE for this — and hands them to the workers with a doorbell.

use std::net::SocketAddr;
use std::os::fd::RawFd;

use crossbeam_channel::Sender;
use ringmasq_config::Config;

use crate::socket::{Fragments, ensure_udp_free, tcp_listener};
use crate::worker::{ClientUdp, Control};

/// Whether the listening addresses follow the interfaces under this configuration.
pub fn follow_interfaces(cfg: &Config) -> bool {
    cfg.port != 0 && !cfg.bind_interfaces && (cfg.bind_dynamic || !cfg.interfaces.is_empty())
}

/// The workers' control channels and doorbells.
pub struct DynamicListeners {
    workers: Vec<(Sender<Control>, RawFd)>,
}

impl DynamicListeners {
    /// Talks to these workers.
    pub fn new(workers: Vec<(Sender<Control>, RawFd)>) -> Self {
        Self { workers }
    }

    /// Brings `current` to the addresses the interfaces have now; true if it changed.
    pub fn update(&self, cfg: &Config, current: &mut Vec<SocketAddr>) -> bool {
        let want = match crate::runtime::listen_addresses(cfg, false) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("listening addresses: {e:#}");
                return false;
            }
        };
        let mut changed = false;
        for gone in current.clone().into_iter().filter(|a| !want.contains(a)) {
            self.send(|| Some(Control::RemoveListener(gone)));
            current.retain(|a| *a != gone);
            tracing::info!("no longer listening on {gone}: the address went away");
            changed = true;
        }
        let added: Vec<SocketAddr> = want.into_iter().filter(|a| !current.contains(a)).collect();
        for new in added {
            match self.open(new, Fragments::for_dns(cfg.edns_packet_max)) {
                Ok(()) => {
                    current.push(new);
                    tracing::info!("listening on {new}: the address appeared");
                    changed = true;
                }
                // A tentative IPv6 address cannot be bound until DAD ends: retried later.
                Err(e) => tracing::debug!("not listening on {new} yet: {e:#}"),
            }
        }
        changed
    }

    /// Binds `addr` once per worker and hands the sockets over.
    fn open(&self, addr: SocketAddr, fragments: Fragments) -> anyhow::Result<()> {
        ensure_udp_free(addr)?;
        let mut socks = Vec::with_capacity(self.workers.len());
        for _ in &self.workers {
            socks.push((ClientUdp::bind(addr, fragments)?, tcp_listener(addr)?));
        }
        let mut socks = socks.into_iter();
        self.send(|| {
            socks
                .next()
                .map(|(udp, tcp)| Control::AddListener { udp, tcp })
        });
        Ok(())
    }

    fn send(&self, mut msg: impl FnMut() -> Option<Control>) {
        for (tx, doorbell) in &self.workers {
            let Some(m) = msg() else { return };
            if tx.send(m).is_ok() {
                let one = 1u64;
                // SAFETY: writes 8 bytes from a u64 we own to the worker's eventfd.
                unsafe {
                    libc::write(*doorbell, (&one as *const u64).cast(), 8);
                }
            }
        }
    }
}
