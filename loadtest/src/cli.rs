//! Command line of `ringmasq-load` (clap derive) and its translation into a run.

use crate::affinity::parse_cpu_list;
use crate::name::{MAX_NAME_WIRE, encode_name};
use crate::querylist::QueryList;
use crate::run::{Backend, RunConfig, SweepConfig};
use crate::workload::{MAX_SUFFIX_WIRE, Workload};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Hard cap on a run's length when neither `--duration` nor `--count` bounds it.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(60);

/// `ringmasq-load`: DNS and DHCPv4 load generator.
#[derive(Debug, Parser)]
#[command(
    name = "ringmasq-load",
    version,
    about = "DNS and DHCPv4 load generator"
)]
pub struct Cli {
    /// What to load.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send DNS queries and measure answers, latency and loss.
    Dns(DnsArgs),
    /// Simulate DHCPv4 clients (DORA, renew, release) and measure rate, drops and latency.
    Dhcp(crate::dhcp::cli::DhcpArgs),
    /// Boot simulated PXE machines: DORA with options 60/93, then TFTP of boot file and image.
    Pxe(crate::pxe::PxeArgs),
}

/// Socket backend selection.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// io_uring, falling back to recvmmsg/sendmmsg.
    Auto,
    /// io_uring only.
    Uring,
    /// recvmmsg/sendmmsg only.
    Mmsg,
}

/// Options of `ringmasq-load dns`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    /// Server to query, ADDR:PORT.
    #[arg(long, short = 's')]
    pub server: SocketAddr,
    /// Use TCP (RFC 7766 length framing, pipelined) instead of UDP.
    #[arg(long)]
    pub tcp: bool,
    /// Query file in dnsperf format (`name TYPE` per line).
    #[arg(long, short = 'd', conflicts_with_all = ["names", "unique"])]
    pub queries: Option<std::path::PathBuf>,
    /// Cycle n1.SUFFIX .. nN.SUFFIX, type A (cache hits).
    #[arg(long, requires = "suffix")]
    pub names: Option<u64>,
    /// Zone for --names.
    #[arg(long)]
    pub suffix: Option<String>,
    /// Random never-seen names under this zone (cache misses).
    #[arg(long)]
    pub unique: Option<String>,
    /// With --names and --unique: fraction of queries that are hits.
    #[arg(long)]
    pub hit_ratio: Option<f64>,
    /// How long to send, e.g. 5s, 500ms, 2m.
    #[arg(long, short = 'l', value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Total queries to send.
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Closed loop: queries in flight (summed over threads). Open loop: in-flight cap.
    #[arg(long, short = 'q')]
    pub max_outstanding: Option<usize>,
    /// Open loop: queries per second (summed over threads).
    #[arg(long, short = 'Q')]
    pub rate: Option<f64>,
    /// Generator threads, each with its own sockets and ring.
    #[arg(long, short = 'T', default_value_t = 1)]
    pub threads: usize,
    /// Sockets per thread (at least; more are opened when the window needs more IDs).
    #[arg(long, default_value_t = 1)]
    pub sockets: usize,
    /// Per-query timeout.
    #[arg(long, short = 't', default_value = "2s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Pin generator thread i to CPU LIST[i % len], e.g. `1` or `2-3`.
    #[arg(long)]
    pub cpu: Option<String>,
    /// Socket backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// io_uring closed loop: do not wait (up to 20 us) for batches of answers.
    #[arg(long)]
    pub no_batch_wait: bool,
    /// io_uring: send each datagram on its own, not equal-size runs to one socket as one
    /// segmented send (UDP GSO; the receiver still sees separate datagrams).
    #[arg(long)]
    pub no_gso: bool,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Raise the open-loop rate step by step until loss > --sweep-loss or p99 > --sweep-p99.
    #[arg(long)]
    pub sweep: bool,
    /// Sweep: first rate (default: --rate or 1000).
    #[arg(long)]
    pub sweep_start: Option<f64>,
    /// Sweep: rate multiplier per step.
    #[arg(long, default_value_t = 1.5)]
    pub sweep_factor: f64,
    /// Sweep: most steps (max 40).
    #[arg(long, default_value_t = 12)]
    pub sweep_steps: usize,
    /// Sweep: loss limit in percent.
    #[arg(long, default_value_t = 1.0)]
    pub sweep_loss: f64,
    /// Sweep: p99 limit.
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    pub sweep_p99: Duration,
}

