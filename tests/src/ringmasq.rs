//! The server under test: a `ringmasq` process guard.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::backend::Backend;
use crate::binary::ringmasq_bin;
use crate::client::DnsClient;
use crate::dig::Dig;
use crate::error::{HarnessError, Result};
use crate::port::{LOCALHOST, free_port};
use crate::process::{ChildGuard, tail};
use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// How long to wait for the server to answer `cachesize.bind` after spawning.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Builder for a [`Ringmasq`] process.
#[derive(Debug, Clone)]
pub struct RingmasqBuilder {
    backend: Backend,
    servers: Vec<String>,
    resolv_file: Option<PathBuf>,
    cache_size: u32,
    threads: u32,
    extra: Vec<String>,
}

impl RingmasqBuilder {
    /// Defaults: cache size 150, 2 threads, no upstream.
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            servers: Vec::new(),
            resolv_file: None,
            cache_size: 150,
            threads: 2,
            extra: Vec::new(),
        }
    }

    /// Adds `--server=SPEC` (e.g. `127.0.0.1#5300` or `/routed.test/127.0.0.1#5301`).
    pub fn server(mut self, spec: impl Into<String>) -> Self {
        self.servers.push(spec.into());
        self
    }

    /// Uses `-r FILE` instead of `--no-resolv`.
    pub fn resolv_file(mut self, path: &Path) -> Self {
        self.resolv_file = Some(path.to_path_buf());
        self
    }

    /// `--cache-size=N`.
    pub fn cache_size(mut self, n: u32) -> Self {
        self.cache_size = n;
        self
    }

    /// `--threads=N`.
    pub fn threads(mut self, n: u32) -> Self {
        self.threads = n;
        self
    }

    /// Any further option, verbatim.
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra.push(a.into());
        self
    }

    /// Spawns the server and waits until it answers `cachesize.bind`. If the process exits
    /// during start-up (e.g. its port was taken in the meantime) it is retried once on a new
    /// port; the second failure is returned.
    pub fn spawn(self) -> Result<Ringmasq> {
        match self.spawn_once() {
            Err(HarnessError::Exited { .. }) => self.spawn_once(),
            other => other,
        }
    }

    fn spawn_once(&self) -> Result<Ringmasq> {
        let bin = ringmasq_bin()?;
        let dir = TempDir::new("rmq")?;
        let port = free_port()?;
        let log = dir.join("ringmasq.log");
        let mut args = vec![
            "-k".to_string(),
            format!("--port={port}"),
            format!("--listen-address={LOCALHOST}"),
            format!("--cache-size={}", self.cache_size),
            "--no-hosts".into(),
            format!("--threads={}", self.threads),
            format!("--io-backend={}", self.backend.as_arg()),
            "-8".into(),
            log.display().to_string(),
        ];
        match &self.resolv_file {
            Some(r) => {
                args.push("-r".into());
                args.push(r.display().to_string());
            }
            None => args.push("--no-resolv".into()),
        }
        args.extend(self.servers.iter().map(|s| format!("--server={s}")));
        args.extend(self.extra.iter().cloned());
        let mut cmd = Command::new(&bin);
        cmd.args(&args);
        let output = dir.join("stdout-stderr.txt");
        let guard = ChildGuard::spawn("ringmasq", cmd, &output)?;
        let mut rm = Ringmasq {
            guard,
            addr: SocketAddr::from((LOCALHOST, port)),
            log,
            output,
            command_line: format!("{} {}", bin.display(), args.join(" ")),
            dir,
        };
        rm.wait_ready()?;
        Ok(rm)
    }
}

/// A running ringmasq, killed by PID on drop. On drop it prints its command line and log tail
/// to stderr, which the test runner shows only for failing tests.
#[derive(Debug)]
pub struct Ringmasq {
    guard: ChildGuard,
    addr: SocketAddr,
    log: PathBuf,
    output: PathBuf,
    command_line: String,
    // Dropped last, after the process is gone.
    dir: TempDir,
}

impl Ringmasq {
    /// Starts building a server for `backend`.
    pub fn builder(backend: Backend) -> RingmasqBuilder {
        RingmasqBuilder::new(backend)
    }

    /// Starts a server forwarding everything to one upstream `ADDR#PORT`.
    pub fn start(backend: Backend, upstream: &str) -> Result<Ringmasq> {
        RingmasqBuilder::new(backend).server(upstream).spawn()
    }

    /// Where the server listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PID of the server process.
    pub fn pid(&self) -> u32 {
        self.guard.pid()
    }

    /// The temp dir the server's files live in.
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    /// The full command line used.
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// A hickory-proto client aimed at the server.
    pub fn client(&self) -> DnsClient {
        DnsClient::new(self.addr)
    }

    /// A dig invocation aimed at the server.
    pub fn dig(&self, name: &str) -> Dig {
        Dig::new(self.addr, name)
    }

    /// Reads a numeric CHAOS TXT counter (`hits.bind`, `malformed.bind`...).
    pub fn counter(&self, name: &str) -> Result<u64> {
        self.client().counter(name)
    }

    /// The strings of `servers.bind`: one `ADDR#PORT SENT FAILED` per upstream.
    pub fn servers(&self) -> Result<Vec<String>> {
        self.client().chaos_txt("servers.bind")
    }

    /// Sends a signal (e.g. `libc::SIGHUP`) to the server.
    pub fn signal(&self, signal: i32) -> Result<()> {
        self.guard.signal(signal)
    }

    /// `Err` if the server has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.guard.check_running()
    }

    /// The server's log file (`-8`) contents.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded by `limit`) until the log file contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        self.wait_log_count(needle, 1, limit)
    }

    /// How many times the log file contains `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().matches(needle).count()
    }

    /// Waits (bounded by `limit`) until the log file contains `needle` at least `count` times:
    /// for a line logged again after an action, with `count` one more than before it.
    pub fn wait_log_count(&self, needle: &str, count: usize, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(50), 1000, || {
            (self.log_count(needle) >= count).then_some(())
        })
        .is_some()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let client = self.client().timeout(Duration::from_millis(200));
        let mut exited = None;
        let ready = poll_until(READY_TIMEOUT, Duration::from_millis(50), 500, || {
            if let Err(e) = self.guard.check_running() {
                exited = Some(e);
                return Some(false);
            }
            client.counter("cachesize.bind").ok().map(|_| true)
        });
        match (ready, exited) {
            (Some(true), _) => Ok(()),
            (_, Some(HarnessError::Exited { what, status, log })) => Err(HarnessError::Exited {
                what: format!("{what} ({})", self.command_line),
                status,
                log: format!("{log}\n--- log file ---\n{}", tail(&self.log, 40)),
            }),
            (_, Some(e)) => Err(e),
            _ => Err(HarnessError::NotReady {
                what: format!("ringmasq ({})", self.command_line),
                waited: READY_TIMEOUT,
                log: format!(
                    "{}\n--- log file ---\n{}",
                    tail(&self.output, 40),
                    tail(&self.log, 40)
                ),
            }),
        }
    }
}

impl Drop for Ringmasq {
    fn drop(&mut self) {
        eprintln!(
            "ringmasq command: {}\n--- ringmasq stdout/stderr (tail) ---\n{}\n--- ringmasq log (tail) ---\n{}",
            self.command_line,
            tail(&self.output, 30),
            tail(&self.log, 60)
        );
    }
}
