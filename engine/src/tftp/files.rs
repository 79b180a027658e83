//! Opening requested files safely beneath a TFTP root, and the shared file cache.
//!
//! A file is opened with `openat2(RESOLVE_BENEATH)` relative to the root directory, so the
//! kernel refuses any path that would leave the root, through `..`, an absolute symlink or a
//! symlink climbing out; symlinks that stay inside the root work. Its contents are read once
//! into memory ([`FileBytes`]) and shared by every transfer of the same file version on every
//! TFTP thread, keyed by (device, inode, size, mtime): a burst of clients fetching one image
//! reads it from disk once. The first request's thread reads it (through its ring, or plain
//! reads on epoll) while transfers already send the blocks that have arrived.

use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::uring::file_bytes::{FileBytes, Loader};

use ringmasq_proto::time::Instant;

/// A cached file stays this long after it was last seen in use (asked for, or still being
/// sent), so clients arriving a little apart, or one after another, still share one read.
const LINGER: Duration = Duration::from_secs(30);

/// Opens directory `dir` as a handle for [`open_beneath`].
pub fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: c is a valid NUL-terminated path; we take ownership of the returned fd.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `rel` (a relative path of plain components) beneath directory `dir`, refusing any
/// resolution that leaves it (EXDEV) and magic links; `directory` opens a directory handle.
pub fn open_beneath(dir: RawFd, rel: &[u8], directory: bool) -> io::Result<OwnedFd> {
    let c = CString::new(rel).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // openat2 refuses O_PATH with any flag but O_CLOEXEC, O_DIRECTORY and O_NOFOLLOW.
    let flags = if directory {
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC
    } else {
        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY
    };
    // SAFETY: open_how is a plain C struct; all-zero is valid (mode 0, no flags).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads `how` (valid, with its exact size) and the NUL-terminated path;
    // the returned fd is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The effective user id of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid only reads this process's credentials.
    unsafe { libc::geteuid() }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
}

struct Entry {
    data: Arc<FileBytes>,
    used: Instant,
}

/// File contents shared between transfers on every TFTP thread.
#[derive(Default)]
pub struct FileCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl FileCache {
    /// The contents of the regular file with metadata `meta`: the cached version, or new
    /// empty bytes with their [`Loader`], which the caller must run (read the file into them).
    /// Transfers may start on bytes still being read; they wait for the blocks they need.
    pub fn get(&self, meta: &std::fs::Metadata, now: Instant) -> (Arc<FileBytes>, Option<Loader>) {
        let key = Key {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(&key)
            && !e.data.failed()
        {
            e.used = now;
            return (Arc::clone(&e.data), None);
        }
        let (data, loader) = FileBytes::empty(meta.size() as usize);
        entries.insert(
            key,
            Entry {
                data: Arc::clone(&data),
                used: now,
            },
        );
        (data, Some(loader))
    }

    /// Drops files no transfer has used for [`LINGER`], and files that could not be read. A
    /// file a transfer still holds counts as used now, so the linger runs from the end of its
    /// last transfer, however long that took.
    pub fn expire(&self, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| {
            if Arc::strong_count(&e.data) > 1 {
                e.used = now;
            }
            !e.data.failed() && now - e.used < LINGER
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::from_secs(secs)
    }

    #[test]
    fn linger_runs_from_the_end_of_the_last_transfer() {
        let dir = std::env::temp_dir().join(format!("rmq-files-linger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("boot.img");
        std::fs::write(&path, b"kernel").unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        let cache = FileCache::default();
        let (held, loader) = cache.get(&meta, at(0));
        assert!(loader.is_some(), "first request reads the file");
        // The loader holds the bytes too (as the reading thread does until it is done).
        drop(loader);
        // A transfer that takes longer than the linger keeps the file, and counts as a use.
        cache.expire(at(45));
        drop(held);
        cache.expire(at(70));
        let (again, loader) = cache.get(&meta, at(70));
        assert!(
            loader.is_none(),
            "25 s after the transfer ended: still cached"
        );
        drop(again);
        cache.expire(at(101));
        let (_, loader) = cache.get(&meta, at(101));
        assert!(loader.is_some(), "31 s after the last use: read again");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
