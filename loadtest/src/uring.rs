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
const RECV_BUF: usize = 2048;
/// Buffer group id of the provided buffer ring.
const BGID: u16 = 7;
const RECV_TAG: u64 = 1 << 63;
const SEND_TAG: u64 = 1 << 62;

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
struct BufRing {
    ring: *mut BufRingEntry,
    layout: Layout,
    bufs: Vec<u8>,
    entries: u16,
    tail: u16,
}

impl BufRing {
    fn new(entries: u16) -> Self {
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
    fn push(&mut self, bid: u16) {
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
    fn publish(&self) {
        // SAFETY: the ring base is page aligned and initialised; the tail field overlays
        // entry 0's reserved field and is a properly aligned u16 shared with the kernel.
        unsafe {
            let tail = BufRingEntry::tail(self.ring).cast::<AtomicU16>();
            (*tail).store(self.tail, Ordering::Release);
        }
    }

    fn buf(&self, bid: u16, len: usize) -> &[u8] {
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
        Ok(UringTransport {
            ring,
            bufs,
            rearm: vec![true; socks.len()],
            _socks: socks,
            queued: 0,
            min_timeout,
        })
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
        let e = opcode::Send::new(Fixed(socket as u32), ptr, len as u32)
            .build()
            .flags(squeue::Flags::SKIP_SUCCESS)
            .user_data(SEND_TAG | token);
        // SAFETY: the caller keeps `ptr..ptr+len` valid until the send is consumed (see
        // `Transport::queue`); the kernel copies UDP payloads during submission.
        let ok = unsafe { self.ring.submission().push(&e) }.is_ok();
        self.queued += usize::from(ok);
        ok
    }

    fn poll(
        &mut self,
        timeout_ns: u64,
        batch: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> io::Result<()> {
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
