//! One load run across generator threads (each with its own sockets and ring), the live
//! progress line, and the open-loop sweep that finds the knee.

use crate::affinity::pin_current_thread;
use crate::driver::{Plan, drive};
use crate::flight::{Flight, MAX_SLOTS_PER_SOCKET};
use crate::mmsg::MmsgTransport;
use crate::stats::{Progress, Stats};
use crate::tcp::TcpTransport;
use crate::transport::Transport;
use crate::uring::{UringSetupError, UringTransport};
use crate::workload::{QuerySource, Workload};
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Which socket backend a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// io_uring, falling back to recvmmsg/sendmmsg if the kernel refuses it.
    Auto,
    /// io_uring only.
    Uring,
    /// recvmmsg/sendmmsg only.
    Mmsg,
    /// TCP with length framing and pipelining.
    Tcp,
}

/// Largest in-flight table a thread may preallocate in open loop.
const MAX_OPEN_SLOTS: usize = 262_144;

/// Everything one run needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Server address.
    pub server: SocketAddr,
    /// Socket backend.
    pub backend: Backend,
    /// Query stream.
    pub workload: Workload,
    /// Generator threads.
    pub threads: usize,
    /// In-flight cap summed over threads (closed loop window; open loop table size).
    pub max_outstanding: Option<usize>,
    /// Open-loop rate summed over threads, queries per second.
    pub rate: Option<f64>,
    /// Total queries to issue.
    pub count: Option<u64>,
    /// How long to issue queries.
    pub duration: Duration,
    /// Per-query timeout.
    pub timeout: Duration,
    /// CPUs to pin thread i to (`cpus[i % len]`); empty means unpinned.
    pub cpus: Vec<usize>,
    /// Sockets (or TCP connections) per thread, at least.
    pub sockets: usize,
    /// Closed loop on io_uring: wait briefly for batches of answers (fewer wake-ups).
    pub batch_wait: bool,
    /// io_uring: equal-size datagrams to one socket leave as one segmented send (UDP GSO).
    pub gso: bool,
}

/// Result of a run: merged counters and the backend that actually ran.
#[derive(Debug)]
pub struct RunResult {
    /// Counters merged over threads.
    pub stats: Stats,
    /// `io_uring`, `mmsg` or `tcp`.
    pub backend: &'static str,
}

static FALLBACK_NOTED: AtomicBool = AtomicBool::new(false);

fn open_transport(cfg: &RunConfig, sockets: usize, in_flight: usize) -> Result<Box<dyn Transport>> {
    let per = in_flight.div_ceil(sockets).max(1);
    Ok(match cfg.backend {
        Backend::Tcp => {
            Box::new(TcpTransport::new(cfg.server, sockets, per).context("TCP connect")?)
        }
        Backend::Mmsg => Box::new(MmsgTransport::new(cfg.server, sockets)?),
        Backend::Uring => Box::new(UringTransport::new(
            cfg.server,
            sockets,
            in_flight,
            cfg.batch_wait,
            cfg.gso,
        )?),
        Backend::Auto => match uring_or_simulated_failure(cfg, sockets, in_flight) {
            Ok(t) => Box::new(t),
            Err(UringSetupError::Unavailable(e)) => {
                if !FALLBACK_NOTED.swap(true, Ordering::Relaxed) {
                    eprintln!("ringmasq-load: io_uring unavailable ({e}); using recvmmsg/sendmmsg");
                }
                Box::new(MmsgTransport::new(cfg.server, sockets)?)
            }
            Err(UringSetupError::Io(e)) => return Err(e.into()),
        },
    })
}

/// Set to make `auto` behave as if io_uring were refused (ENOSYS), to exercise the
/// fallback where the kernel allows io_uring.
pub const NO_URING_ENV: &str = "RINGMASQ_LOAD_NO_URING";

fn uring_or_simulated_failure(
    cfg: &RunConfig,
    sockets: usize,
    in_flight: usize,
) -> Result<UringTransport, UringSetupError> {
    if std::env::var_os(NO_URING_ENV).is_some() {
        return Err(UringSetupError::Unavailable(
            std::io::Error::from_raw_os_error(libc::ENOSYS),
        ));
    }
    UringTransport::new(cfg.server, sockets, in_flight, cfg.batch_wait, cfg.gso)
}

fn split(total: u64, parts: usize, i: usize) -> u64 {
    let p = parts as u64;
    total / p + u64::from((i as u64) < total % p)
}

