//! A black-hole upstream: a UDP socket (and TCP listener) that reads queries but never answers.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;

/// Hard cap on the reader thread's lifetime.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// Holds a UDP socket and a TCP listener on the same loopback port; UDP datagrams are counted
/// and dropped, TCP connections are never accepted. No ICMP error is ever produced.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    _tcp: TcpListener,
    received: Arc<AtomicU64>,
    names: Arc<Mutex<BTreeSet<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BlackHole {
    /// Binds a black hole on a free 127.0.0.1 port.
    pub fn new() -> Result<Self> {
        for _ in 0..32 {
            let udp = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
                .map_err(|e| HarnessError::io("bind black hole", e))?;
            let addr = udp
                .local_addr()
                .map_err(|e| HarnessError::io("local_addr", e))?;
            let Ok(tcp) = TcpListener::bind(addr) else {
                continue;
            };
            udp.set_read_timeout(Some(Duration::from_millis(100)))
                .map_err(|e| HarnessError::io("set_read_timeout", e))?;
            let received = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let names = Arc::new(Mutex::new(BTreeSet::new()));
            let (r, s, n) = (received.clone(), stop.clone(), names.clone());
            let thread = std::thread::Builder::new()
                .name("black-hole".into())
                .spawn(move || {
                    let start = Instant::now();
                    let mut buf = [0u8; 4096];
                    // Bounded by the stop flag and MAX_LIFETIME; each recv waits <= 100 ms.
                    while !s.load(Ordering::Relaxed) && start.elapsed() < MAX_LIFETIME {
                        if let Ok((len, _)) = udp.recv_from(&mut buf) {
                            r.fetch_add(1, Ordering::Relaxed);
                            if let Some(q) = crate::client::decode(&buf[..len])
                                .ok()
                                .and_then(|m| m.queries.first().cloned())
                            {
                                let name = q.name().to_ascii().to_lowercase();
                                n.lock().unwrap_or_else(|p| p.into_inner()).insert(name);
                            }
                        }
                    }
                })
                .map_err(|e| HarnessError::io("spawn black hole thread", e))?;
            return Ok(Self {
                addr,
                _tcp: tcp,
                received,
                names,
                stop,
                thread: Some(thread),
            });
        }
        Err(HarnessError::NoFreePort("black hole".into()))
    }

    /// The black hole's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// The distinct (lowercased) question names seen so far.
    pub fn names(&self) -> BTreeSet<String> {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// UDP datagrams swallowed so far.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
