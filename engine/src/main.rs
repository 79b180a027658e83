//! `ringmasq`: dnsmasq's command line and configuration, on per-core io_uring workers.

#[cfg(feature = "alloc-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ringmasq_engine::logging::{self, LogTarget};
use ringmasq_engine::{process, runtime};
use std::process::ExitCode;

/// dnsmasq's default pid file path, under our name.
const DEFAULT_PID_FILE: &str = "/run/ringmasq.pid";

fn main() -> ExitCode {
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
    // Options the configuration accepts but the engine cannot honour yet are refused, never ignored.
    let unsupported: Vec<String> = cfg
        .servers
        .iter()
        .filter(|r| {
            matches!(&r.action, ringmasq_config::ServerAction::Forward(u)
                if u.interface.is_some() || u.source.is_some())
        })
        .map(|r| format!("server={r} ({})", r.origin))
        .collect();
    if !unsupported.is_empty() {
        eprintln!(
            "ringmasq: sending to an upstream through a chosen interface or source address (@IF, @SRC) is not implemented yet: {}",
            unsupported.join("; ")
        );
        return ExitCode::from(1);
    }
    if cfg.test_only {
        println!("ringmasq: syntax check OK.");
        return ExitCode::SUCCESS;
    }
    let daemon = !cfg.keep_in_foreground && !cfg.no_daemon;
    let target = match cfg.log_facility.as_deref() {
        Some("-") | Some("stderr") => LogTarget::Stderr,
        Some(p) if p.starts_with('/') => LogTarget::File(p.into()),
        // A facility name: syslog (the facility itself is dnsmasq's default, daemon).
        Some(_) => LogTarget::Syslog,
        None if cfg.no_daemon || !daemon => LogTarget::Stderr,
        None => LogTarget::Syslog,
    };
    if let Err(e) = logging::init(&target, false) {
        eprintln!("ringmasq: {e:#}");
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
    // The pid file is written when daemonising (default path) or when -x names one.
    let pid_path = cfg
        .pid_file
        .clone()
        .or_else(|| daemon.then(|| DEFAULT_PID_FILE.into()));
    let _pid = match pid_path.as_deref().filter(|p| !p.as_os_str().is_empty()) {
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
    tracing::info!("ringmasq {} starting", ringmasq_config::VERSION);
    match runtime::run(cfg, bound) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("ringmasq: {e:#}");
            ExitCode::from(1)
        }
    }
}
