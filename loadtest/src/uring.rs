//! io_uring UDP backend: connected sockets registered as fixed files, one multishot
//! receive per socket into a provided buffer ring, sends batched per submit with
//! `CQE_SKIP_SUCCESS` so only failures cost a completion.

use crate::transport::{BATCH_WAIT_US, Event, Transport, connected_udp_sockets};
use io_uring::types::{BufRingEntry, Fixed, SubmitArgs, Timespec};
use io_uring::{IoUring, cqueue, opcode, squeue};
use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};

/// Size of each provided receive buffer; a query without EDNS gets at most 512 octets
/// back over UDP (RFC 1035 §4.2.1), an EDNS one at most its advertised size.
pub(crate) const RECV_BUF: usize = 2048;
/// Buffer group id of the provided buffer ring.
const BGID: u16 = 7;
const RECV_TAG: u64 = 1 << 63;
const SEND_TAG: u64 = 1 << 62;
const GSO_TAG: u64 = 1 << 61;
/// Most datagrams in one segmented send (the kernel's UDP_MAX_SEGMENTS is 64 or more).
const GSO_SEGMENTS: usize = 64;
/// Most octets in one segmented send (one IP datagram's worth before segmentation).
const GSO_BYTES: usize = 60_000;
/// Segmented sends in flight.
const GSO_SLOTS: usize = 64;
/// Queued datagrams per poll before `queue` asks the caller to poll.
const PENDING_MAX: usize = 4096;
/// `UDP_SEGMENT` (linux/udp.h): the socket option and cmsg type for UDP GSO.
const UDP_SEGMENT: libc::c_int = 103;
const CMSG_BUF: usize = 32;

/// One datagram waiting for the next poll.
#[derive(Clone, Copy)]
struct Pending {
    socket: u32,
    ptr: *const u8,
    len: u32,
    token: u64,
}

/// A segmented send in flight: the header, iovecs and cmsg the kernel reads, and the tokens
/// of its datagrams (reported all together if the send fails).
struct GsoSlot {
    hdr: libc::msghdr,
    iovs: [libc::iovec; GSO_SEGMENTS],
    control: [u8; CMSG_BUF],
    tokens: Vec<u64>,
}

/// Why the io_uring backend could not start; `Unavailable` means fall back.
#[derive(Debug, thiserror::Error)]
pub enum UringSetupError {
    /// The kernel refused io_uring (ENOSYS, EPERM, seccomp) or a feature it needs.
    #[error("io_uring unavailable: {0}")]
    Unavailable(io::Error),
    /// Anything else (socket setup and the like).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A page-aligned provided-buffer ring and its buffers.
pub(crate) struct BufRing {
    pub(crate) ring: *mut BufRingEntry,
    layout: Layout,
    bufs: Vec<u8>,
    entries: u16,
    tail: u16,
}

impl BufRing {
    pub(crate) fn new(entries: u16) -> Self {
        let layout = Layout::from_size_align(
            usize::from(entries) * std::mem::size_of::<BufRingEntry>(),
            4096,
        )
        .expect("valid layout");
        // SAFETY: `layout` has non-zero size; the memory is freed in Drop with the same layout.
        let ring = unsafe { alloc_zeroed(layout) }.cast::<BufRingEntry>();
        assert!(!ring.is_null(), "out of memory for buffer ring");
        let mut br = BufRing {
            ring,
            layout,
            bufs: vec![0; usize::from(entries) * RECV_BUF],
            entries,
            tail: 0,
        };
        for bid in 0..entries {
            br.push(bid);
        }
        br.publish();
        br
    }

