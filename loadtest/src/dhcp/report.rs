//! What `ringmasq-load dhcp` counts and measures, and the table and JSON it prints.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Latencies in microseconds (up to 10 minutes).
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Latency {
    fn new() -> Latency {
        Latency(Histogram::new_with_bounds(1, 600_000_000, 3).expect("static bounds"))
    }

    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        self.0.saturating_record((d.as_micros() as u64).max(1));
    }

    /// Value at quantile `q`, in milliseconds (0 when empty).
    pub fn ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            0.0
        } else {
            self.0.value_at_quantile(q) as f64 / 1000.0
        }
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    fn json(&self) -> Value {
        json!({
            "p50_ms": round3(self.ms(0.5)),
            "p99_ms": round3(self.ms(0.99)),
            "max_ms": round3(self.ms(1.0)),
        })
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Counters of one run.
#[derive(Debug, Clone)]
pub struct DhcpStats {
    /// Clients simulated.
    pub clients: u32,
    /// Clients that sent their first DISCOVER.
    pub started: u64,
    /// Clients that completed DORA (ACK to their REQUEST).
    pub leased: u64,
    /// Clients whose renewal was acknowledged.
    pub renewed: u64,
    /// Renewal ACKs that carried another address than the lease.
    pub renew_moved: u64,
    /// RELEASEs sent (no reply is expected, RFC 2131 §4.4.6).
    pub released: u64,
    /// DISCOVERs sent again after no OFFER came in time.
    pub discover_retries: u64,
    /// REQUESTs sent again after no ACK came in time.
    pub request_retries: u64,
    /// Clients that gave up without a lease.
    pub lease_timeouts: u64,
    /// Clients that gave up renewing.
    pub renew_timeouts: u64,
    /// NAKs received.
    pub naks: u64,
    /// ACKs of DORA giving an address another client already holds.
    pub duplicate_addresses: u64,
    /// Replies to a message already answered (e.g. after a retransmission).
    pub late: u64,
    /// Replies for no client of this run, or with a stale transaction ID.
    pub unexpected: u64,
    /// Datagrams that were not DHCP replies.
    pub malformed: u64,
    /// Sends the kernel refused.
    pub send_errors: u64,
    /// ARP requests answered for leased addresses (broadcast mode).
    pub arp_answered: u64,
    /// Seconds from the first DISCOVER to the last DORA ACK.
    pub lease_window_s: f64,
    /// Seconds from start to the end of the run.
    pub elapsed_s: f64,
    /// DISCOVER → OFFER.
    pub offer_us: Latency,
    /// REQUEST → ACK (DORA and renewal).
    pub ack_us: Latency,
    /// First DISCOVER → ACK, retransmissions included.
    pub lease_us: Latency,
}

impl DhcpStats {
    /// Zeroed counters for `clients` clients.
    pub fn new(clients: u32) -> DhcpStats {
        DhcpStats {
            clients,
            started: 0,
            leased: 0,
            renewed: 0,
            renew_moved: 0,
            released: 0,
            discover_retries: 0,
            request_retries: 0,
            lease_timeouts: 0,
            renew_timeouts: 0,
            naks: 0,
            duplicate_addresses: 0,
            late: 0,
            unexpected: 0,
            malformed: 0,
            send_errors: 0,
            arp_answered: 0,
            lease_window_s: 0.0,
            elapsed_s: 0.0,
            offer_us: Latency::new(),
            ack_us: Latency::new(),
            lease_us: Latency::new(),
        }
    }

    /// Completed exchanges: DORAs plus renewals.
    pub fn exchanges(&self) -> u64 {
        self.leased + self.renewed
    }

    /// Completed exchanges per second of the run.
    pub fn exchanges_per_s(&self) -> f64 {
        per_s(self.exchanges(), self.elapsed_s)
    }

    /// DORAs completed per second, first DISCOVER to last ACK.
    pub fn leases_per_s(&self) -> f64 {
        per_s(self.leased, self.lease_window_s)
    }

    /// Exchanges that needed a retransmission, as a fraction of the messages sent first.
    pub fn retry_ratio(&self) -> f64 {
        let first = self.started + self.leased + self.renewed;
        if first == 0 {
            0.0
        } else {
            (self.discover_retries + self.request_retries) as f64 / first as f64
        }
    }

    /// Whether every client got its lease (and renewal, when asked) with no failure.
    pub fn all_leased(&self) -> bool {
        self.leased == u64::from(self.clients)
            && self.lease_timeouts == 0
            && self.naks == 0
            && self.duplicate_addresses == 0
    }

    /// The JSON object `--json` prints.
    pub fn to_json(&self) -> Value {
        json!({
            "clients": self.clients,
            "started": self.started,
            "leased": self.leased,
            "renewed": self.renewed,
            "renew_moved": self.renew_moved,
            "released": self.released,
            "exchanges": self.exchanges(),
            "exchanges_per_s": (self.exchanges_per_s() * 10.0).round() / 10.0,
            "leases_per_s": (self.leases_per_s() * 10.0).round() / 10.0,
            "time_to_all_leased_s": self.all_leased().then(|| round3(self.lease_window_s)),
            "discover_retries": self.discover_retries,
            "request_retries": self.request_retries,
            "lease_timeouts": self.lease_timeouts,
            "renew_timeouts": self.renew_timeouts,
            "naks": self.naks,
            "duplicate_addresses": self.duplicate_addresses,
            "late": self.late,
            "unexpected": self.unexpected,
            "malformed": self.malformed,
            "send_errors": self.send_errors,
            "arp_answered": self.arp_answered,
            "elapsed_s": round3(self.elapsed_s),
            "offer_latency": self.offer_us.json(),
            "ack_latency": self.ack_us.json(),
            "lease_latency": self.lease_us.json(),
        })
    }

    /// The human table.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let all = if self.all_leased() {
            format!("{:.3} s", self.lease_window_s)
        } else {
            "not all leased".to_string()
        };
        let _ = writeln!(
            s,
            "clients {}  leased {}  renewed {}  released {}  time to all leased: {all}",
            self.clients, self.leased, self.renewed, self.released
        );
        let _ = writeln!(
            s,
            "exchanges {} in {:.3} s = {:.0}/s   DORA {:.0}/s",
            self.exchanges(),
            self.elapsed_s,
            self.exchanges_per_s(),
            self.leases_per_s()
        );
        let _ = writeln!(
            s,
            "retransmits: DISCOVER {} REQUEST {}   gave up: lease {} renew {}   NAK {}  duplicate addresses {}",
            self.discover_retries,
            self.request_retries,
            self.lease_timeouts,
            self.renew_timeouts,
            self.naks,
            self.duplicate_addresses
        );
        let _ = writeln!(
            s,
            "late {}  unexpected {}  malformed {}  send errors {}  ARP answered {}",
            self.late, self.unexpected, self.malformed, self.send_errors, self.arp_answered
        );
        for (name, l) in [
            ("OFFER", &self.offer_us),
            ("ACK", &self.ack_us),
            ("lease (DISCOVER->ACK)", &self.lease_us),
        ] {
            let _ = writeln!(
                s,
                "{name:>22} latency ms: p50 {:.3}  p99 {:.3}  max {:.3}  ({} samples)",
                l.ms(0.5),
                l.ms(0.99),
                l.ms(1.0),
                l.count()
            );
        }
        s
    }
}

fn per_s(n: u64, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { 0.0 }
}
