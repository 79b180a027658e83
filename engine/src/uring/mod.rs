//! The io_uring backend. All unsafe ring code of the engine lives in this module.
//!
//! Per worker: one ring; one multishot `RecvMsgMulti` armed on every UDP socket (client listeners
//! and upstream sockets), receiving into a provided-buffer ring; answers and upstream queries go
//! out as `SendMsg` entries, all submitted with one `io_uring_enter` per loop turn that also
//! waits for the next completions. TCP sockets and the doorbell live in the worker's epoll set,
//! which the ring watches with a multishot `PollAdd`.
//!
//! Latency: a long batch of completions (after a stall, hundreds of queries) does not hold
//! every answer back until its end: the answers made so far are submitted every
//! [`FLUSH_EVERY`] datagrams, and the receive buffers used so far go back to the kernel with
//! them. CPU: sends carry `MSG_DONTWAIT`, so each one is done (sent, or failed with a completion
//! saying why) before the `io_uring_enter` that submits it returns, and successful sends post no
//! completion (`IOSQE_CQE_SKIP_SUCCESS`): their slots are free again after that call (but for a
//! reply refused as larger than its link with Don't Fragment set, which is kept and sent once
//! more when the loop has turned fragments on for its listener). Receive
//! completions are run in our own `io_uring_enter` only (DEFER_TASKRUN, Linux 6.1).

mod buf_ring;
mod enter;
pub mod file_bytes;
mod send;
mod slots;
pub mod tftp;
mod tftp_load;
mod tftp_wait;

use crate::clock;
use crate::epoll::Epoll;
use crate::socket::{CMSG_SPACE, parse_pktinfo, sockaddr_from_bytes, to_sockaddr, write_pktinfo};
use crate::worker::{UdpChange, WorkerCore, WorkerSockets};
use buf_ring::BufRing;
use enter::Enter;
use io_uring::types::{Fixed, RecvMsgOut};
use io_uring::{IoUring, cqueue, opcode, squeue};
use ringmasq_proto::dns::outbox::{Destination, Transmit};
use ringmasq_proto::dns::stats::DropReason;
use send::{SendSlot, queue_sends};
use slots::{apply_udp_changes, release_files, renew_ports};
use std::io;
use std::mem::zeroed;
use std::os::fd::AsRawFd;
use std::time::Duration;

const RING_ENTRIES: u32 = 256;
const BUFFERS: u16 = 128;
const BUF_SIZE: usize = 4096;
/// Room for a received datagram's source address in its buffer: a `sockaddr_in6`, rounded up
/// so that the control data after it is aligned for its headers.
const RECV_NAME_LEN: u32 = 32;
/// Room for a received datagram's control data: one IPV6_PKTINFO message (CMSG_SPACE of an
/// `in6_pktinfo`, the largest a listener asks for; IP_PKTINFO's is 32).
const RECV_CONTROL_LEN: usize = 40;
/// Sends in flight per worker.
const SEND_SLOTS: usize = 512;
/// Fixed-file slots kept free for client listeners added while running (`--bind-dynamic`).
const SPARE_LISTENERS: usize = 64;
/// Datagrams handled between two submissions of the answers made so far, within one batch of
/// completions (64 cache hits take ~200 us; the first answer should not wait for the last).
const FLUSH_EVERY: usize = 32;

const KIND_SHIFT: u64 = 56;
const KIND_RECV: u64 = 1;
const KIND_SEND: u64 = 2;
const KIND_POLL: u64 = 3;
const KIND_CANCEL: u64 = 4;
/// Receive user data: kind, then the socket's generation (bits 32..56), then its index.
const GEN_SHIFT: u64 = 32;
const GEN_MASK: u64 = (1 << (KIND_SHIFT - GEN_SHIFT)) - 1;
const INDEX_MASK: u64 = (1 << GEN_SHIFT) - 1;
/// Send user data: kind, then the fixed file it leaves from (bits 16..48), then its slot.
const SEND_FIXED_SHIFT: u64 = 16;

