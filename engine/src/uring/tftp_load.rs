//! Reading TFTP files through the ring into registered buffers.
//!
//! A file the cache does not hold yet is read by the TFTP thread that first asked for it, in
//! [`CHUNK`]-sized `READ_FIXED` entries, [`SLOTS`] in flight at once, straight into the shared
//! [`FileBytes`](super::file_bytes::FileBytes): no read blocks the loop, so a 30 MB image does not stall the other transfers
//! on the ring, and transfers waiting for a block not yet read are sent it once the filled
//! prefix reaches it (`TftpService::poll_waiting`).
//!
//! Registered buffers: the ring has a sparse table of [`SLOTS`] buffers. Before a chunk's read
//! is queued, its slot is pointed at that chunk of the file's memory
//! (`IORING_REGISTER_BUFFERS_UPDATE`); when the slot has no more work it is cleared. So at most
//! `SLOTS x CHUNK` bytes are pinned at a time (within the default 8 MiB `RLIMIT_MEMLOCK` for an
//! unprivileged server), whatever the file size. When the table cannot be registered (old
//! kernel, memory-lock limit) plain `READ` entries into the same memory are used instead.
//!
//! Lifetime of the memory: each slot in flight holds the [`Loader`] (an `Arc` of the bytes);
//! the job, and so the memory, is kept until every read naming it has completed and its slot
//! has been cleared. At shutdown [`Loads::drain`] waits for the reads in flight; if any does
//! not finish, the memory is leaked rather than freed under the kernel.

use std::fs::File;
use std::os::fd::AsRawFd;

use io_uring::IoUring;
use io_uring::opcode;
use io_uring::types::Fd;

use super::file_bytes::Loader;
use super::push;
use crate::tftp::stats::TftpStats;

/// Bytes per read entry.
pub const CHUNK: usize = 1 << 20;
/// Reads in flight per ring (and registered buffer slots).
pub const SLOTS: usize = 4;

/// One file being read.
struct Job {
    loader: Loader,
    file: File,
    /// Next byte no read has been queued for.
    next: usize,
    /// Reads of this job in flight.
    inflight: usize,
    failed: bool,
}

/// A read in flight in one slot.
#[derive(Clone, Copy)]
struct Read {
    job: usize,
    off: usize,
    len: usize,
}

/// The reads of one ring.
pub struct Loads {
    jobs: Vec<Option<Job>>,
    slots: [Option<Read>; SLOTS],
    /// The sparse buffer table is registered.
    table: bool,
    /// Reads use the table (READ_FIXED); false after an update failed (then plain READ).
    fixed: bool,
    user_data_base: u64,
}

impl Loads {
    /// Registers the buffer table on `ring`; completions carry `user_data_base | slot`.
    pub fn new(ring: &IoUring, user_data_base: u64) -> Loads {
        let fixed = ring
            .submitter()
            .register_buffers_sparse(SLOTS as u32)
            .is_ok();
        if !fixed {
            tracing::debug!("TFTP: no registered buffers on this ring; file reads use READ");
        }
        Loads {
            jobs: Vec::new(),
            slots: [None; SLOTS],
            table: fixed,
            fixed,
            user_data_base,
        }
    }

    /// True when reads are in flight or waiting for a slot.
    pub fn busy(&self) -> bool {
        self.jobs.iter().any(Option::is_some)
    }

    /// Starts reading `file` into `loader`'s bytes.
    pub fn start(&mut self, ring: &mut IoUring, loader: Loader, file: File, stats: &TftpStats) {
        if loader.is_empty() {
            stats.add(&stats.file_reads, 1);
            return;
        }
        let job = Job {
            loader,
            file,
            next: 0,
            inflight: 0,
            failed: false,
        };
        match self.jobs.iter().position(Option::is_none) {
            Some(i) => self.jobs[i] = Some(job),
            None => self.jobs.push(Some(job)),
        }
        self.pump(ring);
    }

