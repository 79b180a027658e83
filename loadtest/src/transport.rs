//! The I/O seam between the generator loop and a socket backend (io_uring, recvmmsg or
//! TCP): queue packets, then wait for and report what came back.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Something a backend observed while polling.
#[derive(Debug)]
pub enum Event<'a> {
    /// A datagram (or TCP message) arrived on socket `socket`.
    Response {
        /// Index of the socket it arrived on.
        socket: usize,
        /// Its bytes, valid only during the callback.
        data: &'a [u8],
    },
    /// The send queued with `token` failed.
    SendError {
        /// Token given to [`Transport::queue`].
        token: u64,
    },
    /// A receive failed (e.g. ICMP port unreachable on a connected socket).
    RecvError,
}

/// A socket backend owned by one generator thread.
pub trait Transport {
    /// Short name for reports (`io_uring`, `mmsg`, `tcp`).
    fn name(&self) -> &'static str;

    /// Queues `len` bytes at `ptr` for socket `socket`. Returns false when the batch is
    /// full; the caller then polls with a zero timeout and retries.
    ///
    /// # Safety
    ///
    /// `ptr..ptr+len` must be valid for reads and stay unchanged until the next
    /// [`Transport::poll`] returns.
    unsafe fn queue(&mut self, socket: usize, ptr: *const u8, len: usize, token: u64) -> bool;

    /// Sends everything queued, waits up to `timeout_ns` for at least one event (zero
    /// means do not wait) and reports every event that is ready through `on`.
    ///
    /// `batch` is a hint: a backend that can may keep waiting (briefly, see
    /// [`BATCH_WAIT_US`]) until that many events are ready, to amortise wake-ups.
    fn poll(
        &mut self,
        timeout_ns: u64,
        batch: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> io::Result<()>;
}

/// Longest a backend may wait for a batch beyond the first ready event, microseconds.
/// This bounds how much batching can inflate a measured latency.
pub const BATCH_WAIT_US: u32 = 20;

/// Opens `n` UDP sockets connected to `server` (each on its own ephemeral source port)
/// with large kernel buffers.
pub fn connected_udp_sockets(
    server: SocketAddr,
    n: usize,
    nonblocking: bool,
) -> io::Result<Vec<UdpSocket>> {
    let local: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .expect("literal");
    (0..n)
        .map(|_| {
            let s = UdpSocket::bind(local)?;
            s.connect(server)?;
            s.set_nonblocking(nonblocking)?;
            set_buffer_sizes(s.as_raw_fd(), 4 << 20);
            Ok(s)
        })
        .collect()
}

/// Best-effort SO_RCVBUF/SO_SNDBUF (the kernel clamps to rmem_max/wmem_max).
pub fn set_buffer_sizes(fd: i32, bytes: i32) {
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: setsockopt reads `size_of::<i32>()` bytes from a live local; `fd` is an
        // open socket owned by the caller.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&bytes as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            );
        }
    }
}

/// A `timespec` for `ns` nanoseconds.
pub fn timespec(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}
