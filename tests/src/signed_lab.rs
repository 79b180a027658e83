//! The DNSSEC lab: a local signed hierarchy (`.` → `test.` → children, built by
//! `tests/lab/dnssec-lab.sh` with its own keys) served by one `knotd`, its trust anchor, and
//! `unbound` resolving it (validating: the oracle; or not: a plain recursive upstream).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use crate::client::DnsClient;
use crate::error::{HarnessError, Result};
use crate::knot::Knot;
use crate::port::{LOCALHOST, free_port};
use crate::process::{ChildGuard, tail};
use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// The signed hierarchy, served by knotd.
#[derive(Debug)]
pub struct SignedLab {
    /// knotd serving every zone of the lab.
    pub knot: Knot,
    /// The trust anchor in `--trust-anchor` form (`.,TAG,ALG,DIGESTTYPE,HEX`).
    pub anchor: String,
    /// The zones served (origin, e.g. `sec.test.`).
    pub zones: Vec<String>,
    dir: TempDir,
}

impl SignedLab {
    /// Generates keys, signs the zones (valid from yesterday for 30 days) and starts knotd.
    pub fn start() -> Result<Self> {
        let dir = TempDir::new("dnssec-lab")?;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab/dnssec-lab.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(dir.path())
            .output()
            .map_err(|e| HarnessError::io("run dnssec-lab.sh", e))?;
        if !out.status.success() {
            return Err(HarnessError::Exited {
                what: "dnssec-lab.sh".into(),
                status: out.status.to_string(),
                log: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map_err(|e| HarnessError::io(name.to_string(), e))
        };
        let ds = read("root.ds")?;
        let f: Vec<&str> = ds.split_whitespace().collect();
        if f.len() < 8 {
            return Err(HarnessError::Parse {
                tool: "ldns-key2ds".into(),
                reason: "not a DS record".into(),
                output: ds.clone(),
            });
        }
        let anchor = format!(".,{},{},{},{}", f[4], f[5], f[6], f[7]);
        let mut builder = Knot::builder();
        let mut zones = Vec::new();
        for line in read("zones.list")?.lines() {
            let Some((origin, file)) = line.split_once(' ') else {
                continue;
            };
            builder = builder.zone(origin, read(file)?);
            zones.push(origin.to_string());
        }
        let knot = builder.start()?;
        Ok(Self {
            knot,
            anchor,
            zones,
            dir,
        })
    }

    /// The trust anchor file (`root.ds`, a DS record in zone-file form).
    pub fn anchor_file(&self) -> PathBuf {
        self.dir.join("root.ds")
    }

    /// Starts unbound resolving the lab: validating with the lab's anchor (`validate`), or a
    /// plain recursive resolver that passes everything on.
    pub fn unbound(&self, validate: bool) -> Result<Unbound> {
        Unbound::start(self, validate)
    }
}

/// A running unbound on a free loopback port; killed by PID on drop.
#[derive(Debug)]
pub struct Unbound {
    guard: ChildGuard,
    /// Where it answers.
    pub addr: SocketAddr,
    _dir: TempDir,
}

impl Unbound {
    fn start(lab: &SignedLab, validate: bool) -> Result<Self> {
        let dir = TempDir::new("unbound")?;
        let port = free_port()?;
        let d = dir.path().display();
        let knot = lab.knot.addr();
        let mut conf = format!(
            "server:\n    interface: {LOCALHOST}@{port}\n    port: {port}\n    username: \"\"\n    chroot: \"\"\n    \
             directory: \"{d}\"\n    pidfile: \"{d}/unbound.pid\"\n    use-syslog: no\n    logfile: \"\"\n    \
             num-threads: 1\n    so-reuseport: no\n    do-not-query-localhost: no\n    \
             local-zone: \"test.\" nodefault\n    qname-minimisation: no\n    val-log-level: 2\n"
        );
        if validate {
            conf.push_str(&format!(
                "    module-config: \"validator iterator\"\n    trust-anchor-file: \"{}\"\n",
                lab.anchor_file().display()
            ));
        } else {
            conf.push_str("    module-config: \"iterator\"\n");
        }
        conf.push_str("remote-control:\n    control-enable: no\n");
        // Every zone is served by the one knotd on its own port.
        for z in &lab.zones {
            conf.push_str(&format!(
                "stub-zone:\n    name: \"{z}\"\n    stub-addr: {}@{}\n",
                knot.ip(),
                knot.port()
            ));
        }
        let conf_path = dir.join("unbound.conf");
        std::fs::write(&conf_path, conf).map_err(|e| HarnessError::io("write unbound.conf", e))?;
        let mut cmd = Command::new("unbound");
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let mut guard = ChildGuard::spawn("unbound", cmd, &dir.join("unbound.log"))?;
        let addr = SocketAddr::from((LOCALHOST, port));
        let client = DnsClient::new(addr).timeout(Duration::from_millis(300));
        let ready = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(50),
            200,
            || {
                if guard.check_running().is_err() {
                    return Some(false);
                }
                client.query("test.", RecordType::SOA).ok().map(|_| true)
            },
        );
        if ready != Some(true) {
            return Err(HarnessError::NotReady {
                what: format!("unbound on port {port}"),
                waited: Duration::from_secs(10),
                log: tail(guard.output_path(), 20),
            });
        }
        Ok(Self {
            guard,
            addr,
            _dir: dir,
        })
    }

    /// `ADDR#PORT`, the form `--server=` takes.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// unbound's output so far (validation failures are logged with their reason).
    pub fn log(&self) -> String {
        tail(self.guard.output_path(), 100)
    }
}
