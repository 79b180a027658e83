//! A real authoritative upstream: `knotd` with a generated config in its own temp dir.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use crate::client::DnsClient;
use crate::error::{HarnessError, Result};
use crate::port::{LOCALHOST, free_port};
use crate::process::{ChildGuard, tail};
use crate::tempdir::TempDir;
use crate::wait::poll_until;
use crate::zone;

/// Builder for a [`Knot`] instance.
#[derive(Debug, Clone)]
pub struct KnotBuilder {
    ip: Ipv4Addr,
    port: Option<u16>,
    zones: Vec<(String, String)>,
    /// Zones answered only to queries from one source address (knot's mod-queryacl).
    acl: Vec<(String, Ipv4Addr)>,
}

impl Default for KnotBuilder {
    fn default() -> Self {
        Self {
            ip: LOCALHOST,
            port: None,
            zones: Vec::new(),
            acl: Vec::new(),
        }
    }
}

impl KnotBuilder {
    /// Listen on `ip` (default 127.0.0.1).
    pub fn ip(mut self, ip: Ipv4Addr) -> Self {
        self.ip = ip;
        self
    }

    /// Listen on `port` (default: a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Serve zone `origin` (e.g. `"lab.test."`) with the given zone file text.
    pub fn zone(mut self, origin: &str, text: String) -> Self {
        self.zones.push((origin.to_string(), text));
        self
    }

    /// Answer queries for zone `origin` only when they come from `source`; others get REFUSED
    /// (knot's mod-queryacl). Shows which source address a forwarder used.
    pub fn only_from(mut self, origin: &str, source: Ipv4Addr) -> Self {
        self.acl.push((origin.to_string(), source));
        self
    }

    /// Writes the config and zone files, starts knotd and waits until it answers. When the
    /// port was chosen by the harness and knot does not come up (e.g. the port was taken in the
    /// meantime), it is retried once on a new port.
    pub fn start(self) -> Result<Knot> {
        match self.start_once() {
            Err(HarnessError::NotReady { .. } | HarnessError::Exited { .. })
                if self.port.is_none() =>
            {
                self.start_once()
            }
            other => other,
        }
    }

    fn start_once(&self) -> Result<Knot> {
        let dir = TempDir::new("knot")?;
        let port = match self.port {
            Some(p) => p,
            None => free_port()?,
        };
        let addr = SocketAddr::from((self.ip, port));
        let d = dir.path().display().to_string();
        let mut conf = format!(
            "server:\n    rundir: \"{d}\"\n    listen: {ip}@{port}\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
             control:\n    listen: \"{d}/knot.sock\"\n\
             database:\n    storage: \"{d}\"\n\
             log:\n  - target: stderr\n    any: info\n\
             mod-stats:\n  - id: counters\n    request-protocol: on\n    query-type: on\n    response-code: on\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    global-module: mod-stats/counters\n",
            ip = self.ip
        );
        if !self.acl.is_empty() {
            conf.push_str("mod-queryacl:\n");
            for (i, (_, source)) in self.acl.iter().enumerate() {
                conf.push_str(&format!("  - id: acl{i}\n    address: {source}\n"));
            }
        }
        conf.push_str("zone:\n");
        for (origin, text) in &self.zones {
            let file = format!("{}zone", origin);
            std::fs::write(dir.join(&file), text)
                .map_err(|e| HarnessError::io(format!("write zone {file}"), e))?;
            conf.push_str(&format!("  - domain: {origin}\n    file: \"{file}\"\n"));
            if let Some(i) = self.acl.iter().position(|(o, _)| o == origin) {
                conf.push_str(&format!("    module: mod-queryacl/acl{i}\n"));
            }
        }
        let conf_path = dir.join("knot.conf");
        std::fs::write(&conf_path, conf).map_err(|e| HarnessError::io("write knot.conf", e))?;
        let mut cmd = Command::new("knotd");
        cmd.arg("-c").arg(&conf_path);
        let log = dir.join("knotd.log");
        let guard = ChildGuard::spawn("knotd", cmd, &log)?;
        let mut knot = Knot {
            guard,
            addr,
            conf_path,
            first_zone: self.zones.first().map(|z| z.0.clone()).unwrap_or_default(),
            dir,
        };
        knot.wait_ready()?;
        Ok(knot)
    }
}

/// A running knotd, killed by PID on drop.
#[derive(Debug)]
pub struct Knot {
    guard: ChildGuard,
    addr: SocketAddr,
    conf_path: PathBuf,
    first_zone: String,
    // Dropped last: the guard above kills knotd before its directory is removed.
    dir: TempDir,
}

impl Knot {
    /// Starts building a knot instance.
    pub fn builder() -> KnotBuilder {
        KnotBuilder::default()
    }

