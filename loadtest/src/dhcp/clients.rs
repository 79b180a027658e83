//! The simulated clients: each walks DORA (RFC 2131 §3.1), then optionally renews (§4.4.5)
//! and releases (§4.4.6), retransmitting with back-off like a real client (§4.1). Time is an
//! argument and packets go to an outbox, so the state machine runs without sockets.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::message::{Kind, Outgoing, Reply};
use super::report::DhcpStats;

/// Where a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started yet.
    Idle,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST sent for an OFFER, waiting for the ACK.
    Requesting,
    /// REQUEST with `ciaddr` sent, waiting for the ACK.
    Renewing,
    /// Finished: leased (and renewed and released, as asked).
    Done,
    /// Gave up after its retransmissions, or was refused (NAK).
    Failed,
}

/// What each client does after DORA.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Renew once bound.
    pub renew: bool,
    /// Release at the end.
    pub release: bool,
    /// First retransmission timeout; doubled per retry, randomised ±10% (RFC 2131 §4.1).
    pub retransmit: Duration,
    /// Transmissions per message before the client gives up.
    pub tries: u32,
    /// Set the BROADCAST flag.
    pub broadcast: bool,
    /// `giaddr` (relay mode) or 0.0.0.0.
    pub giaddr: Ipv4Addr,
}

#[derive(Debug, Clone, Copy)]
struct Client {
    phase: Phase,
    xid: u32,
    /// Transmissions of the current message.
    tries: u32,
    /// Bumped on every state change; stale timers carry an older value.
    generation: u32,
    /// When the current message was last sent.
    sent_at: Instant,
    /// When the client started (its first DISCOVER).
    started_at: Instant,
    offered: Ipv4Addr,
    server: Ipv4Addr,
    leased: Ipv4Addr,
}

/// A message to send: its bytes are written by [`Outgoing::write`]; `to_server` means
/// unicast to the server rather than broadcast.
#[derive(Debug, Clone, Copy)]
pub struct Send {
    /// The message.
    pub msg: Outgoing,
    /// Unicast to the server (renewal, RELEASE) instead of broadcast.
    pub to_server: bool,
}

/// All simulated clients and their timers.
#[derive(Debug)]
pub struct Clients {
    plan: Plan,
    clients: Vec<Client>,
    /// (due, client, generation) of retransmissions.
    timers: BinaryHeap<Reverse<(Instant, u32, u32)>>,
    seed: u32,
    rng: u64,
    /// Addresses held (acknowledged, not released), to detect one address given to two
    /// clients at once.
    addrs: HashSet<Ipv4Addr>,
    /// Counters and latencies.
    pub stats: DhcpStats,
    /// Clients that are Done or Failed.
    pub finished: usize,
    /// Time of the last DORA ACK (when all are leased, the time to lease them all).
    pub last_lease: Option<Instant>,
    /// Leases won (address, MAC) since last taken, for the ARP table.
    pub new_leases: Vec<(Ipv4Addr, [u8; 6])>,
}

/// The MAC of client `i`: locally administered 02:52:MM:00:00:00 + i.
pub fn mac_of(seed: u8, i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, 0x52, seed, b[1], b[2], b[3]]
}

/// The client index a MAC of [`mac_of`] encodes.
pub fn index_of(seed: u8, mac: &[u8; 6]) -> Option<u32> {
    (mac[0] == 0x02 && mac[1] == 0x52 && mac[2] == seed)
        .then(|| u32::from_be_bytes([0, mac[3], mac[4], mac[5]]))
}

/// Most clients one run simulates (the MAC carries 24 bits of index).
pub const MAX_CLIENTS: u32 = 1 << 24;

