//! `--dhcp-hostsfile=FILE|DIR` and `--dhcp-optsfile=FILE|DIR`: files of `dhcp-host` /
//! `dhcp-option` values, one per line without the option name, read at start and on SIGHUP.
//!
//! A directory stands for every file in it (not recursive; names starting with `.` or ending
//! in `~` skipped), in byte order of their names. Blank lines and lines starting with `#` are
//! ignored; a bad line is reported and the good lines kept.

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
    load(paths, DhcpHost::parse)
}

/// Reads `--dhcp-optsfile` files (each line a `dhcp-option` value).
pub fn load_options(paths: &[PathBuf]) -> DhcpFileLoad<DhcpOption> {
    load(paths, |l| DhcpOption::parse(l, false))
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
}
