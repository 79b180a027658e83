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

/// Kills (SIGKILL) every process whose command line mentions `fragment` — a path unique to one
/// test, such as its own temp directory — and returns their PIDs. For daemons a test starts
/// that fork away from their parent (dhclient after its first lease): the PID file they write
/// comes a moment after the parent exits, so a lab dropped in between would miss them.
pub fn kill_mentioning(fragment: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut killed = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return killed;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(fragment) {
            // SAFETY: signals a process whose command line names this test's own path.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed.push(pid);
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kill_mentioning_finds_a_process_by_its_arguments() {
        let tag = format!("/tmp/rmq-kill-mentioning-{}", std::process::id());
        // The tag as argv[0], so the process itself (not a shell around it) carries it.
        let mut child = Command::new("sleep")
            .arg0(&tag)
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as i32;
        // spawn returns once the kernel has switched the child to its new image, which is a
        // moment before the new argument area is set: until then the child's cmdline reads
        // empty. Wait for the arguments to appear (as a forked daemon's have from the start).
        let cmdline = format!("/proc/{pid}/cmdline");
        let named = crate::wait::poll_until(
            std::time::Duration::from_secs(5),
            std::time::Duration::from_millis(1),
            5000,
            || {
                std::fs::read(&cmdline)
                    .ok()
                    .filter(|bytes| String::from_utf8_lossy(bytes).contains(&tag))
            },
        );
        assert!(named.is_some(), "{cmdline} never named {tag}");
        let killed = kill_mentioning(&tag);
        assert_eq!(killed, vec![pid]);
        let status = child.wait().expect("wait");
        assert!(!status.success());
        assert!(kill_mentioning(&tag).is_empty());
    }
}
