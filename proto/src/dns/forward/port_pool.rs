//! The pool of upstream sockets and the rotation of their source ports.
//!
//! RFC 5452 §9.2 asks for an unpredictable source port per query. Opening a socket per query
//! (dnsmasq's way) costs several system calls per query; a fixed pool of sockets gives an
//! off-path attacker only a handful of ports to aim at. The pool here sits between the two: a
//! socket carries at most `reuse` queries, then it is retired — no new query leaves from it —
//! and, once its last query has been answered or abandoned, the engine is asked to close it and
//! open a fresh one on a new random port. Every query thus leaves from a port drawn uniformly at
//! random shortly before, and the port has been seen by at most `reuse - 1` other queries.

use rand::Rng;

/// Where one pool slot is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotState {
    /// Carries new queries.
    Open,
    /// Carries no new query; waits for its queries in flight.
    Retiring,
    /// Waits for the engine to replace its socket.
    Renewing,
}

/// A pool slot whose sockets the engine must replace: only the families that carried queries
/// (a socket nobody sent from has a port nobody saw).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRenewal {
    /// The pool slot.
    pub slot: u16,
    /// Its IPv4 socket carried queries.
    pub v4: bool,
    /// Its IPv6 socket carried queries.
    pub v6: bool,
}

/// The upstream socket pool of one worker: which slots take new queries, and which sockets the
/// engine must replace.
#[derive(Debug)]
pub struct PortPool {
    /// Queries a socket carries before it is retired; 0: never (a fixed `--query-port`).
    reuse: u32,
    state: Vec<SlotState>,
    /// Queries sent from each slot's current socket.
    uses: Vec<u32>,
    /// Queries in flight on each slot.
    in_flight: Vec<u32>,
    /// Families each slot's sockets carried queries in since they were opened (bit 0: IPv4,
    /// bit 1: IPv6).
    families: Vec<u8>,
    /// The open slots, in no order (picked at random).
    open: Vec<u16>,
    /// Position of each open slot in `open` (`u16::MAX`: not open).
    open_pos: Vec<u16>,
    /// Slots whose socket the engine must replace, oldest first.
    renewals: Vec<PortRenewal>,
}