    /// Puts buffer `bid` back at the local tail (visible after [`BufRing::publish`]).
    pub(crate) fn push(&mut self, bid: u16) {
        let idx = usize::from(self.tail & (self.entries - 1));
        let addr = self.bufs.as_ptr() as u64 + u64::from(bid) * RECV_BUF as u64;
        // SAFETY: idx < entries, inside the allocation; the kernel only reads entries
        // between its head and the published tail, and this one is beyond the tail.
        let e = unsafe { &mut *self.ring.add(idx) };
        e.set_addr(addr);
        e.set_len(RECV_BUF as u32);
        e.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the local tail to the kernel (release store, as liburing does).
    pub(crate) fn publish(&self) {
        // SAFETY: the ring base is page aligned and initialised; the tail field overlays
        // entry 0's reserved field and is a properly aligned u16 shared with the kernel.
        unsafe {
            let tail = BufRingEntry::tail(self.ring).cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    /// Buffer `bid`'s first `len` octets, writable (the kernel is done with it once its
    /// completion was seen, until it is pushed back).
    pub(crate) fn buf_mut(&mut self, bid: u16, len: usize) -> &mut [u8] {
        let off = usize::from(bid) * RECV_BUF;
        &mut self.bufs[off..off + len.min(RECV_BUF)]
    }

    pub(crate) fn buf(&self, bid: u16, len: usize) -> &[u8] {
        let off = usize::from(bid) * RECV_BUF;
        &self.bufs[off..off + len.min(RECV_BUF)]
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout; the ring (declared first in
        // `UringTransport`) has been dropped, so the kernel no longer uses it.
        unsafe { dealloc(self.ring.cast(), self.layout) }
    }
}

/// The io_uring UDP transport.
pub struct UringTransport {
    // Field order matters: the ring is dropped before the buffers it points into.
    ring: IoUring,
    bufs: BufRing,
    /// Kept open for the registered file table.
    _socks: Vec<UdpSocket>,
    rearm: Vec<bool>,
    queued: usize,
    min_timeout: bool,
    /// Same-size datagrams to the same socket leave as one segmented send (UDP GSO).
    gso: bool,
    pending: Vec<Pending>,
    gso_slots: Box<[GsoSlot]>,
    free_gso: Vec<usize>,
}

impl UringTransport {
    /// Opens `sockets` connected sockets to `server` and a ring sized for `in_flight`
    /// outstanding queries. `batch_wait` allows waiting up to [`BATCH_WAIT_US`] for a
    /// batch of completions where the kernel supports it (6.12 min-timeout).
    pub fn new(
        server: SocketAddr,
        sockets: usize,
        in_flight: usize,
        batch_wait: bool,
        gso: bool,
    ) -> Result<Self, UringSetupError> {
        // Buffers are recycled after every completion batch, so the ring needs room for
        // one batch of responses, not for the whole window; the socket buffer absorbs
        // any excess (the multishot receive stops on ENOBUFS and is re-armed).
        let entries = in_flight.next_power_of_two().clamp(512, 4096) as u16;
        let sq = 1024u32;
        let mut b = IoUring::builder();
        b.setup_cqsize(u32::from(entries) * 2)
            .setup_single_issuer()
            .setup_coop_taskrun()
            .setup_defer_taskrun();
        let ring = b
            .build(sq)
            .or_else(|_| {
                IoUring::builder()
                    .setup_cqsize(u32::from(entries) * 2)
                    .build(sq)
            })
            .map_err(UringSetupError::Unavailable)?;
        let socks = connected_udp_sockets(server, sockets, false)?;
        let fds: Vec<i32> = socks.iter().map(|s| s.as_raw_fd()).collect();
        ring.submitter()
            .register_files(&fds)
            .map_err(UringSetupError::Unavailable)?;
        let bufs = BufRing::new(entries);
        // SAFETY: the ring memory stays valid until `bufs` drops, which is after `ring`.
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(bufs.ring as u64, entries, BGID, 0)
        }
        .map_err(UringSetupError::Unavailable)?;
        let min_timeout = batch_wait && ring.params().is_feature_min_timeout();
        let gso = gso && socks.iter().all(|s| gso_supported(s.as_raw_fd()));
        let gso_slots = (0..GSO_SLOTS)
            .map(|_| GsoSlot {
                // SAFETY: all-zero msghdr and iovec are valid values.
                hdr: unsafe { std::mem::zeroed() },
                iovs: [libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }; GSO_SEGMENTS],
                control: [0; CMSG_BUF],
                tokens: Vec::with_capacity(GSO_SEGMENTS),
            })
            .collect();
        Ok(UringTransport {
            ring,
            bufs,
            rearm: vec![true; socks.len()],
            _socks: socks,
            queued: 0,
            min_timeout,
            gso,
            pending: Vec::with_capacity(PENDING_MAX),
            gso_slots,
            free_gso: (0..GSO_SLOTS).rev().collect(),
        })
    }

    /// Whether sends are segmented (UDP GSO).
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// Turns the pending datagrams into SQEs: runs of equal-size datagrams for one socket go
    /// as one `SendMsg` with a `UDP_SEGMENT` cmsg, the kernel cutting it into datagrams;
    /// the rest as plain sends.
    fn flush_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // Reordering sends within one poll is harmless; grouping needs them adjacent.
        self.pending.sort_unstable_by_key(|p| (p.socket, p.len));
        let mut i = 0;
        while i < self.pending.len() {
            let first = self.pending[i];
            let mut j = i + 1;
            let mut bytes = first.len as usize;
            while j < self.pending.len()
                && j - i < GSO_SEGMENTS
                && self.pending[j].socket == first.socket
                && self.pending[j].len == first.len
                && bytes + first.len as usize <= GSO_BYTES
            {
                bytes += first.len as usize;
                j += 1;
            }
            let pushed = if j - i > 1
                && let Some(slot) = self.free_gso.pop()
            {
                let ok = self.push_gso(slot, i, j);
                if !ok {
                    self.free_gso.push(slot);
                }
                ok
            } else {
                false
            };
            if pushed {
                self.queued += j - i;
            } else {
                // One at a time (a lone datagram, no free slot, or a full queue).
                for k in i..j {
                    let p = self.pending[k];
                    if !self.push_send(p) {
                        let _ = self.ring.submit();
                        let _ = self.push_send(p);
                    }
                }
            }
            i = j;
        }
        self.pending.clear();
    }

    fn push_send(&mut self, p: Pending) -> bool {
        let e = opcode::Send::new(Fixed(p.socket), p.ptr, p.len)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(SEND_TAG | p.token);
        // SAFETY: the caller of `queue` keeps `ptr..ptr+len` valid until the send is
        // consumed; the kernel copies UDP payloads during submission.
        let ok = unsafe { self.ring.submission().push(&e) }.is_ok();
        self.queued += usize::from(ok);
        ok
    }

    /// Pushes pending[i..j] (same socket, same size) as one segmented send in `slot`.
    fn push_gso(&mut self, slot: usize, i: usize, j: usize) -> bool {
        let seg = self.pending[i].len as u16;
        let g = &mut self.gso_slots[slot];
        g.tokens.clear();
        for (k, p) in self.pending[i..j].iter().enumerate() {
            g.iovs[k] = libc::iovec {
                iov_base: p.ptr as *mut libc::c_void,
                iov_len: p.len as usize,
            };
            g.tokens.push(p.token);
        }
        g.control = [0; CMSG_BUF];
        g.hdr = unsafe { std::mem::zeroed() };
        g.hdr.msg_iov = g.iovs.as_mut_ptr();
        g.hdr.msg_iovlen = j - i;
        g.hdr.msg_control = g.control.as_mut_ptr().cast();
        g.hdr.msg_controllen = CMSG_BUF;
        // SAFETY: the control buffer holds one cmsg with a u16 payload (CMSG_SPACE(2) = 24
        // <= 32); CMSG_FIRSTHDR of a header with a large enough buffer is non-null.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&g.hdr);
            (*c).cmsg_level = libc::SOL_UDP;
            (*c).cmsg_type = UDP_SEGMENT;
            (*c).cmsg_len = libc::CMSG_LEN(2) as _;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), seg);
            g.hdr.msg_controllen = libc::CMSG_SPACE(2) as _;
        }
        let e = opcode::SendMsg::new(Fixed(self.pending[i].socket), &g.hdr)
            .build()
            .user_data(GSO_TAG | slot as u64);
        // SAFETY: the header, iovecs and cmsg live in `gso_slots` until this send completes
        // (the slot is only reused after its completion); the payloads are kept valid by the
        // caller of `queue` until the next poll returns, and submission happens within it.
        unsafe { self.ring.submission().push(&e) }.is_ok()
    }

    fn push_rearms(&mut self) {
        for (i, r) in self.rearm.iter_mut().enumerate() {
            if *r {
                let e = opcode::RecvMulti::new(Fixed(i as u32), BGID)
                    .build()
                    .user_data(RECV_TAG | i as u64);
                // SAFETY: the entry refers to a registered file and the registered buffer group only.
                if unsafe { self.ring.submission().push(&e) }.is_ok() {
                    *r = false;
                }
            }
        }
    }
}

