//! Lease-store outages as the DHCP thread reports them: a loud line when writes start failing,
//! one every ten seconds while they go on (replies withheld, bytes pending), and one when the
//! pending records are written.

use std::time::{Duration, Instant};

/// How often a continuing outage is logged again.
const REPEAT: Duration = Duration::from_secs(10);

/// The state of the current outage, if any.
#[derive(Debug, Default)]
pub struct Outage {
    /// When writes started failing.
    since: Option<Instant>,
    /// Replies withheld since then.
    withheld: u64,
    /// When the outage was last logged.
    logged: Option<Instant>,
}

impl Outage {
    /// A write failed with `e`; `withheld` replies were not sent, `pending` bytes wait.
    pub fn failed(&mut self, e: &std::io::Error, withheld: usize, pending: usize) {
        let now = Instant::now();
        self.withheld += withheld as u64;
        if self.since.is_none() {
            self.since = Some(now);
            self.logged = Some(now);
            tracing::error!(
                "DHCP lease store write failed: {e}; ACKs are withheld until their leases are \
                 durable ({pending} byte(s) of lease records pending)"
            );
        } else if self.logged.is_none_or(|t| now.duration_since(t) >= REPEAT) {
            self.logged = Some(now);
            tracing::error!(
                "DHCP lease store still failing: {e}; {} repl(ies) withheld, {pending} byte(s) \
                 pending",
                self.withheld
            );
        }
    }

    /// Pending records were made durable: ends an outage (logged) if one was going on.
    pub fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::warn!(
                "DHCP lease store writable again after {:.1} s: pending lease records written \
                 ({} repl(ies) were withheld)",
                since.elapsed().as_secs_f64(),
                self.withheld
            );
            self.withheld = 0;
            self.logged = None;
        }
    }
}