/// Parses `5s`, `500ms`, `100us`, `2m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().map_err(|_| format!("bad duration `{s}`"))?;
    let secs = match unit {
        "" | "s" => v,
        "ms" => v / 1e3,
        "us" => v / 1e6,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("bad duration unit in `{s}`")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("bad duration `{s}`"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn wire(name: &str) -> Result<Vec<u8>> {
    let mut b = [0u8; MAX_NAME_WIRE];
    let n = encode_name(name, &mut b).with_context(|| format!("name `{name}`"))?;
    if n > MAX_SUFFIX_WIRE {
        bail!("zone `{name}` too long to prefix with a label");
    }
    Ok(b[..n].to_vec())
}

impl DnsArgs {
    /// The query stream these options describe.
    pub fn workload(&self) -> Result<Workload> {
        if let Some(path) = &self.queries {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read {}", path.display()))?;
            let list = QueryList::parse(&text).with_context(|| path.display().to_string())?;
            return Ok(Workload::File(Arc::new(list)));
        }
        let ratio = self.hit_ratio;
        if ratio.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            bail!("--hit-ratio must be within 0..=1");
        }
        match (&self.names, &self.suffix, &self.unique) {
            (Some(n), Some(z), Some(u)) => Ok(Workload::Mix {
                count: (*n).max(1),
                hit_suffix: wire(z)?,
                miss_suffix: wire(u)?,
                hit_ratio: ratio.unwrap_or(0.9),
            }),
            (Some(n), Some(z), None) => {
                if ratio.is_some() {
                    bail!("--hit-ratio needs both --names and --unique");
                }
                Ok(Workload::Names {
                    count: (*n).max(1),
                    suffix: wire(z)?,
                })
            }
            (None, _, Some(u)) => Ok(Workload::Unique { suffix: wire(u)? }),
            _ => bail!(
                "give --queries FILE, --names N --suffix ZONE, --unique ZONE, or both for a mix"
            ),
        }
    }

    /// The run these options describe (duration capped when unbounded).
    pub fn run_config(&self) -> Result<RunConfig> {
        if self.threads == 0 || self.threads > 256 {
            bail!("--threads must be within 1..=256");
        }
        if self.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            bail!("--rate must be positive");
        }
        let duration = match (self.duration, self.count) {
            (Some(d), _) => d.min(Duration::from_secs(24 * 3600)),
            (None, Some(_)) => Duration::from_secs(24 * 3600),
            (None, None) => DEFAULT_MAX_DURATION,
        };
        let cpus = match &self.cpu {
            Some(l) => parse_cpu_list(l).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        let backend = match (self.tcp, self.backend) {
            (true, _) => Backend::Tcp,
            (false, BackendArg::Auto) => Backend::Auto,
            (false, BackendArg::Uring) => Backend::Uring,
            (false, BackendArg::Mmsg) => Backend::Mmsg,
        };
        Ok(RunConfig {
            server: self.server,
            backend,
            workload: self.workload()?,
            threads: self.threads,
            max_outstanding: self.max_outstanding,
            rate: self.rate,
            count: self.count,
            duration,
            timeout: self.timeout,
            cpus,
            sockets: self.sockets.max(1),
            batch_wait: !self.no_batch_wait,
            gso: !self.no_gso,
        })
    }

    /// Sweep parameters from these options.
    pub fn sweep_config(&self) -> Result<SweepConfig> {
        if self.sweep_factor <= 1.0 {
            bail!("--sweep-factor must be > 1");
        }
        Ok(SweepConfig {
            start: self.sweep_start.or(self.rate).unwrap_or(1000.0),
            factor: self.sweep_factor,
            steps: self.sweep_steps.clamp(1, 40),
            step: self
                .duration
                .unwrap_or(Duration::from_secs(2))
                .min(Duration::from_secs(30)),
            max_loss: self.sweep_loss / 100.0,
            max_p99_us: self.sweep_p99.as_micros() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn example_command_line_parses() {
        let cli = Cli::try_parse_from([
            "ringmasq-load",
            "dns",
            "--server",
            "127.0.0.1:5353",
            "--names",
            "1000",
            "--suffix",
            "lab.test",
            "--duration",
            "5s",
            "--max-outstanding",
            "256",
            "--threads",
            "1",
            "--json",
        ])
        .unwrap();
        let Command::Dns(a) = cli.command else {
            panic!("dns subcommand")
        };
        let rc = a.run_config().unwrap();
        assert_eq!(rc.duration, Duration::from_secs(5));
        assert_eq!(rc.max_outstanding, Some(256));
        assert!(matches!(rc.workload, Workload::Names { count: 1000, .. }));
    }

    #[test]
    fn unbounded_run_is_capped() {
        let cli = Cli::try_parse_from([
            "ringmasq-load",
            "dns",
            "-s",
            "127.0.0.1:53",
            "--unique",
            "x.test",
        ])
        .unwrap();
        let Command::Dns(a) = cli.command else {
            panic!("dns subcommand")
        };
        assert_eq!(a.run_config().unwrap().duration, DEFAULT_MAX_DURATION);
    }
}
