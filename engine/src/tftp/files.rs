//! Opening requested files safely beneath a TFTP root, and the shared file cache.
//!
//! A file is opened with `openat2(RESOLVE_BENEATH)` relative to the root directory, so the
//! kernel refuses any path that would leave the root, through `..`, an absolute symlink or a
//! symlink climbing out; symlinks that stay inside the root work. Its contents are read once
//! into memory and shared (`Arc`) by every transfer of the same file version, keyed by
//! (device, inode, size, mtime): a burst of clients fetching one image reads it from disk once.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ringmasq_proto::time::Instant;

/// A cached file stays this long after its last transfer started, so clients arriving a little
/// apart still share one read.
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
    data: Arc<[u8]>,
    used: Instant,
}

/// File contents shared between transfers.
#[derive(Default)]
pub struct FileCache {
    entries: HashMap<Key, Entry>,
    /// Files read from disk.
    pub reads: u64,
    /// Bytes read from disk.
    pub bytes_read: u64,
}

impl FileCache {
    /// The contents of the open regular file `file` (metadata `meta`), read now unless the
    /// same version is cached.
    pub fn get(
        &mut self,
        mut f: File,
        meta: &std::fs::Metadata,
        now: Instant,
    ) -> io::Result<Arc<[u8]>> {
        let key = Key {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        };
        if let Some(e) = self.entries.get_mut(&key) {
            e.used = now;
            return Ok(Arc::clone(&e.data));
        }
        let mut buf = Vec::with_capacity(meta.size() as usize);
        f.read_to_end(&mut buf)?;
        if buf.len() as u64 != meta.size() {
            // Changed while we read it: serve what we read, but do not cache it.
            return Ok(buf.into());
        }
        self.reads += 1;
        self.bytes_read += buf.len() as u64;
        let data: Arc<[u8]> = buf.into();
        self.entries.insert(
            key,
            Entry {
                data: Arc::clone(&data),
                used: now,
            },
        );
        Ok(data)
    }

    /// Drops files no transfer uses that were last asked for more than [`LINGER`] ago.
    pub fn expire(&mut self, now: Instant) {
        self.entries
            .retain(|_, e| Arc::strong_count(&e.data) > 1 || now - e.used < LINGER);
    }
}
