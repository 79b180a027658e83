//! The TFTP loop on io_uring: many concurrent transfers on one ring per TFTP thread (one thread
//! per worker, `--threads`).
//!
//! Design:
//! - Each transfer keeps its own connected socket (RFC 1350's transfer ID is the server port);
//!   one multishot `Recv` is armed on it when the transfer starts, receiving ACKs into a
//!   provided-buffer ring shared by all transfers, so an ACK costs no system call of its own.
//!   When the transfer ends the receive is cancelled and the socket closed after the next
//!   submission (the kernel keeps its own reference until the cancelled receive completes).
//! - Every DATA block is one `SendMsg` entry whose iovecs point at a 4-byte header in the send
//!   slot and straight into the file's shared bytes (an `Arc` clone held by the slot until the
//!   completion arrives): no copy in user space, and one file read serves every transfer.
//! - One `io_uring_enter` per loop turn submits every send the turn queued and waits for the
//!   next completions or the next timer scan ([`TICK`]); the ACK receives complete as task work
//!   of that same call. So a burst of clients costs roughly one kernel entry per turn instead of
//!   an epoll wait, a receive and a send per ACK. With several transfers running, the wait
//!   gathers their ACKs for a bounded time (`--tftp-ack-gather`, `super::tftp_wait`), so the
//!   thread is not put to sleep and woken once per ACK.
//! - A file the shared cache does not hold is read through this ring into registered buffers,
//!   chunk by chunk, without blocking the loop (`super::tftp_load`); transfers of it send each
//!   block once its bytes have arrived.
//! - Listeners (one request per transfer, rare) are watched with a multishot `PollAdd` and read
//!   with plain `recvmsg` by the service; under `--tftp-single-port` the ACKs arrive there too.
//! - The transfer logic is the same [`TftpService`] the epoll loop drives; this file only turns
//!   its [`Out`] queue into ring entries and completions back into calls.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use io_uring::types::{Fd, SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, opcode};
use socket2::Socket;

use super::buf_ring::BufRing;
use super::enter::Enter;
use super::file_bytes::FileBytes;
use super::push;
use super::tftp_load::Loads;
use super::tftp_wait::Batching;
use crate::clock;
use crate::socket::{CMSG_SPACE, to_sockaddr, write_pktinfo};
use crate::tftp::outbox::{Out, Owner, Route};
use crate::tftp::service::{TICK, TftpService};
use crate::tftp::stats::TftpStats;

const RING_ENTRIES: u32 = 1024;
/// Receive buffers for ACKs and client ERRORs (larger datagrams are cut; a transfer socket
/// expects nothing larger).
const BUFFERS: u16 = 2048;
const BUF_SIZE: usize = 1024;
/// Sends in flight: room for 1,000 transfers with windows of 8.
const SEND_SLOTS: usize = 8192;

const KIND_SHIFT: u64 = 56;
const KIND_RECV: u64 = 1;
const KIND_SEND: u64 = 2;
const KIND_POLL: u64 = 3;
const KIND_CANCEL: u64 = 4;
const KIND_READ: u64 = 5;
const SERIAL_SHIFT: u64 = 24;
const SLOT_MASK: u64 = (1 << SERIAL_SHIFT) - 1;

fn recv_user_data(o: Owner) -> u64 {
    (KIND_RECV << KIND_SHIFT)
        | (u64::from(o.serial) << SERIAL_SHIFT)
        | (u64::from(o.slot) & SLOT_MASK)
}

fn owner_of(ud: u64) -> Owner {
    Owner {
        slot: (ud & SLOT_MASK) as u32,
        serial: (ud >> SERIAL_SHIFT) as u32,
    }
}

/// One send in flight: everything the kernel reads until its completion arrives.
struct SendSlot {
    hdr: libc::msghdr,
    iov: [libc::iovec; 2],
    head: [u8; 4],
    name: libc::sockaddr_storage,
    control: [u8; CMSG_SPACE],
    /// The file bytes the second iovec points into (a DATA block).
    data: Option<Arc<FileBytes>>,
    /// The bytes the first iovec points at (an OACK or ERROR).
    bytes: Vec<u8>,
    /// A socket used for this packet alone, closed once it has left.
    keep: Option<Socket>,
    owner: Option<Owner>,
}

