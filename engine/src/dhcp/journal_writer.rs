//! The lease journal's own thread: it owns the [`LeaseStore`], so a slow or failing disk never
//! stalls the DHCP thread (OFFERs, NAKs, INFORM and PXE replies keep flowing while an
//! `fdatasync` takes seconds).
//!
//! The DHCP thread sends each turn's records with the turn's sequence number
//! ([`Request::Append`]); the writer drains everything queued, writes it with one `write` and
//! makes it durable with one `fdatasync` (group commit across turns), then reports the highest
//! durable sequence number ([`Report::Durable`]) or the failure ([`Report::Failed`]: those
//! turns' ACKs are never sent; their records stay pending and are retried once a second or with
//! the next append). Each report is followed by a write to an eventfd the DHCP thread polls.
//!
//! Compactions and collapses carry the live leases as the DHCP thread saw them when it sent
//! the request; requests are applied strictly in order, so a compaction never folds in (and
//! truncates) records sent after its snapshot.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ringmasq_proto::dhcp::Lease;

use super::store::LeaseStore;

/// How often records left pending by a storage fault are retried without new traffic.
const RETRY: Duration = Duration::from_secs(1);

/// The live leases at the moment a compaction or collapse was asked for.
#[derive(Debug)]
pub struct Snapshot {
    /// Every live DHCPv4 lease.
    pub leases: Vec<Lease>,
    /// The DHCPv6 lease lines (`None` without DHCPv6: the lines read at open are kept).
    pub v6_lines: Option<Vec<String>>,
}

/// What the DHCP thread asks of the writer.
#[derive(Debug)]
pub enum Request {
    /// Journal records of one turn (possibly none: a turn whose replies only wait for earlier
    /// turns), numbered in increasing order.
    Append {
        /// The turn's sequence number.
        seq: u64,
        /// Its encoded journal records.
        records: Vec<u8>,
    },
    /// Pending records above [`super::store::PENDING_MAX`]: replace them by the live leases.
    Collapse(Snapshot),
    /// Rewrite the lease file from the live leases and empty the journal.
    Compact(Snapshot),
    /// Orderly stop: make everything durable, compact, end the thread.
    Stop(Snapshot),
}

/// What the writer tells the DHCP thread, in order.
#[derive(Debug)]
pub enum Report {
    /// The records of every turn up to this sequence number are durable.
    Durable(u64),
    /// Writing failed: no turn up to `upto` may have its ACKs sent.
    Failed {
        /// The highest sequence number whose records are not durable.
        upto: u64,
        /// The error.
        error: io::Error,
        /// Bytes of records pending.
        pending: usize,
    },
}

/// State the DHCP thread reads without a round trip.
#[derive(Debug, Default)]
struct Shared {
    /// The journal has grown enough to be folded into the lease file.
    wants_compaction: AtomicBool,
    /// A compaction request is queued or running.
    compaction_queued: AtomicBool,
}

