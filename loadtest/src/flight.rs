//! The table of queries in flight: preallocated slots, DNS IDs that encode slot and
//! generation, an intrusive send-order list for timeouts, and response matching.
//!
//! Invariants: nothing here allocates after [`Flight::new`]; a slot is either free (in
//! the free queue) or in flight (in the send-order list), never both; a response is
//! counted as answered only when its ID names an in-flight slot of the current
//! generation *and* its question equals the one sent (RFC 5452 §9.1 matching).

use crate::name::names_equal;
use crate::stats::Stats;
use crate::workload::{MAX_QUESTION, QuerySource};
use std::collections::VecDeque;

/// DNS header length (RFC 1035 §4.1.1).
pub const HEADER: usize = 12;
/// Room for one query packet in a slot.
pub const SLOT_BYTES: usize = HEADER + MAX_QUESTION;
/// Largest number of slots that share one socket (and hence one 16-bit ID space).
pub const MAX_SLOTS_PER_SOCKET: usize = 4096;
const NIL: u32 = u32::MAX;

/// What [`Flight::on_response`] made of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// Matched an outstanding query; carries the latency in nanoseconds.
    Answered(u64),
    /// Matched nothing outstanding (late, duplicate, spoofed or malformed).
    Unexpected,
}

/// Preallocated in-flight table for one generator thread.
#[derive(Debug)]
pub struct Flight {
    slot_bits: u32,
    sockets: usize,
    capacity: usize,
    packets: Vec<u8>,
    lens: Vec<u16>,
    gens: Vec<u16>,
    sent_at: Vec<u64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
    live: usize,
    free: VecDeque<u32>,
}

impl Flight {
    /// A table for at most `capacity` outstanding queries, spread over as many sockets
    /// as needed so no socket carries more than [`MAX_SLOTS_PER_SOCKET`], or over
    /// `min_sockets` sockets if that is more.
    pub fn new(capacity: usize, min_sockets: usize) -> Self {
        let capacity = capacity.max(1);
        let per = capacity.div_ceil(min_sockets.max(1));
        let per = per.next_power_of_two().min(MAX_SLOTS_PER_SOCKET);
        let slot_bits = per.trailing_zeros();
        let sockets = capacity.div_ceil(per).max(min_sockets.max(1));
        let total = sockets * per;
        let mut free = VecDeque::with_capacity(total);
        // Interleave sockets so load spreads evenly over them.
        for i in 0..capacity {
            let s = (i % sockets) << slot_bits | (i / sockets);
            free.push_back(s as u32);
        }
        Flight {
            slot_bits,
            sockets,
            capacity,
            packets: vec![0; total * SLOT_BYTES],
            lens: vec![0; total],
            gens: vec![0; total],
            sent_at: vec![0; total],
            prev: vec![NIL; total],
            next: vec![NIL; total],
            head: NIL,
            tail: NIL,
            live: 0,
            free,
        }
    }

    /// Number of sockets the table expects.
    pub fn sockets(&self) -> usize {
        self.sockets
    }

    /// Maximum queries in flight.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queries in flight now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Free slots now.
    pub fn free(&self) -> usize {
        self.free.len()
    }

