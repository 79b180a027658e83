//! The TFTP service: listeners on port 69, one connected socket per transfer (or the listener
//! itself under `--tftp-single-port`), the transfers' state machines and their timers.
//!
//! The service reads requests from the listeners itself (rare: one per transfer) but sends
//! nothing: DATA, OACK and ERROR packets and the transfer sockets to watch or close are queued
//! as [`Out`] for the I/O loop that drives it — epoll ([`super::poller`]) or io_uring
//! (`crate::uring::tftp`). The loop hands back each datagram a transfer socket receives
//! ([`TftpService::transfer_datagram`]) and calls [`TftpService::tick`] every [`TICK`].

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use ringmasq_config::{TftpSettings, UniqueRoot};
use ringmasq_proto::tftp::packet::{ErrorCode, write_error, write_oack};
use ringmasq_proto::tftp::{
    Emit, Limits, Mode, Packet, PathError, Request, Step, Transfer, negotiate, parse, resolve,
    to_netascii,
};
use ringmasq_proto::time::Instant;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::Shared;
use super::files::{FileBytes, euid, open_beneath, open_dir};
use super::net::recv;
use super::outbox::{Out, Owner, Route};
use super::stats::TftpStats;

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

fn interface_name(index: u32) -> Option<String> {
    if index == 0 {
        return None;
    }
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf has IF_NAMESIZE bytes as if_indextoname requires.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    Some(
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned(),
    )
}

