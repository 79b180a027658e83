//! Process model: daemonising and the pid file, as dnsmasq does.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Forks into the background: the parent exits, the child starts a new session with its
/// standard streams on /dev/null. Must run before any thread is started.
pub fn daemonize() -> Result<()> {
    // SAFETY: called while the process is single-threaded; fork/setsid/dup2 are plain syscalls.
    unsafe {
        match libc::fork() {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() < 0 {
            bail!("setsid failed: {}", std::io::Error::last_os_error());
        }
        // Fork again so the daemon can never reacquire a controlling terminal.
        match libc::fork() {
            -1 => bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        let _ = libc::chdir(c"/".as_ptr());
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

/// A pid file removed when dropped.
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes our pid to `path`, replacing the file atomically.
    pub fn create(path: &Path) -> Result<Self> {
        let tmp = path.with_extension("pid.tmp");
        std::fs::write(&tmp, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
