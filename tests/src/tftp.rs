//! TFTP scenarios: a ringmasq serving TFTP only (`--port=0`) on port 69 of its own 127.x
//! address, a temporary root, the real clients (curl, tftp-hpa's `tftp`, `atftp`) and a raw
//! UDP client for what they cannot do (skipping ACKs, duplicating them).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::backend::Backend;
use crate::binary::ringmasq_bin;
use crate::error::{HarnessError, Result};
use crate::port::free_loopback_addr;
use crate::process::{ChildGuard, tail};
use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// A running TFTP server, killed by PID on drop (log tail printed for failing tests).
#[derive(Debug)]
pub struct TftpServer {
    guard: ChildGuard,
    ip: Ipv4Addr,
    log: PathBuf,
    command_line: String,
    dir: TempDir,
}

/// Deterministic pseudo-random bytes (xorshift), so large files need no /dev/urandom.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

impl TftpServer {
    /// Starts ringmasq on `backend` with `--enable-tftp --tftp-root=ROOT` plus `extra`; `setup`
    /// fills the root (a fresh directory) before the server starts.
    pub fn start(
        backend: Backend,
        extra: &[&str],
        setup: impl FnOnce(&Path),
    ) -> Result<TftpServer> {
        let dir = TempDir::new("rmq-tftp")?;
        let root = dir.join("root");
        std::fs::create_dir_all(&root).map_err(|e| HarnessError::io("mkdir root", e))?;
        setup(&root);
        let ip = free_loopback_addr(69)?;
        let log = dir.join("ringmasq.log");
        let bin = ringmasq_bin()?;
        let mut args: Vec<String> = vec![
            "-k".into(),
            "--port=0".into(),
            format!("--listen-address={ip}"),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--enable-tftp".into(),
            format!("--io-backend={}", backend.as_arg()),
            "-8".into(),
            log.display().to_string(),
        ];
        if !extra.iter().any(|a| a.starts_with("--tftp-root")) {
            args.push(format!("--tftp-root={}", root.display()));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = Command::new(&bin);
        cmd.args(&args);
        let output = dir.join("stdout-stderr.txt");
        let guard = ChildGuard::spawn("ringmasq", cmd, &output)?;
        let mut s = TftpServer {
            guard,
            ip,
            log,
            command_line: format!("{} {}", bin.display(), args.join(" ")),
            dir,
        };
        s.wait_ready()?;
        Ok(s)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let limit = Duration::from_secs(10);
        let mut exited = None;
        let ok = poll_until(limit, Duration::from_millis(50), 200, || {
            if let Err(e) = self.guard.check_running() {
                exited = Some(e);
                return Some(false);
            }
            // Logged once the listeners are bound.
            self.log().contains("TFTP started").then_some(true)
        });
        match (ok, exited) {
            (Some(true), _) => Ok(()),
            (_, Some(e)) => Err(e),
            _ => Err(HarnessError::NotReady {
                what: format!("ringmasq TFTP ({})", self.command_line),
                waited: limit,
                log: tail(&self.log, 40),
            }),
        }
    }

    /// The server's address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The TFTP root.
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// A scratch directory for downloads.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        let _ = std::fs::create_dir_all(&p);
        p
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) -> bool {
        poll_until(limit, Duration::from_millis(50), 1000, || {
            self.log().contains(needle).then_some(())
        })
        .is_some()
    }

    /// Waits (bounded) until the log contains `needle` at least `count` times; returns how many
    /// times it does. A transfer's log line is written after its last ACK, which can come after
    /// the client has already exited with the whole file.
    pub fn wait_log_count(&self, needle: &str, count: usize, limit: Duration) -> usize {
        poll_until(limit, Duration::from_millis(50), 1000, || {
            (self.log().matches(needle).count() >= count).then_some(())
        });
        self.log().matches(needle).count()
    }

    /// Sends a signal to the server.
    pub fn signal(&self, sig: i32) -> Result<()> {
        self.guard.signal(sig)
    }

    /// A raw client socket on 127.0.0.1 aimed at the server's port 69.
    pub fn raw_client(&self, timeout: Duration) -> Result<RawClient> {
        RawClient::new(SocketAddr::from((self.ip, 69)), timeout)
    }

