//! The engine's clock: read once per loop turn and handed to proto as [`Instant`].

use ringmasq_proto::time::Instant;

/// Milliseconds of `CLOCK_MONOTONIC_COARSE` (a few ns to read, ~4 ms resolution: enough for
/// TTLs and retry timers).
pub fn now() -> Instant {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is valid on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts);
    }
    Instant(ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000)
}

/// Milliseconds of `CLOCK_BOOTTIME`: monotonic and counting suspend, for lease lifetimes.
pub fn boottime() -> Instant {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is valid on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts);
    }
    Instant(ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000)
}