impl PortPool {
    /// A pool of `slots` sockets, each retired after `reuse` queries (0: never retired).
    pub fn new(slots: u16, reuse: u32) -> Self {
        let n = usize::from(slots.max(1));
        Self {
            reuse,
            state: vec![SlotState::Open; n],
            uses: vec![0; n],
            in_flight: vec![0; n],
            families: vec![0; n],
            open: (0..n as u16).collect(),
            open_pos: (0..n as u16).collect(),
            renewals: Vec::new(),
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> u16 {
        self.state.len() as u16
    }

    /// A random slot for the next query: an open one when there is one, else any slot (every
    /// socket is waiting for answers, as with a black-holed upstream: better a reused port than
    /// no query).
    pub fn pick(&self, rng: &mut impl Rng) -> u16 {
        if self.open.is_empty() {
            rng.random_range(0..self.slots())
        } else {
            self.open[rng.random_range(0..self.open.len())]
        }
    }

    /// A query left from `slot`, over IPv6 when `v6`.
    pub fn sent(&mut self, slot: u16, v6: bool) {
        let s = usize::from(slot);
        if s >= self.state.len() {
            return;
        }
        self.families[s] |= if v6 { 2 } else { 1 };
        self.uses[s] = self.uses[s].saturating_add(1);
        self.in_flight[s] += 1;
        if self.reuse > 0 && self.uses[s] >= self.reuse && self.state[s] == SlotState::Open {
            self.state[s] = SlotState::Retiring;
            self.close_slot(slot);
        }
    }

    /// A query that left from `slot` is over (answered, abandoned or superseded).
    pub fn finished(&mut self, slot: u16) {
        let s = usize::from(slot);
        if s >= self.state.len() {
            return;
        }
        self.in_flight[s] = self.in_flight[s].saturating_sub(1);
        if self.in_flight[s] == 0 && self.state[s] == SlotState::Retiring {
            self.state[s] = SlotState::Renewing;
            self.renewals.push(PortRenewal {
                slot,
                v4: self.families[s] & 1 != 0,
                v6: self.families[s] & 2 != 0,
            });
        }
    }

    /// Moves the slots whose socket must be replaced into `into`.
    pub fn take_renewals(&mut self, into: &mut Vec<PortRenewal>) {
        into.append(&mut self.renewals);
    }

    /// The engine replaced (or, failing that, kept) the socket of `slot`: it takes queries again.
    pub fn renewed(&mut self, slot: u16) {
        let s = usize::from(slot);
        if s >= self.state.len() || self.state[s] != SlotState::Renewing {
            return;
        }
        self.state[s] = SlotState::Open;
        self.uses[s] = 0;
        self.families[s] = 0;
        self.open_pos[s] = self.open.len() as u16;
        self.open.push(slot);
    }

    /// Queries in flight on `slot`.
    pub fn in_flight(&self, slot: u16) -> u32 {
        self.in_flight.get(usize::from(slot)).copied().unwrap_or(0)
    }

    fn close_slot(&mut self, slot: u16) {
        let pos = usize::from(self.open_pos[usize::from(slot)]);
        self.open.swap_remove(pos);
        if let Some(&moved) = self.open.get(pos) {
            self.open_pos[usize::from(moved)] = pos as u16;
        }
        self.open_pos[usize::from(slot)] = u16::MAX;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_slot_is_retired_after_its_queries_and_renewed_once_they_end() {
        let mut p = PortPool::new(2, 3);
        for _ in 0..3 {
            p.sent(0, false);
        }
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            assert_eq!(p.pick(&mut rng), 1, "a retired slot takes no new query");
        }
        let mut r = Vec::new();
        p.finished(0);
        p.finished(0);
        p.take_renewals(&mut r);
        assert!(r.is_empty(), "one query still in flight");
        p.finished(0);
        p.take_renewals(&mut r);
        assert_eq!(
            r,
            vec![PortRenewal {
                slot: 0,
                v4: true,
                v6: false
            }]
        );
        p.renewed(0);
        let picked: std::collections::HashSet<u16> = (0..100).map(|_| p.pick(&mut rng)).collect();
        assert_eq!(picked.len(), 2, "the renewed slot is open again");
        p.sent(0, false);
        assert_eq!(p.in_flight(0), 1);
    }

    #[test]
    fn with_every_slot_busy_a_query_still_gets_a_slot() {
        let mut p = PortPool::new(2, 1);
        p.sent(0, false);
        p.sent(1, false);
        let mut rng = StdRng::seed_from_u64(2);
        assert!(p.pick(&mut rng) < 2);
    }

    #[test]
    fn reuse_zero_never_retires() {
        let mut p = PortPool::new(1, 0);
        for _ in 0..1000 {
            p.sent(0, false);
            p.finished(0);
        }
        let mut r = Vec::new();
        p.take_renewals(&mut r);
        assert!(r.is_empty());
    }

    #[test]
    fn out_of_range_slots_are_ignored() {
        let mut p = PortPool::new(1, 1);
        p.sent(7, false);
        p.finished(7);
        p.renewed(7);
        assert_eq!(p.in_flight(7), 0);
    }

    #[test]
    fn open_positions_stay_consistent_under_churn() {
        let mut p = PortPool::new(16, 2);
        let mut rng = StdRng::seed_from_u64(3);
        let mut r = Vec::new();
        for _ in 0..10_000 {
            let s = p.pick(&mut rng);
            p.sent(s, rng.random_bool(0.5));
            if rng.random_bool(0.7) {
                p.finished(s);
            }
            p.take_renewals(&mut r);
            for s in r.drain(..) {
                assert!(s.v4 || s.v6);
                p.renewed(s.slot);
            }
            for (i, &s) in p.open.iter().enumerate() {
                assert_eq!(usize::from(p.open_pos[usize::from(s)]), i);
            }
        }
    }
}
