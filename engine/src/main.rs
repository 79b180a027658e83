//! `ringmasq`: dnsmasq's command line and configuration, on per-core io_uring workers.

#[cfg(feature = "alloc-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ringmasq_engine::logging::{self, LogOptions};
use ringmasq_engine::process::{self, Identity};
use ringmasq_engine::runtime;
use std::process::ExitCode;
use std::time::Duration;

/// dnsmasq's default pid file path, under our name.
const DEFAULT_PID_FILE: &str = "/run/ringmasq.pid";

/// How long queued log lines may take to be written at exit.
const LOG_FLUSH_LIMIT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    // Before any thread starts: see engine/src/signals.rs.
    ringmasq_engine::signals::block_control_signals();
    let code = serve();
    logging::flush(LOG_FLUSH_LIMIT);
    code
}

fn serve() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let cfg = match ringmasq_config::load(&args) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors.errors() {
                eprintln!("ringmasq: {e}");
            }
            return ExitCode::from(1);
        }
    };
    if cfg.show_help {
        print!("{}", ringmasq_config::help_text());
        return ExitCode::SUCCESS;
    }
    if cfg.show_version {
        println!("ringmasq version {}", ringmasq_config::VERSION);
        return ExitCode::SUCCESS;
    }
    // Every remaining problem is reported at once, so --test shows them all.
    let mut problems: Vec<String> = Vec::new();
    if cfg.dnssec.enabled && cfg.dnssec.trust_anchors.is_empty() {
        problems.push(
            "--dnssec needs at least one --trust-anchor (contrib/trust-anchors.conf holds the root's)"
                .to_string(),
        );
    }
    let identity = Identity::resolve(cfg.user.as_deref(), cfg.group.as_deref())
        .map_err(|e| problems.push(e.to_string()))
        .ok()
        .flatten();
    let daemon = !cfg.keep_in_foreground && !cfg.no_daemon;
    let log_options = LogOptions::from_config(&cfg, daemon)
        .map_err(|e| problems.push(e.to_string()))
        .ok();
    let Some(log_options) = log_options.filter(|_| problems.is_empty()) else {
        for p in &problems {
            eprintln!("ringmasq: {p}");
        }
        return ExitCode::from(1);
    };
    if cfg.test_only {
        println!("ringmasq: syntax check OK.");
        return ExitCode::SUCCESS;
    }
    if let Err(e) = logging::init(&log_options) {
        eprintln!("ringmasq: {e}");
        return ExitCode::from(2);
    }
    // Bind everything first, so a port in use is reported before we detach.
    let bound = match runtime::bind(&cfg) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("ringmasq: failed to create listening socket: {e:#}");
            tracing::error!("failed to create listening socket: {e:#}");
            return ExitCode::from(2);
        }
    };
    if daemon && let Err(e) = process::daemonize() {
        eprintln!("ringmasq: {e:#}");
        return ExitCode::from(5);
    }
    // The pid file is written when daemonising (default path) or when -x names one; never in
    // debug mode (-d), as dnsmasq.
    let pid_path = cfg
        .pid_file
        .clone()
        .or_else(|| daemon.then(|| DEFAULT_PID_FILE.into()))
        .filter(|p| !p.as_os_str().is_empty() && !cfg.no_daemon);
    let pid = match pid_path.as_deref() {
        Some(p) => match process::PidFile::create(p) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::error!("{e:#}");
                eprintln!("ringmasq: {e:#}");
                return ExitCode::from(3);
            }
        },
        None => None,
    };
    // Privileges go after every socket is bound and the pid file written, before any thread
    // starts; debug mode (-d) keeps them, as dnsmasq.
    match identity {
        Some(id) if cfg.no_daemon => {
            tracing::info!(
                "debug mode (-d): keeping user and group (not changing to uid {:?}, gid {})",
                id.uid,
                id.gid
            );
        }
        Some(id) => {
            let becomes_unprivileged = id.uid.is_some_and(|u| u != 0);
            if becomes_unprivileged
                && let Some(p) = &pid
                && let Err(e) = p.remove_at_exit_with_helper()
            {
                tracing::warn!(
                    "pid file {} will not be removed at exit: {e:#}",
                    p.path().display()
                );
            }
            if let Some(uid) = id.uid {
                logging::chown_log_file(uid, id.gid);
                if let Err(e) = ringmasq_engine::dhcp::prepare_lease_files(&cfg, uid, id.gid) {
                    tracing::warn!("DHCP lease file for uid {uid}: {e}");
                }
            }
            match process::drop_privileges(&id) {
                Ok(true) => tracing::info!(
                    "running as uid {}, gid {}",
                    // SAFETY: getuid/getgid only read this process's credentials.
                    unsafe { libc::getuid() },
                    unsafe { libc::getgid() }
                ),
                Ok(false) => tracing::warn!("not running as root: user and group left unchanged"),
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("ringmasq: {e}");
                    return ExitCode::from(4);
                }
            }
        }
        None => {}
    }
    let _pid = pid;
    if let Err(e) = logging::start() {
        eprintln!("ringmasq: {e}");
        return ExitCode::from(2);
    }
    tracing::info!("ringmasq {} starting", ringmasq_config::VERSION);
    tracing::debug!(
        "configuration files read: {}",
        if cfg.conf_files_read.is_empty() {
            "none".to_string()
        } else {
            cfg.conf_files_read
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    match runtime::run(cfg, bound) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ringmasq: {e:#}");
            ExitCode::from(1)
        }
    }
}