/// The DHCP thread's handle on the writer thread.
pub struct JournalWriter {
    tx: Option<Sender<Request>>,
    reports: Receiver<Report>,
    /// The eventfd the writer signals after each report.
    doorbell: File,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A nonblocking eventfd.
fn doorbell() -> Result<File> {
    let fd = crate::socket::eventfd()?;
    // SAFETY: `eventfd` just returned this descriptor and nothing else owns it.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

impl JournalWriter {
    /// Starts the writer thread, which takes over `store`.
    pub fn start(store: LeaseStore) -> Result<JournalWriter> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (report_tx, reports) = crossbeam_channel::unbounded();
        let doorbell = doorbell()?;
        let ring = doorbell.try_clone().context("eventfd")?;
        let shared = Arc::new(Shared {
            wants_compaction: AtomicBool::new(store.wants_compaction()),
            compaction_queued: AtomicBool::new(false),
        });
        let writer = Writer {
            store,
            rx,
            reports: report_tx,
            doorbell: ring,
            shared: Arc::clone(&shared),
            appended: 0,
            told: 0,
            failing: false,
        };
        let thread = std::thread::Builder::new()
            .name("ringmasq-journal".into())
            .spawn(move || writer.run())
            .context("cannot start the lease journal thread")?;
        Ok(JournalWriter {
            tx: Some(tx),
            reports,
            doorbell,
            shared,
            thread: Some(thread),
        })
    }

    /// Hands a request to the writer (never blocks).
    pub fn send(&self, request: Request) {
        if matches!(request, Request::Compact(_)) {
            self.shared.compaction_queued.store(true, Ordering::Relaxed);
        }
        if let Some(tx) = &self.tx {
            // The writer only ends after `finish`, so the channel is open.
            let _ = tx.send(request);
        }
    }

    /// Whether a compaction should be asked for (the journal has grown and none is queued).
    pub fn wants_compaction(&self) -> bool {
        self.shared.wants_compaction.load(Ordering::Relaxed)
            && !self.shared.compaction_queued.load(Ordering::Relaxed)
    }

    /// The eventfd to poll for reports.
    pub fn fd(&self) -> RawFd {
        self.doorbell.as_raw_fd()
    }

    /// The reports that have arrived (clears the eventfd first, so a report sent meanwhile
    /// rings it again).
    pub fn reports(&self) -> Vec<Report> {
        let mut count = [0u8; 8];
        let _ = (&self.doorbell).read(&mut count);
        self.reports.try_iter().collect()
    }

    /// Orderly stop: asks for the final compaction, then hands every remaining report to
    /// `each` until the writer has ended, and joins it.
    pub fn finish(mut self, last: Snapshot, mut each: impl FnMut(Report)) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Request::Stop(last));
        }
        // The writer drops its sender when it ends.
        for r in self.reports.iter() {
            each(r);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        // Without `finish` (a failed start): the writer syncs what it has and ends.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread's state.
struct Writer {
    store: LeaseStore,
    rx: Receiver<Request>,
    reports: Sender<Report>,
    doorbell: File,
    shared: Arc<Shared>,
    /// The highest sequence number whose records were handed to the store.
    appended: u64,
    /// The highest sequence number reported durable.
    told: u64,
    /// The last write failed (a success must be reported even with nothing new).
    failing: bool,
}

impl Writer {
    fn run(mut self) {
        let mut batch = Vec::new();
        loop {
            let first = if self.store.pending_len() > 0 {
                self.rx.recv_timeout(RETRY)
            } else {
                self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
            };
            match first {
                Ok(r) => batch.push(r),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    let r = self.store.flush();
                    self.settle(r);
                    return;
                }
            }
            // Group commit: everything queued now goes out with one write and one sync.
            batch.extend(self.rx.try_iter());
            for request in batch.drain(..) {
                match request {
                    Request::Append { seq, records } => {
                        self.store.queue(&records);
                        self.appended = self.appended.max(seq);
                    }
                    Request::Collapse(s) => {
                        let v6 = s.v6_lines.unwrap_or_else(|| self.store.v6_lines().to_vec());
                        self.store.collapse(&s.leases, v6);
                    }
                    Request::Compact(s) => {
                        self.compact(s, "compaction");
                        self.shared
                            .compaction_queued
                            .store(false, Ordering::Relaxed);
                    }
                    Request::Stop(s) => {
                        let r = self.store.flush();
                        self.settle(r);
                        self.compact(s, "write at exit");
                        return;
                    }
                }
            }
            let r = self.store.flush();
            self.settle(r);
            self.shared
                .wants_compaction
                .store(self.store.wants_compaction(), Ordering::Relaxed);
        }
    }

    /// Compacts from `s` (after making the records queued before it durable); a failure is
    /// logged and leaves the old file and the journal.
    fn compact(&mut self, s: Snapshot, what: &str) {
        if let Some(v6) = s.v6_lines {
            self.store.set_v6_lines(v6);
        }
        match self.store.compact(&s.leases) {
            Ok(()) => self.settle(Ok(())),
            Err(e) => {
                tracing::error!("DHCP lease file {what} failed: {e}");
                // Compaction syncs the pending records first: they may be durable now.
                if self.store.pending_len() == 0 {
                    self.settle(Ok(()));
                } else {
                    self.settle(Err(e));
                }
            }
        }
    }

    /// Reports the outcome of a sync.
    fn settle(&mut self, r: io::Result<()>) {
        let report = match r {
            Ok(()) if self.appended > self.told || self.failing => {
                self.failing = false;
                self.told = self.appended;
                Report::Durable(self.appended)
            }
            Ok(()) => return,
            Err(error) => {
                self.failing = true;
                Report::Failed {
                    upto: self.appended,
                    error,
                    pending: self.store.pending_len(),
                }
            }
        };
        if self.reports.send(report).is_ok() {
            let _ = (&self.doorbell).write(&1u64.to_ne_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::store::tests::{fresh_dir, lease};
    use ringmasq_proto::dhcp::journal;
    use std::time::Instant;

    fn record(n: u8) -> Vec<u8> {
        let mut rec = Vec::new();
        journal::encode_upsert(&lease(n).as_ref(), &mut rec);
        rec
    }

    /// The next report, waiting on the eventfd as the DHCP thread does (at most 5 s).
    fn next(w: &JournalWriter, got: &mut Vec<Report>) -> Report {
        let end = Instant::now() + Duration::from_secs(5);
        while got.is_empty() {
            assert!(Instant::now() < end, "no report");
            let mut p = libc::pollfd {
                fd: w.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: polls one pollfd we own.
            unsafe { libc::poll(&mut p, 1, 100) };
            got.extend(w.reports());
        }
        got.remove(0)
    }

    /// Waits until the turns up to `seq` are reported durable; any other report fails.
    fn wait_durable(w: &JournalWriter, got: &mut Vec<Report>, seq: u64) {
        let mut durable = 0;
        while durable < seq {
            match next(w, got) {
                Report::Durable(s) => durable = s,
                r => panic!("{r:?}"),
            }
        }
    }

    /// The store's fault hook through the writer: a failed `fdatasync` is reported for the
    /// turns it covered, the records stay pending and the next append makes both durable;
    /// the stop compacts everything into the lease file.
    #[test]
    fn failed_sync_is_reported_then_retried_with_the_next_turn() {
        let (dir, path) = fresh_dir("writer");
        let (mut store, _) = LeaseStore::open(&path).unwrap();
        // Step 0 writes turn 1's records, step 1 (their fdatasync) fails.
        store.faults.fail_at = Some((1, libc::EIO));
        let w = JournalWriter::start(store).unwrap();
        let mut got = Vec::new();
        w.send(Request::Append {
            seq: 1,
            records: record(1),
        });
        match next(&w, &mut got) {
            Report::Failed {
                upto,
                error,
                pending,
            } => {
                assert_eq!(upto, 1);
                assert_eq!(error.raw_os_error(), Some(libc::EIO));
                assert_eq!(pending, record(1).len());
            }
            r => panic!("{r:?}"),
        }
        w.send(Request::Append {
            seq: 2,
            records: record(2),
        });
        // (The writer's own retry may have made turn 1 durable first.)
        wait_durable(&w, &mut got, 2);
        let (_, leases) = LeaseStore::open(&path).unwrap();
        assert_eq!(leases, [lease(1), lease(2)]);
        let last = Snapshot {
            leases: vec![lease(1), lease(2)],
            v6_lines: None,
        };
        w.finish(last, |r| panic!("nothing left to report: {r:?}"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let journal = LeaseStore::journal_path_for(&path);
        assert_eq!(std::fs::metadata(journal).unwrap().len(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A compaction is a barrier: records sent after its snapshot survive it in the journal.
    #[test]
    fn records_after_a_compaction_request_are_kept() {
        let (dir, path) = fresh_dir("writer-c");
        let (store, _) = LeaseStore::open(&path).unwrap();
        let w = JournalWriter::start(store).unwrap();
        let mut got = Vec::new();
        w.send(Request::Append {
            seq: 1,
            records: record(1),
        });
        w.send(Request::Compact(Snapshot {
            leases: vec![lease(1)],
            v6_lines: None,
        }));
        w.send(Request::Append {
            seq: 2,
            records: record(2),
        });
        wait_durable(&w, &mut got, 2);
        assert!(!w.wants_compaction());
        let (_, leases) = LeaseStore::open(&path).unwrap();
        assert_eq!(leases, [lease(1), lease(2)]);
        drop(w);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
