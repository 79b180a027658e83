//! The DHCP thread's side of the lease journal: each turn's records handed to the writer
//! thread under a sequence number, the turn's ACKs, durable DHCPv6 replies and script events
//! held until the writer reports that number durable, the writer's failures turned into
//! withheld replies and the loud [`Outage`] log, and compaction requests carrying the live
//! leases.

use std::net::SocketAddrV6;

use ringmasq_proto::dhcp6::script::Event6;

use super::super::journal_writer::{Report, Request, Snapshot};
use super::super::store::PENDING_MAX;
use super::*;

/// Bytes of replies held for the journal at most (about 7,000 ACKs); more are dropped and
/// counted (clients retransmit) rather than growing memory while the disk is far behind.
pub(crate) const HELD_MAX_BYTES: usize = PENDING_MAX;

/// Journal bytes handed to the writer and not yet reported on at most: past this, a turn's
/// records are not queued (its ACKs are dropped and counted) and once the writer has caught up
/// one collapse (every live lease) replaces them, so a hung disk cannot grow memory.
const IN_FLIGHT_MAX: usize = PENDING_MAX;

/// What counts against [`HELD_MAX_BYTES`] besides a reply's bytes, and per script event.
const ENTRY_BYTES: usize = 64;

/// Something waiting for its turn's journal records to be durable.
pub(crate) enum Held {
    /// A DHCPv4 ACK; `due`: not before (`--dhcp-reply-delay` of a rapid-commit ACK).
    V4 {
        to: ReplyTo,
        ifindex: u32,
        bytes: Vec<u8>,
        pxe: bool,
        due: Option<StdInstant>,
    },
    /// A DHCPv6 reply that commits a lease.
    V6 { to: SocketAddrV6, bytes: Vec<u8> },
    /// DHCPv4 lease-change script events.
    Script(Vec<ScriptEvent>),
    /// DHCPv6 lease-change script events.
    Script6(Vec<Event6>),
}

impl Held {
    /// Its size against [`HELD_MAX_BYTES`].
    fn size(&self) -> usize {
        match self {
            Held::V4 { bytes, .. } | Held::V6 { bytes, .. } => bytes.len() + ENTRY_BYTES,
            Held::Script(e) => e.len() * ENTRY_BYTES,
            Held::Script6(e) => e.len() * ENTRY_BYTES,
        }
    }

    /// Whether it is a reply (not script events).
    fn is_reply(&self) -> bool {
        matches!(self, Held::V4 { .. } | Held::V6 { .. })
    }
}

/// Whether a DHCPv4 reply acknowledges a lease: a DHCPACK giving an address (an ACK to
/// DHCPINFORM and PXE boot-server ACKs give none, RFC 2131 §3.4, PXE 2.1 §2.2.2).
pub(crate) fn grants_lease(reply: &[u8]) -> bool {
    reply_kind(reply) == "DHCPACK" && reply.get(16..20).is_some_and(|y| y != [0, 0, 0, 0])
}

/// Journal records handed to the writer that it has not reported on yet.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    /// `(turn, bytes)` in order.
    turns: std::collections::VecDeque<(u64, usize)>,
    bytes: usize,
    /// Turns were skipped: the next queued turn is preceded by a collapse.
    resync: bool,
    /// ACKs dropped because the writer was too far behind.
    pub(crate) dropped: u64,
}

impl InFlight {
    /// The writer reported on every turn up to `seq`.
    fn settled(&mut self, seq: u64) {
        while self.turns.front().is_some_and(|(s, _)| *s <= seq) {
            if let Some((_, b)) = self.turns.pop_front() {
                self.bytes -= b;
            }
        }
    }
}

impl DhcpService {
    /// Holds `item` for the turn being built; over the bound a reply is dropped (counted by
    /// the queue) and script events are submitted at once, as after a failed write.
    pub(super) fn hold(&mut self, item: Held) {
        self.turn_held = true;
        let size = item.size();
        if let Err(item) = self.held.push(self.turn_seq, size, item) {
            self.unhold(item);
        }
    }

