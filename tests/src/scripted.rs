//! A scripted UDP upstream: for every query it receives, a script returns the datagrams to send
//! back (raw bytes, any of them malformed on purpose), sent in order from the same socket.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;

/// Hard cap on the upstream thread's lifetime.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// A query as the scripted upstream received it.
#[derive(Debug)]
pub struct Received<'a> {
    /// The whole query.
    pub bytes: &'a [u8],
    /// Its ID.
    pub id: u16,
    /// The question (name, type, class) exactly as sent; empty if it could not be walked.
    pub question: &'a [u8],
    /// The question name, dotted, lowercased, without the final dot.
    pub name: String,
}

impl<'a> Received<'a> {
    /// Walks the header and the (uncompressed) question of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() < 12 {
            return None;
        }
        let mut pos = 12;
        let mut labels = Vec::new();
        loop {
            let l = usize::from(*bytes.get(pos)?);
            if l == 0 || l >= 64 {
                break;
            }
            labels.push(String::from_utf8_lossy(bytes.get(pos + 1..pos + 1 + l)?).to_lowercase());
            pos += 1 + l;
        }
        let end = pos + 5;
        Some(Self {
            bytes,
            id: u16::from_be_bytes([bytes[0], bytes[1]]),
            question: bytes.get(12..end)?,
            name: labels.join("."),
        })
    }
}

/// The script: datagrams to answer one query with.
pub type Script = dyn Fn(&Received<'_>) -> Vec<Vec<u8>> + Send + 'static;

/// The running upstream; its thread stops when this is dropped.
pub struct ScriptedUpstream {
    addr: SocketAddr,
    queries: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptedUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedUpstream")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ScriptedUpstream {
    /// Starts on a free 127.0.0.1 port; `gap` is the pause between datagrams of one answer.
    pub fn start(gap: Duration, script: Box<Script>) -> Result<Self> {
        let sock = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind scripted upstream", e))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| HarnessError::io("set_read_timeout", e))?;
        let addr = sock
            .local_addr()
            .map_err(|e| HarnessError::io("local_addr", e))?;
        let queries = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, s) = (queries.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("scripted-upstream".into())
            .spawn(move || {
                let start = Instant::now();
                let mut buf = vec![0u8; 65535];
                // Bounded by the stop flag and MAX_LIFETIME; each recv waits <= 100 ms.
                while !s.load(Ordering::Relaxed) && start.elapsed() < MAX_LIFETIME {
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        continue;
                    };
                    q.fetch_add(1, Ordering::Relaxed);
                    let Some(rx) = Received::parse(&buf[..n]) else {
                        continue;
                    };
                    for (i, d) in script(&rx).iter().enumerate() {
                        if i > 0 {
                            std::thread::sleep(gap);
                        }
                        let _ = sock.send_to(d, from);
                    }
                }
            })
            .map_err(|e| HarnessError::io("spawn scripted upstream", e))?;
        Ok(Self {
            addr,
            queries,
            stop,
            thread: Some(thread),
        })
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// Queries received so far.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for ScriptedUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