impl SendSlot {
    /// Lets go of what a finished send held (`res`: its result), counting a DATA block that
    /// left; returns the transfer it belonged to.
    fn release(&mut self, res: i32, stats: &TftpStats) -> Option<Owner> {
        if res >= 0 && self.data.is_some() {
            stats.add(&stats.data_sent, 1);
        }
        self.clear()
    }

    /// Lets go of everything the slot holds; returns the transfer it belonged to.
    fn clear(&mut self) -> Option<Owner> {
        self.data = None;
        self.keep = None;
        self.bytes.clear();
        self.owner.take()
    }
}

struct Ring {
    /// How this thread enters the ring; dropped before it (it may hold a registered index).
    enter: Enter,
    ring: IoUring,
    bufs: BufRing,
    sends: Box<[SendSlot]>,
    free: Vec<u16>,
    /// Completions taken off the queue while waiting for a free send slot.
    deferred: Vec<(u64, i32, u32)>,
    /// Sockets of ended transfers, closed once the entries naming them are submitted.
    closing: Vec<Socket>,
    /// Sends queued since the last submission. They complete during the submission itself
    /// (MSG_DONTWAIT: a full buffer fails at once), so the wait asks for one completion more
    /// than these: a lock-step transfer then costs one `io_uring_enter` per block, not two.
    queued_sends: usize,
    /// Files being read into the shared cache through this ring.
    loads: Loads,
}

