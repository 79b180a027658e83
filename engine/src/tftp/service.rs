//! The TFTP service: listeners on port 69, one connected socket per transfer (or the listener
//! itself under `--tftp-single-port`), the transfers' state machines and their timers.
//!
//! The service reads requests from the listeners itself (rare: one per transfer) but sends
//! nothing: DATA, OACK and ERROR packets and the transfer sockets to watch or close are queued
//! as [`Out`] for the I/O loop that drives it — epoll ([`super::poller`]) or io_uring
//! (`crate::uring::tftp`). The loop hands back each datagram a transfer socket receives
//! ([`TftpService::transfer_datagram`]) and calls [`TftpService::tick`] every [`TICK`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use ringmasq_config::TftpSettings;
use ringmasq_proto::tftp::packet::{ErrorCode, write_error};
use ringmasq_proto::tftp::{Emit, Packet, Step, Transfer, parse};
use ringmasq_proto::time::Instant;
use socket2::Socket;

use super::Shared;
use super::files::{FileBytes, euid, open_dir};
use super::net::recv;
use super::outbox::{Blocks, Out, Owner, Route};
use super::stats::TftpStats;

#[path = "request.rs"]
mod request;

/// How often deadlines are checked.
pub const TICK: Duration = Duration::from_millis(50);

struct Active {
    serial: u32,
    /// The transfer's own socket; `None` under `--tftp-single-port`.
    sock: Option<Socket>,
    /// Index of the listener it arrived on (used under single-port).
    listener: usize,
    peer: SocketAddr,
    local: Option<IpAddr>,
    data: Arc<FileBytes>,
    /// A window (first, last block) waiting for its bytes to be read.
    waiting: Option<(u64, u64)>,
    t: Transfer,
    oack: Vec<u8>,
    path: PathBuf,
}

/// A configured root, opened.
struct OpenRoot {
    dir: PathBuf,
    fd: OwnedFd,
    interface: Option<String>,
}

/// The TFTP service state.
pub struct TftpService {
    settings: TftpSettings,
    listeners: Vec<Socket>,
    roots: Vec<OpenRoot>,
    out: Vec<Out>,
    serial: u32,
    slots: Vec<Option<Active>>,
    free: Vec<u32>,
    by_peer: HashMap<SocketAddr, u32>,
    /// Slots of transfers with a window waiting for file bytes.
    waiting: Vec<u32>,
    shared: Arc<Shared>,
    stats: Arc<TftpStats>,
    stop: Arc<AtomicBool>,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    next_port: u32,
    secure_uid: u32,
    script: Option<super::script::TftpScript>,
}

impl TftpService {
    /// Binds the listeners and opens the roots. A missing root is fatal unless
    /// `--tftp-no-fail`.
    pub fn new(
        settings: &TftpSettings,
        addrs: &[SocketAddr],
        stop: Arc<AtomicBool>,
        stats: Arc<TftpStats>,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        let mut listeners = Vec::new();
        for a in addrs {
            let s = crate::socket::udp_listener(
                *a,
                crate::socket::Pktinfo::Always,
                crate::socket::Fragments::Allowed,
            )
            .with_context(|| format!("TFTP listener on {a}"))?;
            listeners.push(s);
        }
        let mut roots = Vec::new();
        let configured: Vec<(PathBuf, Option<String>)> = if settings.roots.is_empty() {
            vec![(std::env::current_dir().unwrap_or_else(|_| "/".into()), None)]
        } else {
            settings
                .roots
                .iter()
                .map(|r| (r.dir.clone(), r.interface.clone()))
                .collect()
        };
        for (dir, interface) in configured {
            match open_dir(&dir) {
                Ok(fd) => roots.push(OpenRoot { dir, fd, interface }),
                Err(e) if settings.no_fail => {
                    tracing::warn!("TFTP directory {} inaccessible: {e}", dir.display());
                }
                Err(e) => {
                    anyhow::bail!("TFTP directory {} inaccessible: {e}", dir.display());
                }
            }
        }
        Ok(TftpService {
            settings: settings.clone(),
            listeners,
            roots,
            out: Vec::with_capacity(1024),
            serial: 0,
            slots: Vec::new(),
            free: Vec::new(),
            by_peer: HashMap::new(),
            waiting: Vec::new(),
            shared,
            stats,
            stop,
            buf: vec![0u8; 65536],
            scratch: Vec::with_capacity(512),
            next_port: 0,
            secure_uid: euid(),
            script: None,
        })
    }

    /// Sends a `tftp` event to `--dhcp-script` after each completed transfer.
    pub fn set_script(&mut self, script: super::script::TftpScript) {
        self.script = Some(script);
    }

