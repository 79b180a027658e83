//! The ICMP echo check before an OFFER (`-5/--no-ping` turns it off).
//!
//! RFC 2131 §2.2 and §3.1 (step 2): a server SHOULD probe an address it is about to allocate,
//! e.g. with an ICMP echo request, and offer another if the probe is answered. dnsmasq does so
//! for every address it picks from a pool (not for static hosts, not for the client's own lease,
//! not for the address a DISCOVER asks for), blocking its DHCP loop up to 3 s per probe. Here
//! the probe never blocks: [`PingCheck`] holds the OFFER waiting for its address, keyed by that
//! address, while other requests go on; the engine owns the ICMP socket and drives it with the
//! time as an argument:
//!
//! * [`PingCheck::check`] decides whether an OFFER waits for a probe ([`Decision`]); as with
//!   dnsmasq, an address found free for the same client in the last [`CACHE`] is offered at once,
//!   and so is every address while [`BUDGET`] probes were started within [`CACHE`] (a boot storm
//!   is answered without probes rather than delayed);
//! * [`PingCheck::due`] gives the echo requests to send ([`ECHOES`], [`ECHO_INTERVAL`] apart);
//! * [`PingCheck::answered`] takes the OFFER whose address answered: the address is in use, the
//!   engine quarantines it ([`super::Server::ping_answered`]) and handles the request again for
//!   another address (at most [`MAX_TRIES`] probes per exchange);
//! * [`PingCheck::expired`] gives the OFFERs whose address stayed silent for [`WAIT`]: sent.
//!
//! Every outcome is counted in [`PingStats`].

use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::time::Instant;

/// How long an address must stay silent before it is offered. dnsmasq waits 3 s (on a
/// whole-second clock); a live host on the link answers within milliseconds of its ARP reply.
pub const WAIT: Duration = Duration::from_millis(1000);
/// Time between the echo requests of one probe.
pub const ECHO_INTERVAL: Duration = Duration::from_millis(400);
/// Echo requests per probe (the later ones cover a lost first request or ARP exchange).
pub const ECHOES: u8 = 3;
/// How long a probe's result is remembered (dnsmasq: 30 s).
pub const CACHE: Duration = Duration::from_secs(30);
/// At most this many probes are started within [`CACHE`]; beyond, offers go without one, as
/// dnsmasq stops pinging when it has pinged a lot recently.
pub const BUDGET: usize = 256;
/// At most this many addresses are probed for one exchange; the next is offered unprobed.
pub const MAX_TRIES: u8 = 3;

/// What to do with an OFFER of a newly picked address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Hold it and probe the address ([`PingCheck::start`]).
    Probe,
    /// Send it now, unprobed, for this reason.
    Offer(Skip),
    /// A probe of this address is already under way (the client sent its DISCOVER again): the
    /// held OFFER answers it; this one is dropped.
    Duplicate,
}

/// Why an OFFER goes without a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// The address was found free for this client within [`CACHE`].
    Cached,
    /// [`BUDGET`] probes were started within [`CACHE`].
    Busy,
    /// [`MAX_TRIES`] addresses were already found in use for this exchange.
    Tries,
}

/// One echo request to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo {
    /// The probed address.
    pub addr: Ipv4Addr,
    /// Sequence number to send.
    pub seq: u16,
}

/// Counters of the ping check, one per outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PingStats {
    /// Probes started.
    pub probes: u64,
    /// Echo requests handed out to be sent.
    pub echoes: u64,
    /// Probes answered: address in use, quarantined, another tried.
    pub in_use: u64,
    /// Probes that stayed silent: the OFFER was sent.
    pub free: u64,
    /// OFFERs sent unprobed: address found free for the client recently.
    pub cached: u64,
    /// OFFERs sent unprobed: too many probes recently.
    pub busy: u64,
    /// OFFERs sent unprobed: too many addresses in use for one exchange.
    pub tries: u64,
    /// DISCOVERs dropped while their address was being probed.
    pub duplicates: u64,
    /// Echo replies from an address not being probed (late or foreign).
    pub stray: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Pending,
    Free,
    InUse,
}

#[derive(Debug)]
struct Recent {
    at: Instant,
    addr: Ipv4Addr,
    client: u32,
    outcome: Outcome,
}

#[derive(Debug)]
struct Pending<T> {
    started: Instant,
    next: Instant,
    sent: u8,
    payload: T,
}

/// The probes under way and the recent results. `T` is what the engine keeps with a held OFFER
/// (the reply, the request to handle again).
#[derive(Debug)]
pub struct PingCheck<T> {
    pending: HashMap<Ipv4Addr, Pending<T>>,
    recent: VecDeque<Recent>,
    seq: u16,
    /// Counters.
    pub stats: PingStats,
}

impl<T> Default for PingCheck<T> {
    fn default() -> Self {
        PingCheck {
            pending: HashMap::new(),
            recent: VecDeque::new(),
            seq: 0,
            stats: PingStats::default(),
        }
    }
}

