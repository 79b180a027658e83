//! When to send the next Router Advertisement on one interface (RFC 4861 6.2.4 and 6.2.6).
//! Time and randomness are arguments: the engine passes its clock and a random number, tests
//! pass made-up ones.

use crate::time::Instant;

/// RFC 4861 10: MAX_INITIAL_RTR_ADVERT_INTERVAL, 16 s.
pub const MAX_INITIAL_INTERVAL_MS: u64 = 16_000;
/// RFC 4861 10: MAX_INITIAL_RTR_ADVERTISEMENTS, 3.
pub const MAX_INITIAL_ADVERTS: u8 = 3;
/// RFC 4861 10: MIN_DELAY_BETWEEN_RAS, 3 s.
pub const MIN_DELAY_BETWEEN_RAS_MS: u64 = 3_000;
/// RFC 4861 10: MAX_RA_DELAY_TIME, 0.5 s.
pub const MAX_RA_DELAY_MS: u64 = 500;

/// The advertisement timer of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    max_ms: u64,
    min_ms: u64,
    initial_left: u8,
    next: Instant,
    last_sent: Option<Instant>,
}

/// A uniformly random point in `[lo, hi]` picked with `random`.
fn between(lo: u64, hi: u64, random: u32) -> u64 {
    if hi <= lo {
        return lo;
    }
    lo + (u128::from(hi - lo) * u128::from(random) / u128::from(u32::MAX)) as u64
}

impl Schedule {
    /// A timer for an interface that has just become an advertising interface: the first
    /// advertisement goes out at once, then up to [`MAX_INITIAL_ADVERTS`] at most 16 s apart
    /// (RFC 4861 6.2.4), then every MinRtrAdvInterval..MaxRtrAdvInterval, where
    /// `max_interval_secs` is MaxRtrAdvInterval and MinRtrAdvInterval is a third of it (at
    /// least 3 s; RFC 4861 6.2.1).
    pub fn new(now: Instant, max_interval_secs: u32) -> Schedule {
        let max_ms = u64::from(max_interval_secs.max(4)) * 1000;
        // RFC 4861 6.2.1: MinRtrAdvInterval default 0.33 * MaxRtrAdvInterval when Max >= 9 s,
        // else 0.75 * Max; never below 3 s.
        let min_ms = if max_ms >= 9_000 {
            max_ms * 33 / 100
        } else {
            max_ms * 3 / 4
        }
        .max(3_000);
        Schedule {
            max_ms,
            min_ms,
            initial_left: MAX_INITIAL_ADVERTS,
            next: now,
            last_sent: None,
        }
    }

    /// When the next unsolicited (or delayed solicited) advertisement is due.
    pub fn due(&self) -> Instant {
        self.next
    }

    /// Whether an advertisement is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// Records that a multicast advertisement was sent at `now` and picks the next time with
    /// `random` (RFC 4861 6.2.4).
    pub fn sent(&mut self, now: Instant, random: u32) {
        let mut interval = between(self.min_ms, self.max_ms, random);
        if self.initial_left > 0 {
            self.initial_left -= 1;
            interval = interval.min(MAX_INITIAL_INTERVAL_MS);
        }
        self.last_sent = Some(now);
        self.next = Instant(now.0.saturating_add(interval));
    }

    /// A Router Solicitation arrived at `now`: the answer (multicast) goes out after a random
    /// delay of at most 0.5 s, and no sooner than 3 s after the previous multicast
    /// advertisement (RFC 4861 6.2.6). Never postpones an advertisement already due sooner.
    pub fn solicited(&mut self, now: Instant, random: u32) {
        let mut at = now.0 + between(0, MAX_RA_DELAY_MS, random);
        if let Some(last) = self.last_sent {
            at = at.max(last.0 + MIN_DELAY_BETWEEN_RAS_MS);
        }
        if at < self.next.0 {
            self.next = Instant(at);
        }
    }

    /// Something advertised changed (an interface or prefix appeared, or went): start a fresh
    /// burst of initial advertisements, the first one at once (but still no sooner than 3 s
    /// after the last one; RFC 4861 6.2.4, 6.2.6).
    pub fn restart(&mut self, now: Instant) {
        self.initial_left = MAX_INITIAL_ADVERTS;
        let at = self
            .last_sent
            .map_or(now.0, |l| now.0.max(l.0 + MIN_DELAY_BETWEEN_RAS_MS));
        self.next = Instant(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_burst_then_regular_intervals() {
        let t0 = Instant::from_secs(100);
        let mut s = Schedule::new(t0, 600);
        assert!(s.is_due(t0));
        let mut now = t0;
        for _ in 0..MAX_INITIAL_ADVERTS {
            s.sent(now, u32::MAX);
            assert_eq!(s.due().0 - now.0, MAX_INITIAL_INTERVAL_MS);
            now = s.due();
        }
        s.sent(now, u32::MAX);
        assert_eq!(s.due().0 - now.0, 600_000);
        now = s.due();
        s.sent(now, 0);
        assert_eq!(s.due().0 - now.0, 198_000);
    }

    #[test]
    fn short_intervals_keep_min_at_three_seconds() {
        let mut s = Schedule::new(Instant(0), 4);
        for _ in 0..4 {
            s.sent(Instant(0), 0);
        }
        assert_eq!(s.due(), Instant(3_000));
    }

    #[test]
    fn solicitation_answered_within_half_a_second_but_rate_limited() {
        let mut s = Schedule::new(Instant(0), 600);
        s.sent(Instant(0), 0);
        // Within 3 s of the last multicast advertisement: held back to 3 s.
        s.solicited(Instant(1_000), 0);
        assert_eq!(s.due(), Instant(3_000));
        s.sent(Instant(3_000), u32::MAX);
        s.solicited(Instant(10_000), u32::MAX);
        assert_eq!(s.due(), Instant(10_500));
        // A later solicitation never postpones one already due.
        s.solicited(Instant(10_100), u32::MAX);
        assert_eq!(s.due(), Instant(10_500));
    }

    #[test]
    fn restart_begins_a_new_burst() {
        let mut s = Schedule::new(Instant(0), 600);
        for i in 0..5 {
            s.sent(Instant(i * 1000), u32::MAX);
        }
        s.restart(Instant(20_000));
        assert_eq!(s.due(), Instant(20_000));
        s.sent(Instant(20_000), u32::MAX);
        assert_eq!(s.due(), Instant(36_000));
        s.restart(Instant(21_000));
        assert_eq!(s.due(), Instant(23_000));
    }
}