/// Checks that io_uring works here with what this backend needs (multishot recvmsg, 6.0+;
/// buffer rings, 5.19+; sends without success completions, 5.17+; sends with a destination
/// address, 6.0+).
pub fn probe() -> io::Result<()> {
    let ring = IoUring::new(8)?;
    if !ring.params().is_feature_skip_cqe_on_success() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "io_uring lacks IOSQE_CQE_SKIP_SUCCESS",
        ));
    }
    let mut p = io_uring::Probe::new();
    ring.submitter().register_probe(&mut p)?;
    for op in [
        opcode::RecvMsg::CODE,
        opcode::SendMsg::CODE,
        opcode::Send::CODE,
        opcode::PollAdd::CODE,
    ] {
        if !p.is_supported(op) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("io_uring opcode {op} unsupported"),
            ));
        }
    }
    // Buffer rings are the feature most often missing on old kernels.
    let _bufs = BufRing::new(&ring, 8, 64, 0)?;
    Ok(())
}

/// A UDP socket the ring receives on.
struct RecvSocket {
    fixed: u32,
    kind: SocketKind,
    armed: bool,
    /// A socket is behind `fixed` (false for a listener slot kept free or closed).
    active: bool,
    /// Bumped when the socket behind `fixed` is replaced: completions of the old socket's
    /// receive carry the old generation and are discarded.
    generation: u64,
}

impl RecvSocket {
    fn user_data(&self, idx: usize) -> u64 {
        (KIND_RECV << KIND_SHIFT) | ((self.generation & GEN_MASK) << GEN_SHIFT) | idx as u64
    }
}

#[derive(Clone, Copy)]
enum SocketKind {
    Client(u16),
    Upstream(u16),
}

/// The ring and the memory it uses; fields drop in order, so the ring goes before its buffers
/// (and its registered index before the ring).
struct Ring {
    enter: Enter,
    ring: IoUring,
    bufs: BufRing,
    /// The msghdr template for multishot receives (only name and control lengths are read).
    recv_hdr: Box<libc::msghdr>,
    sends: Box<[SendSlot]>,
    free_sends: Vec<u16>,
    /// Slots of the sends queued since the submission queue was last seen empty.
    queued_sends: Vec<u16>,
    /// Some active socket may have no receive armed: scan them on the next loop turn (a scan
    /// of every fixed slot, ~200 with the upstream pool, on every turn cost more than a
    /// cache hit's own DNS work).
    rearm: bool,
    /// Completions taken off the ring by `submit`, in order, for the loop to handle:
    /// (user data, result, flags).
    reaped: Vec<(u64, i32, u32)>,
}

impl Ring {
    /// Submits what is queued (waiting for `want` completions, at most `timeout`), takes the
    /// completions off the ring (into `reaped`), then frees the send slots the kernel is done
    /// with. A send that failed as larger than its link is held back from that (see
    /// [`SendSlot::held`]): its failure is known only from its completion, which is why the
    /// completions are taken here, before the slots are freed.
    fn submit(&mut self, core: &mut WorkerCore, want: usize, timeout: Duration) -> io::Result<()> {
        let result = match self.enter.submit(&mut self.ring, want, timeout) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(()),
            Err(e) => Err(e),
        };
        for c in self.ring.completion() {
            let (ud, res) = (c.user_data(), c.result());
            if res == -libc::EMSGSIZE && ud >> KIND_SHIFT == KIND_SEND {
                let idx = (ud & u64::from(u16::MAX)) as u16;
                send::hold_if_queued(&mut self.sends, &self.queued_sends, idx);
            }
            self.reaped.push((ud, res, c.flags()));
        }
        self.release_sends(core);
        result
    }

    /// Frees the slots of queued sends once the kernel has taken every queued entry. A send
    /// marked `MSG_DONTWAIT` is issued when it is taken: it either went out, or failed (its
    /// completion reports that), and in neither case does the kernel read its memory again.
    fn release_sends(&mut self, core: &mut WorkerCore) {
        if self.queued_sends.is_empty() || !self.ring.submission().is_empty() {
            return;
        }
        for idx in self.queued_sends.drain(..) {
            if self.sends[usize::from(idx)].held {
                // Freed, or sent once more, when the loop handles its completion.
                continue;
            }
            if let Some(buf) = self.sends[usize::from(idx)].buf.take() {
                core.outbox.recycle(buf);
            }
            self.free_sends.push(idx);
        }
    }
}