/// Runs `service` on an io_uring ring until it is told to stop.
pub fn run(mut service: TftpService) -> Result<()> {
    // Completion work (the ACK receives) runs only inside our own io_uring_enter, in one batch
    // per turn (DEFER_TASKRUN, Linux 6.1); older kernels run it cooperatively.
    let ring = match IoUring::builder()
        .setup_cqsize(RING_ENTRIES * 16)
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(RING_ENTRIES)
    {
        Ok(r) => r,
        Err(_) => IoUring::builder()
            .setup_cqsize(RING_ENTRIES * 16)
            .setup_coop_taskrun()
            .setup_single_issuer()
            .build(RING_ENTRIES)?,
    };
    let supported = ring.params().is_feature_min_timeout();
    let mut batching = Batching::new(supported, service.ack_gather_usec());
    if batching.enabled() {
        tracing::info!(
            "TFTP ring: ACKs of concurrent transfers gathered for up to {} us per wake-up",
            service.ack_gather_usec()
        );
    } else if supported {
        tracing::info!("TFTP ring: one wake-up per ACK (--tftp-ack-gather=0)");
    } else {
        tracing::info!(
            "TFTP ring: one wake-up per ACK (this kernel's io_uring has no minimum wait time, \
             Linux 6.12)"
        );
    }
    let bufs = BufRing::new(&ring, BUFFERS, BUF_SIZE, 0)?;
    let loads = Loads::new(&ring, KIND_READ << KIND_SHIFT);
    let sends: Box<[SendSlot]> = (0..SEND_SLOTS)
        .map(|_| SendSlot {
            // SAFETY: all-zero C structs are valid values.
            hdr: unsafe { std::mem::zeroed() },
            // SAFETY: as above.
            iov: unsafe { std::mem::zeroed() },
            head: [0; 4],
            // SAFETY: as above.
            name: unsafe { std::mem::zeroed() },
            control: [0; CMSG_SPACE],
            data: None,
            bytes: Vec::new(),
            keep: None,
            owner: None,
        })
        .collect();
    let mut r = Ring {
        enter: Enter::new(&ring),
        ring,
        bufs,
        sends,
        free: (0..SEND_SLOTS as u16).rev().collect(),
        deferred: Vec::new(),
        closing: Vec::new(),
        queued_sends: 0,
        loads,
    };
    let listeners = service.listener_fds();
    let mut poll_armed = vec![false; listeners.len()];
    let mut listener_busy = vec![false; listeners.len()];
    let mut cqes: Vec<(u64, i32, u32)> = Vec::with_capacity(RING_ENTRIES as usize * 16);
    let mut out = Vec::new();
    let mut next_tick = clock::now();
    let result = loop {
        if service.stopping() {
            break Ok(());
        }
        for (i, fd) in listeners.iter().enumerate() {
            if !poll_armed[i] {
                let e = opcode::PollAdd::new(Fd(*fd), libc::POLLIN as u32)
                    .multi(true)
                    .build()
                    .user_data((KIND_POLL << KIND_SHIFT) | i as u64);
                poll_armed[i] = push(&mut r.ring, &e);
            }
        }
        let now = clock::now();
        let wait = if listener_busy.iter().any(|&b| b) {
            std::time::Duration::ZERO
        } else if service.has_waiting() && !r.loads.busy() {
            // Bytes another thread reads: look again soon (this ring's own reads wake it).
            next_tick
                .saturating_duration_since(now)
                .min(std::time::Duration::from_millis(2))
        } else {
            next_tick.saturating_duration_since(now)
        };
        let plan = if wait.is_zero() {
            Batching::plain()
        } else {
            batching.plan(service.running())
        };
        let want = r.queued_sends + plan.completions;
        r.queued_sends = 0;
        match r
            .enter
            .submit_gathering(&mut r.ring, want, wait, plan.min_wait_usec)
        {
            Ok(_) => {}
            // A kernel that announced the minimum wait but refuses it (the queued entries
            // were submitted before the wait argument was checked).
            Err(e) if plan.min_wait_usec > 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::info!(
                    "TFTP ring: one wake-up per ACK (the kernel refused a minimum wait time)"
                );
                batching.disable();
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY)
                ) => {}
            Err(e) => break Err(e.into()),
        }
        // Every entry naming these sockets has been consumed.
        r.closing.clear();
        let now = clock::now();
        cqes.clear();
        cqes.append(&mut r.deferred);
        cqes.extend(
            r.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let mut returned = false;
        for &(ud, res, flags) in &cqes {
            match ud >> KIND_SHIFT {
                KIND_RECV => {
                    let owner = owner_of(ud);
                    if res >= 0 {
                        // SAFETY: a completed buffer-select receive on our group; the buffer is
                        // pushed back right after its last use below.
                        if let Some((bid, data)) = unsafe { r.bufs.get(flags, res as usize) } {
                            service.transfer_datagram(owner, data, now);
                            r.bufs.push(bid);
                            returned = true;
                        }
                    } else if res != -libc::ENOBUFS && res != -libc::ECANCELED {
                        // An ICMP error on the connected socket: the client is gone.
                        service.transfer_failed(owner);
                    }
                    if !cqueue::more(flags)
                        && res != -libc::ECANCELED
                        && let Some(fd) = service.transfer_fd(owner)
                    {
                        arm_recv(&mut r, owner, fd);
                    }
                }
                KIND_SEND => {
                    let owner = r.sends[(ud & SLOT_MASK) as usize].release(res, service.stats());
                    r.free.push((ud & SLOT_MASK) as u16);
                    // A full socket buffer loses packets like the network would (the timer
                    // resends); any other error means the client is gone.
                    if res < 0
                        && res != -libc::EAGAIN
                        && res != -libc::ENOBUFS
                        && let Some(o) = owner
                    {
                        service.transfer_failed(o);
                    }
                }
                KIND_READ => {
                    r.loads
                        .completed(&mut r.ring, (ud & 0xff) as usize, res, service.stats());
                }
                KIND_POLL => {
                    let i = (ud & SLOT_MASK) as usize;
                    if !cqueue::more(flags) {
                        poll_armed[i] = false;
                    }
                    listener_busy[i] = true;
                }
                _ => {}
            }
        }
        if returned {
            r.bufs.publish();
        }
        for (i, busy) in listener_busy.iter_mut().enumerate() {
            if *busy {
                *busy = service.listener_readable(i, now);
            }
        }
        if now >= next_tick {
            next_tick = now.saturating_add(TICK);
            service.tick(now);
        }
        service.poll_waiting();
        while service.has_out() {
            service.take_out(&mut out);
            for o in out.drain(..) {
                carry_out(&mut r, &mut service, o);
            }
        }
    };
    // Reads into file memory end before that memory may be freed.
    r.loads.drain(&mut r.ring, service.stats());
    // End every request so the ring lets go of the sockets before they close.
    let submitter = r.ring.submitter();
    let _ = submitter.register_sync_cancel(
        Some(Timespec::new().sec(1)),
        io_uring::types::CancelBuilder::any().all(),
    );
    let _ = submitter.submit_with_args(0, &SubmitArgs::new());
    result
}

fn arm_recv(r: &mut Ring, owner: Owner, fd: RawFd) {
    let e = opcode::RecvMulti::new(Fd(fd), r.bufs.bgid())
        .build()
        .user_data(recv_user_data(owner));
    push(&mut r.ring, &e);
}

