//! A read request: interface and limit checks, the root and the file (path rules,
//! `--tftp-unique-root`, `--tftp-secure`), the shared file bytes, option negotiation, the
//! transfer's socket; and the ERROR answers of refused requests.

use std::ffi::CStr;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::atomic::Ordering;

use ringmasq_config::UniqueRoot;
use ringmasq_proto::tftp::packet::{ErrorCode, write_error, write_oack};
use ringmasq_proto::tftp::{
    Limits, Mode, PathError, Request, Transfer, negotiate, resolve, to_netascii,
};
use ringmasq_proto::time::Instant;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::super::files::{FileBytes, open_beneath};
use super::super::net::Received;
use super::super::outbox::{Out, Owner, Route};
use super::{Active, TftpService};

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

    fn send_error(&mut self, li: usize, r: &Received, code: ErrorCode, msg: &str) {
        write_error(code, msg, &mut self.scratch);
        // From a fresh port when we can (the error is the first packet of a would-be
        // transfer, RFC 1350 §4), else from the listener.
        let fresh = self.transfer_socket(r.local, r.peer, li);
        let route = Route::of(
            fresh.as_ref(),
            self.listeners[li].as_raw_fd(),
            r.peer,
            r.local,
        );
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

    pub(super) fn request(&mut self, req: &Request<'_>, li: usize, r: &Received, now: Instant) {
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
                // --quiet-tftp: a missing file is routine, not a problem.
                if !(self.settings.quiet && matches!(e, PathError::Empty)) {
                    tracing::warn!(
                        "TFTP request for {name:?} from {} refused: {e}",
                        r.peer.ip()
                    );
                }
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
                // --quiet-tftp: a missing file is routine, not a problem.
                if !(self.settings.quiet && code == ErrorCode::FileNotFound) {
                    tracing::warn!(
                        "TFTP cannot send {} to {}: {e}",
                        path.display(),
                        r.peer.ip()
                    );
                }
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
                        // Not a refusal: code 0 with the reason (RFC 1350 §5), as for a read
                        // failing during an octet transfer.
                        self.send_error(
                            li,
                            r,
                            ErrorCode::Undefined,
                            "error reading the file: it changed or a read failed",
                        );
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
