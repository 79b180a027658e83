//! TFTP counters: transfers, retransmissions, and every dropped or refused packet.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters the TFTP thread updates and the control thread logs on SIGUSR1.
#[derive(Debug, Default)]
pub struct TftpStats {
    /// Read or write requests received.
    pub requests: AtomicU64,
    /// Transfers started.
    pub started: AtomicU64,
    /// Transfers completed (last block acknowledged).
    pub completed: AtomicU64,
    /// Transfers abandoned (client error, silence, unreachable).
    pub failed: AtomicU64,
    /// DATA/OACK packets sent.
    pub data_sent: AtomicU64,
    /// Timeouts that retransmitted.
    pub retransmits: AtomicU64,
    /// ACKs for blocks not outstanding (ignored).
    pub duplicate_acks: AtomicU64,
    /// Requests repeated for a running single-port transfer (ignored).
    pub duplicate_requests: AtomicU64,
    /// ERROR packets sent (refused requests).
    pub errors_sent: AtomicU64,
    /// Dropped: not a TFTP packet.
    pub malformed: AtomicU64,
    /// Dropped: ACK/ERROR from an address with no transfer.
    pub unknown_peer: AtomicU64,
    /// Dropped: a packet a transfer does not expect (DATA, a request).
    pub unexpected: AtomicU64,
    /// Dropped: a request on an interface `--enable-tftp` does not name.
    pub wrong_interface: AtomicU64,
    /// Dropped: `--tftp-max` transfers already running.
    pub busy: AtomicU64,
    /// Refused: no port free in `--tftp-port-range`.
    pub no_port: AtomicU64,
    /// `tftp` script events dropped because the script's queue was full.
    pub script_dropped: AtomicU64,
    /// Files read from disk whole (each version of a file once while it is cached).
    pub file_reads: AtomicU64,
    /// Bytes read from disk (by every TFTP thread).
    pub bytes_read: AtomicU64,
    /// Transfers ended by an ERROR because their file could not be read whole (a read failed,
    /// or the file shrank while it was read).
    pub read_errors: AtomicU64,
}

impl TftpStats {
    /// Adds `n` to counter `c`.
    pub fn add(&self, c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// One log line with every counter.
    pub fn line(&self) -> String {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "TFTP: {} requests, {} transfers started, {} completed, {} failed, {} packets sent, \
             {} retransmissions, {} duplicate ACKs, {} errors sent; dropped: {} malformed, \
             {} unknown peer, {} unexpected, {} wrong interface, {} busy, {} no port; \
             {} script events dropped; {} file reads from disk ({} bytes); \
             {} transfers ended by a read error",
            g(&self.requests),
            g(&self.started),
            g(&self.completed),
            g(&self.failed),
            g(&self.data_sent),
            g(&self.retransmits),
            g(&self.duplicate_acks),
            g(&self.errors_sent),
            g(&self.malformed),
            g(&self.unknown_peer),
            g(&self.unexpected),
            g(&self.wrong_interface),
            g(&self.busy),
            g(&self.no_port),
            g(&self.script_dropped),
            g(&self.file_reads),
            g(&self.bytes_read),
            g(&self.read_errors),
        )
    }
}