/// Runs the configured load and returns the merged result. Prints a progress line to
/// stderr once per second when stderr is a terminal and `progress` is set.
pub fn run(cfg: &RunConfig, progress: bool) -> Result<RunResult> {
    let threads = cfg.threads.max(1);
    let rate_t = cfg.rate.map(|r| r / threads as f64);
    let timeout_s = cfg.timeout.as_secs_f64();
    let per_thread_cap = match (cfg.max_outstanding, rate_t) {
        (Some(m), _) => m.div_ceil(threads),
        (None, Some(r)) => ((r * timeout_s * 1.2) as usize).clamp(100, MAX_OPEN_SLOTS),
        (None, None) => 100usize.div_ceil(threads),
    };
    let progresses: Vec<Arc<Progress>> = (0..threads)
        .map(|_| Arc::new(Progress::default()))
        .collect();
    let barrier = Arc::new(Barrier::new(threads + 1));
    let mut handles = Vec::new();
    for (i, prog) in progresses.iter().enumerate() {
        let cfg = cfg.clone();
        let prog = prog.clone();
        let barrier = barrier.clone();
        let plan = Plan {
            rate: rate_t,
            count: cfg.count.map(|c| split(c, threads, i)),
            duration_ns: cfg.duration.as_nanos() as u64,
            timeout_ns: cfg.timeout.as_nanos() as u64,
        };
        handles.push(
            std::thread::Builder::new()
                .name(format!("load-{i}"))
                .spawn(move || {
                    let setup = (|| -> Result<_> {
                        if !cfg.cpus.is_empty() {
                            let cpu = cfg.cpus[i % cfg.cpus.len()];
                            pin_current_thread(cpu).with_context(|| format!("pin to CPU {cpu}"))?;
                        }
                        let flight = Flight::new(per_thread_cap, cfg.sockets.max(1));
                        debug_assert!(
                            per_thread_cap.div_ceil(flight.sockets()) <= MAX_SLOTS_PER_SOCKET
                        );
                        let t = open_transport(&cfg, flight.sockets(), per_thread_cap)?;
                        let src = QuerySource::new(cfg.workload.clone(), i, threads);
                        Ok((flight, t, src))
                    })();
                    barrier.wait();
                    let (mut flight, mut t, mut src) = setup?;
                    let epoch = Instant::now();
                    let stats = drive(t.as_mut(), &mut flight, &mut src, &plan, epoch, &prog)?;
                    Ok::<_, anyhow::Error>((stats, t.name()))
                })?,
        );
    }
    barrier.wait();
    let start = Instant::now();
    let tty = progress && std::io::stderr().is_terminal();
    let mut next_tick = start + Duration::from_secs(1);
    let mut printed = false;
    while !handles.iter().all(|h| h.is_finished()) {
        std::thread::sleep(Duration::from_millis(20));
        if tty && Instant::now() >= next_tick {
            next_tick += Duration::from_secs(1);
            let (mut s, mut a, mut t) = (0, 0, 0);
            for p in &progresses {
                s += p.sent.load(Ordering::Relaxed);
                a += p.answered.load(Ordering::Relaxed);
                t += p.timeouts.load(Ordering::Relaxed);
            }
            let el = start.elapsed().as_secs_f64();
            eprint!(
                "\r[{el:6.1}s] sent {s:>11} answered {a:>11} ({:>10.0}/s) timeouts {t:>8}",
                a as f64 / el
            );
            let _ = std::io::stderr().flush();
            printed = true;
        }
    }
    if printed {
        eprintln!();
    }
    let mut total = Stats::new();
    let mut backend = "";
    for h in handles {
        let (s, name) = h
            .join()
            .map_err(|_| anyhow::anyhow!("generator thread panicked"))??;
        total.merge(&s);
        backend = name;
    }
    Ok(RunResult {
        stats: total,
        backend,
    })
}

/// Sweep parameters: open-loop rates `start * factor^k` for `k < steps`.
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// First rate, queries per second.
    pub start: f64,
    /// Multiplier between steps (> 1).
    pub factor: f64,
    /// Most steps to run.
    pub steps: usize,
    /// Length of each step.
    pub step: Duration,
    /// Largest acceptable loss fraction.
    pub max_loss: f64,
    /// Largest acceptable p99 latency, microseconds.
    pub max_p99_us: u64,
}

/// One measured step of a sweep.
#[derive(Debug)]
pub struct SweepStep {
    /// Offered rate.
    pub rate: f64,
    /// What was measured.
    pub stats: Stats,
    /// Whether loss and p99 stayed within limits.
    pub ok: bool,
}

/// Raises the open-loop rate step by step until loss or p99 exceeds its limit (or the
/// steps run out). The knee is the last rate that passed.
pub fn sweep(base: &RunConfig, sw: &SweepConfig) -> Result<(Vec<SweepStep>, Option<f64>)> {
    let mut steps = Vec::new();
    let mut knee = None;
    let mut rate = sw.start;
    for _ in 0..sw.steps {
        let cfg = RunConfig {
            rate: Some(rate),
            count: None,
            duration: sw.step,
            ..base.clone()
        };
        let r = run(&cfg, false)?;
        let ok = r.stats.loss() <= sw.max_loss && r.stats.percentile_us(0.99) <= sw.max_p99_us;
        eprintln!(
            "sweep: offered {:>10.0}/s answered {:>10.0}/s loss {:>6.2}% p99 {:>7} us {}",
            rate,
            r.stats.qps(),
            r.stats.loss() * 100.0,
            r.stats.percentile_us(0.99),
            if ok { "ok" } else { "LIMIT" }
        );
        steps.push(SweepStep {
            rate,
            stats: r.stats,
            ok,
        });
        if !ok {
            break;
        }
        knee = Some(rate);
        rate *= sw.factor;
    }
    Ok((steps, knee))
}
