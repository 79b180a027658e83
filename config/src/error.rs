//! Configuration errors. Each names its source (file and line, or the command
//! line), the option, and what was expected.

use std::fmt;
use std::path::PathBuf;

use crate::origin::Origin;

/// One problem found while loading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The option name is not one dnsmasq or ringmasq knows.
    #[error("{origin}: unknown option `{option}`")]
    UnknownOption {
        /// Where it was given.
        origin: Origin,
        /// The name as written.
        option: String,
    },
    /// A command-line prefix matched several options.
    #[error("{origin}: option `--{option}` is ambiguous: could be {}", candidates.join(", "))]
    AmbiguousOption {
        /// Where it was given.
        origin: Origin,
        /// The prefix as written.
        option: String,
        /// Long names it could mean.
        candidates: Vec<String>,
    },
    /// A value is required but none was given.
    #[error("{origin}: option `{option}` needs a value: expected {expected}")]
    MissingValue {
        /// Where it was given.
        origin: Origin,
        /// Long option name.
        option: String,
        /// Description of a valid value.
        expected: String,
    },
    /// A flag was given a value.
    #[error("{origin}: option `{option}` takes no value, got `{value}`")]
    UnexpectedValue {
        /// Where it was given.
        origin: Origin,
        /// Long option name.
        option: String,
        /// The value given.
        value: String,
    },
    /// The value does not parse or is out of range.
    #[error("{origin}: option `{option}`: bad value `{value}`: expected {expected}")]
    InvalidValue {
        /// Where it was given.
        origin: Origin,
        /// Long option name.
        option: String,
        /// The value given.
        value: String,
        /// Description of a valid value.
        expected: String,
    },
    /// Options dnsmasq knows but ringmasq does not implement yet, all of them.
    #[error("ringmasq does not implement these dnsmasq options yet: {}", list_unimplemented(.0))]
    NotImplemented(Vec<(String, Origin)>),
    /// A file or directory named by an option could not be read.
    #[error("{origin}: option `{option}`: cannot read {}: {source}", path.display())]
    Io {
        /// Where the file was named.
        origin: Origin,
        /// Long option name (`conf-file`, `conf-dir`, `servers-file`).
        option: String,
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a configuration file is malformed.
    #[error("{origin}: syntax error: expected {expected}")]
    Syntax {
        /// File and line.
        origin: Origin,
        /// What the line should look like.
        expected: String,
    },
    /// A servers-file contains an option other than `server`/`rev-server`.
    #[error(
        "{origin}: option `{option}` is not allowed in a servers-file: expected only server= or rev-server= lines"
    )]
    NotAllowedInServersFile {
        /// File and line.
        origin: Origin,
        /// The option found.
        option: String,
    },
    /// A command-line argument is not an option.
    #[error("{origin}: unexpected argument `{argument}`: expected an option starting with `-`")]
    UnexpectedArgument {
        /// Always the command line.
        origin: Origin,
        /// The argument.
        argument: String,
    },
    /// Two settings contradict each other.
    #[error("{origin}: option `{option}`: {problem}")]
    Conflict {
        /// Where the later of the two was given.
        origin: Origin,
        /// Long option name.
        option: String,
        /// What is wrong.
        problem: String,
    },
}

fn list_unimplemented(items: &[(String, Origin)]) -> String {
    items
        .iter()
        .map(|(name, origin)| format!("--{name} ({origin})"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ConfigError {
    /// Where the problem is, if it has one place.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::NotImplemented(_) => None,
            ConfigError::UnknownOption { origin, .. }
            | ConfigError::AmbiguousOption { origin, .. }
            | ConfigError::MissingValue { origin, .. }
            | ConfigError::UnexpectedValue { origin, .. }
            | ConfigError::InvalidValue { origin, .. }
            | ConfigError::Io { origin, .. }
            | ConfigError::Syntax { origin, .. }
            | ConfigError::NotAllowedInServersFile { origin, .. }
            | ConfigError::UnexpectedArgument { origin, .. }
            | ConfigError::Conflict { origin, .. } => Some(origin),
        }
    }
}

/// Every problem found by one load, in the order found (the single
/// [`ConfigError::NotImplemented`] entry, if any, comes last).
#[derive(Debug, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }

    /// True when nothing went wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds one error.
    pub fn push(&mut self, error: ConfigError) {
        self.0.push(error);
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_source_option_and_expectation() {
        let e = ConfigError::InvalidValue {
            origin: Origin::file("/etc/r.conf", 3),
            option: "port".into(),
            value: "x".into(),
            expected: "a port number 0-65535".into(),
        };
        let s = e.to_string();
        assert!(s.contains("/etc/r.conf line 3"), "{s}");
        assert!(s.contains("`port`") && s.contains("0-65535"), "{s}");
    }

    #[test]
    fn not_implemented_lists_every_option() {
        let e = ConfigError::NotImplemented(vec![
            ("user".into(), Origin::CommandLine),
            ("dhcp-range".into(), Origin::file("a.conf", 2)),
        ]);
        assert_eq!(
            e.to_string(),
            "ringmasq does not implement these dnsmasq options yet: --user (command line), --dhcp-range (a.conf line 2)"
        );
    }
}
