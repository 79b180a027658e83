//! How the TFTP ring waits each loop turn: for one ACK, or — when several transfers run — for
//! a batch of ACKs gathered over a short, bounded time (`--tftp-ack-gather`).
//!
//! Lock-step clients (one block per ACK, no windowsize) send one ACK per block. Waiting for a
//! single completion, as a lone transfer needs, puts the TFTP thread to sleep and wakes it once
//! per ACK when it has a CPU of its own; that sleep and wake-up then cost more than the send
//! and the receive themselves (profile in benches/results/2026-11-26-tftp-s7.md). With several
//! transfers running, the wait instead asks for one completion per two running transfers but
//! returns once the gathering time has passed with at least one ready (`min_wait_usec` of
//! `io_uring_getevents_arg`, Linux 6.12, `IORING_FEAT_MIN_TIMEOUT`): the ACKs that arrive in
//! that time are handled in one wake-up, and no ACK waits longer than that bound. Under
//! `IORING_SETUP_DEFER_TASKRUN` an arriving receive is counted against the wanted number
//! without waking the thread. Asking for half the running transfers rather than all of them
//! keeps the clients busy while the thread waits: with few transfers, waiting for every ACK
//! would turn them into one lock-step round.
//!
//! A few transfers (fewer than [`BATCH_FROM`] running) wait for one completion as before: a
//! lone one never waits for ACKs that cannot come, and below about a dozen lock-step clients
//! gathering saved no CPU (A/B in benches/results/2026-11-26-tftp-s7.md: 4 transfers cost
//! 21–24 µs per block gathering against 14–16 without, 8 about equal, 16 and more 20–45 % less). Kernels without the feature, and
//! `--tftp-ack-gather=0`, keep that plain wait for every turn.

/// Running transfers from which ACKs are gathered in batches.
pub const BATCH_FROM: usize = 12;
/// Most completions one wait asks for beyond the turn's sends.
pub const MAX_BATCH: usize = 64;

/// The wait policy of one TFTP ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// Bound on the gathering time in microseconds; 0 when batching is off.
    gather_usec: u32,
}

/// What one loop turn waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Completions to wait for beyond the sends the turn submits.
    pub completions: usize,
    /// Return after this many microseconds once at least one completion is ready (0: no
    /// such bound, wait for all of them or the timeout).
    pub min_wait_usec: u32,
}

/// A wait for the next completion.
const PLAIN: Wait = Wait {
    completions: 1,
    min_wait_usec: 0,
};

impl Batching {
    /// The policy for a ring whose kernel does (`supported`) or does not support a minimum
    /// wait time, gathering ACKs for at most `gather_usec` (0 turns batching off).
    pub fn new(supported: bool, gather_usec: u32) -> Batching {
        Batching {
            gather_usec: if supported { gather_usec } else { 0 },
        }
    }

    /// True when waits may gather ACKs.
    pub fn enabled(&self) -> bool {
        self.gather_usec > 0
    }

    /// Turns batching off (the kernel refused a wait with a minimum time).
    pub fn disable(&mut self) {
        self.gather_usec = 0;
    }

    /// The wait of a turn with `running` transfers on the ring.
    pub fn plan(&self, running: usize) -> Wait {
        if self.gather_usec == 0 || running < BATCH_FROM {
            return PLAIN;
        }
        Wait {
            completions: (running / 2).min(MAX_BATCH),
            min_wait_usec: self.gather_usec,
        }
    }

    /// A wait for the next completion, whatever runs (a turn that must not sleep long).
    pub fn plain() -> Wait {
        PLAIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_transfers_wait_for_one_ack() {
        let b = Batching::new(true, 100);
        for running in 0..BATCH_FROM {
            assert_eq!(b.plan(running), PLAIN);
        }
    }

    #[test]
    fn many_transfers_gather_acks_for_a_bounded_time() {
        let b = Batching::new(true, 100);
        assert_eq!(
            b.plan(50),
            Wait {
                completions: 25,
                min_wait_usec: 100
            }
        );
        assert_eq!(b.plan(BATCH_FROM).completions, BATCH_FROM / 2);
        assert_eq!(b.plan(1000).completions, MAX_BATCH);
    }

    #[test]
    fn without_kernel_support_or_when_off_every_wait_is_plain() {
        for b in [Batching::new(false, 100), Batching::new(true, 0)] {
            assert!(!b.enabled());
            assert_eq!(b.plan(500), PLAIN);
        }
        let mut b = Batching::new(true, 100);
        assert!(b.enabled());
        b.disable();
        assert_eq!(b.plan(500), PLAIN);
    }
}
