//! One read transfer as a state machine: which packets to send, given ACKs and time.
//!
//! The machine never touches file bytes; it says which blocks to send ([`Emit`]) and the engine
//! copies each block's bytes ([`Transfer::block_range`]) after a 4-byte header. Block numbers
//! are counted in 64 bits and put on the wire modulo 2^16, so files longer than 65535 blocks
//! roll over to block 0 as tftp-hpa, curl, atftp and dnsmasq expect.

use std::ops::Range;
use std::time::Duration;

use super::negotiate::Negotiated;
use crate::time::Instant;

/// Retransmissions of the same window before the transfer is abandoned.
pub const MAX_RETRIES: u32 = 6;
/// Back-off never waits longer than this between retransmissions.
pub const MAX_TIMEOUT_MS: u64 = 16_000;
/// A transfer without progress for this long is abandoned (dnsmasq: 120 s).
pub const ABANDON_AFTER: Duration = Duration::from_secs(120);

/// What to send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// The OACK (again).
    Oack,
    /// DATA blocks `first..=last` (absolute numbers, from 1).
    Blocks {
        /// First block.
        first: u64,
        /// Last block.
        last: u64,
    },
}

/// The result of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing to send.
    Idle,
    /// Send this.
    Send(Emit),
    /// The transfer is complete.
    Done,
    /// The transfer is abandoned (too many retransmissions or no progress).
    Abandon,
    /// An ACK for a block that is not outstanding (duplicate or stale): ignored, never
    /// answered, so a duplicate can never double the stream (RFC 1350's Sorcerer's Apprentice).
    Duplicate,
}

/// The byte range of absolute block `block` (from 1) of a `size`-byte file sent in blocks of
/// `blksize` bytes; the block after the last full one is empty when `size` is a multiple of
/// `blksize` (RFC 1350 §6).
pub fn block_span(block: u64, blksize: u64, size: u64) -> Range<usize> {
    let start = block.saturating_sub(1).saturating_mul(blksize).min(size);
    let end = start.saturating_add(blksize).min(size);
    start as usize..end as usize
}

/// A read transfer in progress.
#[derive(Clone, Debug)]
pub struct Transfer {
    blksize: u64,
    window: u64,
    size: u64,
    blocks: u64,
    oack_pending: bool,
    acked: u64,
    sent: u64,
    base_timeout_ms: u64,
    timeout_ms: u64,
    retries: u32,
    deadline: Instant,
    progress: Instant,
}

impl Transfer {
    /// Starts a transfer of `size` bytes with the negotiated parameters; returns it with the
    /// first packets to send (the OACK, or the first window of DATA).
    pub fn start(n: &Negotiated, size: u64, now: Instant) -> (Transfer, Emit) {
        let blksize = u64::from(n.blksize.max(1));
        let mut t = Transfer {
            blksize,
            window: u64::from(n.windowsize.max(1)),
            size,
            // RFC 1350 §6: a block shorter than blksize ends the transfer, so a size that is a
            // multiple of blksize ends with an empty block.
            blocks: size / blksize + 1,
            oack_pending: n.oack.is_some(),
            acked: 0,
            sent: 0,
            base_timeout_ms: n.timeout_ms.max(1),
            timeout_ms: n.timeout_ms.max(1),
            retries: 0,
            deadline: now,
            progress: now,
        };
        let emit = if t.oack_pending {
            Emit::Oack
        } else {
            t.next_window()
        };
        t.deadline = now.saturating_add(Duration::from_millis(t.timeout_ms));
        (t, emit)
    }

    fn next_window(&mut self) -> Emit {
        let first = self.acked + 1;
        let last = (self.acked + self.window).min(self.blocks);
        self.sent = last;
        Emit::Blocks { first, last }
    }

    fn arm(&mut self, now: Instant) {
        self.retries = 0;
        self.timeout_ms = self.base_timeout_ms;
        self.progress = now;
        self.deadline = now.saturating_add(Duration::from_millis(self.timeout_ms));
    }

    /// An ACK arrived with wire block number `block`.
    pub fn on_ack(&mut self, block: u16, now: Instant) -> Step {
        if self.oack_pending {
            // RFC 2347: the client acknowledges the OACK with ACK 0.
            if block != 0 {
                return Step::Duplicate;
            }
            self.oack_pending = false;
            self.arm(now);
            return Step::Send(self.next_window());
        }
        // The outstanding blocks are acked+1..=sent (fewer than 2^16 of them), so at most one
        // of them has this wire number.
        let span = self.sent - self.acked;
        let delta = u64::from(block.wrapping_sub(self.acked as u16));
        if delta == 0 || delta > span {
            return Step::Duplicate;
        }
        self.acked += delta;
        if self.acked == self.blocks {
            return Step::Done;
        }
        // RFC 7440 §4: an ACK before the end of the window means the blocks after it were
        // lost; the next window starts right after the acknowledged block.
        self.arm(now);
        Step::Send(self.next_window())
    }

    /// The time passed; call at or after [`Transfer::deadline`].
    pub fn on_timeout(&mut self, now: Instant) -> Step {
        if now < self.deadline {
            return Step::Idle;
        }
        if self.retries >= MAX_RETRIES || now - self.progress >= ABANDON_AFTER {
            return Step::Abandon;
        }
        // Retransmit everything outstanding, waiting twice as long each time (back-off).
        self.retries += 1;
        self.timeout_ms = (self.timeout_ms * 2).min(MAX_TIMEOUT_MS.max(self.base_timeout_ms));
        self.deadline = now.saturating_add(Duration::from_millis(self.timeout_ms));
        if self.oack_pending {
            Step::Send(Emit::Oack)
        } else {
            Step::Send(Emit::Blocks {
                first: self.acked + 1,
                last: self.sent,
            })
        }
    }

    /// When [`Transfer::on_timeout`] must next be called.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The byte range of absolute block `block` within the file.
    pub fn block_range(&self, block: u64) -> Range<usize> {
        block_span(block, self.blksize, self.size)
    }

    /// The wire number of absolute block `block` (RFC 1350 block numbers roll over to 0).
    pub fn wire_block(block: u64) -> u16 {
        block as u16
    }

    /// The number of DATA blocks in the whole transfer.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Blocks acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// The negotiated block size.
    pub fn blksize(&self) -> usize {
        self.blksize as usize
    }
}