impl Transport for UringTransport {
    fn name(&self) -> &'static str {
        "io_uring"
    }

    unsafe fn queue(&mut self, socket: usize, ptr: *const u8, len: usize, token: u64) -> bool {
        let p = Pending {
            socket: socket as u32,
            ptr,
            len: len as u32,
            token,
        };
        if !self.gso {
            return self.push_send(p);
        }
        if self.pending.len() >= PENDING_MAX {
            return false;
        }
        self.pending.push(p);
        true
    }

    fn poll(
        &mut self,
        timeout_ns: u64,
        batch: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> io::Result<()> {
        self.flush_pending();
        self.push_rearms();
        // Always enter with GETEVENTS and a (possibly zero) timeout: with DEFER_TASKRUN,
        // receive completions are only posted while the task waits for events.
        let ts = Timespec::new()
            .sec(timeout_ns / 1_000_000_000)
            .nsec((timeout_ns % 1_000_000_000) as u32);
        // With min-timeout support (6.12), wait for a batch but return once BATCH_WAIT_US
        // has passed with at least one completion; otherwise wait for one.
        let (want, min_wait) = if self.min_timeout && timeout_ns > 0 && batch > 1 {
            (batch, BATCH_WAIT_US)
        } else {
            (1, 0)
        };
        let args = SubmitArgs::new().timespec(&ts).min_wait_usec(min_wait);
        let res = self.ring.submitter().submit_with_args(want, &args);
        self.queued = 0;
        if let Err(e) = res {
            match e.raw_os_error() {
                Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN) => {}
                _ => return Err(e),
            }
        }
        let mut recycled = false;
        for cqe in self.ring.completion() {
            let ud = cqe.user_data();
            let res = cqe.result();
            if ud & RECV_TAG != 0 {
                let sock = (ud & !RECV_TAG) as usize;
                if !cqueue::more(cqe.flags()) {
                    self.rearm[sock] = true;
                }
                if res >= 0 {
                    if let Some(bid) = cqueue::buffer_select(cqe.flags()) {
                        on(Event::Response {
                            socket: sock,
                            data: self.bufs.buf(bid, res as usize),
                        });
                        self.bufs.push(bid);
                        recycled = true;
                    }
                } else if res != -libc::ENOBUFS {
                    on(Event::RecvError);
                }
            } else if ud & GSO_TAG != 0 {
                let slot = (ud & !GSO_TAG) as usize;
                if res < 0 {
                    for &token in &self.gso_slots[slot].tokens {
                        on(Event::SendError { token });
                    }
                }
                self.free_gso.push(slot);
            } else if ud & SEND_TAG != 0 && res < 0 {
                on(Event::SendError {
                    token: ud & !SEND_TAG,
                });
            }
        }
        if recycled {
            self.bufs.publish();
        }
        Ok(())
    }
}

/// Whether the kernel takes `UDP_SEGMENT` on this socket (Linux 4.18+).
fn gso_supported(fd: i32) -> bool {
    let zero: libc::c_int = 0;
    // SAFETY: setsockopt with a valid int option value of the right size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_UDP,
            UDP_SEGMENT,
            (&zero as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        ) == 0
    }
}
