//! `--dhcp-hostsfile=FILE|DIR` and `--dhcp-optsfile=FILE|DIR`: files of `dhcp-host` /
//! `dhcp-option` values, one per line without the option name, read at start and on SIGHUP.
//! `--dhcp-hostsdir=DIR` and `--dhcp-optsdir=DIR` hold the same files; besides, [`DirFiles`]
//! reads only the files that are new or changed since its last look, and [`add_new`] adds what
//! they hold without dropping anything (dnsmasq's rule: entries only come, until SIGHUP).
//!
//! A directory stands for every file in it (not recursive; names starting with `.` or ending
//! in `~` skipped), in byte order of their names. Blank lines and lines starting with `#` are
//! ignored; a bad line is reported and the good lines kept.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::dhcp::DhcpHost;
use crate::dhcp_option::DhcpOption;
use crate::value::ValueError;

/// A line of a DHCP hosts or options file that does not parse, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DhcpFileError {
    /// A line that does not parse (`line` counts from 1).
    #[error("{}:{line}: {source}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// Line number, from 1.
        line: usize,
        /// What is wrong with the line.
        source: ValueError,
    },
    /// The file or directory cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// What a set of DHCP files yielded: the good entries and every problem found.
#[derive(Debug)]
pub struct DhcpFileLoad<T> {
    /// Entries from the lines that parsed, in file then line order.
    pub entries: Vec<T>,
    /// Bad lines and unreadable files.
    pub errors: Vec<DhcpFileError>,
}

/// The files `path` stands for: itself, or the files of a directory in name order.
fn files_of(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !std::fs::metadata(path)?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = name.as_encoded_bytes();
        if bytes.first() == Some(&b'.') || bytes.last() == Some(&b'~') {
            continue;
        }
        if entry.file_type()?.is_file() || entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every line of the files `paths` stand for through `parse`.
fn load<T>(paths: &[PathBuf], parse: impl Fn(&str) -> Result<T, ValueError>) -> DhcpFileLoad<T> {
    let mut out = DhcpFileLoad {
        entries: Vec::new(),
        errors: Vec::new(),
    };
    for p in paths {
        let files = match files_of(p) {
            Ok(f) => f,
            Err(source) => {
                out.errors.push(DhcpFileError::Unreadable {
                    path: p.clone(),
                    source,
                });
                continue;
            }
        };
        for f in files {
            let text = match std::fs::read(&f) {
                Ok(t) => t,
                Err(source) => {
                    out.errors
                        .push(DhcpFileError::Unreadable { path: f, source });
                    continue;
                }
            };
            parse_text(&String::from_utf8_lossy(&text), &f, &parse, &mut out);
        }
    }
    out
}

fn parse_text<T>(
    text: &str,
    path: &Path,
    parse: &impl Fn(&str) -> Result<T, ValueError>,
    out: &mut DhcpFileLoad<T>,
) {
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse(line) {
            Ok(e) => out.entries.push(e),
            Err(source) => out.errors.push(DhcpFileError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            }),
        }
    }
}

/// Reads `--dhcp-hostsfile` files (each line a `dhcp-host` value).
pub fn load_hosts(paths: &[PathBuf]) -> DhcpFileLoad<DhcpHost> {
    load(paths, file_host)
}

/// One `dhcp-host` line of a hosts file or directory. Hosts from files reach the DHCPv4
/// server only, so a line with an IPv6 address is reported (with its file and line) and
/// skipped rather than half applied; such hosts go in `--dhcp-host`.
fn file_host(line: &str) -> Result<DhcpHost, ValueError> {
    let host = DhcpHost::parse(line)?;
    if host.addr6.is_some() {
        return Err(ValueError::expected(
            "no IPv6 address: DHCPv6 hosts are taken from --dhcp-host only, not yet from \
             --dhcp-hostsfile or --dhcp-hostsdir",
        ));
    }
    Ok(host)
}

