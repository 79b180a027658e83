//! Replies (and lease-change script events) held on the DHCP thread until the journal records
//! of their turn are durable: each entry carries its turn's sequence number; the journal
//! writer's reports release the entries up to a durable number, or take them away when that
//! turn's write failed. Bounded in bytes, so a writer far behind costs dropped (and counted)
//! replies rather than memory.

use std::collections::VecDeque;

/// A queue of `T` ordered by turn sequence number.
#[derive(Debug)]
pub struct HeldQueue<T> {
    entries: VecDeque<(u64, usize, T)>,
    bytes: usize,
    max_bytes: usize,
    refused: u64,
}

impl<T> HeldQueue<T> {
    /// An empty queue holding at most `max_bytes` (as each entry's size counts).
    pub fn new(max_bytes: usize) -> Self {
        HeldQueue {
            entries: VecDeque::new(),
            bytes: 0,
            max_bytes,
            refused: 0,
        }
    }

    /// Holds `item` of `size` bytes for turn `seq` (not lower than any held before). Over the
    /// bound the item is handed back (and counted) instead.
    pub fn push(&mut self, seq: u64, size: usize, item: T) -> Result<(), T> {
        if self.bytes + size > self.max_bytes {
            self.refused += 1;
            return Err(item);
        }
        debug_assert!(self.entries.back().is_none_or(|(s, _, _)| *s <= seq));
        self.bytes += size;
        self.entries.push_back((seq, size, item));
        Ok(())
    }

    /// Takes every entry of a turn up to `seq`, in order: to send when `seq` is durable, to
    /// withhold when its write failed.
    pub fn take_upto(&mut self, seq: u64) -> Vec<T> {
        let mut out = Vec::new();
        while self.entries.front().is_some_and(|(s, _, _)| *s <= seq) {
            if let Some((_, size, item)) = self.entries.pop_front() {
                self.bytes -= size;
                out.push(item);
            }
        }
        out
    }

    /// Takes the entries of turn `seq` and later (the turn being built), newest last.
    pub fn take_from(&mut self, seq: u64) -> Vec<T> {
        let mut out = Vec::new();
        while self.entries.back().is_some_and(|(s, _, _)| *s >= seq) {
            if let Some((_, size, item)) = self.entries.pop_back() {
                self.bytes -= size;
                out.push(item);
            }
        }
        out.reverse();
        out
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Items refused so far because the queue was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_by_sequence_in_order() {
        let mut q = HeldQueue::new(1000);
        q.push(1, 10, "ack1").unwrap();
        q.push(1, 10, "ack1b").unwrap();
        q.push(2, 10, "ack2").unwrap();
        q.push(4, 10, "ack4").unwrap();
        assert!(q.take_upto(0).is_empty());
        assert_eq!(q.take_upto(2), ["ack1", "ack1b", "ack2"]);
        assert_eq!(q.len(), 1);
        assert!(q.take_upto(3).is_empty());
        assert_eq!(q.take_upto(9), ["ack4"]);
        assert!(q.is_empty());
    }

    #[test]
    fn failed_turns_are_taken_and_never_released_later() {
        let mut q = HeldQueue::new(1000);
        q.push(5, 10, "a5").unwrap();
        q.push(6, 10, "a6").unwrap();
        q.push(7, 10, "a7").unwrap();
        // The write of turns up to 6 failed: their replies are withheld for good.
        assert_eq!(q.take_upto(6), ["a5", "a6"]);
        // A later sync makes 5..7 durable: only 7 is still there to send.
        assert_eq!(q.take_upto(7), ["a7"]);
    }

    #[test]
    fn the_newest_turn_can_be_taken_back() {
        let mut q = HeldQueue::new(1000);
        q.push(1, 10, "a1").unwrap();
        q.push(2, 10, "a2").unwrap();
        q.push(2, 10, "b2").unwrap();
        assert_eq!(q.take_from(2), ["a2", "b2"]);
        assert!(q.take_from(2).is_empty());
        assert_eq!(q.take_upto(2), ["a1"]);
        q.push(3, 1000, "big").unwrap();
    }

    #[test]
    fn full_queue_refuses_and_counts_then_frees() {
        let mut q = HeldQueue::new(25);
        q.push(1, 10, 1).unwrap();
        q.push(1, 10, 2).unwrap();
        assert_eq!(q.push(2, 10, 3), Err(3));
        assert_eq!(q.refused(), 1);
        assert_eq!(q.push(2, 5, 4), Ok(()));
        assert_eq!(q.take_upto(1), [1, 2]);
        q.push(3, 20, 5).unwrap();
        assert_eq!(q.take_upto(3), [4, 5]);
        assert_eq!(q.refused(), 1);
    }
}
