//! dnsmasq 2.90 itself, started like ringmasq, for differential tests.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::client::DnsClient;
use crate::error::{HarnessError, Result};
use crate::port::{LOCALHOST, free_port};
use crate::process::ChildGuard;
use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// A running dnsmasq on a free loopback port; killed by PID on drop.
pub struct Dnsmasq {
    guard: ChildGuard,
    /// Where it answers DNS.
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Dnsmasq {
    /// Starts dnsmasq forwarding to `upstream` (`ADDR#PORT`) with `--no-resolv --no-hosts`
    /// plus `extra`, and waits until it answers `probe`. A start that fails (a port taken by a
    /// parallel test between choosing and binding it, a slow machine) is retried on another
    /// port, three times at most.
    pub fn start(upstream: &str, extra: &[String], probe: (&str, RecordType)) -> Result<Self> {
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(upstream, extra, probe) {
                Ok(d) => return Ok(d),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("three attempts were made"))
    }

    fn try_start(upstream: &str, extra: &[String], probe: (&str, RecordType)) -> Result<Self> {
        let dir = TempDir::new("dnsmasq")?;
        let port = free_port()?;
        let mut cmd = Command::new("dnsmasq");
        cmd.args([
            "-k".to_string(),
            format!("--port={port}"),
            format!("--listen-address={LOCALHOST}"),
            "--bind-interfaces".into(),
            "--no-resolv".into(),
            format!("--server={upstream}"),
            "--no-hosts".into(),
            "--pid-file=".into(),
            "-8".into(),
            dir.join("dnsmasq.log").display().to_string(),
        ]);
        cmd.args(extra);
        let mut guard = ChildGuard::spawn("dnsmasq", cmd, &dir.join("output.txt"))?;
        let addr = SocketAddr::from((LOCALHOST, port));
        let client = DnsClient::new(addr).timeout(Duration::from_millis(200));
        let answered: Option<bool> = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            200,
            || {
                if guard.check_running().is_err() {
                    return Some(false);
                }
                client.query(probe.0, probe.1).ok().map(|_| true)
            },
        );
        match answered {
            Some(true) => Ok(Self {
                guard,
                addr,
                _dir: dir,
            }),
            _ => Err(HarnessError::NotReady {
                what: format!("dnsmasq on port {port} (probe {} {:?})", probe.0, probe.1),
                waited: Duration::from_secs(10),
                log: crate::process::tail(guard.output_path(), 10),
            }),
        }
    }

    /// Sends `signal` to the dnsmasq process.
    pub fn signal(&self, signal: i32) -> Result<()> {
        self.guard.signal(signal)
    }
}
