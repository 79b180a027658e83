//! A gate on the reads of one file (fanotify `FAN_ACCESS_PERM`, needs root): every read of the
//! file by any process waits in the kernel until the test lets it through. So a test can change
//! the file between two reads of a server — truncate it while the server has it open and has
//! already taken its size — at a point it chooses, without racing the server.
//!
//! Held reads are let through when their [`HeldRead`] drops, and every read is let through
//! when the gate drops (closing the fanotify group allows what waits), so nothing stays
//! blocked after the test.

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};

/// The reads of one file, held until let through.
#[derive(Debug)]
pub struct ReadGate {
    fan: Arc<OwnedFd>,
    pending: VecDeque<HeldRead>,
}

/// One read of the gated file, waiting in the kernel; let through on drop.
#[derive(Debug)]
pub struct HeldRead {
    /// The fanotify group (kept open until the answer is written).
    fan: Arc<OwnedFd>,
    /// The reader's file descriptor as fanotify hands it to us (ours to close).
    fd: OwnedFd,
    /// The reading process.
    pub pid: i32,
}

impl Drop for HeldRead {
    fn drop(&mut self) {
        let resp = libc::fanotify_response {
            fd: self.fd.as_raw_fd(),
            response: libc::FAN_ALLOW,
        };
        // SAFETY: writes a plain struct of its exact size to the fanotify descriptor.
        unsafe {
            libc::write(
                self.fan.as_raw_fd(),
                (&resp as *const libc::fanotify_response).cast(),
                std::mem::size_of::<libc::fanotify_response>(),
            );
        }
    }
}

impl ReadGate {
    /// Holds every read of `file` from now on.
    pub fn new(file: &Path) -> Result<ReadGate> {
        // SAFETY: plain system call; the result is checked.
        let fd = unsafe {
            libc::fanotify_init(
                libc::FAN_CLASS_CONTENT | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK,
                libc::O_RDONLY as u32,
            )
        };
        if fd < 0 {
            return Err(HarnessError::io(
                "fanotify_init (needs root)",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: a fresh descriptor nobody else owns.
        let fan = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let c = CString::new(file.as_os_str().as_bytes())
            .map_err(|_| HarnessError::io("path", std::io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: valid descriptor and NUL-terminated path; the result is checked.
        let r = unsafe {
            libc::fanotify_mark(
                fan.as_raw_fd(),
                libc::FAN_MARK_ADD,
                libc::FAN_ACCESS_PERM,
                libc::AT_FDCWD,
                c.as_ptr(),
            )
        };
        if r != 0 {
            return Err(HarnessError::io(
                "fanotify_mark FAN_ACCESS_PERM",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(ReadGate {
            fan,
            pending: VecDeque::new(),
        })
    }

    /// The next read waiting at the gate, waiting for one at most `limit`.
    pub fn next(&mut self, limit: Duration) -> Option<HeldRead> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(h) = self.pending.pop_front() {
                return Some(h);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let mut p = libc::pollfd {
                fd: self.fan.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut p, 1, left.as_millis().min(1000) as i32) };
            if n > 0 {
                self.read_events();
            } else if Instant::now() >= deadline {
                return None;
            }
        }
    }

    fn read_events(&mut self) {
        let mut buf = [0u8; 4096];
        // SAFETY: reads into our buffer, at most its size.
        let n = unsafe { libc::read(self.fan.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        let n = n as usize;
        let size = std::mem::size_of::<libc::fanotify_event_metadata>();
        let mut off = 0;
        while off + size <= n {
            // SAFETY: `size` bytes at `off` lie inside what was read; read_unaligned copes
            // with any alignment.
            let m: libc::fanotify_event_metadata = unsafe {
                std::ptr::read_unaligned(
                    buf[off..].as_ptr().cast::<libc::fanotify_event_metadata>(),
                )
            };
            if m.event_len < size as u32 {
                break;
            }
            if m.fd >= 0 {
                self.pending.push_back(HeldRead {
                    fan: Arc::clone(&self.fan),
                    // SAFETY: fanotify opened this descriptor for us; we own it.
                    fd: unsafe { OwnedFd::from_raw_fd(m.fd) },
                    pid: m.pid,
                });
            }
            off += m.event_len as usize;
        }
    }
}

impl Drop for ReadGate {
    fn drop(&mut self) {
        // Let through what was read but not handed out; closing the group lets the rest go.
        self.pending.clear();
    }
}