/// Reads `--dhcp-optsfile` files (each line a `dhcp-option` value).
pub fn load_options(paths: &[PathBuf]) -> DhcpFileLoad<DhcpOption> {
    load(paths, |l| DhcpOption::parse(l, false))
}

/// A version of a file: inode, size, modification and change times (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Self {
        Stamp {
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

/// The files of some directories as last read, so that only new and changed ones are read
/// again (`--dhcp-hostsdir`, `--dhcp-optsdir`).
#[derive(Debug, Default)]
pub struct DirFiles {
    seen: HashMap<PathBuf, Stamp>,
}

impl DirFiles {
    /// Reads, through `parse`, the files of `dirs` that are new or changed since the last call
    /// (every file on the first call). A file that vanished is forgotten, so it is read again
    /// if it comes back; its entries are the caller's to keep.
    fn read_changed<T>(
        &mut self,
        dirs: &[PathBuf],
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> DhcpFileLoad<T> {
        let mut out = DhcpFileLoad {
            entries: Vec::new(),
            errors: Vec::new(),
        };
        let mut present = HashMap::new();
        for d in dirs {
            let files = match std::fs::metadata(d) {
                Ok(m) if m.is_dir() => files_of(d),
                Ok(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a directory",
                )),
                Err(e) => Err(e),
            };
            let files = match files {
                Ok(f) => f,
                Err(source) => {
                    out.errors.push(DhcpFileError::Unreadable {
                        path: d.clone(),
                        source,
                    });
                    continue;
                }
            };
            for f in files {
                let Ok(meta) = std::fs::metadata(&f) else {
                    continue;
                };
                let stamp = Stamp::of(&meta);
                present.insert(f.clone(), stamp);
                if self.seen.get(&f) == Some(&stamp) {
                    continue;
                }
                match std::fs::read(&f) {
                    Ok(text) => parse_text(&String::from_utf8_lossy(&text), &f, &parse, &mut out),
                    Err(source) => {
                        // Unreadable now: try again at the next change.
                        present.remove(&f);
                        out.errors
                            .push(DhcpFileError::Unreadable { path: f, source });
                    }
                }
            }
        }
        self.seen = present;
        out
    }

    /// [`DirFiles::read_changed`] for `dhcp-host` lines.
    pub fn read_hosts(&mut self, dirs: &[PathBuf]) -> DhcpFileLoad<DhcpHost> {
        self.read_changed(dirs, file_host)
    }

    /// [`DirFiles::read_changed`] for `dhcp-option` lines.
    pub fn read_options(&mut self, dirs: &[PathBuf]) -> DhcpFileLoad<DhcpOption> {
        self.read_changed(dirs, |l| DhcpOption::parse(l, false))
    }
}

/// Adds to `kept` the entries of `fresh` it does not hold yet, in front of the older ones (in
/// `fresh`'s order) so that a changed line wins over the one it replaced, which stays until the
/// next full reload: the first matching `dhcp-host`, and of equally specific `dhcp-option`s the
/// first, is the one used. Returns how many were added.
pub fn add_new<T: PartialEq>(kept: &mut Vec<T>, fresh: Vec<T>) -> usize {
    let mut new: Vec<T> = Vec::new();
    for e in fresh {
        if !kept.contains(&e) && !new.contains(&e) {
            new.push(e);
        }
    }
    let n = new.len();
    new.append(kept);
    *kept = new;
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn scratch(tag: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("ringmasq-dhcpfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn hosts_file_lines_and_errors() {
        let d = scratch("h");
        let f = d.join("hosts");
        std::fs::write(
            &f,
            "# static hosts\n\n52:54:00:00:00:01,10.0.0.5,alpha\nnot,an,entry,at,all,1.2.3\n\
             52:54:00:00:00:02,beta,infinite\n",
        )
        .unwrap();
        let l = load_hosts(std::slice::from_ref(&f));
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].addr, Some(Ipv4Addr::new(10, 0, 0, 5)));
        assert_eq!(l.entries[1].name.as_deref(), Some("beta"));
        assert_eq!(l.errors.len(), 1);
        assert!(l.errors[0].to_string().contains(":4: "), "{}", l.errors[0]);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn ipv6_host_lines_are_reported_not_half_applied() {
        let d = scratch("h6");
        let f = d.join("hosts");
        std::fs::write(
            &f,
            "52:54:00:00:00:01,10.0.0.5,alpha\nid:00:01:00:01:aa:bb,[fd00::5],gamma\n\
             52:54:00:00:00:03,10.0.0.7,[fd00::7],delta\n",
        )
        .unwrap();
        let l = load_hosts(std::slice::from_ref(&f));
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.entries[0].name.as_deref(), Some("alpha"));
        assert_eq!(l.errors.len(), 2);
        assert!(l.errors[0].to_string().contains(":2: "), "{}", l.errors[0]);
        assert!(
            l.errors[1].to_string().contains("--dhcp-host only"),
            "{}",
            l.errors[1]
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn directory_in_name_order_skipping_hidden_and_backups() {
        let d = scratch("d");
        std::fs::write(d.join("b"), "option:ntp-server,10.0.0.2\n").unwrap();
        std::fs::write(d.join("a"), "3,10.0.0.1\n").unwrap();
        std::fs::write(d.join(".hidden"), "garbage\n").unwrap();
        std::fs::write(d.join("a~"), "garbage\n").unwrap();
        let l = load_options(std::slice::from_ref(&d));
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(
            l.entries.iter().map(|o| o.code).collect::<Vec<_>>(),
            [3, 42]
        );
        let missing = load_options(&[d.join("none")]);
        assert!(matches!(
            missing.errors[..],
            [DhcpFileError::Unreadable { .. }]
        ));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn dir_reads_only_new_and_changed_files() {
        let d = scratch("dir");
        std::fs::write(d.join("a"), "02:00:00:00:00:01,10.0.0.11\n").unwrap();
        std::fs::write(
            d.join("b"),
            "02:00:00:00:00:02,10.0.0.12\nbad,,line,1.2.3\n",
        )
        .unwrap();
        let dirs = [d.clone()];
        let mut seen = DirFiles::default();
        let first = seen.read_hosts(&dirs);
        assert_eq!(first.entries.len(), 2);
        assert_eq!(first.errors.len(), 1);
        assert!(
            first.errors[0].to_string().contains("/b:2: "),
            "{}",
            first.errors[0]
        );
        // Nothing changed: nothing read, nothing reported again.
        let again = seen.read_hosts(&dirs);
        assert!(again.entries.is_empty() && again.errors.is_empty());
        // A new file and a changed one (rename over it, as editors do) are read; a removed one
        // is only forgotten.
        std::fs::write(d.join("c"), "02:00:00:00:00:03,10.0.0.13\n").unwrap();
        std::fs::write(d.join(".a.tmp"), "02:00:00:00:00:01,10.0.0.21\n").unwrap();
        std::fs::rename(d.join(".a.tmp"), d.join("a")).unwrap();
        std::fs::remove_file(d.join("b")).unwrap();
        let next = seen.read_hosts(&dirs);
        let addrs: Vec<_> = next
            .entries
            .iter()
            .map(|h| h.addr.unwrap().to_string())
            .collect();
        assert_eq!(addrs, ["10.0.0.21", "10.0.0.13"]);
        assert!(next.errors.is_empty());
        // Not a directory, or missing: reported.
        let f = d.join("c");
        let bad = DirFiles::default().read_options(&[f, d.join("none")]);
        assert_eq!(bad.errors.len(), 2);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn add_new_keeps_old_and_puts_new_first() {
        let mut kept = vec![1, 2, 3];
        assert_eq!(add_new(&mut kept, vec![2, 4, 4, 5]), 2);
        assert_eq!(kept, [4, 5, 1, 2, 3]);
        assert_eq!(add_new(&mut kept, vec![]), 0);
        assert_eq!(add_new(&mut kept, vec![1, 5]), 0);
        assert_eq!(kept, [4, 5, 1, 2, 3]);
    }
}
