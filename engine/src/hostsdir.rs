//! `--hostsdir` (and `--dhcp-hostsdir`/`--dhcp-optsdir`): the directories are watched with
//! inotify from the control thread; a file added, changed, moved or removed in one makes the
//! hosts data be read again (and the local records that depend on it), without a SIGHUP and
//! without clearing the cache — or, for the DHCP directories, the DHCP thread read the new and
//! changed files.

use inotify::{Inotify, WatchMask};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Time allowed for a burst of events (an editor's write, rename and chmod) to finish before the
/// directories are read again.
const SETTLE: Duration = Duration::from_millis(50);
/// How often the directories' events are read even without a readiness wake-up.
const RECHECK: Duration = Duration::from_millis(500);

/// An inotify instance watching the `--hostsdir` (or DHCP) directories.
pub struct HostsDirWatch {
    /// The option the directories come from, for messages.
    what: &'static str,
    fd: AsyncFd<Inotify>,
    buf: Box<[u8; 4096]>,
    /// Events were read but the change not yet reported. `changed()` is polled inside the
    /// control loop's `select!` and dropped whenever another branch wins (the resolv-file tick,
    /// a signal), so what it has read must survive it.
    pending: bool,
}

impl HostsDirWatch {
    /// Watches `dirs` of option `what` (`--hostsdir`); None (after logging why) when there are
    /// none or inotify cannot be used. Must be called inside the tokio runtime.
    pub fn new(what: &'static str, dirs: &[PathBuf]) -> Option<Self> {
        if dirs.is_empty() {
            return None;
        }
        let inotify = match Inotify::init() {
            Ok(i) => i,
            Err(e) => {
                tracing::error!("{what}: inotify: {e}; changes need a SIGHUP");
                return None;
            }
        };
        let mask = WatchMask::CREATE
            | WatchMask::CLOSE_WRITE
            | WatchMask::MODIFY
            | WatchMask::DELETE
            | WatchMask::MOVED_TO
            | WatchMask::MOVED_FROM
            | WatchMask::ATTRIB;
        for d in dirs {
            if let Err(e) = inotify.watches().add(d, mask) {
                tracing::error!("{what} {}: cannot watch: {e}", d.display());
            }
        }
        // SAFETY: `Inotify` owns its descriptor and closes it only when dropped; the `AsyncFd`
        // owns the `Inotify`, so the descriptor stays open and the same for the AsyncFd's life.
        match unsafe { AsyncFd::register_with_interest(inotify, Interest::READABLE) } {
            Ok(fd) => Some(Self {
                what,
                fd,
                buf: Box::new([0; 4096]),
                pending: false,
            }),
            Err(e) => {
                tracing::error!("{what}: {e}; changes need a SIGHUP");
                None
            }
        }
    }

    /// Waits for a change in a watched directory, then for the burst to settle; every event
    /// read so far is consumed.
    pub async fn changed(&mut self) {
        // Cancel-safe: events read before a cancellation are remembered in `pending`.
        while !self.pending {
            // Readiness wakes us at once; a read every half second as well makes sure an event
            // is never left waiting.
            match tokio::time::timeout(RECHECK, self.wait_events()).await {
                Ok(true) => self.pending = true,
                Ok(false) => {}
                Err(_elapsed) => self.pending = self.drain(),
            }
        }
        tokio::time::sleep(SETTLE).await;
        self.drain();
        self.pending = false;
    }

    /// Waits until the descriptor is readable and reads one batch; true if it held events.
    async fn wait_events(&mut self) -> bool {
        let Self { fd, buf, what, .. } = self;
        let mut guard = match fd.readable_mut().await {
            Ok(g) => g,
            Err(e) => {
                tracing::error!("{what}: {e}; changes need a SIGHUP");
                std::future::pending::<()>().await;
                return false;
            }
        };
        match guard.try_io(|i| i.get_mut().read_events(&mut buf[..]).map(|e| e.count())) {
            Ok(Ok(n)) => n > 0,
            Ok(Err(e)) => {
                tracing::error!("{what}: {e}; changes need a SIGHUP");
                std::future::pending::<()>().await;
                false
            }
            Err(_would_block) => false,
        }
    }

    /// Reads (and drops) every event queued now; true if there was any.
    fn drain(&mut self) -> bool {
        let Self { fd, buf, .. } = self;
        let mut any = false;
        while let Ok(events) = fd.get_mut().read_events(&mut buf[..]) {
            if events.count() == 0 {
                break;
            }
            any = true;
        }
        any
    }
}

/// Waits for the next change when there is a watch; forever otherwise.
pub async fn next_change(w: &mut Option<HostsDirWatch>) {
    match w {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written, then removed, in a watched directory each wake the watch.
    #[test]
    fn wakes_on_add_and_remove() {
        let dir =
            std::env::temp_dir().join(format!("ringmasq-hostsdir-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut w = Some(HostsDirWatch::new("--hostsdir", std::slice::from_ref(&dir)).unwrap());
            let f = dir.join("h");
            std::fs::write(&f, "192.0.2.1 a\n").unwrap();
            tokio::time::timeout(Duration::from_secs(5), next_change(&mut w))
                .await
                .expect("no event for a new file");
            std::fs::remove_file(&f).unwrap();
            tokio::time::timeout(Duration::from_secs(5), next_change(&mut w))
                .await
                .expect("no event for a removed file");
            // Nothing more happens: no wake-up.
            assert!(
                tokio::time::timeout(Duration::from_millis(200), next_change(&mut w))
                    .await
                    .is_err()
            );
        });
        let _ = std::fs::remove_dir_all(&dir);
        assert!(HostsDirWatch::new("--hostsdir", &[]).is_none());
    }
}
