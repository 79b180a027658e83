//! Data the control and DHCP threads publish to the workers: an `arc-swap` cell with a version
//! number, so a worker checks for news with one plain load per loop turn instead of taking a
//! guard on every cell.

use arc_swap::{ArcSwapAny, Guard, RefCnt};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A published value (`Arc<T>` or `Option<Arc<T>>`) and how many times it was replaced.
pub struct Snapshot<T: RefCnt> {
    cell: ArcSwapAny<T>,
    version: AtomicU64,
}

impl<T: RefCnt> Snapshot<T> {
    /// A snapshot holding `value`, at version 0.
    pub fn new(value: T) -> Self {
        Self {
            cell: ArcSwapAny::new(value),
            version: AtomicU64::new(0),
        }
    }

    /// Publishes `value`; readers that saw the previous version see this one on their next
    /// [`Snapshot::version`] check.
    pub fn store(&self, value: T) {
        self.cell.store(value);
        // Release: a reader that sees the new version also sees the new value.
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The current value.
    pub fn load(&self) -> Guard<T> {
        self.cell.load()
    }

    /// The current value, as an owned pointer.
    pub fn load_full(&self) -> T {
        self.cell.load_full()
    }

    /// Bumped by every [`Snapshot::store`].
    #[inline]
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }
}

impl<T> Snapshot<Option<Arc<T>>> {
    /// A snapshot holding nothing.
    pub fn empty() -> Self {
        Self::new(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_bumps_the_version_and_replaces_the_value() {
        let s = Snapshot::new(Arc::new(1));
        assert_eq!((s.version(), **s.load()), (0, 1));
        s.store(Arc::new(2));
        assert_eq!((s.version(), **s.load()), (1, 2));
        let o: Snapshot<Option<Arc<u8>>> = Snapshot::empty();
        assert!(o.load().is_none());
        o.store(Some(Arc::new(7)));
        assert_eq!((o.version(), o.load().as_deref().copied()), (1, Some(7)));
    }
}
