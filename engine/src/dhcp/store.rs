//! The durable lease store: dnsmasq's lease file plus an append-only journal beside it
//! (`<file>.journal`), as laid out in [`ringmasq_proto::dhcp::journal`].
//!
//! Every journal append is written and `fdatasync`ed before the caller sends the ACK it
//! records, so an acknowledged lease survives `kill -9` at any moment. The lease file itself is
//! only rewritten at compaction (write `<file>.tmp`, fsync, rename, fsync the directory, then
//! truncate the journal), so a write costs O(change).
//!
//! When the directory is not writable (ringmasq changed user with `-u` and the directory is
//! root's, as `/var/lib/misc` is), compaction rewrites the file in place instead, made safe by
//! the journal: first a reset record and every lease are appended and synced, then the file is
//! rewritten and synced, then the journal emptied. A crash that tears the file leaves a journal
//! that rebuilds every lease on its own.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ringmasq_proto::dhcp::Lease;
use ringmasq_proto::dhcp::{journal, lease_file};

/// Compact when the journal exceeds this many bytes and four times the lease file.
const COMPACT_MIN_BYTES: u64 = 64 * 1024;

/// The lease file and its journal.
#[derive(Debug)]
pub struct LeaseStore {
    path: PathBuf,
    journal_path: PathBuf,
    journal: File,
    journal_len: u64,
    file_len: u64,
    v6_lines: Vec<String>,
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
        };
        Ok((store, leases))
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

    /// Appends journal records and makes them durable (`write` then `fdatasync`).
    pub fn append(&mut self, records: &[u8]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.journal.write_all(records)?;
        self.journal.sync_data()?;
        self.journal_len += records.len() as u64;
        Ok(())
    }

    /// Whether the journal has grown enough to fold it into the lease file.
    pub fn wants_compaction(&self) -> bool {
        self.journal_len > COMPACT_MIN_BYTES.max(self.file_len.saturating_mul(4))
    }

    /// Rewrites the lease file from `leases` (every live lease) and empties the journal. A crash
    /// at any step leaves the old file with the full journal, or the new file with a journal
    /// whose records are idempotent on it.
    pub fn compact(&mut self, leases: &[Lease]) -> io::Result<()> {
        let text = lease_file::emit(leases, &self.v6_lines);
        match self.replace(&text) {
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                self.rewrite_in_place(&text, leases)?
            }
            r => r?,
        }
        self.journal.set_len(0)?;
        self.journal.sync_all()?;
        self.journal_len = 0;
        self.file_len = text.len() as u64;
        Ok(())
    }

    /// Writes `<file>.tmp` and renames it over the lease file.
    fn replace(&self, text: &str) -> io::Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        sync_dir(&self.path)
    }

    /// Rewrites the lease file where it is, after journaling every lease behind a reset record.
    fn rewrite_in_place(&mut self, text: &str, leases: &[Lease]) -> io::Result<()> {
        let mut rec = Vec::with_capacity(16 + leases.len() * 48);
        journal::encode_reset(&mut rec);
        for l in leases {
            journal::encode_upsert(&l.as_ref(), &mut rec);
        }
        for l in &self.v6_lines {
            journal::encode_line6(l, &mut rec);
        }
        self.append(&rec)?;
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        f.set_len(0)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    }

    /// The journal's path.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn lease(last: u8) -> Lease {
        Lease {
            expires: 4_000_000_000,
            htype: 1,
            hwaddr: vec![2, 0, 0, 0, 0, last],
            addr: Ipv4Addr::new(10, 0, 0, last),
            hostname: Some(format!("h{last}")),
            client_id: None,
        }
    }

    #[test]
    fn journal_survives_reopen_and_compaction() {
        let dir = std::env::temp_dir().join(format!("ringmasq-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leases");
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
        let dir = std::env::temp_dir().join(format!("ringmasq-store-ip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("leases");
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
