//! Monotonic time handed to proto by the engine.
//!
//! proto never reads a clock: every function that depends on time takes an [`Instant`] argument,
//! so TTL countdown, expiry and timeouts are tested by passing made-up instants.

use core::ops::Sub;
use std::time::Duration;

/// Monotonic time given to proto by the engine (milliseconds since an arbitrary epoch). proto never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// The instant `s` whole seconds after the epoch (saturating).
    pub const fn from_secs(s: u64) -> Self {
        Instant(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn secs(self) -> u64 {
        self.0 / 1000
    }

    /// `self + d`, clamped at the largest representable instant.
    pub fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, clamped at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Instant(self.0.saturating_sub(duration_millis(d)))
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        u64::try_from(d.as_millis())
            .ok()
            .and_then(|ms| self.0.checked_add(ms))
            .map(Instant)
    }

    /// `self - d`, or `None` if that would be before the epoch.
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        u64::try_from(d.as_millis())
            .ok()
            .and_then(|ms| self.0.checked_sub(ms))
            .map(Instant)
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Time elapsed from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_millis)
    }
}

fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Sub for Instant {
    type Output = Duration;

    /// Saturating difference: an earlier minus a later instant is zero.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let a = Instant::from_millis(1_500);
        assert_eq!(a.secs(), 1);
        assert_eq!(a.as_millis(), 1_500);
        assert_eq!(Instant::from_secs(3).as_millis(), 3_000);
        let b = a.saturating_add(Duration::from_secs(2));
        assert_eq!(b - a, Duration::from_millis(2_000));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(b.checked_sub(Duration::from_secs(10)), None);
        assert_eq!(
            Instant(u64::MAX).checked_add(Duration::from_millis(1)),
            None
        );
        assert_eq!(
            Instant(u64::MAX).saturating_add(Duration::MAX),
            Instant(u64::MAX)
        );
        assert_eq!(a.checked_duration_since(b), None);
        assert_eq!(a.saturating_sub(Duration::from_secs(5)), Instant(0));
    }
}
