//! The shared contents of one file served by TFTP, filled while transfers already read it.
//!
//! A [`FileBytes`] is one fixed allocation of the file's size. Exactly one [`Loader`] writes it
//! (the kernel through io_uring `READ_FIXED`, or plain `pread` on the epoll backend), and
//! publishes how long the contiguous filled prefix is ([`FileBytes::ready`], release/acquire).
//! Readers only ever see bytes below that mark, which are never written again; the bytes above
//! it are never borrowed in Rust, so the kernel writing them races with nothing.
//!
//! Memory lifetime: the allocation is freed when the last `Arc<FileBytes>` goes. Every read in
//! flight holds the [`Loader`] (an `Arc` of the same bytes) until its completion has been taken
//! off the ring, and the ring's registered-buffer slot naming the bytes is cleared before the
//! loader is dropped (see `super::tftp_load`), so no kernel write can land after the free.

use std::cell::UnsafeCell;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// One file's bytes, shared by every transfer of that file version on every TFTP thread.
pub struct FileBytes {
    buf: Box<[UnsafeCell<u8>]>,
    /// Length of the contiguous prefix that is filled and will not change.
    ready: AtomicUsize,
    /// The file could not be read whole (an error, or it shrank while being read).
    failed: AtomicBool,
}

// SAFETY: the bytes are shared read-only below `ready` (published with Release after the
// writes, read with Acquire) and written only above it by the single `Loader`, which never
// hands out references to them; so sharing and sending between threads is sound.
unsafe impl Sync for FileBytes {}
// SAFETY: as above; the allocation has no thread affinity.
unsafe impl Send for FileBytes {}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBytes")
            .field("len", &self.len())
            .field("ready", &self.ready())
            .finish()
    }
}

impl FileBytes {
    /// Bytes of `len` zeroes not yet filled, with the only writer of them.
    pub fn empty(len: usize) -> (Arc<FileBytes>, Loader) {
        let buf: Box<[UnsafeCell<u8>]> = (0..len).map(|_| UnsafeCell::new(0)).collect();
        let bytes = Arc::new(FileBytes {
            buf,
            ready: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
        });
        let loader = Loader {
            bytes: Arc::clone(&bytes),
            done: Vec::new(),
        };
        (bytes, loader)
    }

    /// Bytes complete from the start (a converted netascii copy).
    pub fn complete(v: Vec<u8>) -> Arc<FileBytes> {
        let len = v.len();
        Arc::new(FileBytes {
            buf: v.into_iter().map(UnsafeCell::new).collect(),
            ready: AtomicUsize::new(len),
            failed: AtomicBool::new(false),
        })
    }

    /// The file's size.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// How many bytes from the start are filled.
    pub fn ready(&self) -> usize {
        self.ready.load(Ordering::Acquire)
    }

    /// True once every byte is filled.
    pub fn is_complete(&self) -> bool {
        self.ready() == self.len()
    }

    /// True when the file could not be read whole; the bytes are never completed.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// The filled prefix.
    pub fn filled(&self) -> &[u8] {
        let n = self.ready();
        // SAFETY: the first `n` bytes were written before `ready` was published (Acquire
        // above pairs with the writer's Release) and are never written again; UnsafeCell<u8>
        // has the layout of u8.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), n) }
    }

    /// Bytes `range`, when all of them are filled.
    pub fn get(&self, range: Range<usize>) -> Option<&[u8]> {
        self.filled().get(range)
    }

    /// Pointer to byte `off` for the kernel to write into (`off + len <= self.len()`).
    fn write_ptr(&self, off: usize) -> *mut u8 {
        UnsafeCell::raw_get(self.buf.as_ptr().wrapping_add(off))
    }
}

/// The only writer of a [`FileBytes`]: fills ranges and publishes the filled prefix.
pub struct Loader {
    bytes: Arc<FileBytes>,
    /// Filled ranges past the published prefix (reads complete out of order), sorted.
    done: Vec<Range<usize>>,
}

impl Loader {
    /// The bytes this loader fills.
    pub fn bytes(&self) -> &Arc<FileBytes> {
        &self.bytes
    }

    /// The file's size.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Where the kernel writes bytes `off..off + len`; the pointer stays valid while this
    /// loader lives. Callers hand it only to reads whose completion they wait for while they
    /// hold this loader, and mark the range with [`Loader::filled`] only after it.
    pub(super) fn target(&self, off: usize, len: usize) -> Option<*mut u8> {
        (off.checked_add(len)? <= self.bytes.len()).then(|| self.bytes.write_ptr(off))
    }

    /// Records that bytes `range` are written (their read completed) and publishes the
    /// contiguous prefix.
    pub fn filled(&mut self, range: Range<usize>) {
        if range.is_empty() || range.end > self.bytes.len() {
            return;
        }
        let at = self.done.partition_point(|r| r.start < range.start);
        self.done.insert(at, range);
        let mut ready = self.bytes.ready.load(Ordering::Relaxed);
        let mut used = 0;
        for r in &self.done {
            if r.start > ready {
                break;
            }
            ready = ready.max(r.end);
            used += 1;
        }
        self.done.drain(..used);
        self.bytes.ready.store(ready, Ordering::Release);
    }

    /// Gives up: the file could not be read whole.
    pub fn fail(&self) {
        self.bytes.failed.store(true, Ordering::Release);
    }

    /// Reads the whole file with plain `pread` calls (the epoll backend); returns the bytes
    /// read.
    pub fn read_blocking(&mut self, file: &File) -> io::Result<usize> {
        let len = self.bytes.len();
        let mut off = self.bytes.ready();
        while off < len {
            let want = (len - off).min(1 << 20);
            // SAFETY: bytes off..off+want lie inside the allocation, above the published
            // prefix, so nothing borrows them; this loader is their only writer.
            let n = unsafe {
                libc::pread(
                    file.as_raw_fd(),
                    self.bytes.write_ptr(off).cast(),
                    want,
                    off as libc::off_t,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                self.fail();
                return Err(e);
            }
            if n == 0 {
                self.fail();
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                ));
            }
            self.filled(off..off + n as usize);
            off += n as usize;
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn out_of_order_ranges_publish_only_the_contiguous_prefix() {
        let (b, mut l) = FileBytes::empty(100);
        assert_eq!(b.ready(), 0);
        l.filled(50..100);
        assert_eq!(b.ready(), 0);
        assert!(b.get(0..1).is_none());
        l.filled(0..20);
        assert_eq!(b.ready(), 20);
        l.filled(20..50);
        assert_eq!(b.ready(), 100);
        assert!(b.is_complete());
        // Nonsense ranges are ignored.
        l.filled(90..200);
        assert_eq!(b.ready(), 100);
    }

    #[test]
    fn blocking_read_fills_everything_and_a_shrunk_file_fails() {
        let dir = std::env::temp_dir().join(format!("rmq-fb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::File::create(&p).unwrap().write_all(&data).unwrap();
        let f = File::open(&p).unwrap();
        let (b, mut l) = FileBytes::empty(data.len());
        assert_eq!(l.read_blocking(&f).unwrap(), data.len());
        assert_eq!(b.filled(), &data[..]);
        let (b, mut l) = FileBytes::empty(data.len() + 10);
        assert!(l.read_blocking(&f).is_err());
        assert!(b.failed());
        assert!(!b.is_complete());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