fn interface_mtu(name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The MAC address of `ip` from the kernel's neighbour table, for `--tftp-unique-root=mac`.
fn neighbour_mac(ip: IpAddr) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    ringmasq_proto::dhcp::neighbours::mac_of(&text, ip)
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
            let s =
                crate::socket::udp_listener(*a).with_context(|| format!("TFTP listener on {a}"))?;
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
                self.finish(slot, false, "the file could not be read");
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

    fn emit(&mut self, slot: u32, e: Emit) {
        let Some(Some(a)) = self.slots.get(slot as usize) else {
            return;
        };
        let owner = Owner {
            slot,
            serial: a.serial,
        };
        let route = match &a.sock {
            Some(s) => Route {
                fd: s.as_raw_fd(),
                to: None,
                from: None,
            },
            None => Route {
                fd: self.listeners[a.listener].as_raw_fd(),
                to: Some(a.peer),
                from: a.local,
            },
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
                Out::Blocks {
                    owner,
                    route,
                    data,
                    blksize,
                    first,
                    last: end,
                }
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
            tracing::info!("TFTP sent {} to {}", a.path.display(), a.peer.ip());
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

    /// Counts one more running transfer unless `--tftp-max` are running on all threads.
    fn reserve_transfer(&self) -> bool {
        let max = self.settings.max as usize;
        let mut n = self.shared.active.load(Ordering::Acquire);
        while n < max {
            match self.shared.active.compare_exchange_weak(
                n,
                n + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(cur) => n = cur,
            }
        }
        false
    }

    fn send_error(&mut self, li: usize, r: &super::net::Received, code: ErrorCode, msg: &str) {
        write_error(code, msg, &mut self.scratch);
        // From a fresh port when we can (the error is the first packet of a would-be
        // transfer, RFC 1350 §4), else from the listener.
        let fresh = self.transfer_socket(r.local, r.peer, li);
        let route = match &fresh {
            Some(s) => Route {
                fd: s.as_raw_fd(),
                to: None,
                from: None,
            },
            None => Route {
                fd: self.listeners[li].as_raw_fd(),
                to: Some(r.peer),
                from: r.local,
            },
        };
        self.out.push(Out::Packet {
            owner: None,
            route,
            bytes: self.scratch.clone(),
            keep: fresh,
        });
        self.stats.add(&self.stats.errors_sent, 1);
    }

    /// A socket for a transfer with `peer`, bound to `local` on a port from `--tftp-port-range`
    /// (or any), connected to the peer.
    fn transfer_socket(
        &mut self,
        local: Option<IpAddr>,
        peer: SocketAddr,
        _li: usize,
    ) -> Option<Socket> {
        let s = Socket::new(Domain::for_address(peer), Type::DGRAM, Some(Protocol::UDP)).ok()?;
        let ip = local.unwrap_or(match peer {
            SocketAddr::V4(_) => IpAddr::from([0u8; 4]),
            SocketAddr::V6(_) => IpAddr::from([0u16; 8]),
        });
        let bound = match self.settings.port_range {
            None => s.bind(&SockAddr::from(SocketAddr::new(ip, 0))).is_ok(),
            Some((lo, hi)) => {
                let span = u32::from(hi - lo) + 1;
                (0..span).any(|k| {
                    let port = lo as u32 + (self.next_port + k) % span;
                    let ok = s
                        .bind(&SockAddr::from(SocketAddr::new(ip, port as u16)))
                        .is_ok();
                    if ok {
                        self.next_port = (self.next_port + k + 1) % span;
                    }
                    ok
                })
            }
        };
        if !bound {
            return None;
        }
        s.connect(&SockAddr::from(peer)).ok()?;
        s.set_nonblocking(true).ok()?;
        let _ = s.set_send_buffer_size(1 << 20);
        Some(s)
    }

    fn request(&mut self, req: &Request<'_>, li: usize, r: &super::net::Received, now: Instant) {
        self.stats.add(&self.stats.requests, 1);
        let ifname = interface_name(r.ifindex);
        if !self.settings.interfaces.is_empty()
            && !ifname
                .as_ref()
                .is_some_and(|n| self.settings.interfaces.iter().any(|i| i == n))
        {
            self.stats.add(&self.stats.wrong_interface, 1);
            return;
        }
        if self.settings.single_port
            && let Some(&slot) = self.by_peer.get(&r.peer)
        {
            // A retransmitted request for a transfer already running.
            let _ = slot;
            self.stats.add(&self.stats.duplicate_requests, 1);
            return;
        }
        if req.write {
            tracing::warn!("TFTP write request from {} refused", r.peer.ip());
            self.send_error(
                li,
                r,
                ErrorCode::AccessViolation,
                "write requests are not supported: this server is read-only",
            );
            return;
        }
        if self.shared.active.load(Ordering::Acquire) >= self.settings.max as usize {
            // As dnsmasq: at the limit the request is not read; the client retries.
            self.stats.add(&self.stats.busy, 1);
            return;
        }
        let name = String::from_utf8_lossy(req.filename).into_owned();
        let root = self
            .roots
            .iter()
            .find(|x| x.interface.is_some() && x.interface == ifname)
            .or_else(|| self.roots.iter().find(|x| x.interface.is_none()));
        let Some(root) = root else {
            self.send_error(
                li,
                r,
                ErrorCode::FileNotFound,
                "no TFTP root for this interface",
            );
            return;
        };
        let rel = match resolve(
            req.filename,
            root.dir.as_os_str().as_bytes(),
            self.settings.lowercase,
        ) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(
                    "TFTP request for {name:?} from {} refused: {e}",
                    r.peer.ip()
                );
                let (code, msg) = match e {
                    PathError::Empty => (ErrorCode::FileNotFound, "file not found"),
                    PathError::Traversal => (
                        ErrorCode::AccessViolation,
                        "access denied: the name leaves the TFTP root",
                    ),
                    PathError::ControlByte => (
                        ErrorCode::AccessViolation,
                        "access denied: control character in the file name",
                    ),
                };
                self.send_error(li, r, code, msg);
                return;
            }
        };
        // --tftp-unique-root: the client's own directory under the root, when it exists.
        let mut base: Option<OwnedFd> = None;
        let mut shown = root.dir.clone();
        if let Some(u) = self.settings.unique_root {
            let dir = match u {
                UniqueRoot::Ip => Some(r.peer.ip().to_string()),
                UniqueRoot::Mac => {
                    neighbour_mac(r.peer.ip()).map(|m| ringmasq_proto::tftp::path::mac_dir(&m))
                }
            };
            if let Some(d) = dir
                && let Ok(fd) = open_beneath(root.fd.as_raw_fd(), d.as_bytes(), true)
            {
                base = Some(fd);
                shown.push(d);
            }
        }
        let dirfd = base.as_ref().map_or(root.fd.as_raw_fd(), |f| f.as_raw_fd());
        let path = shown.join(std::ffi::OsStr::from_bytes(&rel));
        let file = match open_beneath(dirfd, &rel, false) {
            Ok(f) => File::from(f),
            Err(e) => {
                let (code, msg) = match e.raw_os_error() {
                    Some(libc::ENOENT) | Some(libc::ENOTDIR) => {
                        (ErrorCode::FileNotFound, "file not found")
                    }
                    Some(libc::EXDEV) | Some(libc::ELOOP) => (
                        ErrorCode::AccessViolation,
                        "access denied: the path leaves the TFTP root",
                    ),
                    _ => (ErrorCode::AccessViolation, "cannot open file"),
                };
                tracing::warn!(
                    "TFTP cannot send {} to {}: {e}",
                    path.display(),
                    r.peer.ip()
                );
                self.send_error(li, r, code, msg);
                return;
            }
        };
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            _ => {
                self.send_error(li, r, ErrorCode::AccessViolation, "not a regular file");
                return;
            }
        };
        // --tftp-secure: only files owned by our user; as root, only world-readable files.
        if self.settings.secure {
            let allowed = if self.secure_uid == 0 {
                meta.permissions().mode() & 0o004 != 0
            } else {
                meta.uid() == self.secure_uid
            };
            if !allowed {
                tracing::warn!(
                    "TFTP refused {} to {} (tftp-secure)",
                    path.display(),
                    r.peer.ip()
                );
                self.send_error(
                    li,
                    r,
                    ErrorCode::AccessViolation,
                    "access denied (tftp-secure)",
                );
                return;
            }
        }
        let (data, loader) = self.shared.cache.get(&meta, now);
        let data = match (req.mode, loader) {
            (Mode::Octet, Some(loader)) => {
                // Read by this thread's I/O loop; the transfer starts now and its blocks wait
                // for their bytes.
                self.out.push(Out::Load { loader, file });
                data
            }
            (Mode::Octet, None) => data,
            // netascii (small text files) needs the whole file to convert it: read now.
            (Mode::Netascii, loader) => {
                let whole = match loader {
                    Some(mut l) => match l.read_blocking(&file) {
                        Ok(n) => {
                            self.stats.add(&self.stats.file_reads, 1);
                            self.stats.add(&self.stats.bytes_read, n as u64);
                            Ok(data.filled().to_vec())
                        }
                        Err(e) => Err(e),
                    },
                    None if data.is_complete() => Ok(data.filled().to_vec()),
                    None => {
                        let mut v = Vec::new();
                        std::io::Read::read_to_end(&mut &file, &mut v).map(|n| {
                            self.stats.add(&self.stats.bytes_read, n as u64);
                            v
                        })
                    }
                };
                match whole {
                    Ok(w) => FileBytes::complete(to_netascii(&w)),
                    Err(e) => {
                        tracing::warn!("TFTP cannot read {}: {e}", path.display());
                        self.send_error(li, r, ErrorCode::AccessViolation, "cannot read file");
                        return;
                    }
                }
            }
        };
        let v6 = r.peer.is_ipv6();
        let mtu = match (self.settings.mtu, ifname.as_deref().and_then(interface_mtu)) {
            (Some(m), Some(i)) => m.min(i),
            (Some(m), None) => m,
            (None, Some(i)) => i,
            (None, None) => 65535,
        };
        let limits = Limits {
            no_blocksize: self.settings.no_blocksize,
            max_blksize: Limits::blksize_for_mtu(mtu, v6),
        };
        let neg = negotiate(&req.options, req.mode, data.len() as u64, &limits);
        // --tftp-max counts the transfers of every TFTP thread.
        if !self.reserve_transfer() {
            self.stats.add(&self.stats.busy, 1);
            return;
        }
        let sock = if self.settings.single_port {
            None
        } else {
            match self.transfer_socket(r.local, r.peer, li) {
                Some(s) => Some(s),
                None => {
                    self.shared.active.fetch_sub(1, Ordering::AcqRel);
                    self.stats.add(&self.stats.no_port, 1);
                    self.send_error(li, r, ErrorCode::Undefined, "no free port for the transfer");
                    return;
                }
            }
        };
        let (t, first) = Transfer::start(&neg, data.len() as u64, now);
        let mut oack = Vec::new();
        if let Some(o) = &neg.oack {
            write_oack(o, &mut oack);
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        self.serial = self.serial.wrapping_add(1);
        let serial = self.serial;
        match &sock {
            Some(s) => self.out.push(Out::Watch {
                owner: Owner { slot, serial },
                fd: s.as_raw_fd(),
            }),
            None => {
                self.by_peer.insert(r.peer, slot);
            }
        }
        self.slots[slot as usize] = Some(Active {
            serial,
            sock,
            listener: li,
            peer: r.peer,
            local: r.local,
            data,
            waiting: None,
            t,
            oack,
            path,
        });
        self.stats.add(&self.stats.started, 1);
        self.emit(slot, first);
    }
}
