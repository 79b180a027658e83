//! Log output: stderr, a file that SIGUSR2 reopens (for logrotate), or syslog.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;

/// Where the log goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard error.
    Stderr,
    /// A file, appended to.
    File(PathBuf),
    /// syslog, with dnsmasq's default facility (daemon).
    Syslog,
}

static LOG_FILE: OnceLock<(PathBuf, Mutex<File>)> = OnceLock::new();

fn open(path: &PathBuf) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Reopens the log file (SIGUSR2), so a rotated file is let go.
pub fn reopen() {
    if let Some((path, file)) = LOG_FILE.get() {
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

struct FileWriter;

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match LOG_FILE.get() {
            Some((_, f)) => f.lock().map_or(Ok(buf.len()), |mut g| g.write(buf)),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct SyslogWriter(Vec<u8>);

impl Write for SyslogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let line = text.trim_end().replace('\0', "");
        if let Ok(c) = std::ffi::CString::new(line) {
            // SAFETY: "%s" with one valid NUL-terminated string argument.
            unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), c.as_ptr()) };
        }
    }
}

#[derive(Clone, Copy)]
struct Writers(bool);

impl<'a> MakeWriter<'a> for Writers {
    type Writer = Box<dyn Write + 'a>;
    fn make_writer(&'a self) -> Self::Writer {
        if self.0 {
            Box::new(SyslogWriter(Vec::with_capacity(128)))
        } else {
            Box::new(FileWriter)
        }
    }
}

/// Sets up logging. `debug` turns on debug-level messages (`--log-debug`).
pub fn init(target: &LogTarget, debug: bool) -> anyhow::Result<()> {
    let level = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RINGMASQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    match target {
        LogTarget::Stderr => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_target(false)
            .init(),
        LogTarget::File(p) => {
            let f = open(p)
                .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", p.display()))?;
            let _ = LOG_FILE.set((p.clone(), Mutex::new(f)));
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(Writers(false))
                .with_ansi(false)
                .with_target(false)
                .init()
        }
        LogTarget::Syslog => {
            // SAFETY: the identity is a static C string; LOG_DAEMON is dnsmasq's default facility.
            unsafe { libc::openlog(c"ringmasq".as_ptr(), libc::LOG_PID, libc::LOG_DAEMON) };
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(Writers(true))
                .with_ansi(false)
                .with_target(false)
                .without_time()
                .with_level(false)
                .init()
        }
    }
    Ok(())
}