    /// Ends the turn's journal part: its script events and durable DHCPv6 replies held, its
    /// records (if it has any, or anything held) sent to the writer under the turn's number.
    /// Without a writer (`--leasefile-ro`) the turn is durable at once.
    pub(super) fn commit_journal(&mut self) {
        if let Some(s) = &mut self.script
            && !s.events.is_empty()
        {
            let events = std::mem::take(&mut s.events);
            self.hold(Held::Script(events));
        }
        if let Some(v6) = &mut self.v6 {
            let replies = v6.take_replies();
            let events = if self.script.is_some() {
                v6.take_events()
            } else {
                Vec::new()
            };
            for r in replies {
                if r.durable {
                    self.hold(Held::V6 {
                        to: r.to,
                        bytes: r.bytes,
                    });
                } else if let Some(v6) = &self.v6 {
                    v6.send(r.to, &r.bytes);
                }
            }
            if !events.is_empty() {
                self.hold(Held::Script6(events));
            }
        }
        if self.journal.is_empty() && !self.turn_held {
            return;
        }
        let seq = self.turn_seq;
        self.turn_seq += 1;
        self.turn_held = false;
        match &self.writer {
            Some(_) if self.in_flight.bytes + self.journal.len() > IN_FLIGHT_MAX => {
                // The writer is far behind: nothing of this turn may wait for it.
                self.journal.clear();
                self.in_flight.resync = true;
                for item in self.held.take_from(seq) {
                    if item.is_reply() {
                        self.in_flight.dropped += 1;
                    } else {
                        self.unhold(item);
                    }
                }
            }
            Some(w) => {
                if self.in_flight.resync {
                    // The records of the turns not queued, superseded by every live lease.
                    self.in_flight.resync = false;
                    w.send(Request::Collapse(self.snapshot()));
                }
                let records = std::mem::replace(&mut self.journal, Vec::with_capacity(1024));
                self.in_flight.bytes += records.len();
                self.in_flight.turns.push_back((seq, records.len()));
                w.send(Request::Append { seq, records });
            }
            None => {
                self.journal.clear();
                self.release(seq);
            }
        }
    }

    /// Acts on the writer's reports that have arrived, then sends what they released.
    pub(super) fn take_reports(&mut self, sb: &mut SendBatch) {
        let Some(w) = &self.writer else {
            return;
        };
        let reports = w.reports();
        if reports.is_empty() {
            return;
        }
        for r in reports {
            self.apply_report(r);
        }
        self.send_outgoing(sb);
    }

    /// One report: a durable turn releases what it held; a failed one withholds its replies
    /// for good (its records stay pending in the writer and are retried).
    fn apply_report(&mut self, r: Report) {
        let settled = match &r {
            Report::Durable(seq) => *seq,
            Report::Failed { upto, .. } => *upto,
        };
        self.in_flight.settled(settled);
        match r {
            Report::Durable(seq) => {
                self.outage.recovered();
                self.release(seq);
            }
            Report::Failed {
                upto,
                error,
                pending,
            } => {
                let mut withheld = 0;
                for item in self.held.take_upto(upto) {
                    if item.is_reply() {
                        withheld += 1;
                    } else {
                        // The script heard of changes whose write failed before the writer
                        // thread existed too: it follows the leases in memory.
                        self.unhold(item);
                    }
                }
                self.outage.failed(&error, withheld, pending);
                if pending > PENDING_MAX
                    && let Some(w) = &self.writer
                {
                    w.send(Request::Collapse(self.snapshot()));
                }
            }
        }
    }

    /// The turns up to `seq` are durable: their replies join `outgoing` (or the delayed queue
    /// when not yet due), their script events are submitted.
    fn release(&mut self, seq: u64) {
        let now = StdInstant::now();
        for item in self.held.take_upto(seq) {
            match item {
                Held::V4 {
                    to,
                    ifindex,
                    bytes,
                    pxe,
                    due,
                } => match due {
                    Some(due) if due > now => self.delay_reply(Delayed {
                        due,
                        to,
                        bytes,
                        ifindex,
                        pxe,
                    }),
                    _ => self.queue_reply(to, ifindex, &bytes, pxe),
                },
                Held::V6 { to, bytes } => {
                    if let Some(v6) = &self.v6 {
                        v6.send(to, &bytes);
                    }
                }
                other => self.unhold(other),
            }
        }
    }

    /// Script events submitted now; a reply dropped.
    fn unhold(&mut self, item: Held) {
        let wall = self.wall();
        match (item, &mut self.script) {
            (Held::Script(events), Some(s)) => s.runner.submit(&events, wall),
            (Held::Script6(events), Some(s)) => {
                if let Some(v6) = &self.v6 {
                    s.runner.submit6(&events, v6.server_duid(), wall);
                }
            }
            _ => {}
        }
    }

    /// The live leases now, for a compaction or collapse.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            leases: self.server.allocator().snapshot(self.wall()),
            v6_lines: self.v6.as_ref().map(V6::lines),
        }
    }

    /// Asks the writer to rewrite the lease file from the live leases (it logs a failure and
    /// keeps the old file).
    pub(super) fn request_compaction(&mut self) {
        if let Some(w) = &self.writer {
            w.send(Request::Compact(self.snapshot()));
        }
    }

    /// Orderly stop: the writer syncs everything sent so far, the replies that became durable
    /// are sent, the lease file is compacted and the writer joined.
    pub(super) fn finish_writer(&mut self, sb: &mut SendBatch) {
        let Some(w) = self.writer.take() else {
            return;
        };
        let last = self.snapshot();
        w.finish(last, |r| {
            self.apply_report(r);
            self.send_outgoing(sb);
        });
    }
}