/// Turns one request of the service into ring entries.
fn carry_out(r: &mut Ring, service: &mut TftpService, o: Out) {
    match o {
        Out::Blocks(b) => {
            for (head, bytes) in b.datagrams() {
                let Some(i) = free_slot(r, service) else {
                    // Every slot busy: the rest of the window is lost; the timer resends it.
                    return;
                };
                let s = &mut r.sends[usize::from(i)];
                s.head = head;
                s.iov[0] = libc::iovec {
                    iov_base: s.head.as_mut_ptr().cast(),
                    iov_len: 4,
                };
                s.iov[1] = libc::iovec {
                    iov_base: bytes.as_ptr() as *mut _,
                    iov_len: bytes.len(),
                };
                s.data = Some(Arc::clone(&b.data));
                s.owner = Some(b.owner);
                queue_send(r, i, b.route, if bytes.is_empty() { 1 } else { 2 });
            }
        }
        Out::Packet {
            owner,
            route,
            bytes,
            keep,
        } => {
            let Some(i) = free_slot(r, service) else {
                return;
            };
            let s = &mut r.sends[usize::from(i)];
            s.bytes = bytes;
            s.iov[0] = libc::iovec {
                iov_base: s.bytes.as_mut_ptr().cast(),
                iov_len: s.bytes.len(),
            };
            s.keep = keep;
            s.owner = owner;
            queue_send(r, i, route, 1);
        }
        Out::Watch { owner, fd } => arm_recv(r, owner, fd),
        Out::Load { loader, file } => {
            r.loads.start(&mut r.ring, loader, file, service.stats());
        }
        Out::Close { owner, sock } => {
            let e = opcode::AsyncCancel::new(recv_user_data(owner))
                .build()
                .user_data(KIND_CANCEL << KIND_SHIFT);
            push(&mut r.ring, &e);
            r.closing.push(sock);
        }
    }
}

/// A free send slot; when none is, submits and waits for some sends to complete (other
/// completions are kept for the main loop).
fn free_slot(r: &mut Ring, service: &mut TftpService) -> Option<u16> {
    if let Some(i) = r.free.pop() {
        return Some(i);
    }
    let _ = r.enter.submit(&mut r.ring, 1, Duration::from_secs(1));
    r.queued_sends = 0;
    let Ring {
        ring,
        sends,
        free,
        deferred,
        ..
    } = r;
    for c in ring.completion() {
        let ud = c.user_data();
        if ud >> KIND_SHIFT == KIND_SEND {
            sends[(ud & SLOT_MASK) as usize].release(c.result(), service.stats());
            free.push((ud & SLOT_MASK) as u16);
        } else {
            deferred.push((ud, c.result(), c.flags()));
        }
    }
    r.free.pop()
}

/// Fills send slot `i`'s message header for `route` with its first `iovs` iovecs and queues it.
fn queue_send(r: &mut Ring, i: u16, route: Route, iovs: usize) {
    let s = &mut r.sends[usize::from(i)];
    s.hdr.msg_iov = s.iov.as_mut_ptr();
    s.hdr.msg_iovlen = iovs as _;
    match route.to {
        Some(peer) => {
            let namelen = to_sockaddr(&peer, &mut s.name);
            let clen = write_pktinfo(route.from, 0, &mut s.control);
            s.hdr.msg_name = (&mut s.name as *mut libc::sockaddr_storage).cast();
            s.hdr.msg_namelen = namelen;
            s.hdr.msg_control = if clen > 0 {
                s.control.as_mut_ptr().cast()
            } else {
                std::ptr::null_mut()
            };
            s.hdr.msg_controllen = clen as _;
        }
        None => {
            s.hdr.msg_name = std::ptr::null_mut();
            s.hdr.msg_namelen = 0;
            s.hdr.msg_control = std::ptr::null_mut();
            s.hdr.msg_controllen = 0;
        }
    }
    s.hdr.msg_flags = 0;
    let e = opcode::SendMsg::new(Fd(route.fd), &s.hdr)
        .flags(libc::MSG_DONTWAIT as u32)
        .build()
        .user_data((KIND_SEND << KIND_SHIFT) | u64::from(i));
    if push(&mut r.ring, &e) {
        r.queued_sends += 1;
    } else {
        // Never queued: nothing left, nothing to count.
        s.clear();
        r.free.push(i);
    }
}
