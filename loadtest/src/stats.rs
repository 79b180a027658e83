//! Counters and the latency histogram of one run, mergeable across threads, with the
//! human table and the JSON object the CLI prints.

use crate::qtype::rcode_name;
use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Highest latency the histogram tracks, in microseconds (larger values saturate).
const MAX_LATENCY_US: u64 = 120_000_000;

/// Counters of one thread or of a whole run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Queries handed to the kernel.
    pub sent: u64,
    /// Queries answered by a matching response.
    pub answered: u64,
    /// Queries that got no matching response within the timeout.
    pub timeouts: u64,
    /// Responses that matched nothing outstanding.
    pub unexpected: u64,
    /// Sends the kernel rejected.
    pub send_errors: u64,
    /// Receive errors (e.g. ICMP port unreachable on a connected socket).
    pub recv_errors: u64,
    /// Open-loop sends skipped because every slot was in flight.
    pub overflow: u64,
    /// Answers with TC set.
    pub truncated: u64,
    /// Answers per RCODE.
    pub rcodes: [u64; 16],
    /// Latency of answered queries, microseconds.
    pub latency_us: Histogram<u64>,
    /// Nanoseconds from start to the end of the run's useful work.
    pub elapsed_ns: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty counters; the histogram is allocated here, once.
    pub fn new() -> Self {
        Stats {
            sent: 0,
            answered: 0,
            timeouts: 0,
            unexpected: 0,
            send_errors: 0,
            recv_errors: 0,
            overflow: 0,
            truncated: 0,
            rcodes: [0; 16],
            latency_us: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static bounds"),
            elapsed_ns: 0,
        }
    }

    /// Counts one matched answer.
    pub fn record_answer(&mut self, rcode: u8, truncated: bool, latency_ns: u64) {
        self.answered += 1;
        self.rcodes[usize::from(rcode & 0x0f)] += 1;
        self.truncated += u64::from(truncated);
        self.latency_us
            .saturating_record((latency_ns / 1000).max(1));
    }

    /// Adds another thread's counters into these.
    pub fn merge(&mut self, o: &Stats) {
        self.sent += o.sent;
        self.answered += o.answered;
        self.timeouts += o.timeouts;
        self.unexpected += o.unexpected;
        self.send_errors += o.send_errors;
        self.recv_errors += o.recv_errors;
        self.overflow += o.overflow;
        self.truncated += o.truncated;
        for (a, b) in self.rcodes.iter_mut().zip(o.rcodes) {
            *a += b;
        }
        self.latency_us.add(&o.latency_us).expect("same bounds");
        self.elapsed_ns = self.elapsed_ns.max(o.elapsed_ns);
    }

    /// Run length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.elapsed_ns as f64 / 1e9
    }

    /// Answered queries per second.
    pub fn qps(&self) -> f64 {
        if self.elapsed_ns == 0 {
            0.0
        } else {
            self.answered as f64 / self.duration_s()
        }
    }

    /// Latency at quantile `q` in microseconds (0 when nothing was answered).
    pub fn percentile_us(&self, q: f64) -> u64 {
        if self.latency_us.is_empty() {
            0
        } else {
            self.latency_us.value_at_quantile(q)
        }
    }

    /// Latency at quantile `q` over every query tried (sent or overflowed), a query never
    /// answered counting as slower than any answer: what the clients saw. `None` when more
    /// than `1 - q` of the queries were lost, so the quantile falls among the lost ones.
    pub fn percentile_tried_us(&self, q: f64) -> Option<u64> {
        let tried = self.sent + self.overflow;
        let answered = self.answered.min(tried);
        if tried == 0 || answered == 0 {
            return None;
        }
        // Rank of the quantile among all tried queries, as a quantile among the answered.
        let rank = q * tried as f64;
        if rank > answered as f64 {
            return None;
        }
        Some(self.latency_us.value_at_quantile(rank / answered as f64))
    }

    /// Fraction of sent queries that were not answered.
    pub fn loss(&self) -> f64 {
        let tried = self.sent + self.overflow;
        if tried == 0 {
            0.0
        } else {
            (tried - self.answered.min(tried)) as f64 / tried as f64
        }
    }

    /// The JSON report object.
    pub fn to_json(&self) -> Value {
        let mut rcodes = Map::new();
        for (i, &n) in self.rcodes.iter().enumerate() {
            if n > 0 {
                rcodes.insert(rcode_name(i as u8).to_string(), json!(n));
            }
        }
        json!({
            "sent": self.sent,
            "answered": self.answered,
            "timeouts": self.timeouts,
            "unexpected": self.unexpected,
            "send_errors": self.send_errors,
            "recv_errors": self.recv_errors,
            "overflow": self.overflow,
            "truncated": self.truncated,
            "qps": (self.qps() * 10.0).round() / 10.0,
            "duration_s": (self.duration_s() * 1e6).round() / 1e6,
            "rcodes": rcodes,
            "latency_us": {
                "p50": self.percentile_us(0.50),
                "p90": self.percentile_us(0.90),
                "p99": self.percentile_us(0.99),
                "p999": self.percentile_us(0.999),
                "p99_tried": self.percentile_tried_us(0.99),
                "max": if self.latency_us.is_empty() { 0 } else { self.latency_us.max() },
                "mean": (self.latency_us.mean() * 10.0).round() / 10.0,
            },
        })
    }

    /// The human-readable final table.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "  queries sent      {:>12}", self.sent);
        let _ = writeln!(s, "  answered          {:>12}", self.answered);
        let _ = writeln!(s, "  timeouts          {:>12}", self.timeouts);
        let _ = writeln!(s, "  unexpected        {:>12}", self.unexpected);
        if self.send_errors + self.recv_errors + self.overflow + self.truncated > 0 {
            let _ = writeln!(s, "  send errors       {:>12}", self.send_errors);
            let _ = writeln!(s, "  recv errors       {:>12}", self.recv_errors);
            let _ = writeln!(s, "  overflow (open)   {:>12}", self.overflow);
            let _ = writeln!(s, "  truncated (TC)    {:>12}", self.truncated);
        }
        let _ = writeln!(s, "  duration          {:>12.3} s", self.duration_s());
        let _ = writeln!(s, "  answered/s        {:>12.1}", self.qps());
        for (i, &n) in self.rcodes.iter().enumerate() {
            if n > 0 {
                let _ = writeln!(s, "  rcode {:<11} {:>12}", rcode_name(i as u8), n);
            }
        }
        let _ = writeln!(
            s,
            "  latency (us)   p50 {:>8}  p90 {:>8}  p99 {:>8}  p99.9 {:>8}  max {:>8}",
            self.percentile_us(0.5),
            self.percentile_us(0.9),
            self.percentile_us(0.99),
            self.percentile_us(0.999),
            if self.latency_us.is_empty() {
                0
            } else {
                self.latency_us.max()
            }
        );
        s
    }
}