impl<T> PingCheck<T> {
    /// No probe under way, nothing remembered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Probes under way.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no probe is under way.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|r| r.outcome != Outcome::Pending && now - r.at >= CACHE)
        {
            self.recent.pop_front();
        }
    }

    /// Whether the OFFER of `addr` (newly picked for the client whose identity hashes to
    /// `client`, after `tries` addresses of this exchange were found in use) waits for a probe.
    pub fn check(&mut self, now: Instant, addr: Ipv4Addr, client: u32, tries: u8) -> Decision {
        self.forget_old(now);
        if self.pending.contains_key(&addr) {
            self.stats.duplicates += 1;
            return Decision::Duplicate;
        }
        let skip = if self
            .recent
            .iter()
            .any(|r| r.addr == addr && r.client == client && r.outcome == Outcome::Free)
        {
            self.stats.cached += 1;
            Skip::Cached
        } else if tries >= MAX_TRIES {
            self.stats.tries += 1;
            Skip::Tries
        } else if self.recent.len() >= BUDGET {
            self.stats.busy += 1;
            Skip::Busy
        } else {
            return Decision::Probe;
        };
        Decision::Offer(skip)
    }

    /// Holds `payload` (the OFFER) until `addr` has been probed; its first echo is due now.
    pub fn start(&mut self, now: Instant, addr: Ipv4Addr, client: u32, payload: T) {
        self.stats.probes += 1;
        self.recent.push_back(Recent {
            at: now,
            addr,
            client,
            outcome: Outcome::Pending,
        });
        self.pending.insert(
            addr,
            Pending {
                started: now,
                next: now,
                sent: 0,
                payload,
            },
        );
    }

    /// The held OFFER of `addr`, to refresh it with the client's latest request.
    pub fn pending_mut(&mut self, addr: Ipv4Addr) -> Option<&mut T> {
        self.pending.get_mut(&addr).map(|p| &mut p.payload)
    }

    /// Appends to `out` the echo requests due at `now`.
    pub fn due(&mut self, now: Instant, out: &mut Vec<Echo>) {
        for (addr, p) in &mut self.pending {
            if p.sent < ECHOES && p.next <= now {
                self.seq = self.seq.wrapping_add(1);
                out.push(Echo {
                    addr: *addr,
                    seq: self.seq,
                });
                p.sent += 1;
                p.next = now.saturating_add(ECHO_INTERVAL);
                self.stats.echoes += 1;
            }
        }
    }

    fn settle(&mut self, addr: Ipv4Addr, outcome: Outcome) {
        if let Some(r) = self
            .recent
            .iter_mut()
            .rev()
            .find(|r| r.addr == addr && r.outcome == Outcome::Pending)
        {
            r.outcome = outcome;
        }
    }

    /// An echo reply came from `addr`: if it was being probed, it is in use and its held OFFER
    /// is returned (to be handled again for another address).
    pub fn answered(&mut self, addr: Ipv4Addr) -> Option<T> {
        let Some(p) = self.pending.remove(&addr) else {
            self.stats.stray += 1;
            return None;
        };
        self.stats.in_use += 1;
        self.settle(addr, Outcome::InUse);
        Some(p.payload)
    }

    /// Appends to `out` the OFFERs whose address stayed silent for [`WAIT`]: they go out now.
    pub fn expired(&mut self, now: Instant, out: &mut Vec<(Ipv4Addr, T)>) {
        let done: Vec<Ipv4Addr> = self
            .pending
            .iter()
            .filter(|(_, p)| now - p.started >= WAIT)
            .map(|(a, _)| *a)
            .collect();
        for addr in done {
            if let Some(p) = self.pending.remove(&addr) {
                self.stats.free += 1;
                self.settle(addr, Outcome::Free);
                out.push((addr, p.payload));
            }
        }
    }

    /// When [`PingCheck::due`] or [`PingCheck::expired`] next has something, if a probe is
    /// under way.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| {
                let end = p.started.saturating_add(WAIT);
                if p.sent < ECHOES {
                    p.next.min(end)
                } else {
                    end
                }
            })
            .min()
    }
}

/// ICMP type of an echo reply (RFC 792).
pub const ECHO_REPLY: u8 = 0;
/// ICMP type of an echo request (RFC 792).
pub const ECHO_REQUEST: u8 = 8;
/// Payload of our echo requests (RFC 792 lets it be anything; the reply echoes it).
const PAYLOAD: &[u8; 8] = b"ringmasq";

/// The Internet checksum (RFC 1071) of `bytes`.
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in bytes.chunks(2) {
        let word = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An ICMP echo request (RFC 792) with identifier `id` and sequence number `seq`.
pub fn echo_request(id: u16, seq: u16) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[0] = ECHO_REQUEST;
    m[4..6].copy_from_slice(&id.to_be_bytes());
    m[6..8].copy_from_slice(&seq.to_be_bytes());
    m[8..].copy_from_slice(PAYLOAD);
    let sum = checksum(&m);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    m
}

/// `(identifier, sequence)` of an ICMP echo reply; `with_ip_header` when the datagram starts
/// with its IPv4 header (a raw socket), which is then checked and skipped (RFC 791 §3.1).
pub fn decode_echo_reply(bytes: &[u8], with_ip_header: bool) -> Option<(u16, u16)> {
    let icmp = if with_ip_header {
        let first = *bytes.first()?;
        let ihl = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || ihl < 20 || *bytes.get(9)? != 1 {
            return None;
        }
        bytes.get(ihl..)?
    } else {
        bytes
    };
    if icmp.len() < 8 || icmp[0] != ECHO_REPLY || icmp[1] != 0 {
        return None;
    }
    Some((
        u16::from_be_bytes([icmp[4], icmp[5]]),
        u16::from_be_bytes([icmp[6], icmp[7]]),
    ))
}

#[cfg(test)]
#[path = "ping_tests.rs"]
mod tests;