/// Runs the worker on io_uring until it is told to stop.
pub fn run(mut core: WorkerCore, mut sockets: WorkerSockets) -> anyhow::Result<()> {
    // Receive completion work runs only inside this thread's io_uring_enter, in one batch per
    // wait (DEFER_TASKRUN, Linux 6.1); older kernels run it cooperatively.
    let ring = match IoUring::builder()
        .setup_cqsize(RING_ENTRIES * 4)
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(RING_ENTRIES)
    {
        Ok(r) => r,
        Err(_) => IoUring::builder()
            .setup_cqsize(RING_ENTRIES * 4)
            .setup_coop_taskrun()
            .setup_single_issuer()
            .build(RING_ENTRIES)?,
    };
    let bufs = BufRing::new(&ring, BUFFERS, BUF_SIZE, 1)?;
    // SAFETY: all-zero msghdr is valid; only the two lengths matter for multishot recvmsg.
    let mut recv_hdr: Box<libc::msghdr> = Box::new(unsafe { zeroed() });
    // The kernel writes each datagram's header, address, control data and payload one after
    // the other into its buffer: the tighter the first three, the fewer cache lines a query
    // spans: a typical query (~50 octets) now ends within the first three lines, not five.
    recv_hdr.msg_namelen = RECV_NAME_LEN;
    recv_hdr.msg_controllen = RECV_CONTROL_LEN as _;
    let sends: Box<[SendSlot]> = (0..SEND_SLOTS).map(|_| SendSlot::new()).collect();
    let mut r = Ring {
        enter: Enter::new(&ring),
        ring,
        bufs,
        recv_hdr,
        sends,
        free_sends: (0..SEND_SLOTS as u16).rev().collect(),
        queued_sends: Vec::with_capacity(SEND_SLOTS),
        rearm: true,
        reaped: Vec::with_capacity(RING_ENTRIES as usize * 4),
    };
    // Registered files: client sockets, then upstream v4, then upstream v6.
    let mut fds = Vec::new();
    let mut recv: Vec<RecvSocket> = Vec::new();
    // Client listeners, then free slots for listeners added later (sparse entries, -1).
    let client_slots = sockets.udp.len() + SPARE_LISTENERS;
    for i in 0..client_slots {
        let fd = sockets
            .udp
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|s| s.recv.as_raw_fd());
        recv.push(RecvSocket {
            fixed: fds.len() as u32,
            kind: SocketKind::Client(i as u16),
            armed: false,
            active: fd.is_some(),
            generation: 0,
        });
        fds.push(fd.unwrap_or(-1));
    }
    let up_v4_base = fds.len() as u32;
    for (i, s) in sockets.upstream_v4.iter().enumerate() {
        recv.push(RecvSocket {
            fixed: fds.len() as u32,
            kind: SocketKind::Upstream(i as u16),
            armed: false,
            active: true,
            generation: 0,
        });
        fds.push(s.as_raw_fd());
    }
    let up_v6_base = fds.len() as u32;
    for (i, s) in sockets.upstream_v6.iter().enumerate() {
        recv.push(RecvSocket {
            fixed: fds.len() as u32,
            kind: SocketKind::Upstream(i as u16),
            armed: false,
            active: true,
            generation: 0,
        });
        fds.push(s.as_raw_fd());
    }
    let pool = sockets.pool_slots();
    let (v4_slots, v6_slots, bound_slots) = (
        sockets.upstream_v4.len(),
        sockets.upstream_v6.len(),
        sockets.upstream_bound.len(),
    );
    let up_bound_base = fds.len() as u32;
    for (k, s) in sockets.upstream_bound.iter().enumerate() {
        recv.push(RecvSocket {
            fixed: fds.len() as u32,
            kind: SocketKind::Upstream(pool + k as u16),
            armed: false,
            active: true,
            generation: 0,
        });
        fds.push(s.as_raw_fd());
    }
    // The sockets client replies leave from, listener by listener (the listener itself where
    // it has no reply socket): see `ClientUdp`.
    let reply_base = fds.len() as u32;
    for i in 0..client_slots {
        let fd = sockets
            .udp
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|s| s.sender().as_raw_fd());
        fds.push(fd.unwrap_or(-1));
    }
    r.ring.submitter().register_files(&fds)?;
    let mut poll_armed = false;
    let mut epoll_busy = false;
    let mut epoll_events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
    let fixed_for = |to: &Destination| -> Option<u32> {
        match *to {
            Destination::Client(ep) => {
                ((ep.socket as usize) < client_slots).then_some(reply_base + u32::from(ep.socket))
            }
            Destination::Upstream { slot, .. } if slot >= pool => {
                let k = usize::from(slot - pool);
                (k < bound_slots).then_some(up_bound_base + k as u32)
            }
            Destination::Upstream { slot, server } => {
                if server.is_ipv6() {
                    ((slot as usize) < v6_slots).then_some(up_v6_base + u32::from(slot))
                } else {
                    ((slot as usize) < v4_slots).then_some(up_v4_base + u32::from(slot))
                }
            }
            Destination::UpstreamTcp { .. } => None,
        }
    };

    while !core.stopping {
        // (Re-)arm multishot receives and the epoll watch.
        if std::mem::take(&mut r.rearm) {
            for (i, s) in recv.iter_mut().enumerate() {
                if !s.armed && s.active {
                    let e = opcode::RecvMsgMulti::new(Fixed(s.fixed), &*r.recv_hdr, r.bufs.bgid())
                        .build()
                        .user_data(s.user_data(i));
                    if r.push(&mut core, &e) {
                        s.armed = true;
                    } else {
                        r.rearm = true;
                    }
                }
            }
        }
        if !poll_armed {
            let e = opcode::PollAdd::new(io_uring::types::Fd(core.epoll.fd()), libc::POLLIN as u32)
                .multi(true)
                .build()
                .user_data(KIND_POLL << KIND_SHIFT);
            if r.push(&mut core, &e) {
                poll_armed = true;
            }
        }
        queue_sends(&mut core, &mut r, &fixed_for);
        // Without a pending timer the wait has no time limit: an idle worker sleeps until a
        // datagram, an epoll event or the doorbell, and no wait arms a kernel timer for nothing.
        let wait = if epoll_busy {
            Duration::ZERO
        } else {
            core.wait_ms(clock::now)
                .map_or(Duration::MAX, Duration::from_millis)
        };
        // Sends post no completion when they succeed: wait for one completion (a datagram, a
        // failed send, a timer's end, an epoll event) — unless a submission made while queuing
        // has already taken some off the ring.
        let (want, wait) = if r.reaped.is_empty() {
            (1, wait)
        } else {
            (0, Duration::ZERO)
        };
        r.submit(&mut core, want, wait)?;
        let now = clock::now();
        core.refresh();
        let mut returned = false;
        let mut handled = 0usize;
        // Submissions inside the batch (the flushes below) add their completions to its end.
        let mut next = 0;
        while let Some(&(ud, res, flags)) = r.reaped.get(next) {
            next += 1;
            if handled == FLUSH_EVERY {
                // A long batch: send the answers made so far, return the buffers used so far.
                handled = 0;
                if returned {
                    r.bufs.publish();
                    returned = false;
                }
                queue_sends(&mut core, &mut r, &fixed_for);
                r.submit(&mut core, 0, Duration::ZERO)?;
            }
            let idx = (ud & INDEX_MASK) as usize;
            match ud >> KIND_SHIFT {
                KIND_RECV if recv.get(idx).map(|s| s.user_data(idx)) != Some(ud) => {
                    // The receive of a socket since replaced: hand its buffer back, drop the data.
                    // SAFETY: as below; the buffer is pushed back at once.
                    if res >= 0
                        && let Some((bid, _)) = unsafe { r.bufs.get(flags, res as usize) }
                    {
                        r.bufs.push(bid);
                        returned = true;
                        core.counters.drop_packet(DropReason::RejectedAnswer);
                    }
                }
                KIND_RECV => {
                    if !cqueue::more(flags) {
                        recv[idx].armed = false;
                        r.rearm = true;
                    }
                    if res < 0 {
                        // ENOBUFS: every buffer was busy; the receive re-arms next turn.
                        continue;
                    }
                    // SAFETY: a completed buffer-select receive on our group; the buffer is
                    // pushed back below, after its last use.
                    let Some((bid, data)) = (unsafe { r.bufs.get(flags, res as usize) }) else {
                        continue;
                    };
                    let parsed = RecvMsgOut::parse(data, &r.recv_hdr);
                    if let Ok(msg) = &parsed
                        && msg.is_payload_truncated()
                    {
                        // Larger than a buffer: dropped, and counted.
                        core.truncated_datagram(matches!(recv[idx].kind, SocketKind::Upstream(_)));
                    } else if let Ok(msg) = parsed
                        && let Some(peer) = sockaddr_from_bytes(msg.name_data())
                    {
                        match recv[idx].kind {
                            SocketKind::Client(sock) => {
                                let (local, ifindex) = parse_pktinfo(msg.control_data());
                                core.client_datagram(
                                    now,
                                    sock,
                                    peer,
                                    local,
                                    ifindex,
                                    msg.payload_data(),
                                );
                            }
                            SocketKind::Upstream(slot) => {
                                core.upstream_datagram(now, slot, peer, msg.payload_data());
                            }
                        }
                    }
                    r.bufs.push(bid);
                    returned = true;
                    handled += 1;
                }
                // Only a failed send posts a completion; its slot was freed at submission, unless
                // it failed as larger than its link (held): then a client listener's reply goes
                // once more, fragmented.
                KIND_SEND if res < 0 => {
                    let fixed = ((ud >> SEND_FIXED_SHIFT) & u64::from(u32::MAX)) as usize;
                    let slot = (ud & u64::from(u16::MAX)) as u16;
                    if res == -libc::EMSGSIZE
                        && let Some(i) = fixed.checked_sub(reply_base as usize)
                        && let Some(Some(s)) = sockets.udp.get(i)
                    {
                        crate::socket::fragments_after_emsgsize(s.sender());
                        if r.resend(&mut core, slot) {
                            continue;
                        }
                    }
                    r.drop_held(&mut core, slot);
                    core.counters.drop_packet(DropReason::SendFailed);
                }
                KIND_POLL => {
                    if !cqueue::more(flags) {
                        poll_armed = false;
                    }
                    epoll_busy = true;
                }
                _ => {}
            }
        }
        r.reaped.clear();
        if returned {
            r.bufs.publish();
        }
        // The ring's poll on the epoll fd fires on new readiness only; sockets epoll still
        // reports as ready (a listener with a backlog, say) are drained here, turn after turn,
        // until epoll reports nothing.
        if epoll_busy {
            let n = core.epoll.wait(&mut epoll_events, 0)?;
            for ev in &epoll_events[..n] {
                core.epoll_event(Epoll::token(ev), now);
            }
            epoll_busy = n > 0;
        }
        core.timers(now);
        renew_ports(
            &mut core,
            &mut r,
            &mut sockets,
            &mut recv,
            up_v4_base,
            up_v6_base,
        )?;
        apply_udp_changes(
            &mut core,
            &mut r,
            &mut sockets,
            &mut recv,
            client_slots,
            reply_base,
        )?;
    }
    // Let queued sends go before their buffers are freed with the ring.
    let _ = r.submit(&mut core, 0, Duration::ZERO);
    release_files(&r.ring);
    Ok(())
}

