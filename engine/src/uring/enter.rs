//! A worker's `io_uring_enter` (the DNS workers' and the TFTP thread's): one system call per
//! loop turn that submits the turn's sends and waits for the next completions, made as cheap as
//! the kernel allows.
//!
//! - The ring's own file is registered with the calling thread (`IORING_REGISTER_RING_FDS`,
//!   Linux 5.18) and named by its index (`IORING_ENTER_REGISTERED_RING`). A plain descriptor is
//!   looked up and reference-counted on every call, and in a process with several threads that
//!   is two atomic operations on the ring's file each time.
//! - The wait is not accounted as I/O wait (`IORING_ENTER_NO_IOWAIT`, `IORING_FEAT_NO_IOWAIT`,
//!   Linux 6.15): a DNS worker waiting for datagrams is idle, not blocked on a disk, and the
//!   scheduler then skips the run queue's iowait counting on every sleep and wake-up.
//!
//! Either is left out where the kernel lacks it; the call is otherwise the same.
//!
//! The `io-uring` crate keeps a registered ring index only inside one `Submitter` value, which
//! borrows the ring; the loops take a fresh one per call, so the index is kept here and the
//! call made directly.

use io_uring::IoUring;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

const IORING_ENTER_GETEVENTS: u32 = 1;
const IORING_ENTER_EXT_ARG: u32 = 8;
const IORING_ENTER_REGISTERED_RING: u32 = 16;
const IORING_ENTER_NO_IOWAIT: u32 = 128;
const IORING_REGISTER_RING_FDS: u32 = 20;
const IORING_UNREGISTER_RING_FDS: u32 = 21;

/// `struct io_uring_rsrc_update` (include/uapi/linux/io_uring.h).
#[repr(C)]
struct RsrcUpdate {
    offset: u32,
    resv: u32,
    data: u64,
}

/// `struct __kernel_timespec`.
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// `struct io_uring_getevents_arg`.
#[repr(C)]
struct GeteventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

/// How this thread enters its ring.
pub(super) struct Enter {
    /// The ring's file descriptor.
    fd: RawFd,
    /// The ring's registered index, while registered.
    registered: Option<u32>,
    /// Flags every call carries (`IORING_ENTER_REGISTERED_RING`, `IORING_ENTER_NO_IOWAIT`).
    flags: u32,
}

impl Enter {
    /// Sets up entering `ring` from the calling thread, which must be the only one that
    /// submits to it (registered ring indexes belong to a thread).
    pub(super) fn new(ring: &IoUring) -> Enter {
        let fd = ring.as_raw_fd();
        let mut flags = 0;
        if ring.params().is_feature_no_iowait() {
            flags |= IORING_ENTER_NO_IOWAIT;
        }
        let mut update = RsrcUpdate {
            // Any free index.
            offset: u32::MAX,
            resv: 0,
            data: fd as u64,
        };
        // SAFETY: IORING_REGISTER_RING_FDS reads and writes back one io_uring_rsrc_update, which
        // `update` is, alive for the whole call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                fd,
                IORING_REGISTER_RING_FDS,
                &mut update as *mut RsrcUpdate,
                1u32,
            )
        };
        let registered = (rc == 1).then_some(update.offset);
        if registered.is_some() {
            flags |= IORING_ENTER_REGISTERED_RING;
        }
        Enter {
            fd,
            registered,
            flags,
        }
    }

    /// Submits every queued entry of `ring` and waits until `want` completions are ready or
    /// `timeout` has passed (`ETIME`; an interrupted wait ends with `EINTR`); `Duration::MAX`
    /// waits without a time limit.
    pub(super) fn submit(
        &self,
        ring: &mut IoUring,
        want: usize,
        timeout: Duration,
    ) -> io::Result<usize> {
        self.submit_gathering(ring, want, timeout, 0)
    }

    /// [`Enter::submit`], but once `min_wait_usec` microseconds have passed the wait also ends
    /// with a single completion ready (`min_wait_usec` of `io_uring_getevents_arg`,
    /// `IORING_FEAT_MIN_TIMEOUT`, Linux 6.12; 0 for none; a kernel without it fails with
    /// `EINVAL`).
    pub(super) fn submit_gathering(
        &self,
        ring: &mut IoUring,
        want: usize,
        timeout: Duration,
        min_wait_usec: u32,
    ) -> io::Result<usize> {
        let to_submit = ring.submission().len() as u32;
        let ts = KernelTimespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        let arg = GeteventsArg {
            sigmask: 0,
            sigmask_sz: 0,
            min_wait_usec,
            // No timespec: no kernel timer armed for the wait.
            ts: if timeout == Duration::MAX {
                0
            } else {
                &ts as *const KernelTimespec as u64
            },
        };
        // With IORING_ENTER_REGISTERED_RING in `flags`, the index names the ring.
        let target = self.registered.unwrap_or(self.fd as u32);
        let mut flags = self.flags | IORING_ENTER_EXT_ARG;
        if want > 0 {
            flags |= IORING_ENTER_GETEVENTS;
        }
        // SAFETY: `arg` and the timespec it points at outlive the call; the entries being
        // submitted point at memory the caller keeps alive until they complete (see
        // `Ring::push`); `target` names this thread's ring (registered index or descriptor).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_io_uring_enter,
                target,
                to_submit,
                want as u32,
                flags,
                &arg as *const GeteventsArg,
                std::mem::size_of::<GeteventsArg>(),
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc as usize)
        }
    }
}

impl Drop for Enter {
    /// Lets go of the registered index (it holds a reference to the ring's file, which would
    /// otherwise keep the ring, and the sockets it holds, until the thread ends). Runs while the
    /// ring's descriptor is still open: `Ring` drops this before the ring.
    fn drop(&mut self) {
        let Some(index) = self.registered.take() else {
            return;
        };
        let mut update = RsrcUpdate {
            offset: index,
            resv: 0,
            data: 0,
        };
        // SAFETY: IORING_UNREGISTER_RING_FDS reads one io_uring_rsrc_update, alive for the call.
        unsafe {
            libc::syscall(
                libc::SYS_io_uring_register,
                self.fd,
                IORING_UNREGISTER_RING_FDS,
                &mut update as *mut RsrcUpdate,
                1u32,
            );
        }
    }
}
