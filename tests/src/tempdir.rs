//! A per-test temporary directory, removed on drop (kept when `RINGMASQ_KEEP_TMP` is set).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{HarnessError, Result};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A directory under the system temp dir owned by one test.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Short names: knotd's control socket path must fit in sun_path (108 bytes).
        let path =
            std::env::temp_dir().join(format!("rmq-{prefix}-{}-{n}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| HarnessError::io(format!("create {}", path.display()), e))?;
        Ok(Self { path })
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("RINGMASQ_KEEP_TMP").is_none() && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
