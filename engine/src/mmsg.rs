//! The portable backend: epoll readiness with recvmmsg/sendmmsg batches.
//!
//! Used where io_uring cannot be set up (ENOSYS, EPERM under container seccomp profiles, or
//! `kernel.io_uring_disabled`) and when `--io-backend=epoll` asks for it. It runs the same
//! [`WorkerCore`] as the io_uring backend; only the way datagrams move differs.

use crate::clock;
use crate::epoll::{Epoll, Token};
use crate::socket::{CMSG_SPACE, from_sockaddr, parse_pktinfo, to_sockaddr, write_pktinfo};
use crate::worker::{UdpChange, WorkerCore, WorkerSockets};
use ringmasq_proto::dns::outbox::{Destination, Transmit};
use ringmasq_proto::dns::stats::DropReason;
use std::mem::zeroed;
use std::os::fd::AsRawFd;

/// Datagrams per recvmmsg/sendmmsg call.
const BATCH: usize = 32;
/// Receive buffer per datagram (larger than any EDNS payload we advertise).
const RECV_BUF: usize = 4096 + 512;

struct RecvBatch {
    bufs: Vec<[u8; RECV_BUF]>,
    names: Vec<libc::sockaddr_storage>,
    controls: Vec<[u8; CMSG_SPACE]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    fn new() -> Box<Self> {
        // SAFETY: all-zero sockaddr_storage, iovec and mmsghdr are valid values.
        let mut b = Box::new(Self {
            bufs: vec![[0u8; RECV_BUF]; BATCH],
            names: vec![unsafe { zeroed() }; BATCH],
            controls: vec![[0u8; CMSG_SPACE]; BATCH],
            iovs: vec![unsafe { zeroed() }; BATCH],
            hdrs: vec![unsafe { zeroed() }; BATCH],
        });
        b.rearm();
        b
    }