impl Clients {
    /// `n` idle clients; `seed` varies MACs and transaction IDs between runs.
    pub fn new(n: u32, plan: Plan, seed: u8, now: Instant) -> Clients {
        let c = Client {
            phase: Phase::Idle,
            xid: 0,
            tries: 0,
            generation: 0,
            sent_at: now,
            started_at: now,
            offered: Ipv4Addr::UNSPECIFIED,
            server: Ipv4Addr::UNSPECIFIED,
            leased: Ipv4Addr::UNSPECIFIED,
        };
        Clients {
            plan,
            clients: vec![c; n.min(MAX_CLIENTS) as usize],
            timers: BinaryHeap::new(),
            seed: u32::from(seed),
            rng: 0x9e37_79b9_7f4a_7c15 ^ u64::from(seed),
            addrs: HashSet::new(),
            stats: DhcpStats::new(n),
            finished: 0,
            last_lease: None,
            new_leases: Vec::new(),
        }
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// True when there are no clients.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The MAC seed.
    pub fn seed(&self) -> u8 {
        self.seed as u8
    }

    fn next_rand(&mut self) -> u64 {
        // xorshift64*: cheap jitter, no need for a strong generator.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Starts client `i` (its DISCOVER goes to `out`).
    pub fn start(&mut self, i: u32, now: Instant, out: &mut Vec<Send>) {
        let xid = (self.next_rand() >> 32) as u32;
        let c = &mut self.clients[i as usize];
        c.phase = Phase::Selecting;
        c.started_at = now;
        c.xid = xid;
        c.tries = 0;
        self.stats.started += 1;
        self.transmit(i, now, out);
    }

    /// The message client `i` sends in its current phase.
    fn message(&self, i: u32) -> Send {
        let c = &self.clients[i as usize];
        let p = &self.plan;
        let base = Outgoing {
            kind: Kind::Discover,
            xid: c.xid,
            mac: mac_of(self.seed as u8, i),
            ciaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: p.giaddr,
            requested: None,
            server_id: None,
            broadcast: p.broadcast,
            secs: c.sent_at.duration_since(c.started_at).as_secs().min(65535) as u16,
        };
        match c.phase {
            Phase::Requesting => Send {
                msg: Outgoing {
                    kind: Kind::Request,
                    requested: Some(c.offered),
                    server_id: Some(c.server),
                    ..base
                },
                to_server: false,
            },
            // RFC 2131 §4.3.2 RENEWING: ciaddr filled, no server identifier or requested
            // address, unicast to the server (a relay agent forwards it with giaddr).
            Phase::Renewing => Send {
                msg: Outgoing {
                    kind: Kind::Request,
                    ciaddr: c.leased,
                    broadcast: false,
                    ..base
                },
                to_server: true,
            },
            _ => Send {
                msg: base,
                to_server: false,
            },
        }
    }

    /// (Re)sends client `i`'s current message and arms its retransmission timer.
    fn transmit(&mut self, i: u32, now: Instant, out: &mut Vec<Send>) {
        let jitter = 0.9 + (self.next_rand() % 2001) as f64 / 10_000.0;
        let c = &mut self.clients[i as usize];
        c.sent_at = now;
        c.tries += 1;
        c.generation = c.generation.wrapping_add(1);
        let back_off = self.plan.retransmit * (1u32 << (c.tries - 1).min(6));
        let due = now + back_off.mul_f64(jitter);
        self.timers.push(Reverse((due, i, c.generation)));
        let kind_is_retry = c.tries > 1;
        let phase = c.phase;
        if kind_is_retry {
            match phase {
                Phase::Selecting => self.stats.discover_retries += 1,
                _ => self.stats.request_retries += 1,
            }
        }
        out.push(self.message(i));
    }

    /// The earliest retransmission due, if any.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Runs the retransmissions due by `now`.
    pub fn expire(&mut self, now: Instant, out: &mut Vec<Send>) {
        while let Some(&Reverse((due, i, generation))) = self.timers.peek() {
            if due > now {
                break;
            }
            self.timers.pop();
            let c = &self.clients[i as usize];
            let waiting = matches!(
                c.phase,
                Phase::Selecting | Phase::Requesting | Phase::Renewing
            );
            if c.generation != generation || !waiting {
                continue;
            }
            if c.tries >= self.plan.tries {
                match c.phase {
                    Phase::Renewing => self.stats.renew_timeouts += 1,
                    _ => self.stats.lease_timeouts += 1,
                }
                self.finish(i, Phase::Failed);
            } else {
                self.transmit(i, now, out);
            }
        }
    }

    fn finish(&mut self, i: u32, phase: Phase) {
        let c = &mut self.clients[i as usize];
        c.phase = phase;
        c.generation = c.generation.wrapping_add(1);
        self.finished += 1;
    }

    /// Acts on a reply received at `now`.
    pub fn on_reply(&mut self, r: &Reply, now: Instant, out: &mut Vec<Send>) {
        let Some(i) = index_of(self.seed as u8, &r.mac).filter(|&i| (i as usize) < self.len())
        else {
            self.stats.unexpected += 1;
            return;
        };
        let c = self.clients[i as usize];
        if r.xid != c.xid {
            self.stats.unexpected += 1;
            return;
        }
        let rtt = now.duration_since(c.sent_at);
        match (c.phase, r.kind) {
            (Phase::Selecting, Kind::Offer) => {
                self.stats.offer_us.record(rtt);
                let c = &mut self.clients[i as usize];
                c.offered = r.yiaddr;
                c.server = r.server_id.unwrap_or(Ipv4Addr::UNSPECIFIED);
                c.phase = Phase::Requesting;
                c.tries = 0;
                self.transmit(i, now, out);
            }
            (Phase::Requesting, Kind::Ack) => {
                self.stats.ack_us.record(rtt);
                self.stats.lease_us.record(now.duration_since(c.started_at));
                self.stats.leased += 1;
                if !self.addrs.insert(r.yiaddr) {
                    self.stats.duplicate_addresses += 1;
                }
                self.last_lease = Some(now);
                self.new_leases.push((r.yiaddr, r.mac));
                let c = &mut self.clients[i as usize];
                c.leased = r.yiaddr;
                if let Some(s) = r.server_id {
                    c.server = s;
                }
                self.after_lease(i, now, out);
            }
            (Phase::Renewing, Kind::Ack) => {
                self.stats.ack_us.record(rtt);
                self.stats.renewed += 1;
                if r.yiaddr != c.leased {
                    self.stats.renew_moved += 1;
                }
                self.plan_release(i, out);
            }
            (Phase::Requesting | Phase::Renewing, Kind::Nak) => {
                self.stats.naks += 1;
                self.finish(i, Phase::Failed);
            }
            // A second OFFER, or a reply to an earlier transmission.
            _ => self.stats.late += 1,
        }
    }

    /// Next step after a DORA ACK: renew, release, or done.
    fn after_lease(&mut self, i: u32, now: Instant, out: &mut Vec<Send>) {
        if self.plan.renew {
            let xid = (self.next_rand() >> 32) as u32;
            let c = &mut self.clients[i as usize];
            c.phase = Phase::Renewing;
            c.xid = xid;
            c.tries = 0;
            c.started_at = now;
            self.transmit(i, now, out);
        } else {
            self.plan_release(i, out);
        }
    }

    fn plan_release(&mut self, i: u32, out: &mut Vec<Send>) {
        if self.plan.release {
            let xid = (self.next_rand() >> 32) as u32;
            let c = self.clients[i as usize];
            // Released: the server may give the address to another client from now on.
            self.addrs.remove(&c.leased);
            // RFC 2131 §4.4.6: ciaddr, server identifier, unicast to the server.
            out.push(Send {
                msg: Outgoing {
                    kind: Kind::Release,
                    xid,
                    mac: mac_of(self.seed as u8, i),
                    ciaddr: c.leased,
                    giaddr: self.plan.giaddr,
                    requested: None,
                    server_id: Some(c.server),
                    broadcast: false,
                    secs: 0,
                },
                to_server: true,
            });
            self.stats.released += 1;
        }
        self.finish(i, Phase::Done);
    }

    /// The addresses leased (DORA ACKs), for checking against a lease file.
    pub fn leased(&self) -> impl Iterator<Item = (u32, Ipv4Addr)> + '_ {
        self.clients
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.leased.is_unspecified())
            .map(|(i, c)| (i as u32, c.leased))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::message::Reply;

    fn plan(renew: bool, release: bool) -> Plan {
        Plan {
            renew,
            release,
            retransmit: Duration::from_secs(1),
            tries: 3,
            broadcast: true,
            giaddr: Ipv4Addr::UNSPECIFIED,
        }
    }

    fn reply(kind: Kind, s: &Send, yiaddr: Ipv4Addr) -> Reply {
        Reply {
            kind,
            xid: s.msg.xid,
            mac: s.msg.mac,
            yiaddr,
            server_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
            lease_secs: Some(3600),
        }
    }

    #[test]
    fn dora_renew_release() {
        let t0 = Instant::now();
        let mut c = Clients::new(1, plan(true, true), 7, t0);
        let mut out = Vec::new();
        c.start(0, t0, &mut out);
        assert_eq!(out[0].msg.kind, Kind::Discover);
        let a = Ipv4Addr::new(10, 0, 0, 50);
        let d = out.pop().unwrap();
        c.on_reply(&reply(Kind::Offer, &d, a), t0, &mut out);
        let r = out.pop().unwrap();
        assert_eq!(r.msg.kind, Kind::Request);
        assert_eq!(r.msg.requested, Some(a));
        c.on_reply(&reply(Kind::Ack, &r, a), t0, &mut out);
        let renew = out.pop().unwrap();
        assert!(renew.to_server);
        assert_eq!(renew.msg.ciaddr, a);
        assert_eq!(renew.msg.server_id, None);
        c.on_reply(&reply(Kind::Ack, &renew, a), t0, &mut out);
        let rel = out.pop().unwrap();
        assert_eq!(rel.msg.kind, Kind::Release);
        assert_eq!(c.finished, 1);
        assert_eq!(
            (c.stats.leased, c.stats.renewed, c.stats.released),
            (1, 1, 1)
        );
    }

    #[test]
    fn retransmits_with_back_off_then_gives_up() {
        let t0 = Instant::now();
        let mut c = Clients::new(1, plan(false, false), 1, t0);
        let mut out = Vec::new();
        c.start(0, t0, &mut out);
        // Due after 0.9-1.1 s, then 1.8-2.2 s later, then the third try times out.
        c.expire(t0 + Duration::from_millis(850), &mut out);
        assert_eq!(out.len(), 1);
        c.expire(t0 + Duration::from_millis(1150), &mut out);
        assert_eq!(out.len(), 2);
        c.expire(t0 + Duration::from_millis(2800), &mut out);
        assert_eq!(out.len(), 2);
        c.expire(t0 + Duration::from_millis(3400), &mut out);
        assert_eq!(out.len(), 3);
        c.expire(t0 + Duration::from_secs(10), &mut out);
        assert_eq!(c.stats.lease_timeouts, 1);
        assert_eq!(c.stats.discover_retries, 2);
        assert_eq!(c.finished, 1);
    }

    #[test]
    fn stale_and_foreign_replies_are_counted_not_followed() {
        let t0 = Instant::now();
        let mut c = Clients::new(2, plan(false, false), 3, t0);
        let mut out = Vec::new();
        c.start(0, t0, &mut out);
        let d = out.pop().unwrap();
        let mut wrong = reply(Kind::Offer, &d, Ipv4Addr::new(10, 0, 0, 9));
        wrong.xid ^= 1;
        c.on_reply(&wrong, t0, &mut out);
        wrong.mac = mac_of(4, 0);
        c.on_reply(&wrong, t0, &mut out);
        assert!(out.is_empty());
        assert_eq!(c.stats.unexpected, 2);
        assert_eq!(index_of(3, &mac_of(3, 0xabcdef)), Some(0xabcdef));
    }
}
