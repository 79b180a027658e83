//! Daemonised start (no `-k`): the command returns at once, the daemon writes its pid to the
//! `-x` file, answers queries, and SIGTERM makes it exit and remove the pid file.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::port::{LOCALHOST, free_port};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{DnsClient, TempDir};

/// Kills the daemon by PID if the test ends early.
struct DaemonGuard(Option<libc::pid_t>);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            // SAFETY: kill(2) on the PID the daemon wrote; it is ours (started by this test).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn alive(pid: libc::pid_t) -> bool {
    // A reaped process has no /proc entry; a zombie has state Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn daemon_writes_and_removes_pid_file() -> anyhow::Result<()> {
    let dir = TempDir::new("rmq-daemon")?;
    let pidfile = dir.join("ringmasq.pid");
    let log = dir.join("ringmasq.log");
    let port = free_port()?;
    let status = Command::new(ringmasq_bin()?)
        .args([
            format!("--port={port}"),
            format!("--listen-address={LOCALHOST}"),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--conf-file=/dev/null".into(),
            "--threads=1".into(),
            format!("--pid-file={}", pidfile.display()),
            format!("--log-facility={}", log.display()),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("run ringmasq")?;
    ensure!(
        status.success(),
        "the starting process exited with {status}"
    );

    let pid: libc::pid_t = poll_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        500,
        || std::fs::read_to_string(&pidfile).ok()?.trim().parse().ok(),
    )
    .with_context(|| {
        format!(
            "no pid file; log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    })?;
    let mut guard = DaemonGuard(Some(pid));
    ensure!(alive(pid), "pid {pid} from the pid file is not running");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm"))?;
    ensure!(comm.trim() == "ringmasq", "pid {pid} is {comm:?}");
    // Detached: a new session, not our child.
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let ppid: u32 = stat
        .rsplit_once(')')
        .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse().ok())
        .context("ppid")?;
    ensure!(ppid != std::process::id(), "daemon is still our child");

    let client = DnsClient::new(SocketAddr::from((LOCALHOST, port)));
    let size = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || client.counter("cachesize.bind").ok(),
    );
    ensure!(size == Some(150), "daemon does not answer: {size:?}");

    // SAFETY: kill(2) on the daemon this test started.
    ensure!(unsafe { libc::kill(pid, libc::SIGTERM) } == 0, "kill");
    let gone = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        500,
        || (!alive(pid) && !pidfile.exists()).then_some(()),
    );
    ensure!(
        gone.is_some(),
        "after SIGTERM: alive={} pid file exists={}",
        alive(pid),
        pidfile.exists()
    );
    // Gone: nothing left to kill (the PID may be reused).
    guard.0 = None;
    let text = std::fs::read_to_string(&log)?;
    ensure!(
        text.contains("exiting on receipt of SIGTERM"),
        "log:\n{text}"
    );
    Ok(())
}