    fn rearm(&mut self) {
        for i in 0..BATCH {
            self.iovs[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: RECV_BUF,
            };
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = self.controls[i].as_mut_ptr().cast();
            h.msg_controllen = CMSG_SPACE as _;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
    }

    /// One recvmmsg; returns the number of datagrams.
    fn recv(&mut self, fd: i32) -> usize {
        self.rearm();
        // SAFETY: every header points at buffers owned by self that outlive the call.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 { 0 } else { n as usize }
    }
}

struct SendBatch {
    names: Vec<libc::sockaddr_storage>,
    controls: Vec<[u8; CMSG_SPACE]>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl SendBatch {
    fn new() -> Box<Self> {
        // SAFETY: all-zero values of these C structs are valid.
        Box::new(Self {
            names: vec![unsafe { zeroed() }; BATCH],
            controls: vec![[0u8; CMSG_SPACE]; BATCH],
            iovs: vec![unsafe { zeroed() }; BATCH],
            hdrs: vec![unsafe { zeroed() }; BATCH],
        })
    }
}

/// Runs the worker on the portable backend until it is told to stop.
pub fn run(mut core: WorkerCore, mut sockets: WorkerSockets) -> anyhow::Result<()> {
    let ep: &Epoll = &core.epoll;
    for (i, s) in sockets.udp.iter().enumerate() {
        if let Some(s) = s {
            ep.add(s.recv.as_raw_fd(), Token::Udp(i as u32), false)?;
        }
    }
    for (i, s) in sockets.upstream_v4.iter().enumerate() {
        ep.add(
            s.as_raw_fd(),
            Token::Upstream {
                slot: i as u16,
                v6: false,
            },
            false,
        )?;
    }
    for (i, s) in sockets.upstream_v6.iter().enumerate() {
        ep.add(
            s.as_raw_fd(),
            Token::Upstream {
                slot: i as u16,
                v6: true,
            },
            false,
        )?;
    }
    for (k, s) in sockets.upstream_bound.iter().enumerate() {
        ep.add(
            s.as_raw_fd(),
            Token::Upstream {
                slot: sockets.pool_slots() + k as u16,
                v6: false,
            },
            false,
        )?;
    }
    let mut events: Vec<libc::epoll_event> = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    let mut rb = RecvBatch::new();
    let mut sb = SendBatch::new();
    let mut sent: Vec<Transmit> = Vec::with_capacity(BATCH);
    while !core.stopping {
        let wait = core
            .wait_ms(clock::now)
            .map_or(-1, |ms| ms.min(i32::MAX as u64) as i32);
        let n = core.epoll.wait(&mut events, wait)?;
        let now = clock::now();
        core.refresh();
        for ev in &events[..n] {
            match Epoll::token(ev) {
                Token::Udp(i) => {
                    let Some(Some(sock)) = sockets.udp.get(i as usize) else {
                        continue;
                    };
                    let fd = sock.recv.as_raw_fd();
                    // Bounded so one busy socket cannot starve the others.
                    for _ in 0..8 {
                        let got = rb.recv(fd);
                        for k in 0..got {
                            let len = rb.hdrs[k].msg_len as usize;
                            let h = &rb.hdrs[k].msg_hdr;
                            let Some(peer) = from_sockaddr(&rb.names[k], h.msg_namelen as usize)
                            else {
                                continue;
                            };
                            if h.msg_flags & libc::MSG_TRUNC != 0 {
                                // Larger than the buffer: dropped, and counted.
                                core.truncated_datagram(false);
                                continue;
                            }
                            let (local, ifindex) =
                                parse_pktinfo(&rb.controls[k][..h.msg_controllen]);
                            core.client_datagram(
                                now,
                                i as u16,
                                peer,
                                local,
                                ifindex,
                                &rb.bufs[k][..len.min(RECV_BUF)],
                            );
                        }
                        flush(&mut core, &sockets, &mut sb, &mut sent);
                        if got < BATCH {
                            break;
                        }
                    }
                }
                Token::Upstream { slot, v6 } => {
                    let Some(sock) = sockets.upstream(slot, v6) else {
                        continue;
                    };
                    let fd = sock.as_raw_fd();
                    for _ in 0..8 {
                        let got = rb.recv(fd);
                        for k in 0..got {
                            let len = rb.hdrs[k].msg_len as usize;
                            let h = &rb.hdrs[k].msg_hdr;
                            let Some(from) = from_sockaddr(&rb.names[k], h.msg_namelen as usize)
                            else {
                                continue;
                            };
                            if h.msg_flags & libc::MSG_TRUNC != 0 {
                                core.truncated_datagram(true);
                                continue;
                            }
                            core.upstream_datagram(
                                now,
                                slot,
                                from,
                                &rb.bufs[k][..len.min(RECV_BUF)],
                            );
                        }
                        if got < BATCH {
                            break;
                        }
                    }
                }
                t => core.epoll_event(t, now),
            }
        }
        core.timers(now);
        flush(&mut core, &sockets, &mut sb, &mut sent);
        renew_ports(&mut core, &mut sockets)?;
        apply_udp_changes(&mut core, &mut sockets)?;
    }
    Ok(())
}

/// Adds and removes client UDP listeners as the control thread asked.
fn apply_udp_changes(core: &mut WorkerCore, sockets: &mut WorkerSockets) -> anyhow::Result<()> {
    for change in std::mem::take(&mut core.udp_changes) {
        match change {
            UdpChange::Add(s) => {
                let fd = s.recv.as_raw_fd();
                if let Some(i) = sockets.add_udp(s, usize::from(u16::MAX)) {
                    core.epoll.add(fd, Token::Udp(i as u32), false)?;
                }
            }
            UdpChange::Remove(addr) => {
                if let Some((_, s)) = sockets.remove_udp(addr) {
                    core.epoll.delete(s.recv.as_raw_fd())?;
                }
            }
        }
    }
    Ok(())
}

/// Replaces the pool sockets the forwarder is done with by sockets on fresh random ports.
fn renew_ports(core: &mut WorkerCore, sockets: &mut WorkerSockets) -> anyhow::Result<()> {
    core.fwd.take_port_renewals(&mut core.renewals);
    let mut renewals = std::mem::take(&mut core.renewals);
    for renewal in renewals.drain(..) {
        let slot = renewal.slot;
        match sockets.renew_pool_slot(renewal) {
            Ok(old) => {
                for (v6, s) in [(false, old.v4), (true, old.v6)] {
                    let Some(s) = s else { continue };
                    core.epoll.delete(s.as_raw_fd())?;
                    if let Some(new) = sockets.upstream(slot, v6) {
                        core.epoll
                            .add(new.as_raw_fd(), Token::Upstream { slot, v6 }, false)?;
                    }
                }
            }
            Err(e) => core.renew_failed(&e),
        }
        core.fwd.port_renewed(slot);
    }
    core.renewals = renewals;
    Ok(())
}

/// Sends everything in the outbox: UDP in sendmmsg batches per socket, TCP through the manager.
fn flush(
    core: &mut WorkerCore,
    sockets: &WorkerSockets,
    sb: &mut SendBatch,
    sent: &mut Vec<Transmit>,
) {
    let now = clock::now();
    loop {
        if core.outbox.is_empty() {
            return;
        }
        let mut scratch = std::mem::take(&mut core.scratch);
        core.outbox.take_pending(&mut scratch);
        let mut batch_fd = -1;
        // The client listener the batch leaves from, if it is one (see `send_batch`).
        let mut batch_listener: Option<&socket2::Socket> = None;
        for t in scratch.drain(..) {
            let Some(t) = core.send_tcp_or_return(t, now) else {
                continue;
            };
            match t.to {
                Destination::Client(ep) => {
                    let Some(Some(s)) = sockets.udp.get(ep.socket as usize) else {
                        core.outbox.recycle(t.buf);
                        continue;
                    };
                    let s = s.sender();
                    let fd = s.as_raw_fd();
                    if fd != batch_fd || sent.len() == BATCH {
                        send_batch(batch_fd, batch_listener, sb, sent, core);
                        batch_fd = fd;
                        batch_listener = Some(s);
                    }
                    let k = sent.len();
                    sb.hdrs[k].msg_hdr.msg_namelen = to_sockaddr(&ep.peer, &mut sb.names[k]);
                    let clen = write_pktinfo(ep.local, ep.ifindex, &mut sb.controls[k]);
                    sb.hdrs[k].msg_hdr.msg_controllen = clen as _;
                    sent.push(t);
                }
                Destination::Upstream { slot, server } => {
                    let Some(s) = sockets.upstream(slot, server.is_ipv6()) else {
                        core.outbox.recycle(t.buf);
                        continue;
                    };
                    let fd = s.as_raw_fd();
                    if fd != batch_fd || sent.len() == BATCH {
                        send_batch(batch_fd, batch_listener, sb, sent, core);
                        batch_fd = fd;
                        batch_listener = None;
                    }
                    let k = sent.len();
                    sb.hdrs[k].msg_hdr.msg_namelen = to_sockaddr(&server, &mut sb.names[k]);
                    sb.hdrs[k].msg_hdr.msg_controllen = 0;
                    sent.push(t);
                }
                Destination::UpstreamTcp { .. } => core.outbox.recycle(t.buf),
            }
        }
        send_batch(batch_fd, batch_listener, sb, sent, core);
        core.scratch = scratch;
    }
}

/// Sends `sent` on `fd` with sendmmsg. `listener` is the client listener behind `fd`, if it is
/// one: a reply it refuses for being larger than its link with Don't Fragment set (EMSGSIZE)
/// turns fragments on for it and is sent once more.
fn send_batch(
    fd: i32,
    listener: Option<&socket2::Socket>,
    sb: &mut SendBatch,
    sent: &mut Vec<Transmit>,
    core: &mut WorkerCore,
) {
    if sent.is_empty() {
        return;
    }
    for (k, t) in sent.iter().enumerate() {
        sb.iovs[k] = libc::iovec {
            iov_base: t.buf.as_ptr() as *mut _,
            iov_len: t.len,
        };
        let h = &mut sb.hdrs[k].msg_hdr;
        h.msg_name = (&mut sb.names[k] as *mut libc::sockaddr_storage).cast();
        h.msg_iov = &mut sb.iovs[k];
        h.msg_iovlen = 1;
        h.msg_control = if h.msg_controllen > 0 {
            sb.controls[k].as_mut_ptr().cast()
        } else {
            std::ptr::null_mut()
        };
        h.msg_flags = 0;
    }
    let mut done = 0;
    let mut retried = false;
    while done < sent.len() {
        // SAFETY: headers k in done..len point at names, controls and iovecs in `sb` and at
        // transmit buffers in `sent`, all alive until the call returns.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                sb.hdrs.as_mut_ptr().add(done),
                (sent.len() - done) as u32,
                0,
            )
        };
        if n <= 0 {
            let emsgsize = std::io::Error::last_os_error().raw_os_error() == Some(libc::EMSGSIZE);
            if let Some(s) = listener
                && emsgsize
                && !retried
            {
                crate::socket::fragments_after_emsgsize(s);
                retried = true;
                continue;
            }
            // A datagram the kernel refuses (socket buffer full, unreachable) is skipped and
            // counted, not retried forever.
            core.counters.drop_packet(DropReason::SendFailed);
            done += 1;
        } else {
            done += n as usize;
        }
    }
    for t in sent.drain(..) {
        core.outbox.recycle(t.buf);
    }
}
