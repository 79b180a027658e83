//! The DHCP servers' lease clock: wall-clock seconds (what lease files and scripts hold) that
//! advance with a monotonic clock counting suspend (the engine passes `CLOCK_BOOTTIME`), so a
//! step of the system clock never expires or stretches a lease by itself.
//!
//! A lease is a promise of a duration (RFC 2131 §3.3: "the client and server [...] agree on
//! the lease as a duration"; RFC 8415 §21.6 lifetimes are durations too): a client that got an
//! hour may keep its address for an hour of elapsed time whatever the system clock does. Once
//! a second the engine compares the lease clock with the system clock: a small difference
//! (slewing, rounding) just re-anchors it; a step of more than [`STEP_SECS`] is returned so the
//! engine moves every stored expiry by it, keeping each lease's remaining time and the lease
//! file in the new time base.

use crate::time::Instant;

/// Differences up to this many seconds re-anchor the clock without moving leases.
pub const STEP_SECS: u64 = 10;

/// Wall-clock seconds advanced by a monotonic clock, re-anchored by [`LeaseClock::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseClock {
    wall: u64,
    mono_ms: u64,
}

impl LeaseClock {
    /// A clock reading `wall` at monotonic time `mono`.
    pub fn new(wall: u64, mono: Instant) -> Self {
        LeaseClock {
            wall,
            mono_ms: mono.as_millis(),
        }
    }

    /// Lease-clock seconds at monotonic time `mono` (never before the anchor).
    pub fn now(&self, mono: Instant) -> u64 {
        self.wall
            .saturating_add(mono.as_millis().saturating_sub(self.mono_ms) / 1000)
    }

    /// Compares with the system clock (`wall` seconds at `mono`). Re-anchors when they differ
    /// by two seconds or more; returns the step (system minus lease clock, in seconds) when it
    /// exceeds [`STEP_SECS`]: every stored expiry must move by it.
    pub fn check(&mut self, wall: u64, mono: Instant) -> Option<i64> {
        let ours = self.now(mono);
        let diff = i64::try_from(i128::from(wall) - i128::from(ours)).unwrap_or(i64::MAX);
        if diff.unsigned_abs() < 2 {
            return None;
        }
        *self = LeaseClock::new(wall, mono);
        (diff.unsigned_abs() > STEP_SECS).then_some(diff)
    }
}

/// `expires` moved by `step` seconds; 0 (never) stays 0, and the result is at least 1.
pub fn shifted(expires: u64, step: i64) -> u64 {
    if expires == 0 {
        return 0;
    }
    expires.saturating_add_signed(step).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;
    const T0: u64 = 1_800_000_000;

    fn at(secs: u64) -> Instant {
        Instant::from_millis(5_000 + secs * 1000)
    }

    #[test]
    fn follows_the_monotonic_clock_between_checks() {
        let c = LeaseClock::new(T0, at(0));
        assert_eq!(c.now(at(0)), T0);
        assert_eq!(c.now(at(3600)), T0 + 3600);
        // A monotonic reading before the anchor cannot move it back.
        assert_eq!(c.now(Instant::from_millis(0)), T0);
    }

    #[test]
    fn a_day_forward_or_back_is_a_step_and_re_anchors() {
        for step in [DAY as i64, -(DAY as i64)] {
            let mut c = LeaseClock::new(T0, at(0));
            let wall = (T0 + 60).saturating_add_signed(step);
            assert_eq!(c.check(wall, at(60)), Some(step));
            assert_eq!(c.now(at(60)), wall);
            assert_eq!(c.now(at(70)), wall + 10);
            assert_eq!(c.check(wall + 10, at(70)), None);
        }
    }

    #[test]
    fn slewing_and_rounding_are_not_steps() {
        let mut c = LeaseClock::new(T0, at(0));
        assert_eq!(c.check(T0 + 100, at(99)), None);
        assert_eq!(c.now(at(99)), T0 + 99, "one second off: not re-anchored");
        assert_eq!(c.check(T0 + 105, at(100)), None);
        assert_eq!(
            c.now(at(100)),
            T0 + 105,
            "five seconds off: re-anchored quietly"
        );
        assert_eq!(c.check(T0 + 200, at(110)), Some(85));
    }

    #[test]
    fn shifted_keeps_never_and_stays_positive() {
        assert_eq!(shifted(0, 5), 0);
        assert_eq!(shifted(T0, DAY as i64), T0 + DAY);
        assert_eq!(shifted(T0, -(DAY as i64)), T0 - DAY);
        assert_eq!(shifted(10, -100), 1);
        assert_eq!(shifted(u64::MAX - 1, 10), u64::MAX);
    }
}
