//! Where a setting came from, for error messages.

use std::fmt;
use std::path::PathBuf;

/// The source of one option occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The process arguments.
    CommandLine,
    /// A configuration file and 1-based line number.
    File {
        /// Path of the file as it was opened.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

impl Origin {
    /// An origin in `path` at 1-based `line`.
    pub fn file(path: impl Into<PathBuf>, line: usize) -> Self {
        Origin::File {
            path: path.into(),
            line,
        }
    }

    /// True for [`Origin::CommandLine`].
    pub fn is_command_line(&self) -> bool {
        matches!(self, Origin::CommandLine)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => f.write_str("command line"),
            Origin::File { path, line } => write!(f, "{} line {}", path.display(), line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_file_and_line() {
        assert_eq!(
            Origin::file("/etc/x.conf", 7).to_string(),
            "/etc/x.conf line 7"
        );
        assert_eq!(Origin::CommandLine.to_string(), "command line");
    }
}
