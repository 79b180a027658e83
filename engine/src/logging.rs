//! Log output, as dnsmasq's `-8/--log-facility`, `--log-async` and `--log-debug`: syslog with a
//! chosen facility, a file that SIGUSR2 reopens (for logrotate), or stderr (`-`).
//!
//! Synchronous by default, as dnsmasq. With `--log-async[=N]` a worker never waits on the log:
//! each line is copied into one of N preallocated buffers and queued for the logger thread;
//! when all N are in flight the line is dropped and counted, and the logger thread reports the
//! count ("overflow: N log lines lost") with its next line.
//!
//! A busy packet thread can also hand whole batches of lines to the logger thread unformatted
//! ([`defer`]): the formatting then costs the logger thread, not the packet path.

use crossbeam_channel::{Receiver, Sender};
use ringmasq_config::Config;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Where the log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard error.
    Stderr,
    /// A file, appended to.
    File(PathBuf),
    /// syslog, with this facility (a `libc::LOG_*` facility value).
    Syslog(libc::c_int),
}

/// Problems setting up the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file cannot be opened for appending.
    #[error("cannot open log file {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `--log-facility` names no syslog facility.
    #[error("bad log facility {0}")]
    Facility(String),
    /// [`init`] was called twice.
    #[error("logging is already set up")]
    AlreadyInitialised,
    /// The logger thread could not be started.
    #[error("cannot start the logger thread: {0}")]
    Thread(std::io::Error),
}

