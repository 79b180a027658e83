//! A child-process guard: spawned with output captured to a file, killed by PID on drop.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::error::{HarnessError, Result};

/// A running child process that is killed (by its PID) and reaped when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
    output: PathBuf,
}

impl ChildGuard {
    /// Spawns `cmd` with stdout and stderr appended to `output`. The child also gets
    /// `PR_SET_PDEATHSIG(SIGKILL)`, so keep the guard in the thread that created it.
    pub fn spawn(name: &str, mut cmd: Command, output: &Path) -> Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(output)
            .map_err(|e| HarnessError::io(format!("open {}", output.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| HarnessError::io("clone log handle", e))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        // Safety net for a test binary that is killed outright (no Drop runs): the kernel
        // SIGKILLs the child when the spawning thread dies.
        // SAFETY: prctl(2) is async-signal-safe and touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| HarnessError::io(format!("spawn {name} ({cmd:?})"), e))?;
        Ok(Self {
            name: name.to_string(),
            child,
            output: output.to_path_buf(),
        })
    }

    /// The PID of the child.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file that receives the child's stdout and stderr.
    pub fn output_path(&self) -> &Path {
        &self.output
    }

    /// `Err(Exited)` if the child has already exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(HarnessError::Exited {
                what: self.name.clone(),
                status: status.to_string(),
                log: tail(&self.output, 40),
            }),
            Ok(None) => Ok(()),
            Err(e) => Err(HarnessError::io(format!("try_wait {}", self.name), e)),
        }
    }

    /// Sends `signal` to the child by PID.
    pub fn signal(&self, signal: i32) -> Result<()> {
        let pid = libc::pid_t::try_from(self.child.id())
            .map_err(|_| HarnessError::Wire("pid out of range".into()))?;
        // SAFETY: kill(2) with the PID of our own, not yet reaped, child; no memory is shared.
        let rc = unsafe { libc::kill(pid, signal) };
        if rc == 0 {
            Ok(())
        } else {
            Err(HarnessError::io(
                format!("kill -{signal} {pid}"),
                std::io::Error::last_os_error(),
            ))
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a text file (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].join("\n")
}
