//! Typed errors of the test harness.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while setting up or driving a scenario.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An I/O operation (socket, file, process spawn) failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The `ringmasq` binary could not be found.
    #[error(
        "ringmasq binary not found (looked at {looked:?}); build it with `cargo build --release --workspace --bins` or set RINGMASQ_BIN"
    )]
    BinaryNotFound {
        /// The candidate paths that were checked.
        looked: Vec<PathBuf>,
    },
    /// A process did not become ready in time.
    #[error("{what} not ready after {waited:?}; log tail:\n{log}")]
    NotReady {
        /// Which process.
        what: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last lines of its log.
        log: String,
    },
    /// A process exited while the harness expected it to run.
    #[error("{what} exited early with {status}; log tail:\n{log}")]
    Exited {
        /// Which process.
        what: String,
        /// Its exit status.
        status: String,
        /// The last lines of its log.
        log: String,
    },
    /// No answer arrived within the timeout.
    #[error("no answer from {server} within {timeout:?}")]
    Timeout {
        /// The server that was queried.
        server: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// A DNS message could not be encoded or decoded.
    #[error("dns wire format: {0}")]
    Wire(String),
    /// An external tool produced output the harness could not understand.
    #[error("cannot parse {tool} output ({reason}):\n{output}")]
    Parse {
        /// The tool (`dig`, `knotc`, ...).
        tool: String,
        /// Why parsing failed.
        reason: String,
        /// The raw output.
        output: String,
    },
    /// No free loopback port or address could be found.
    #[error("no free loopback port/address: {0}")]
    NoFreePort(String),
}

impl HarnessError {
    /// Wraps an [`std::io::Error`] with a description of what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result alias of the harness.
pub type Result<T> = std::result::Result<T, HarnessError>;