    /// `curl tftp://IP/NAME` into `out`, with `--tftp-blksize` when given.
    pub fn curl(&self, name: &str, blksize: Option<u16>, out: &Path) -> Output {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "60"]);
        if let Some(b) = blksize {
            c.args(["--tftp-blksize", &b.to_string()]);
        }
        c.arg(format!("tftp://{}/{name}", self.ip))
            .arg("-o")
            .arg(out);
        run(c)
    }

    /// `clients` curls fetch `name` at once (each into its own file under the scratch
    /// directory `out`, with `--tftp-blksize` when given): each copy's path and curl's output,
    /// in client order.
    pub fn curl_burst(
        &self,
        name: &str,
        clients: usize,
        blksize: Option<u16>,
    ) -> Vec<(PathBuf, Output)> {
        let tmp = self.scratch("out");
        std::thread::scope(|sc| {
            let handles: Vec<_> = (0..clients)
                .map(|i| {
                    let out = tmp.join(format!("c{i}"));
                    sc.spawn(move || {
                        let o = self.curl(name, blksize, &out);
                        (out, o)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("client thread"))
                .collect()
        })
    }

    /// tftp-hpa: `tftp -m MODE IP -c get NAME OUT` (no options: 512-byte blocks).
    pub fn tftp_hpa(&self, name: &str, mode: &str, out: &Path) -> Output {
        let mut c = Command::new("timeout");
        c.args([
            "60",
            "tftp",
            "-m",
            mode,
            &self.ip.to_string(),
            "-c",
            "get",
            name,
        ])
        .arg(out);
        run(c)
    }

    /// atftp `-g -r NAME -l OUT` with `--option "NAME VALUE"` for each of `options`.
    pub fn atftp(&self, name: &str, options: &[(&str, u32)], out: &Path) -> Output {
        let mut c = Command::new("timeout");
        c.args(["60", "atftp"]);
        for (k, v) in options {
            c.args(["--option", &format!("{k} {v}")]);
        }
        c.args(["-g", "-r", name, "-l"])
            .arg(out)
            .arg(self.ip.to_string());
        run(c)
    }
}

fn run(mut c: Command) -> Output {
    c.output().unwrap_or_else(|e| Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
        stdout: Vec::new(),
        stderr: format!("cannot run {c:?}: {e}").into_bytes(),
    })
}

impl Drop for TftpServer {
    fn drop(&mut self) {
        eprintln!(
            "ringmasq command: {}\n--- ringmasq log (tail) ---\n{}",
            self.command_line,
            tail(&self.log, 40)
        );
    }
}

/// A hand-driven TFTP client: one UDP socket that learns the server's transfer port from the
/// first reply.
pub struct RawClient {
    sock: UdpSocket,
    server: SocketAddr,
    /// The transfer's port, once the server has answered.
    pub tid: Option<SocketAddr>,
}

/// A packet the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// DATA: wire block number and payload length.
    Data(u16, Vec<u8>),
    /// OACK: the raw option bytes.
    Oack(Vec<u8>),
    /// ERROR: code and message.
    Error(u16, String),
    /// Anything else.
    Other(Vec<u8>),
}

impl RawClient {
    /// A socket on 127.0.0.1 with a receive timeout.
    pub fn new(server: SocketAddr, timeout: Duration) -> Result<RawClient> {
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| HarnessError::io("bind", e))?;
        sock.set_read_timeout(Some(timeout))
            .map_err(|e| HarnessError::io("timeout", e))?;
        Ok(RawClient {
            sock,
            server,
            tid: None,
        })
    }

    /// Sends a request to port 69.
    pub fn request(&self, bytes: &[u8]) -> Result<()> {
        self.sock
            .send_to(bytes, self.server)
            .map_err(|e| HarnessError::io("send", e))?;
        Ok(())
    }

    /// A read request for `name` in octet mode with `options` (`name`, value).
    pub fn rrq(&self, name: &str, options: &[(&str, u64)]) -> Result<()> {
        let mut b = vec![0, 1];
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(b"\0octet\0");
        for (k, v) in options {
            b.extend_from_slice(k.as_bytes());
            b.push(0);
            b.extend_from_slice(v.to_string().as_bytes());
            b.push(0);
        }
        self.request(&b)
    }

    /// Receives the next packet (error on timeout).
    pub fn recv(&self) -> Result<Reply> {
        let mut buf = [0u8; 70000];
        let (n, _) = self
            .sock
            .recv_from(&mut buf)
            .map_err(|e| HarnessError::io("recv", e))?;
        Ok(decode(&buf[..n]))
    }

    /// Receives the next packet and its sender, remembering the first sender as the TID.
    pub fn recv_from(&mut self) -> Result<(Reply, SocketAddr)> {
        let mut buf = [0u8; 70000];
        let (n, from) = self
            .sock
            .recv_from(&mut buf)
            .map_err(|e| HarnessError::io("recv", e))?;
        if self.tid.is_none() {
            self.tid = Some(from);
        }
        Ok((decode(&buf[..n]), from))
    }

    /// Sends ACK `block` to the transfer port.
    pub fn ack(&self, block: u16) -> Result<()> {
        let to = self.tid.unwrap_or(self.server);
        let b = [0, 4, (block >> 8) as u8, block as u8];
        self.sock
            .send_to(&b, to)
            .map_err(|e| HarnessError::io("send ack", e))?;
        Ok(())
    }
}

fn decode(b: &[u8]) -> Reply {
    let op = b.get(..2).map(|o| u16::from_be_bytes([o[0], o[1]]));
    let word = b.get(2..4).map_or(0, |w| u16::from_be_bytes([w[0], w[1]]));
    match op {
        Some(3) => Reply::Data(word, b[4..].to_vec()),
        Some(6) => Reply::Oack(b[2..].to_vec()),
        Some(5) => Reply::Error(
            word,
            String::from_utf8_lossy(b.get(4..).unwrap_or_default())
                .trim_end_matches('\0')
                .to_string(),
        ),
        _ => Reply::Other(b.to_vec()),
    }
}
