//! The lease-change script (`--dhcp-script`) on its own thread.
//!
//! The DHCP thread turns durable lease changes into [`ScriptEvent`]s and hands them over with
//! [`ScriptRunner::submit`], which never blocks: jobs go into a bounded channel to the script
//! thread, and what does not fit waits in a local queue that [`ScriptRunner::flush`] drains on
//! later loop turns. The script thread runs one instance at a time, in order, and logs what
//! the script prints. Should the local queue grow past [`PENDING_MAX`] (a script far slower
//! than lease changes), earlier events of a lease are dropped in favour of its latest one, as
//! dnsmasq does when changes queue up.

use std::collections::{HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};
use ringmasq_proto::dhcp::script::{ScriptContext, ScriptEvent, command};
use ringmasq_proto::dhcp6::script::{Event6, command6};

/// Jobs in flight between the DHCP thread and the script thread.
const CHANNEL_DEPTH: usize = 1024;
/// Jobs the DHCP thread holds before it coalesces them per lease.
pub const PENDING_MAX: usize = 65_536;

/// One script run.
#[derive(Debug)]
struct Job {
    addr: IpAddr,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
}

/// Who the script runs as (`--dhcp-scriptuser`), when ringmasq may choose.
#[derive(Clone, Copy, Debug)]
pub struct ScriptUser {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// Runs the script for queued events, off the packet path.
pub struct ScriptRunner {
    tx: Option<SyncSender<Job>>,
    pending: VecDeque<Job>,
    thread: Option<JoinHandle<()>>,
    domain: Option<String>,
    log_dhcp: bool,
}

fn command_for(program: &Path, user: Option<ScriptUser>) -> Command {
    let mut c = Command::new(program);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: geteuid only reads this process's credentials.
    if let Some(u) = user
        && unsafe { libc::geteuid() } == 0
    {
        use std::os::unix::process::CommandExt;
        c.uid(u.uid).gid(u.gid);
    }
    c
}

fn log_output(what: &str, bytes: &[u8]) {
    for line in String::from_utf8_lossy(bytes).lines() {
        tracing::info!("script ({what}): {line}");
    }
}

fn run_job(program: &Path, user: Option<ScriptUser>, job: &Job) {
    let mut c = command_for(program, user);
    c.args(&job.args);
    for (k, v) in &job.env {
        c.env(k, v);
    }
    match c.output() {
        Ok(out) => {
            log_output(&job.args[0], &out.stdout);
            log_output(&job.args[0], &out.stderr);
            if !out.status.success() {
                tracing::warn!(
                    "lease-change script {} {}: {}",
                    program.display(),
                    job.args.join(" "),
                    out.status
                );
            }
        }
        Err(e) => tracing::error!("cannot run lease-change script {}: {e}", program.display()),
    }
}

fn script_thread(program: PathBuf, user: Option<ScriptUser>, rx: Receiver<Job>) {
    for job in rx {
        run_job(&program, user, &job);
    }
}

/// `--leasefile-ro`: runs `SCRIPT init` and returns what it printed (the lease database in
/// lease-file format). A failure to run it or a non-zero exit is an error.
pub fn run_init(program: &Path, user: Option<ScriptUser>) -> Result<String> {
    let out = command_for(program, user)
        .arg("init")
        .output()
        .with_context(|| format!("cannot run {} init", program.display()))?;
    log_output("init", &out.stderr);
    if !out.status.success() {
        bail!("{} init failed: {}", program.display(), out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl ScriptRunner {
    /// Starts the script thread for `program`.
    pub fn start(
        program: PathBuf,
        user: Option<ScriptUser>,
        domain: Option<String>,
        log_dhcp: bool,
    ) -> Result<Self> {
        let (tx, rx) = sync_channel(CHANNEL_DEPTH);
        let thread = std::thread::Builder::new()
            .name("ringmasq-script".into())
            .spawn(move || script_thread(program, user, rx))?;
        Ok(ScriptRunner {
            tx: Some(tx),
            pending: VecDeque::new(),
            thread: Some(thread),
            domain,
            log_dhcp,
        })
    }

    /// Queues a run for each event (in order) and passes what fits to the script thread.
    pub fn submit(&mut self, events: &[ScriptEvent], wall: u64) {
        let ctx = ScriptContext {
            domain: self.domain.as_deref(),
            log_dhcp: self.log_dhcp,
        };
        for ev in events {
            let (args, env) = command(ev, &ctx, wall);
            self.pending.push_back(Job {
                addr: IpAddr::V4(ev.lease.addr),
                args,
                env,
            });
        }
        if self.pending.len() > PENDING_MAX {
            self.coalesce();
        }
        self.flush();
    }

    /// Queues a run for each DHCPv6 lease event (in order); `server_duid` is ours.
    pub fn submit6(&mut self, events: &[Event6], server_duid: &[u8], wall: u64) {
        for ev in events {
            let (args, env) =
                command6(ev, server_duid, self.domain.as_deref(), self.log_dhcp, wall);
            self.pending.push_back(Job {
                addr: IpAddr::V6(ev.lease.addr),
                args,
                env,
            });
        }
        if self.pending.len() > PENDING_MAX {
            self.coalesce();
        }
        self.flush();
    }

    /// Queues `ACTION MAC IP` (`arp-add`/`arp-del` of `--script-arp`), as dnsmasq calls it.
    pub fn submit_arp(&mut self, action: &str, mac: &str, addr: Ipv4Addr) {
        self.pending.push_back(Job {
            addr: IpAddr::V4(addr),
            args: vec![action.to_string(), mac.to_string(), addr.to_string()],
            env: Vec::new(),
        });
        self.flush();
    }

    /// Keeps only the latest queued event of each lease.
    fn coalesce(&mut self) {
        let before = self.pending.len();
        let mut seen = HashSet::new();
        let mut kept: VecDeque<Job> = VecDeque::with_capacity(before);
        while let Some(j) = self.pending.pop_back() {
            if seen.insert(j.addr) {
                kept.push_front(j);
            }
        }
        self.pending = kept;
        tracing::warn!(
            "lease-change script is behind: {} earlier event(s) replaced by the latest of each lease",
            before - self.pending.len()
        );
    }

    /// Hands queued runs to the script thread without blocking.
    pub fn flush(&mut self) {
        let Some(tx) = &self.tx else { return };
        while let Some(job) = self.pending.pop_front() {
            match tx.try_send(job) {
                Ok(()) => {}
                Err(TrySendError::Full(job)) => {
                    self.pending.push_front(job);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => {
                    self.pending.clear();
                    break;
                }
            }
        }
    }

    /// Whether runs wait for room in the channel.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

impl Drop for ScriptRunner {
    /// Passes every queued run on and waits for the script thread to finish them.
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            for job in self.pending.drain(..) {
                if tx.send(job).is_err() {
                    break;
                }
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