    /// Queues reads into every free slot.
    fn pump(&mut self, ring: &mut IoUring) {
        for k in 0..SLOTS {
            if self.slots[k].is_some() {
                continue;
            }
            let Some(j) = self.jobs.iter().position(|o| {
                o.as_ref()
                    .is_some_and(|x| !x.failed && x.next < x.loader.len())
            }) else {
                break;
            };
            let Some(Some(job)) = self.jobs.get_mut(j) else {
                break;
            };
            let off = job.next;
            let len = (job.loader.len() - off).min(CHUNK);
            let Some(ptr) = job.loader.target(off, len) else {
                job.failed = true;
                continue;
            };
            if self.fixed {
                let iov = libc::iovec {
                    iov_base: ptr.cast(),
                    iov_len: len,
                };
                // SAFETY: the iovec names bytes of the job's allocation, which the job keeps
                // alive until this slot is cleared or re-pointed (module docs).
                if unsafe {
                    ring.submitter()
                        .register_buffers_update(k as u32, &[iov], None)
                }
                .is_err()
                {
                    self.fixed = false;
                }
            }
            if !self.queue(ring, k, j, off, len, ptr) {
                self.clear(ring, k);
                break;
            }
            if let Some(Some(job)) = self.jobs.get_mut(j) {
                job.next = off + len;
                job.inflight += 1;
            }
            self.slots[k] = Some(Read { job: j, off, len });
        }
    }

    /// Pushes the read of `len` bytes at `off` into `ptr` in slot `k`.
    fn queue(
        &self,
        ring: &mut IoUring,
        k: usize,
        j: usize,
        off: usize,
        len: usize,
        ptr: *mut u8,
    ) -> bool {
        let Some(Some(job)) = self.jobs.get(j) else {
            return false;
        };
        let fd = Fd(job.file.as_raw_fd());
        let e = if self.fixed {
            opcode::ReadFixed::new(fd, ptr, len as u32, k as u16)
                .offset(off as u64)
                .build()
        } else {
            opcode::Read::new(fd, ptr, len as u32)
                .offset(off as u64)
                .build()
        };
        push(ring, &e.user_data(self.user_data_base | k as u64))
    }

    /// A read completed in slot `k` with result `res`.
    pub fn completed(&mut self, ring: &mut IoUring, k: usize, res: i32, stats: &TftpStats) {
        let Some(rd) = self.slots.get_mut(k).and_then(Option::take) else {
            return;
        };
        let Some(Some(job)) = self.jobs.get_mut(rd.job) else {
            return;
        };
        job.inflight -= 1;
        // What is left of this read to ask again (a short read, an interrupted one).
        let mut again = None;
        if res > 0 {
            let n = (res as usize).min(rd.len);
            job.loader.filled(rd.off..rd.off + n);
            stats.add(&stats.bytes_read, n as u64);
            if n < rd.len {
                again = Some((rd.off + n, rd.len - n));
            }
        } else if res == -libc::EINTR || res == -libc::EAGAIN {
            again = Some((rd.off, rd.len));
        } else {
            // An error, or the end of the file early: it shrank while being read.
            if res < 0 {
                tracing::warn!(
                    "TFTP: reading a file failed: {}",
                    std::io::Error::from_raw_os_error(-res)
                );
            } else {
                tracing::warn!(
                    "TFTP: a file shrank while it was read ({} of {} bytes)",
                    rd.off,
                    job.loader.len()
                );
            }
            job.failed = true;
        }
        if let Some((off, len)) = again
            && !job.failed
        {
            // Still inside the slot's registered buffer, so no new registration.
            match job.loader.target(off, len) {
                Some(ptr) if self.queue(ring, k, rd.job, off, len, ptr) => {
                    if let Some(Some(job)) = self.jobs.get_mut(rd.job) {
                        job.inflight += 1;
                    }
                    self.slots[k] = Some(Read {
                        job: rd.job,
                        off,
                        len,
                    });
                    return;
                }
                _ => {
                    if let Some(Some(job)) = self.jobs.get_mut(rd.job) {
                        job.failed = true;
                    }
                }
            }
        }
        self.pump(ring);
        if self.slots[k].is_none() {
            self.clear(ring, k);
        }
        self.finish(rd.job, stats);
    }

    /// Empties slot `k`'s registration: a slot names memory only while a read is in flight in
    /// it, so a job without reads in flight is named by no slot.
    fn clear(&self, ring: &IoUring, k: usize) {
        if !self.table {
            return;
        }
        let none = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        // SAFETY: an empty entry names no memory.
        let _ = unsafe {
            ring.submitter()
                .register_buffers_update(k as u32, &[none], None)
        };
    }

