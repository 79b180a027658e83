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
    /// When each distinct name was first seen, in order.
    first_seen: Arc<Mutex<Vec<Instant>>>,
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
            let first_seen = Arc::new(Mutex::new(Vec::new()));
            let (r, s, n, f) = (
                received.clone(),
                stop.clone(),
                names.clone(),
                first_seen.clone(),
            );
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
                                let new = n.lock().unwrap_or_else(|p| p.into_inner()).insert(name);
                                if new {
                                    f.lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .push(Instant::now());
                                }
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
                first_seen,
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

    /// The most distinct names first seen within any `window` of time: with a server that
    /// keeps at most N queries in flight and gives each up after a timeout longer than
    /// `window`, at most N new names can arrive within it.
    pub fn most_new_names_within(&self, window: Duration) -> usize {
        let seen = self.first_seen.lock().unwrap_or_else(|p| p.into_inner());
        most_within(&seen, window)
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

/// The most entries of the sorted `times` within any span of `window` (two pointers).
fn most_within(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    let mut from = 0;
    for (to, t) in times.iter().enumerate() {
        while t.duration_since(times[from]) >= window {
            from += 1;
        }
        best = best.max(to - from + 1);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_within_counts_the_densest_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // 3 at 0-20 ms, then 4 at 1000-1030 ms, then 1 at 5000 ms.
        let times = [0, 10, 20, 1000, 1010, 1020, 1030, 5000].map(at);
        assert_eq!(most_within(&times, Duration::from_millis(500)), 4);
        assert_eq!(most_within(&times, Duration::from_millis(1001)), 4);
        assert_eq!(most_within(&times, Duration::from_millis(1031)), 7);
        assert_eq!(most_within(&times, Duration::from_secs(10)), 8);
        assert_eq!(most_within(&[], Duration::from_secs(1)), 0);
    }
}
