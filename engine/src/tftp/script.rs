//! dnsmasq's `tftp` event for `--dhcp-script`: after each completed transfer the script runs
//! as `SCRIPT tftp SIZE ADDRESS PATH` (bytes sent, client address, file path), one at a time
//! on its own thread. The TFTP thread only queues (never waits); when the queue is full the
//! event is dropped and counted.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use anyhow::{Context, Result};

/// Events waiting for the script.
const QUEUE: usize = 4096;

/// One `tftp` event.
struct Event {
    size: u64,
    addr: IpAddr,
    path: PathBuf,
}

/// Queues `tftp` events for the script thread (clones share the thread and its queue).
#[derive(Clone)]
pub struct TftpScript {
    tx: SyncSender<Event>,
}

fn run(program: &Path, user: Option<(u32, u32)>, ev: &Event) {
    let mut c = Command::new(program);
    c.arg("tftp")
        .arg(ev.size.to_string())
        .arg(ev.addr.to_string())
        .arg(&ev.path)
        .stdin(Stdio::null());
    // SAFETY: geteuid only reads this process's credentials.
    if let Some((uid, gid)) = user
        && unsafe { libc::geteuid() } == 0
    {
        use std::os::unix::process::CommandExt;
        c.uid(uid).gid(gid);
    }
    match c.output() {
        Ok(out) => {
            for line in String::from_utf8_lossy(&out.stdout)
                .lines()
                .chain(String::from_utf8_lossy(&out.stderr).lines())
            {
                tracing::info!("script (tftp): {line}");
            }
            if !out.status.success() {
                tracing::warn!("script {} tftp: {}", program.display(), out.status);
            }
        }
        Err(e) => tracing::error!("cannot run script {}: {e}", program.display()),
    }
}

fn thread(program: PathBuf, user: Option<(u32, u32)>, rx: Receiver<Event>) {
    for ev in rx {
        run(&program, user, &ev);
    }
}

impl TftpScript {
    /// Starts the thread for `program`, run as `user` (`--dhcp-scriptuser`) when given.
    pub fn start(program: PathBuf, user: Option<&str>) -> Result<Self> {
        let user = match user {
            None => None,
            Some(name) => {
                let id = crate::process::Identity::resolve(Some(name), None)?
                    .with_context(|| format!("dhcp-scriptuser {name}"))?;
                Some((id.uid.unwrap_or(0), id.gid))
            }
        };
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("ringmasq-tftp-script".into())
            .spawn(move || thread(program, user, rx))?;
        Ok(TftpScript { tx })
    }

    /// Queues a `tftp` event; false when the queue is full (the event is dropped).
    pub fn submit(&self, size: u64, addr: IpAddr, path: &Path) -> bool {
        match self.tx.try_send(Event {
            size,
            addr,
            path: path.to_path_buf(),
        }) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}