    /// Takes a free slot, writes the next query from `src` into it (header with the
    /// slot's ID, RD set, one question) and marks it sent at `now_ns`.
    pub fn begin(&mut self, now_ns: u64, src: &mut QuerySource) -> Option<u32> {
        let slot = self.free.pop_front()?;
        let s = slot as usize;
        let id = self.id_of(slot);
        let buf: &mut [u8; SLOT_BYTES] = (&mut self.packets[s * SLOT_BYTES..(s + 1) * SLOT_BYTES])
            .try_into()
            .expect("slot size");
        // RFC 1035 §4.1.1: ID, flags = RD (recursion desired), QDCOUNT = 1.
        buf[..HEADER].copy_from_slice(&[0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        buf[..2].copy_from_slice(&id.to_be_bytes());
        let q: &mut [u8; MAX_QUESTION] = (&mut buf[HEADER..]).try_into().expect("question size");
        let n = src.write_question(q);
        self.lens[s] = (HEADER + n) as u16;
        self.sent_at[s] = now_ns;
        self.link_tail(slot);
        self.live += 1;
        Some(slot)
    }

    /// The packet bytes of an in-flight slot.
    pub fn packet(&self, slot: u32) -> &[u8] {
        let s = slot as usize;
        &self.packets[s * SLOT_BYTES..s * SLOT_BYTES + self.lens[s] as usize]
    }

    /// Raw pointer and length of a slot's packet, for kernel submission (valid as long
    /// as the table lives and the slot is not reused).
    pub fn packet_raw(&self, slot: u32) -> (*const u8, usize) {
        let p = self.packet(slot);
        (p.as_ptr(), p.len())
    }

    /// The socket a slot sends on.
    pub fn socket_of(&self, slot: u32) -> usize {
        (slot >> self.slot_bits) as usize
    }

    /// A token naming slot and generation, for matching send completions.
    pub fn token(&self, slot: u32) -> u64 {
        u64::from(slot) | u64::from(self.gens[slot as usize]) << 32
    }

    fn id_of(&self, slot: u32) -> u16 {
        let mask = (1u32 << self.slot_bits) - 1;
        let gen_bits = 16 - self.slot_bits;
        let g = if gen_bits == 0 {
            0
        } else {
            u32::from(self.gens[slot as usize]) & ((1 << gen_bits) - 1)
        };
        ((slot & mask) | g << self.slot_bits) as u16
    }

    /// A send for `token` failed: release the slot without counting a timeout.
    /// Returns false when the token is stale (slot already released).
    pub fn abort(&mut self, token: u64) -> bool {
        let slot = token as u32;
        if (slot as usize) >= self.gens.len()
            || self.gens[slot as usize] != (token >> 32) as u16
            || !self.is_live(slot)
        {
            return false;
        }
        self.release(slot);
        true
    }

    fn is_live(&self, slot: u32) -> bool {
        let s = slot as usize;
        self.prev[s] != NIL || self.head == slot
    }

    /// Matches a datagram received on `socket` at `now_ns` and, if it answers an
    /// outstanding query, frees that slot and records it in `stats`.
    pub fn on_response(
        &mut self,
        socket: usize,
        data: &[u8],
        now_ns: u64,
        stats: &mut Stats,
    ) -> Match {
        let m = self.match_response(socket, data, now_ns);
        match m {
            Match::Answered(lat) => {
                // RFC 1035 §4.1.1: RCODE is the low 4 bits of octet 3; TC is bit 1 of octet 2.
                stats.record_answer(data[3] & 0x0f, data[2] & 0x02 != 0, lat);
            }
            Match::Unexpected => stats.unexpected += 1,
        }
        m
    }

    fn match_response(&mut self, socket: usize, data: &[u8], now_ns: u64) -> Match {
        if data.len() < HEADER || data[2] & 0x80 == 0 || socket >= self.sockets {
            return Match::Unexpected;
        }
        let id = u32::from(u16::from_be_bytes([data[0], data[1]]));
        let mask = (1u32 << self.slot_bits) - 1;
        let slot = (socket as u32) << self.slot_bits | (id & mask);
        if !self.is_live(slot) || self.id_of(slot) != id as u16 {
            return Match::Unexpected;
        }
        // The question must come back as sent (RFC 5452 §9.1); QDCOUNT 1 (RFC 9619).
        let sent = self.packet(slot);
        let qlen = sent.len() - HEADER;
        if data[4..6] != [0, 1] || data.len() < HEADER + qlen {
            return Match::Unexpected;
        }
        let (sq, rq) = (&sent[HEADER..], &data[HEADER..HEADER + qlen]);
        if !names_equal(&sq[..qlen - 4], &rq[..qlen - 4]) || sq[qlen - 4..] != rq[qlen - 4..] {
            return Match::Unexpected;
        }
        let lat = now_ns.saturating_sub(self.sent_at[slot as usize]);
        self.release(slot);
        Match::Answered(lat)
    }

    /// Releases every query sent before `now_ns - timeout_ns` and counts it as a
    /// timeout. Returns how many expired.
    pub fn expire(&mut self, now_ns: u64, timeout_ns: u64, stats: &mut Stats) -> u64 {
        let mut n = 0;
        while self.head != NIL && self.sent_at[self.head as usize] + timeout_ns <= now_ns {
            self.release(self.head);
            n += 1;
        }
        stats.timeouts += n;
        n
    }

    /// When the oldest outstanding query times out, if any.
    pub fn next_deadline(&self, timeout_ns: u64) -> Option<u64> {
        (self.head != NIL).then(|| self.sent_at[self.head as usize] + timeout_ns)
    }

    fn link_tail(&mut self, slot: u32) {
        let s = slot as usize;
        self.prev[s] = self.tail;
        self.next[s] = NIL;
        if self.tail == NIL {
            self.head = slot;
        } else {
            self.next[self.tail as usize] = slot;
        }
        self.tail = slot;
    }

    fn release(&mut self, slot: u32) {
        let s = slot as usize;
        let (p, n) = (self.prev[s], self.next[s]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
        self.prev[s] = NIL;
        self.next[s] = NIL;
        self.gens[s] = self.gens[s].wrapping_add(1);
        self.live -= 1;
        self.free.push_back(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::encode_name;
    use crate::workload::Workload;

    fn src() -> QuerySource {
        let mut b = [0u8; 255];
        let n = encode_name("lab.test", &mut b).unwrap();
        QuerySource::new(
            Workload::Names {
                count: 5,
                suffix: b[..n].to_vec(),
            },
            0,
            1,
        )
    }

    fn echo(p: &[u8]) -> Vec<u8> {
        let mut r = p.to_vec();
        r[2] |= 0x80;
        r
    }

    #[test]
    fn answers_match_and_free() {
        let mut f = Flight::new(4, 1);
        let mut s = src();
        let mut st = Stats::new();
        let a = f.begin(10, &mut s).unwrap();
        let b = f.begin(20, &mut s).unwrap();
        assert_eq!(f.live(), 2);
        let ra = echo(f.packet(a));
        let rb = echo(f.packet(b));
        assert_eq!(f.on_response(0, &rb, 120, &mut st), Match::Answered(100));
        assert_eq!(f.on_response(0, &ra, 110, &mut st), Match::Answered(100));
        // Duplicate: the slot moved to a new generation.
        assert_eq!(f.on_response(0, &ra, 130, &mut st), Match::Unexpected);
        assert_eq!((st.answered, st.unexpected, f.live()), (2, 1, 0));
    }

    #[test]
    fn question_must_match() {
        let mut f = Flight::new(2, 1);
        let mut s = src();
        let mut st = Stats::new();
        let a = f.begin(0, &mut s).unwrap();
        let mut r = echo(f.packet(a));
        let last = r.len() - 6;
        r[last] ^= 0x01; // flip a bit in the name's last label
        assert_eq!(f.on_response(0, &r, 1, &mut st), Match::Unexpected);
        // 0x20 case changes are fine (RFC 4343).
        let mut r = echo(f.packet(a));
        r[13] = r[13].to_ascii_uppercase();
        assert_eq!(f.on_response(0, &r, 1, &mut st), Match::Answered(1));
        // A query (QR clear) is never an answer.
        let b = f.begin(0, &mut s).unwrap();
        assert_eq!(
            f.on_response(0, f.packet(b).to_vec().as_slice(), 1, &mut st),
            Match::Unexpected
        );
        // Wrong socket.
        assert_eq!(
            f.on_response(1, &echo(f.packet(b)), 1, &mut st),
            Match::Unexpected
        );
    }

    #[test]
    fn timeouts_expire_in_order_and_reclaim() {
        let mut f = Flight::new(3, 1);
        let mut s = src();
        let mut st = Stats::new();
        for t in [0, 5, 10] {
            f.begin(t, &mut s).unwrap();
        }
        assert!(f.begin(11, &mut s).is_none());
        assert_eq!(f.next_deadline(100), Some(100));
        assert_eq!(f.expire(106, 100, &mut st), 2);
        assert_eq!((f.live(), f.free(), st.timeouts), (1, 2, 2));
        assert_eq!(f.next_deadline(100), Some(110));
    }

    #[test]
    fn many_sockets_keep_ids_apart() {
        let mut f = Flight::new(70_000, 1);
        assert_eq!(f.sockets(), 18); // more than 65536 in flight, IDs never confused
        let mut s = src();
        let mut st = Stats::new();
        let slots: Vec<u32> = (0..70_000).map(|i| f.begin(i, &mut s).unwrap()).collect();
        for &sl in slots.iter().rev() {
            let r = echo(f.packet(sl));
            assert!(matches!(
                f.on_response(f.socket_of(sl), &r, 20_000, &mut st),
                Match::Answered(_)
            ));
        }
        assert_eq!(st.answered, 70_000);
        assert_eq!(f.free(), 70_000);
    }

    #[test]
    fn abort_releases_once() {
        let mut f = Flight::new(2, 1);
        let mut s = src();
        let a = f.begin(0, &mut s).unwrap();
        let t = f.token(a);
        assert!(f.abort(t));
        assert!(!f.abort(t));
        assert_eq!(f.live(), 0);
    }
}
