//! A recording upstream relay: it notes the source port and ID of every query ringmasq sends
//! upstream, relays the query to the real upstream (knot) and the answer back.
//!
//! Used to measure what an off-path attacker would have to guess (RFC 5452 §9.2).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;

/// Hard cap on the relay thread's lifetime, whatever the test does.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// One query seen by the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeenQuery {
    /// The source port it came from.
    pub port: u16,
    /// Its DNS ID.
    pub id: u16,
}

/// The running relay; the thread stops when this is dropped.
#[derive(Debug)]
pub struct RecordingRelay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<SeenQuery>>>,
    thread: Option<JoinHandle<()>>,
}

impl RecordingRelay {
    /// Starts a relay on a free 127.0.0.1 port that forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Result<Self> {
        let listen = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind relay", e))?;
        let up = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind relay upstream socket", e))?;
        for s in [&listen, &up] {
            s.set_nonblocking(true)
                .map_err(|e| HarnessError::io("set_nonblocking", e))?;
        }
        let addr = listen
            .local_addr()
            .map_err(|e| HarnessError::io("local_addr", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, sn) = (stop.clone(), seen.clone());
        let thread = std::thread::Builder::new()
            .name("recording-relay".into())
            .spawn(move || run(&listen, &up, upstream, &st, &sn))
            .map_err(|e| HarnessError::io("spawn relay thread", e))?;
        Ok(Self {
            addr,
            stop,
            seen,
            thread: Some(thread),
        })
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// Every query seen so far, in arrival order.
    pub fn seen(&self) -> Vec<SeenQuery> {
        self.seen.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl Drop for RecordingRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    listen: &UdpSocket,
    up: &UdpSocket,
    upstream: SocketAddr,
    stop: &AtomicBool,
    seen: &Mutex<Vec<SeenQuery>>,
) {
    let start = Instant::now();
    let mut buf = vec![0u8; 65535];
    // Upstream ID -> the ringmasq socket that asked (the relay keeps ringmasq's IDs).
    let mut asked: HashMap<u16, SocketAddr> = HashMap::new();
    while !stop.load(Ordering::Relaxed) && start.elapsed() < MAX_LIFETIME {
        let mut idle = true;
        while let Ok((n, from)) = listen.recv_from(&mut buf) {
            idle = false;
            if n < 12 {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            if let Ok(mut s) = seen.lock() {
                s.push(SeenQuery {
                    port: from.port(),
                    id,
                });
            }
            asked.insert(id, from);
            let _ = up.send_to(&buf[..n], upstream);
        }
        while let Ok((n, from)) = up.recv_from(&mut buf) {
            idle = false;
            if from != upstream || n < 12 {
                continue;
            }
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            if let Some(to) = asked.remove(&id) {
                let _ = listen.send_to(&buf[..n], to);
            }
        }
        if idle {
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// Entropy in bits of a sample of 16-bit values, as the sum of each bit's binary entropy: 16
/// for uniformly random values, less for each bit that is biased or fixed. Unlike the entropy of
/// the value histogram it does not saturate at log2(sample size).
pub fn bitwise_entropy(values: &[u16]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    (0..16)
        .map(|bit| {
            let ones = values.iter().filter(|v| (*v >> bit) & 1 == 1).count() as f64;
            let p = ones / n;
            if p <= 0.0 || p >= 1.0 {
                0.0
            } else {
                -(p * p.log2() + (1.0 - p) * (1.0 - p).log2())
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::bitwise_entropy;

    #[test]
    fn constant_values_have_no_entropy_and_counting_has_sixteen_bits() {
        assert_eq!(bitwise_entropy(&[7; 100]), 0.0);
        let all: Vec<u16> = (0..=u16::MAX).collect();
        assert!((bitwise_entropy(&all) - 16.0).abs() < 1e-9);
        let low: Vec<u16> = (0..256).collect();
        assert!((bitwise_entropy(&low) - 8.0).abs() < 1e-9);
    }
}
