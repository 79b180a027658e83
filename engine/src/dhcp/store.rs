//! The durable lease store: dnsmasq's lease file plus an append-only journal beside it
//! (`<file>.journal`), as laid out in [`ringmasq_proto::dhcp::journal`].
//!
//! The store lives on the journal writer thread ([`super::journal_writer`]); every journal
//! append is written and `fdatasync`ed before the DHCP thread is told it may send the ACK it
//! records, so an acknowledged lease survives `kill -9` at any moment. The lease file itself is
//! only rewritten at compaction (write `<file>.tmp`, fsync, rename, fsync the directory, then
//! truncate the journal), so a write costs O(change).
//!
//! When the directory is not writable (ringmasq changed user with `-u` and the directory is
//! root's, as `/var/lib/misc` is), compaction rewrites the file in place instead, made safe by
//! the journal: first a reset record and every lease are appended and synced, then the file is
//! rewritten and synced, then the journal emptied. A crash that tears the file leaves a journal
//! that rebuilds every lease on its own.
//!
//! Storage faults (ENOSPC, EIO, a failed `fdatasync` or `rename`): records whose append failed
//! stay pending in memory and are written by the next append or [`LeaseStore::flush`]; the
//! bytes a failed write may have left at the journal's end are cut off first (back to the last
//! durable length), so a torn record never hides later ones. A failed `fdatasync` is treated
//! the same way (the pages may have been dropped, so the records are written again). A failed
//! compaction leaves the old lease file and the full journal; it never renames a file it could
//! not sync. The caller withholds every ACK until its records are durable.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ringmasq_proto::dhcp::Lease;
use ringmasq_proto::dhcp::{journal, lease_file};

/// Compact when the journal exceeds this many bytes and four times the lease file.
const COMPACT_MIN_BYTES: u64 = 64 * 1024;

/// Pending (not yet durable) journal bytes above which the caller should collapse them into
/// one reset record plus the live leases ([`LeaseStore::collapse`]), so a long storage outage
/// holds O(leases) memory.
pub const PENDING_MAX: usize = 4 << 20;

/// One storage step, for fault injection in tests.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Cutting a torn journal tail.
    Cut,
    /// Writing journal records.
    JournalWrite,
    /// `fdatasync` of the journal.
    JournalSync,
    /// Creating `<file>.tmp` (or opening the file for an in-place rewrite).
    TmpCreate,
    /// Writing the new lease file.
    TmpWrite,
    /// `fsync` of the new lease file.
    TmpSync,
    /// Renaming it over the lease file.
    Rename,
    /// `fsync` of the directory.
    DirSync,
    /// Emptying the journal after compaction.
    Truncate,
}

/// The lease file and its journal.
#[derive(Debug)]
pub struct LeaseStore {
    path: PathBuf,
    journal_path: PathBuf,
    journal: File,
    /// Durable length of the journal.
    journal_len: u64,
    file_len: u64,
    v6_lines: Vec<String>,
    /// Records handed to [`LeaseStore::append`] that are not durable yet.
    pending: Vec<u8>,
    /// The journal may hold bytes past `journal_len` (a failed write or sync).
    torn: bool,
    /// Test seam: the steps so far, and the step number to fail with an error.
    #[cfg(test)]
    pub(crate) faults: Faults,
}

/// Fault injection: fail the `fail_at`-th storage step (counting from 0) with `errno`.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) steps: Vec<Step>,
    pub(crate) fail_at: Option<(usize, i32)>,
}

fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    match File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(v)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()
}

/// Runs one storage step (in tests: fails it when told to; a failed write first writes half
/// its bytes, as a full disk does).
macro_rules! step {
    ($self:ident, $step:expr, $op:expr) => {{
        #[cfg(test)]
        $self.fault($step)?;
        $op
    }};
}