/// The syslog facility for a `--log-facility` name (case-insensitive), as glibc names them.
pub fn facility(name: &str) -> Option<libc::c_int> {
    Some(match name.to_ascii_lowercase().as_str() {
        "auth" | "security" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        // glibc's "mark" is an internal facility; syslog daemons file it with daemon.
        "mark" => libc::LOG_DAEMON,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

impl LogTarget {
    /// dnsmasq's choice: `-8 -` is stderr, a value containing `/` a file, anything else a
    /// syslog facility; without `-8`, stderr when not daemonising, else syslog DAEMON.
    pub fn from_config(cfg: &Config, daemonising: bool) -> Result<Self, LogError> {
        Ok(match cfg.log_facility.as_deref() {
            Some("-") => LogTarget::Stderr,
            Some(p) if p.contains('/') => LogTarget::File(p.into()),
            Some(name) => {
                LogTarget::Syslog(facility(name).ok_or_else(|| LogError::Facility(name.into()))?)
            }
            None if !daemonising => LogTarget::Stderr,
            None => LogTarget::Syslog(libc::LOG_DAEMON),
        })
    }
}

/// Everything [`init`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogOptions {
    /// Where lines go.
    pub target: LogTarget,
    /// `--log-debug`: include debug-level messages.
    pub debug: bool,
    /// `--log-async=N`: queue up to N lines for the logger thread; `None` = synchronous.
    pub async_lines: Option<usize>,
}

impl LogOptions {
    /// The options `cfg` asks for.
    pub fn from_config(cfg: &Config, daemonising: bool) -> Result<Self, LogError> {
        Ok(Self {
            target: LogTarget::from_config(cfg, daemonising)?,
            debug: cfg.log_debug,
            // Logging never blocks a worker: lines always go through the logger thread's queue;
            // `--log-async=N` sets its length (dnsmasq's meaning), otherwise it is long enough
            // that only a storm of `-q` lines can overflow it (and then the loss is counted).
            async_lines: Some(
                cfg.log_async
                    .map_or(DEFAULT_QUEUE_LINES, |n| n.max(1) as usize),
            ),
        })
    }
}

/// Length of the log queue when `--log-async` does not set one.
pub const DEFAULT_QUEUE_LINES: usize = 4096;

/// Where a finished line is written.
enum Sink {
    Stderr,
    File { path: PathBuf, file: Mutex<File> },
    Syslog,
}

impl Sink {
    fn write_line(&self, priority: libc::c_int, line: &[u8]) {
        match self {
            Sink::Stderr => {
                let _ = std::io::stderr().write_all(line);
            }
            Sink::File { file, .. } => {
                if let Ok(mut f) = file.lock() {
                    let _ = f.write_all(line);
                }
            }
            Sink::Syslog => {
                let text = line.strip_suffix(b"\n").unwrap_or(line);
                let len = libc::c_int::try_from(text.len()).unwrap_or(libc::c_int::MAX);
                // SAFETY: "%.*s" reads at most `len` bytes from `text`, which we own; no NUL needed.
                unsafe { libc::syslog(priority, c"%.*s".as_ptr(), len, text.as_ptr()) };
            }
        }
    }
}

/// A bounded queue of log lines in preallocated buffers: [`LineQueue::push`] never blocks and
/// never allocates once a buffer has grown to its longest line.
pub struct LineQueue {
    free_tx: Sender<Vec<u8>>,
    free_rx: Receiver<Vec<u8>>,
    full_tx: Sender<(libc::c_int, Vec<u8>)>,
    full_rx: Receiver<(libc::c_int, Vec<u8>)>,
    capacity: usize,
    dropped: AtomicU64,
}

/// Shortest interval between two "log lines lost" reports.
const OVERFLOW_REPORT_EVERY: Duration = Duration::from_secs(1);

/// Bytes reserved per queued line up front.
const LINE_BYTES: usize = 512;

impl LineQueue {
    /// A queue holding at most `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (free_tx, free_rx) = crossbeam_channel::bounded(capacity);
        let (full_tx, full_rx) = crossbeam_channel::bounded(capacity);
        for _ in 0..capacity {
            let _ = free_tx.send(Vec::with_capacity(LINE_BYTES));
        }
        Self {
            free_tx,
            free_rx,
            full_tx,
            full_rx,
            capacity,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a copy of `line`; `false` (and counted) when the queue is full.
    pub fn push(&self, priority: libc::c_int, line: &[u8]) -> bool {
        match self.free_rx.try_recv() {
            Ok(mut buf) => {
                buf.clear();
                buf.extend_from_slice(line);
                // Cannot be full: there are as many slots as buffers.
                let _ = self.full_tx.try_send((priority, buf));
                true
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Takes the oldest line, waiting up to `wait`, and hands it to `f`; its buffer is then
    /// reused. `false` when nothing came.
    pub fn pop(&self, wait: Duration, f: impl FnOnce(libc::c_int, &[u8])) -> bool {
        match self.full_rx.recv_timeout(wait) {
            Ok((priority, buf)) => {
                f(priority, &buf);
                let _ = self.free_tx.try_send(buf);
                true
            }
            Err(_) => false,
        }
    }

    /// True when no line is queued or being written.
    pub fn is_idle(&self) -> bool {
        self.free_rx.len() == self.capacity
    }

    /// Lines dropped because the queue was full, since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Lines to format and log on the logger thread (see [`defer`]).
pub type Deferred = Box<dyn FnOnce() + Send>;

/// Batches of deferred lines that may wait for the logger thread.
const DEFERRED_BATCHES: usize = 256;

struct Logger {
    sink: Sink,
    queue: Option<LineQueue>,
    deferred_tx: Sender<Deferred>,
    deferred_rx: Receiver<Deferred>,
    /// The logger thread is draining the queue; until then lines are written directly.
    draining: AtomicBool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

impl Logger {
    fn emit(&self, priority: libc::c_int, line: &[u8]) {
        match &self.queue {
            Some(q) if self.draining.load(Ordering::Acquire) => {
                q.push(priority, line);
            }
            _ => self.sink.write_line(priority, line),
        }
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Reopens the log file (SIGUSR2), so a rotated file is let go and a new one started at the
/// configured path.
pub fn reopen() {
    if let Some(Logger {
        sink: Sink::File { path, file },
        ..
    }) = LOGGER.get()
    {
        match open(path) {
            Ok(f) => {
                if let Ok(mut g) = file.lock() {
                    *g = f;
                }
            }
            Err(e) => tracing::error!("cannot reopen log file {}: {e}", path.display()),
        }
    }
}

/// Gives the log file to the user the process is about to become, so SIGUSR2 can still
/// reopen it in place (as dnsmasq does).
pub fn chown_log_file(uid: libc::uid_t, gid: libc::gid_t) {
    if let Some(Logger {
        sink: Sink::File { path, .. },
        ..
    }) = LOGGER.get()
        && let Err(e) = std::os::unix::fs::chown(path, Some(uid), Some(gid))
    {
        tracing::warn!("cannot give log file {} to uid {uid}: {e}", path.display());
    }
}

/// Lines dropped by `--log-async` because the queue was full.
pub fn dropped_lines() -> u64 {
    LOGGER
        .get()
        .and_then(|l| l.queue.as_ref())
        .map_or(0, LineQueue::dropped)
}

fn syslog_priority(level: &Level) -> libc::c_int {
    match *level {
        Level::ERROR => libc::LOG_ERR,
        Level::WARN => libc::LOG_WARNING,
        Level::INFO => libc::LOG_INFO,
        _ => libc::LOG_DEBUG,
    }
}

/// Receives one formatted event (tracing-subscriber formats each event into one buffer and
/// writes it with a single `write_all`).
struct LineWriter(libc::c_int);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(l) = LOGGER.get() {
            l.emit(self.0, buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Lines;

impl<'a> MakeWriter<'a> for Lines {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(libc::LOG_INFO)
    }
    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter(syslog_priority(meta.level()))
    }
}

/// Sets up logging. Lines are written directly until [`start`] starts the logger thread
/// (call it after daemonising and dropping privileges: a fork keeps no threads).
pub fn init(opts: &LogOptions) -> Result<(), LogError> {
    let sink = match &opts.target {
        LogTarget::Stderr => Sink::Stderr,
        LogTarget::File(p) => Sink::File {
            file: Mutex::new(open(p).map_err(|source| LogError::Open {
                path: p.clone(),
                source,
            })?),
            path: p.clone(),
        },
        LogTarget::Syslog(facility) => {
            // SAFETY: the identity is a static C string, as openlog(3) requires.
            unsafe { libc::openlog(c"ringmasq".as_ptr(), libc::LOG_PID, *facility) };
            Sink::Syslog
        }
    };
    let (deferred_tx, deferred_rx) = crossbeam_channel::bounded(DEFERRED_BATCHES);
    let logger = Logger {
        sink,
        queue: opts.async_lines.map(LineQueue::new),
        deferred_tx,
        deferred_rx,
        draining: AtomicBool::new(false),
    };
    LOGGER
        .set(logger)
        .map_err(|_| LogError::AlreadyInitialised)?;
    let level = if opts.debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGMASQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Lines)
        .with_target(false);
    let result = match opts.target {
        LogTarget::Stderr => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogTarget::File(_) => builder.with_ansi(false).try_init(),
        // syslog stamps the time and carries the level as the priority.
        LogTarget::Syslog(_) => builder
            .with_ansi(false)
            .without_time()
            .with_level(false)
            .try_init(),
    };
    result.map_err(|_| LogError::AlreadyInitialised)
}

/// Starts the logger thread when `--log-async` is on; a no-op otherwise.
pub fn start() -> Result<(), LogError> {
    let Some(logger) = LOGGER.get() else {
        return Ok(());
    };
    let Some(queue) = &logger.queue else {
        return Ok(());
    };
    std::thread::Builder::new()
        .name("ringmasq-log".into())
        .spawn(move || {
            let mut reported = 0;
            let mut last_report = Instant::now();
            loop {
                crossbeam_channel::select! {
                    recv(queue.full_rx) -> m => if let Ok((p, buf)) = m {
                        logger.sink.write_line(p, &buf);
                        let _ = queue.free_tx.try_send(buf);
                    },
                    // Its lines join the queue above, behind those already there.
                    recv(logger.deferred_rx) -> job => if let Ok(job) = job {
                        job();
                    },
                    default(Duration::from_secs(1)) => {}
                }
                let dropped = queue.dropped();
                // At most one report a second, so reports do not crowd out lines.
                if dropped > reported && last_report.elapsed() >= OVERFLOW_REPORT_EVERY {
                    last_report = Instant::now();
                    // Through the queue like any line (a buffer was just freed); if even
                    // this is dropped it is counted and reported next time.
                    let lost = dropped - reported;
                    reported = dropped;
                    tracing::warn!("overflow: {lost} log lines lost");
                }
            }
        })
        .map_err(LogError::Thread)?;
    logger.draining.store(true, Ordering::Release);
    Ok(())
}

/// Runs `job` (which logs through `tracing`) on the logger thread, so its formatting leaves
/// the caller's thread; in order with other deferred jobs. Runs it here when there is no logger
/// thread or too many batches already wait (never losing the lines).
pub fn defer(job: Deferred) {
    match LOGGER.get() {
        Some(l) if l.queue.is_some() && l.draining.load(Ordering::Acquire) => {
            if let Err(e) = l.deferred_tx.try_send(job) {
                (e.into_inner())();
            }
        }
        _ => job(),
    }
}

/// Waits (at most `limit`) until the logger thread has written every queued line; call
/// before exiting.
pub fn flush(limit: Duration) {
    let Some(l) = LOGGER.get() else {
        return;
    };
    let Some(q) = l.queue.as_ref() else {
        return;
    };
    let deadline = Instant::now() + limit;
    while !(q.is_idle() && l.deferred_rx.is_empty()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_by_name() {
        assert_eq!(facility("DAEMON"), Some(libc::LOG_DAEMON));
        assert_eq!(facility("local0"), Some(libc::LOG_LOCAL0));
        assert_eq!(facility("LOCAL7"), Some(libc::LOG_LOCAL7));
        assert_eq!(facility("daemons"), None);
    }

    #[test]
    fn targets_follow_dnsmasq() {
        let cfg = |f: Option<&str>| Config {
            log_facility: f.map(str::to_string),
            ..Config::default()
        };
        assert_eq!(
            LogTarget::from_config(&cfg(None), true).unwrap(),
            LogTarget::Syslog(libc::LOG_DAEMON)
        );
        assert_eq!(
            LogTarget::from_config(&cfg(None), false).unwrap(),
            LogTarget::Stderr
        );
        assert_eq!(
            LogTarget::from_config(&cfg(Some("-")), true).unwrap(),
            LogTarget::Stderr
        );
        assert_eq!(
            LogTarget::from_config(&cfg(Some("local3")), false).unwrap(),
            LogTarget::Syslog(libc::LOG_LOCAL3)
        );
        assert_eq!(
            LogTarget::from_config(&cfg(Some("./x.log")), true).unwrap(),
            LogTarget::File("./x.log".into())
        );
        assert!(LogTarget::from_config(&cfg(Some("nope")), true).is_err());
    }

    #[test]
    fn queue_drops_and_counts_when_full_and_reuses_buffers() {
        let q = LineQueue::new(3);
        assert!(q.is_idle());
        for i in 0..3 {
            assert!(q.push(libc::LOG_INFO, format!("line {i}\n").as_bytes()));
        }
        assert!(!q.push(libc::LOG_INFO, b"lost\n"));
        assert!(!q.push(libc::LOG_ERR, b"lost too\n"));
        assert_eq!(q.dropped(), 2);
        let mut got = Vec::new();
        while q.pop(Duration::from_millis(1), |p, l| got.push((p, l.to_vec()))) {}
        assert_eq!(
            got,
            (0..3)
                .map(|i| (libc::LOG_INFO, format!("line {i}\n").into_bytes()))
                .collect::<Vec<_>>()
        );
        assert!(q.is_idle());
        assert!(q.push(libc::LOG_WARNING, b"again\n"));
        assert!(!q.is_idle());
        assert_eq!(q.dropped(), 2);
    }
}