    /// Ends job `j` once it has no read in flight and is complete or failed.
    fn finish(&mut self, j: usize, stats: &TftpStats) {
        let Some(Some(job)) = self.jobs.get(j) else {
            return;
        };
        if job.inflight > 0 {
            return;
        }
        if job.failed {
            job.loader.fail();
        } else if job.loader.bytes().is_complete() {
            stats.add(&stats.file_reads, 1);
        } else {
            return;
        }
        self.jobs[j] = None;
    }

    /// Waits (at most a few seconds) for the reads in flight, at shutdown; the memory of reads
    /// that never complete is leaked, not freed under the kernel.
    pub fn drain(&mut self, ring: &mut IoUring, stats: &TftpStats) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        for job in self.jobs.iter_mut().flatten() {
            // Queue nothing more.
            job.failed = true;
        }
        while self.slots.iter().any(Option::is_some) && std::time::Instant::now() < deadline {
            let ts = io_uring::types::Timespec::new().nsec(50_000_000);
            let args = io_uring::types::SubmitArgs::new().timespec(&ts);
            let _ = ring.submitter().submit_with_args(1, &args);
            let done: Vec<(u64, i32)> = ring
                .completion()
                .map(|c| (c.user_data(), c.result()))
                .collect();
            for (ud, res) in done {
                if ud & !0xff == self.user_data_base {
                    self.completed(ring, (ud & 0xff) as usize, res, stats);
                }
            }
        }
        if self.slots.iter().any(Option::is_some) {
            tracing::warn!("TFTP: file reads still in flight at shutdown; their memory is kept");
            for job in self.jobs.drain(..).flatten() {
                std::mem::forget(job.loader);
            }
        }
        let _ = ring.submitter().unregister_buffers();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uring::file_bytes::FileBytes;
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    const BASE: u64 = 5 << 56;

    /// Drives `loads` until it has nothing in flight.
    fn run(ring: &mut IoUring, loads: &mut Loads, stats: &TftpStats) {
        for _ in 0..10_000 {
            if !loads.busy() {
                return;
            }
            ring.submitter().submit_and_wait(1).unwrap();
            let done: Vec<(u64, i32)> = ring
                .completion()
                .map(|c| (c.user_data(), c.result()))
                .collect();
            for (ud, res) in done {
                assert_eq!(ud & !0xff, BASE);
                loads.completed(ring, (ud & 0xff) as usize, res, stats);
            }
        }
        panic!("reads never finished");
    }

    fn temp_file(name: &str, data: &[u8]) -> (std::path::PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("rmq-load-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::File::create(&p).unwrap().write_all(data).unwrap();
        (dir, File::open(&p).unwrap())
    }

    #[test]
    fn a_file_is_read_through_registered_buffers_in_chunks() {
        let mut ring = IoUring::new(64).expect("io_uring");
        let mut loads = Loads::new(&ring, BASE);
        assert!(loads.fixed, "registered buffers unavailable");
        let stats = TftpStats::default();
        // 5.5 chunks: more chunks than slots, and a short last one.
        let data: Vec<u8> = (0..CHUNK * 11 / 2).map(|i| (i * 7 % 253) as u8).collect();
        let (dir, f) = temp_file("ok", &data);
        let (bytes, loader) = FileBytes::empty(data.len());
        loads.start(&mut ring, loader, f, &stats);
        assert!(loads.busy());
        run(&mut ring, &mut loads, &stats);
        assert!(bytes.is_complete());
        assert!(bytes.filled() == &data[..]);
        assert_eq!(stats.file_reads.load(Ordering::Relaxed), 1);
        assert_eq!(stats.bytes_read.load(Ordering::Relaxed), data.len() as u64);
        // The job let go of the memory: the transfers' Arc is the only one left.
        assert_eq!(Arc::strong_count(&bytes), 1);
        loads.drain(&mut ring, &stats);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_shorter_than_announced_fails_its_bytes() {
        let mut ring = IoUring::new(64).expect("io_uring");
        let mut loads = Loads::new(&ring, BASE);
        let stats = TftpStats::default();
        let data = vec![9u8; CHUNK + 100];
        let (dir, f) = temp_file("short", &data);
        let (bytes, loader) = FileBytes::empty(data.len() + 5000);
        loads.start(&mut ring, loader, f, &stats);
        run(&mut ring, &mut loads, &stats);
        assert!(bytes.failed());
        assert!(!bytes.is_complete());
        assert_eq!(stats.file_reads.load(Ordering::Relaxed), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