/// Pushes one SQE; when the queue is full, submits first. False if it still does not fit.
fn push(ring: &mut IoUring, e: &io_uring::squeue::Entry) -> bool {
    // SAFETY: every pointer in `e` (msghdr templates, registered buffers) stays valid until its
    // completion: they live beside the IoUring and outlive its use of them.
    if unsafe { ring.submission().push(e) }.is_ok() {
        return true;
    }
    let _ = ring.submit();
    // SAFETY: as above.
    unsafe { ring.submission().push(e) }.is_ok()
}

impl Ring {
    /// Pushes one SQE; when the queue is full, submits first (which frees the send slots
    /// queued so far). False if it still does not fit.
    fn push(&mut self, core: &mut WorkerCore, e: &io_uring::squeue::Entry) -> bool {
        // SAFETY: every pointer in `e` (msghdr templates, send slots) stays valid for as long
        // as the kernel reads it: they live in this `Ring`, which outlives the IoUring's use of
        // them, and a send slot is reused only after the submission that took its entry
        // (`release_sends`).
        if unsafe { self.ring.submission().push(e) }.is_ok() {
            return true;
        }
        let _ = self.submit(core, 0, Duration::ZERO);
        // SAFETY: as above.
        unsafe { self.ring.submission().push(e) }.is_ok()
    }
}
