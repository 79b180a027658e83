//! Bounded polling: every wait in the harness goes through here, so none can spin forever.

use std::time::{Duration, Instant};

/// Calls `probe` every `interval` until it returns `Some`, at most `max_tries` times and for at
/// most `limit` overall. Returns the first `Some`, or `None` when either bound is reached.
pub fn poll_until<T>(
    limit: Duration,
    interval: Duration,
    max_tries: u32,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    for _ in 0..max_tries {
        if let Some(v) = probe() {
            return Some(v);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(interval);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_max_tries() {
        let mut n = 0;
        let r: Option<()> = poll_until(Duration::from_secs(5), Duration::ZERO, 3, || {
            n += 1;
            None
        });
        assert!(r.is_none());
        assert_eq!(n, 3);
    }

    #[test]
    fn returns_first_success() {
        let mut n = 0;
        let r = poll_until(Duration::from_secs(5), Duration::ZERO, 10, || {
            n += 1;
            (n == 2).then_some(n)
        });
        assert_eq!(r, Some(2));
    }
}