impl LeaseStore {
    /// Opens (creating if needed) the lease file at `path` and its journal; returns the store
    /// and every lease they hold. Damaged lease-file lines are logged one by one and skipped; a
    /// torn or corrupt journal tail is cut off.
    pub fn open(path: &Path) -> io::Result<(LeaseStore, Vec<Lease>)> {
        let text = read_all(path)?;
        let parsed = lease_file::parse(&String::from_utf8_lossy(&text));
        for e in &parsed.errors {
            tracing::warn!(
                "lease file {} line {}: {:?}; line skipped",
                path.display(),
                e.line,
                e.kind
            );
        }
        let mut leases = parsed.leases;
        let journal_path = Self::journal_path_for(path);
        let jbytes = read_all(&journal_path)?;
        let replay = journal::replay(&jbytes);
        if let Some(e) = replay.stopped {
            tracing::warn!(
                "lease journal {}: {e}; {} bytes after it dropped",
                journal_path.display(),
                jbytes.len() - replay.valid_len
            );
        }
        journal::apply(&mut leases, &replay.records);
        let mut v6_lines = parsed.v6_lines;
        journal::apply_v6(&mut v6_lines, &replay.records);
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)?;
        journal.set_len(replay.valid_len as u64)?;
        journal.sync_all()?;
        sync_dir(&journal_path)?;
        let store = LeaseStore {
            path: path.to_path_buf(),
            journal_path,
            journal,
            journal_len: replay.valid_len as u64,
            file_len: text.len() as u64,
            v6_lines,
            pending: Vec::new(),
            torn: false,
            #[cfg(test)]
            faults: Faults::default(),
        };
        Ok((store, leases))
    }

    #[cfg(test)]
    fn fault(&mut self, step: Step) -> io::Result<()> {
        let n = self.faults.steps.len();
        self.faults.steps.push(step);
        match self.faults.fail_at {
            Some((at, errno)) if at == n => Err(io::Error::from_raw_os_error(errno)),
            _ => Ok(()),
        }
    }

    /// The IPv6 lines (the `duid` line and DHCPv6 leases) as read at open.
    pub fn v6_lines(&self) -> &[String] {
        &self.v6_lines
    }

    /// Sets the IPv6 lines the next compaction writes (the DHCPv6 server's leases).
    pub fn set_v6_lines(&mut self, lines: Vec<String>) {
        self.v6_lines = lines;
    }

    /// The journal beside the lease file `path`.
    pub fn journal_path_for(path: &Path) -> PathBuf {
        let mut jp = path.as_os_str().to_owned();
        jp.push(".journal");
        PathBuf::from(jp)
    }

    /// Appends journal records and makes them durable (`write` then `fdatasync`), after any
    /// records still pending from a failed append. On error the records stay pending: nothing
    /// they acknowledge may be sent.
    pub fn append(&mut self, records: &[u8]) -> io::Result<()> {
        self.queue(records);
        self.flush()
    }

    /// Adds journal records to the pending ones, for the next [`LeaseStore::flush`] (group
    /// commit: several turns' records, one write, one sync).
    pub fn queue(&mut self, records: &[u8]) {
        self.pending.extend_from_slice(records);
    }

    /// Bytes of records not yet durable.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Replaces the pending records by a reset record and every live lease (`leases` and the
    /// IPv6 lines), which supersede them: bounds the memory of a long outage.
    pub fn collapse(&mut self, leases: &[Lease], v6_lines: Vec<String>) {
        self.v6_lines = v6_lines;
        self.pending.clear();
        journal::encode_reset(&mut self.pending);
        for l in leases {
            journal::encode_upsert(&l.as_ref(), &mut self.pending);
        }
        for l in &self.v6_lines {
            journal::encode_line6(l, &mut self.pending);
        }
    }

    /// Makes the pending records durable: cuts whatever a failed write left past the durable
    /// length, then writes and syncs them.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.torn {
            step!(self, Step::Cut, self.journal.set_len(self.journal_len)?);
            self.torn = false;
        }
        if self.pending.is_empty() {
            return Ok(());
        }
        self.torn = true;
        #[cfg(test)]
        if self.faults.fail_at.map(|(at, _)| at) == Some(self.faults.steps.len()) {
            // A full disk takes part of a write.
            let _ = self
                .journal
                .write_all(&self.pending[..self.pending.len() / 2]);
        }
        step!(
            self,
            Step::JournalWrite,
            self.journal.write_all(&self.pending)?
        );
        step!(self, Step::JournalSync, self.journal.sync_data()?);
        self.torn = false;
        self.journal_len += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Whether the journal has grown enough to fold it into the lease file.
    pub fn wants_compaction(&self) -> bool {
        self.journal_len > COMPACT_MIN_BYTES.max(self.file_len.saturating_mul(4))
    }

    /// Rewrites the lease file from `leases` (every live lease) and empties the journal. A crash
    /// at any step leaves the old file with the full journal, or the new file with a journal
    /// whose records are idempotent on it. Pending records are made durable first, so the
    /// journal never lags the leases the new file holds.
    pub fn compact(&mut self, leases: &[Lease]) -> io::Result<()> {
        self.flush()?;
        let text = lease_file::emit(leases, &self.v6_lines);
        match self.replace(&text) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                self.rewrite_in_place(&text, leases)?
            }
            r => r?,
        }
        step!(self, Step::Truncate, self.journal.set_len(0)?);
        self.journal_len = 0;
        self.file_len = text.len() as u64;
        self.journal.sync_all()
    }

    /// Writes `<file>.tmp` and renames it over the lease file; a failure removes the
    /// temporary file and leaves the lease file as it was (unless only the directory sync
    /// failed: then either file is whole).
    fn replace(&mut self, text: &str) -> io::Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let written = self.write_tmp(&tmp, text);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return written;
        }
        step!(self, Step::DirSync, sync_dir(&self.path))
    }

    fn write_tmp(&mut self, tmp: &Path, text: &str) -> io::Result<()> {
        let mut f = step!(self, Step::TmpCreate, File::create(tmp)?);
        #[cfg(test)]
        if self.faults.fail_at.map(|(at, _)| at) == Some(self.faults.steps.len()) {
            let _ = f.write_all(&text.as_bytes()[..text.len() / 2]);
        }
        step!(self, Step::TmpWrite, f.write_all(text.as_bytes())?);
        step!(self, Step::TmpSync, f.sync_all()?);
        step!(self, Step::Rename, std::fs::rename(tmp, &self.path)?);
        Ok(())
    }

    /// Rewrites the lease file where it is, after journaling every lease behind a reset record.
    fn rewrite_in_place(&mut self, text: &str, leases: &[Lease]) -> io::Result<()> {
        let v6 = std::mem::take(&mut self.v6_lines);
        self.collapse(leases, v6);
        self.flush()?;
        let mut f = step!(
            self,
            Step::TmpCreate,
            OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&self.path)?
        );
        f.set_len(0)?;
        step!(self, Step::TmpWrite, f.write_all(text.as_bytes())?);
        step!(self, Step::TmpSync, f.sync_all()?);
        Ok(())
    }

    /// The journal's path.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A lease for the store's tests: 10.0.0.`last` held by 02:00:00:00:00:`last`, named
    /// h`last`.
    pub(in crate::dhcp) fn lease(last: u8) -> Lease {
        Lease {
            expires: 4_000_000_000,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, last],
            addr: Ipv4Addr::new(10, 0, 0, last),
            hostname: Some(format!("h{last}")),
            client_id: None,
        }
    }

    /// A fresh, empty directory `ringmasq-TAG-PID` in the temporary directory, and the path
    /// of a lease file in it.
    pub(in crate::dhcp) fn fresh_dir(tag: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("ringmasq-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leases");
        (dir, path)
    }

    #[test]
    fn journal_survives_reopen_and_compaction() {
        let (dir, path) = fresh_dir("store");
        std::fs::write(&path, "garbage line\n").unwrap();
        let (mut s, leases) = LeaseStore::open(&path).unwrap();
        assert!(leases.is_empty());
        let mut rec = Vec::new();
        journal::encode_upsert(&lease(5).as_ref(), &mut rec);
        journal::encode_upsert(&lease(6).as_ref(), &mut rec);
        journal::encode_remove(Ipv4Addr::new(10, 0, 0, 5), &mut rec);
        s.append(&rec).unwrap();
        // A torn tail, as a crash mid-write leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(s.journal_path())
            .unwrap()
            .write_all(&rec[..7])
            .unwrap();
        drop(s);
        let (mut s, leases) = LeaseStore::open(&path).unwrap();
        assert_eq!(leases, [lease(6)]);
        s.compact(&leases).unwrap();
        assert_eq!(std::fs::metadata(s.journal_path()).unwrap().len(), 0);
        drop(s);
        let (_, again) = LeaseStore::open(&path).unwrap();
        assert_eq!(again, [lease(6)]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("02:00:00:00:00:06 10.0.0.6 h6"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn torn_in_place_rewrite_loses_nothing() {
        let (dir, path) = fresh_dir("store-ip");
        let (mut s, _) = LeaseStore::open(&path).unwrap();
        let all = [lease(1), lease(2), lease(3)];
        let text = lease_file::emit(&all, &[]);
        s.rewrite_in_place(&text, &all).unwrap();
        // A crash mid-rewrite: the file torn in the middle of a line, the journal not yet cut.
        std::fs::write(&path, &text.as_bytes()[..text.len() / 2]).unwrap();
        drop(s);
        let (_, leases) = LeaseStore::open(&path).unwrap();
        assert_eq!(leases, all);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
