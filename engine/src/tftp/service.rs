//! The TFTP thread: listeners on port 69, one connected socket per transfer (or the listener
//! itself under `--tftp-single-port`), the transfers' state machines and their timers.
//!
//! One loop turn: wait on epoll (level-triggered) at most until the next timer scan, read one
//! datagram from each ready socket, feed it to its transfer, and send what the transfer asks
//! for; every 50 ms, give the transfers whose deadline passed their timeout.

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
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

use super::files::{FileCache, euid, open_beneath, open_dir};
use super::net::{MAX_BATCH, recv, send_parts};
use super::stats::TftpStats;
use crate::clock;
use crate::epoll::{Epoll, Token};

/// How often deadlines are checked.
const TICK: Duration = Duration::from_millis(50);
/// Token numbers at or above this are transfers; below, listeners.
const TRANSFER_BASE: u32 = 1 << 20;

struct Active {
    /// The transfer's own socket; `None` under `--tftp-single-port`.
    sock: Option<Socket>,
    /// Index of the listener it arrived on (used under single-port).
    listener: usize,
    peer: SocketAddr,
    local: Option<IpAddr>,
    data: Arc<[u8]>,
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
    epoll: Epoll,
    slots: Vec<Option<Active>>,
    free: Vec<u32>,
    by_peer: HashMap<SocketAddr, u32>,
    active: usize,
    cache: FileCache,
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
    let want = ip.to_string();
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.first() == Some(&want.as_str()))
            .then(|| {
                f.get(3)?
                    .split(':')
                    .map(|h| u8::from_str_radix(h, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
            .filter(|m| m.iter().any(|&b| b != 0))
    })
}

impl TftpService {
    /// Binds the listeners and opens the roots. A missing root is fatal unless
    /// `--tftp-no-fail`.
    pub fn new(
        settings: &TftpSettings,
        addrs: &[SocketAddr],
        stop: Arc<AtomicBool>,
        stats: Arc<TftpStats>,
    ) -> Result<Self> {
        let epoll = Epoll::new().context("epoll for TFTP")?;
        let mut listeners = Vec::new();
        for (i, a) in addrs.iter().enumerate() {
            let s =
                crate::socket::udp_listener(*a).with_context(|| format!("TFTP listener on {a}"))?;
            epoll.add(s.as_raw_fd(), Token::Tftp(i as u32), false)?;
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
            epoll,
            slots: Vec::new(),
            free: Vec::new(),
            by_peer: HashMap::new(),
            active: 0,
            cache: FileCache::default(),
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

    /// Runs until the stop flag is set.
    pub fn run(mut self) {
        let mut events: Vec<libc::epoll_event> = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let mut next_tick = clock::now();
        while !self.stop.load(Ordering::Relaxed) {
            let n = match self.epoll.wait(&mut events, TICK.as_millis() as i32) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!("TFTP epoll: {e}");
                    return;
                }
            };
            let now = clock::now();
            for ev in &events[..n] {
                if let Token::Tftp(i) = Epoll::token(ev) {
                    if i >= TRANSFER_BASE {
                        self.transfer_readable(i - TRANSFER_BASE, now);
                    } else {
                        self.listener_readable(i as usize, now);
                    }
                }
            }
            if now >= next_tick {
                next_tick = now.saturating_add(TICK);
                self.tick(now);
            }
        }
    }

    fn tick(&mut self, now: Instant) {
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
        self.cache.expire(now);
        self.stats
            .set_cache(self.cache.reads, self.cache.bytes_read);
    }

    fn listener_readable(&mut self, li: usize, now: Instant) {
        // A few datagrams per turn, so one busy listener cannot starve the transfers.
        for _ in 0..16 {
            let fd = self.listeners[li].as_raw_fd();
            let r = match recv(fd, &mut self.buf) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(_) => return,
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
    }

    fn transfer_readable(&mut self, slot: u32, now: Instant) {
        let Some(Some(a)) = self.slots.get(slot as usize) else {
            return;
        };
        let Some(sock) = &a.sock else { return };
        let fd = sock.as_raw_fd();
        let mut buf = [0u8; 516];
        match recv(fd, &mut buf) {
            Ok(Some(r)) => match parse(&buf[..r.len]) {
                Ok(Packet::Ack(b)) => self.ack(slot, b, now),
                Ok(Packet::Error { .. }) => self.finish(slot, false, "the client sent an error"),
                Ok(_) => self.stats.add(&self.stats.unexpected, 1),
                Err(_) => self.stats.add(&self.stats.malformed, 1),
            },
            Ok(None) => {}
            // ICMP port unreachable: the client is gone.
            Err(_) => self.finish(slot, false, "the client went away"),
        }
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
        let (fd, to, from) = match &a.sock {
            Some(s) => (s.as_raw_fd(), None, None),
            None => (
                self.listeners[a.listener].as_raw_fd(),
                Some(a.peer),
                a.local,
            ),
        };
        let sent = match e {
            Emit::Oack => {
                let hdr = [a.oack[0], a.oack[1], a.oack[2], a.oack[3]];
                send_parts(fd, &[(hdr, &a.oack[4..])], to, from).map(|_| 0)
            }
            Emit::Blocks { first, last } => {
                let mut parts: [([u8; 4], &[u8]); MAX_BATCH] = [([0; 4], &[]); MAX_BATCH];
                let mut block = first;
                let mut total = 0;
                let mut result = Ok(0);
                while block <= last {
                    let mut n = 0;
                    while block <= last && n < MAX_BATCH {
                        let w = Transfer::wire_block(block).to_be_bytes();
                        parts[n] = ([0, 3, w[0], w[1]], &a.data[a.t.block_range(block)]);
                        n += 1;
                        block += 1;
                    }
                    match send_parts(fd, &parts[..n], to, from) {
                        Ok(k) => total += k,
                        Err(e) => {
                            result = Err(e);
                            break;
                        }
                    }
                }
                result.map(|_: usize| total)
            }
        };
        match sent {
            Ok(n) => self.stats.add(&self.stats.data_sent, n as u64),
            // A full socket buffer loses packets like the network would; the timer resends.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => self.finish(slot, false, "the client went away"),
        }
    }

    fn finish(&mut self, slot: u32, ok: bool, why: &str) {
        let Some(a) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        if let Some(s) = &a.sock {
            let _ = self.epoll.delete(s.as_raw_fd());
        } else {
            self.by_peer.remove(&a.peer);
        }
        self.free.push(slot);
        self.active -= 1;
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

    fn send_error(&mut self, li: usize, r: &super::net::Received, code: ErrorCode, msg: &str) {
        write_error(code, msg, &mut self.scratch);
        let hdr = [
            self.scratch[0],
            self.scratch[1],
            self.scratch[2],
            self.scratch[3],
        ];
        // From a fresh port when we can (the error is the first packet of a would-be
        // transfer, RFC 1350 §4), else from the listener.
        let fresh = self.transfer_socket(r.local, r.peer, li);
        let _ = match &fresh {
            Some(s) => send_parts(s.as_raw_fd(), &[(hdr, &self.scratch[4..])], None, None),
            None => send_parts(
                self.listeners[li].as_raw_fd(),
                &[(hdr, &self.scratch[4..])],
                Some(r.peer),
                r.local,
            ),
        };
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
        if self.active >= self.settings.max as usize {
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
        let data = match self.cache.get(file, &meta, now) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("TFTP cannot read {}: {e}", path.display());
                self.send_error(li, r, ErrorCode::AccessViolation, "cannot read file");
                return;
            }
        };
        let data: Arc<[u8]> = match req.mode {
            Mode::Octet => data,
            Mode::Netascii => to_netascii(&data).into(),
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
        let sock = if self.settings.single_port {
            None
        } else {
            match self.transfer_socket(r.local, r.peer, li) {
                Some(s) => Some(s),
                None => {
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
        if let Some(s) = &sock {
            if let Err(e) = self
                .epoll
                .add(s.as_raw_fd(), Token::Tftp(TRANSFER_BASE + slot), false)
            {
                tracing::warn!("TFTP: {e}");
                self.free.push(slot);
                return;
            }
        } else {
            self.by_peer.insert(r.peer, slot);
        }
        self.slots[slot as usize] = Some(Active {
            sock,
            listener: li,
            peer: r.peer,
            local: r.local,
            data,
            t,
            oack,
            path,
        });
        self.active += 1;
        self.stats.add(&self.stats.started, 1);
        self.emit(slot, first);
    }
}