    /// The standard upstream: `lab.test.`, `other.test.` and `routed.test.` (main version) on
    /// 127.0.0.1 at a free port.
    pub fn start_lab() -> Result<Knot> {
        Self::builder()
            .zone(zone::LAB, zone::lab_zone())
            .zone(zone::OTHER, zone::other_zone())
            .zone(zone::ROUTED, zone::routed_zone(zone::ROUTED_MAIN_ADDR))
            .start()
    }

    /// The second upstream for domain routing: only `routed.test.` (second version).
    pub fn start_routed() -> Result<Knot> {
        Self::builder()
            .zone(zone::ROUTED, zone::routed_zone(zone::ROUTED_SECOND_ADDR))
            .start()
    }

    /// Where knot listens (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ADDR#PORT`, the form `--server=` takes.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// A client that queries knot directly (the oracle for answer comparisons).
    pub fn client(&self) -> DnsClient {
        DnsClient::new(self.addr)
    }

    /// knotd's own output so far.
    pub fn log(&self) -> String {
        tail(self.guard.output_path(), 200)
    }

    /// The directory knot runs in.
    pub fn dir(&self) -> &TempDir {
        &self.dir
    }

    fn wait_ready(&mut self) -> Result<()> {
        let client = DnsClient::new(self.addr).timeout(Duration::from_millis(200));
        let zone = self.first_zone.clone();
        let limit = Duration::from_secs(10);
        let mut last_err = None;
        let ok = poll_until(limit, Duration::from_millis(50), 200, || {
            if let Err(e) = self.guard.check_running() {
                last_err = Some(e);
                return Some(false);
            }
            match client.query(&zone, RecordType::SOA) {
                Ok(m) if m.metadata.response_code == ResponseCode::NoError => Some(true),
                _ => None,
            }
        });
        match (ok, last_err) {
            (Some(true), _) => Ok(()),
            (_, Some(e)) => Err(e),
            _ => Err(HarnessError::NotReady {
                what: format!("knotd on {}", self.addr),
                waited: limit,
                log: self.log(),
            }),
        }
    }

    /// Reads knot's mod-stats counters through `knotc stats`.
    pub fn stats(&self) -> Result<KnotStats> {
        let out = Command::new("knotc")
            .arg("-c")
            .arg(&self.conf_path)
            .arg("-t")
            .arg("5")
            .arg("stats")
            .output()
            .map_err(|e| HarnessError::io("run knotc stats", e))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(HarnessError::Parse {
                tool: "knotc".into(),
                reason: format!("exit {}", out.status),
                output: format!("{text}{}", String::from_utf8_lossy(&out.stderr)),
            });
        }
        Ok(KnotStats::parse(&text))
    }

    /// Total number of queries knot has received (UDP + TCP, IPv4 + IPv6).
    pub fn query_count(&self) -> Result<u64> {
        Ok(self.stats()?.queries())
    }
}

/// Parsed `knotc stats` output: `section.counter[index] = value` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnotStats {
    /// Every counter keyed by its full name, e.g. `mod-stats.query-type[A]`.
    pub counters: BTreeMap<String, u64>,
}

impl KnotStats {
    /// Parses the text `knotc stats` prints.
    pub fn parse(text: &str) -> Self {
        let counters = text
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(" = ")?;
                Some((k.trim().to_string(), v.trim().parse().ok()?))
            })
            .collect();
        Self { counters }
    }

    /// Sum of all counters whose name starts with `prefix`.
    pub fn sum(&self, prefix: &str) -> u64 {
        self.counters
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// All queries received, over any transport.
    pub fn queries(&self) -> u64 {
        self.sum("mod-stats.request-protocol[")
    }

    /// Queries received over TCP.
    pub fn tcp_queries(&self) -> u64 {
        self.sum("mod-stats.request-protocol[tcp")
    }

    /// Queries received for `rtype` (e.g. `"TXT"`).
    pub fn query_type(&self, rtype: &str) -> u64 {
        self.counters
            .get(&format!("mod-stats.query-type[{rtype}]"))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from `knotc stats` of knotd 3.2.6 after two UDP A queries.
    const CAPTURED: &str = "server.zone-count = 2\n\
        mod-stats.request-protocol[udp4] = 2\n\
        mod-stats.server-operation[query] = 2\n\
        mod-stats.request-bytes[query] = 61\n\
        mod-stats.response-bytes[reply] = 137\n\
        mod-stats.response-code[NOERROR] = 2\n\
        mod-stats.query-type[A] = 2\n";

    #[test]
    fn parses_captured_stats() {
        let s = KnotStats::parse(CAPTURED);
        assert_eq!(s.queries(), 2);
        assert_eq!(s.tcp_queries(), 0);
        assert_eq!(s.query_type("A"), 2);
        assert_eq!(s.query_type("TXT"), 0);
        assert_eq!(s.counters["server.zone-count"], 2);
    }
}