/// Counters a worker publishes for the once-a-second progress line.
#[derive(Debug, Default)]
pub struct Progress {
    /// Mirrors [`Stats::sent`].
    pub sent: AtomicU64,
    /// Mirrors [`Stats::answered`].
    pub answered: AtomicU64,
    /// Mirrors [`Stats::timeouts`].
    pub timeouts: AtomicU64,
}

impl Progress {
    /// Publishes a thread's current counters.
    pub fn publish(&self, s: &Stats) {
        self.sent.store(s.sent, Ordering::Relaxed);
        self.answered.store(s.answered, Ordering::Relaxed);
        self.timeouts.store(s.timeouts, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_json() {
        let mut a = Stats::new();
        a.sent = 3;
        a.record_answer(0, false, 100_000);
        a.record_answer(3, true, 300_000);
        a.elapsed_ns = 1_000_000_000;
        let mut b = Stats::new();
        b.sent = 1;
        b.timeouts = 1;
        b.elapsed_ns = 2_000_000_000;
        a.merge(&b);
        let j = a.to_json();
        assert_eq!(j["sent"], 4);
        assert_eq!(j["answered"], 2);
        assert_eq!(j["timeouts"], 1);
        assert_eq!(j["qps"], 1.0);
        assert_eq!(j["rcodes"]["NXDOMAIN"], 1);
        assert_eq!(j["truncated"], 1);
        assert_eq!(j["latency_us"]["p50"], 100);
        assert!((a.loss() - 0.5).abs() < 1e-9);
        assert!(a.to_table().contains("NXDOMAIN"));
    }

    #[test]
    fn percentile_over_tried_counts_losses_as_slowest() {
        let mut s = Stats::new();
        s.sent = 1000;
        // 990 answers at 100 us and 5 at 10 ms; 5 lost.
        for _ in 0..990 {
            s.record_answer(0, false, 100_000);
        }
        for _ in 0..5 {
            s.record_answer(0, false, 10_000_000);
        }
        // Rank 990 of 1000 falls on the last 100 us answer.
        assert_eq!(s.percentile_tried_us(0.99), Some(100));
        // Rank 999 is among the lost.
        assert_eq!(s.percentile_tried_us(0.999), None);
        // 2 % lost: the p99 is a lost query.
        s.sent = 1015;
        assert_eq!(s.percentile_tried_us(0.99), None);
        assert_eq!(
            s.to_json()["latency_us"]["p99_tried"],
            serde_json::Value::Null
        );
        // Nothing lost: the same as the answered p99.
        s.sent = 995;
        assert_eq!(s.percentile_tried_us(0.99), Some(s.percentile_us(0.99)));
    }
}