    /// The listeners' sockets, in listener order.
    pub fn listener_fds(&self) -> Vec<RawFd> {
        self.listeners.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// True once the service has been told to stop.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The counters.
    pub fn stats(&self) -> &TftpStats {
        &self.stats
    }

    /// Moves what the service asks of the I/O loop into `into` (emptied first).
    pub fn take_out(&mut self, into: &mut Vec<Out>) {
        into.clear();
        std::mem::swap(&mut self.out, into);
    }

    /// True when the I/O loop has something to do.
    pub fn has_out(&self) -> bool {
        !self.out.is_empty()
    }

    /// `--tftp-ack-gather`: how long the io_uring loop may gather ACKs, in microseconds.
    pub fn ack_gather_usec(&self) -> u32 {
        self.settings.ack_gather_usec
    }

    /// Transfers running on this thread.
    pub fn running(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The socket of transfer `owner`, while it runs.
    pub fn transfer_fd(&self, owner: Owner) -> Option<RawFd> {
        self.active(owner)?.sock.as_ref().map(AsRawFd::as_raw_fd)
    }

    fn active(&self, owner: Owner) -> Option<&Active> {
        self.slots
            .get(owner.slot as usize)?
            .as_ref()
            .filter(|a| a.serial == owner.serial)
    }

    /// A datagram arrived on transfer `owner`'s socket.
    pub fn transfer_datagram(&mut self, owner: Owner, bytes: &[u8], now: Instant) {
        if self.active(owner).is_none() {
            return;
        }
        match parse(bytes) {
            Ok(Packet::Ack(b)) => self.ack(owner.slot, b, now),
            Ok(Packet::Error { .. }) => self.finish(owner.slot, false, "the client sent an error"),
            Ok(_) => self.stats.add(&self.stats.unexpected, 1),
            Err(_) => self.stats.add(&self.stats.malformed, 1),
        }
    }

    /// Receiving or sending on transfer `owner`'s socket failed (an ICMP error: the client is
    /// gone).
    pub fn transfer_failed(&mut self, owner: Owner) {
        if self.active(owner).is_some() {
            self.finish(owner.slot, false, "the client went away");
        }
    }

    /// Gives every transfer whose deadline passed its timeout; call every [`TICK`].
    pub fn tick(&mut self, now: Instant) {
        for slot in 0..self.slots.len() {
            let due = match &self.slots[slot] {
                Some(a) => a.t.deadline() <= now,
                None => false,
            };
            if due {
                let step = self.slots[slot].as_mut().map(|a| a.t.on_timeout(now));
                if let Some(step) = step {
                    if matches!(step, Step::Send(_)) {
                        self.stats.add(&self.stats.retransmits, 1);
                    }
                    self.step(slot as u32, step);
                }
            }
        }
        self.shared.cache.expire(now);
    }

    /// True when some transfer waits for file bytes another thread is reading (the loop
    /// should look again soon: [`TftpService::poll_waiting`]).
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Sends the waiting windows whose bytes have been read since; ends the transfers whose
    /// file could not be read. Cheap when nothing waits; call every loop turn.
    pub fn poll_waiting(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let slots = std::mem::take(&mut self.waiting);
        for slot in slots {
            let Some(Some(a)) = self.slots.get_mut(slot as usize) else {
                continue;
            };
            let Some((first, last)) = a.waiting.take() else {
                continue;
            };
            if a.data.failed() {
                // Every transfer waiting on the shared bytes ends, whichever thread read them.
                self.fail_unreadable(slot);
            } else {
                self.emit(slot, Emit::Blocks { first, last });
            }
        }
    }

    /// Reads what waits on listener `li`: a few datagrams, so one busy listener cannot starve
    /// the transfers; true when more may be waiting.
    pub fn listener_readable(&mut self, li: usize, now: Instant) -> bool {
        for _ in 0..16 {
            let fd = self.listeners[li].as_raw_fd();
            let r = match recv(fd, &mut self.buf) {
                Ok(Some(r)) => r,
                Ok(None) => return false,
                Err(_) => return false,
            };
            let bytes = std::mem::take(&mut self.buf);
            match parse(&bytes[..r.len]) {
                Ok(Packet::Request(req)) => self.request(&req, li, &r, now),
                Ok(Packet::Ack(b)) if self.settings.single_port => {
                    if let Some(&slot) = self.by_peer.get(&r.peer) {
                        self.ack(slot, b, now);
                    } else {
                        self.stats.add(&self.stats.unknown_peer, 1);
                    }
                }
                Ok(Packet::Error { .. }) if self.settings.single_port => {
                    if let Some(&slot) = self.by_peer.get(&r.peer) {
                        self.finish(slot, false, "the client sent an error");
                    }
                }
                Ok(_) => self.stats.add(&self.stats.unknown_peer, 1),
                Err(_) => self.stats.add(&self.stats.malformed, 1),
            }
            self.buf = bytes;
        }
        true
    }

    fn ack(&mut self, slot: u32, block: u16, now: Instant) {
        let Some(Some(a)) = self.slots.get_mut(slot as usize) else {
            return;
        };
        let step = a.t.on_ack(block, now);
        if step == Step::Duplicate {
            self.stats.add(&self.stats.duplicate_acks, 1);
        }
        self.step(slot, step);
    }

    fn step(&mut self, slot: u32, step: Step) {
        match step {
            Step::Send(e) => self.emit(slot, e),
            Step::Done => self.finish(slot, true, ""),
            Step::Abandon => self.finish(slot, false, "no answer from the client"),
            Step::Idle | Step::Duplicate => {}
        }
    }

    /// The transfer in `slot`, its [`Owner`] and where its packets go.
    fn addressed(&self, slot: u32) -> Option<(&Active, Owner, Route)> {
        let a = self.slots.get(slot as usize)?.as_ref()?;
        let owner = Owner {
            slot,
            serial: a.serial,
        };
        let route = Route::of(
            a.sock.as_ref(),
            self.listeners[a.listener].as_raw_fd(),
            a.peer,
            a.local,
        );
        Some((a, owner, route))
    }

    /// Ends transfer `slot`, whose file could not be read whole, with an ERROR to the client:
    /// RFC 1350 §7 — an error ends the transfer; code 0 ("not defined, see message") because
    /// the file was neither missing nor refused. Sent before the socket's close is queued, so
    /// it leaves on that socket; no short DATA block was sent (blocks are sent only once all
    /// their bytes are read), so the client cannot mistake the file for complete.
    fn fail_unreadable(&mut self, slot: u32) {
        let Some((a, owner, route)) = self.addressed(slot) else {
            return;
        };
        tracing::warn!(
            "TFTP: {} could not be read whole (a read failed or the file shrank); \
             ending its transfer to {} with an error",
            a.path.display(),
            a.peer.ip()
        );
        write_error(
            ErrorCode::Undefined,
            "error reading the file: it changed or a read failed",
            &mut self.scratch,
        );
        self.out.push(Out::Packet {
            owner: Some(owner),
            route,
            bytes: self.scratch.clone(),
            keep: None,
        });
        self.stats.add(&self.stats.errors_sent, 1);
        self.stats.add(&self.stats.read_errors, 1);
        self.finish(slot, false, "the file could not be read");
    }

    fn emit(&mut self, slot: u32, e: Emit) {
        let Some((a, owner, route)) = self.addressed(slot) else {
            return;
        };
        let o = match e {
            Emit::Oack => Out::Packet {
                owner: Some(owner),
                route,
                bytes: a.oack.clone(),
                keep: None,
            },
            Emit::Blocks { first, last } => {
                let data = Arc::clone(&a.data);
                let blksize = a.t.blksize();
                // Blocks not read from the file yet wait (a 1-based block b ends at byte
                // b x blksize, or at the end of the file).
                let end = if data.is_complete() {
                    last
                } else {
                    last.min(data.ready() as u64 / (blksize as u64).max(1))
                };
                if end < last {
                    if let Some(Some(w)) = self.slots.get_mut(slot as usize) {
                        if w.waiting.is_none() {
                            self.waiting.push(slot);
                        }
                        w.waiting = Some((first.max(end + 1), last));
                    }
                    if end < first {
                        return;
                    }
                } else if let Some(Some(w)) = self.slots.get_mut(slot as usize) {
                    w.waiting = None;
                }
                Out::Blocks(Blocks {
                    owner,
                    route,
                    data,
                    blksize,
                    first,
                    last: end,
                })
            }
        };
        self.out.push(o);
    }

    fn finish(&mut self, slot: u32, ok: bool, why: &str) {
        let Some(a) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        match a.sock {
            Some(sock) => self.out.push(Out::Close {
                owner: Owner {
                    slot,
                    serial: a.serial,
                },
                sock,
            }),
            None => {
                self.by_peer.remove(&a.peer);
            }
        }
        self.free.push(slot);
        self.shared.active.fetch_sub(1, Ordering::AcqRel);
        if ok {
            self.stats.add(&self.stats.completed, 1);
            if !self.settings.quiet {
                tracing::info!("TFTP sent {} to {}", a.path.display(), a.peer.ip());
            }
            if let Some(sc) = &self.script
                && !sc.submit(a.data.len() as u64, a.peer.ip(), &a.path)
            {
                self.stats.add(&self.stats.script_dropped, 1);
            }
        } else {
            self.stats.add(&self.stats.failed, 1);
            tracing::info!(
                "TFTP failed sending {} to {}: {why}",
                a.path.display(),
                a.peer.ip()
            );
        }
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
