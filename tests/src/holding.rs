//! A holding upstream: records every query it receives (source, ID, question) and answers none
//! by itself; the test answers — genuinely or with forgeries — when it chooses, through
//! [`HoldingUpstream::send`] from the upstream's own address and port.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;
use crate::scripted::Received;
use crate::wait::poll_until;

/// Hard cap on the reader thread's lifetime.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// One query as the upstream saw it.
#[derive(Clone, Debug)]
pub struct Held {
    /// Where it came from (ringmasq's upstream socket).
    pub from: SocketAddr,
    /// Its ID.
    pub id: u16,
    /// Its question bytes (name, type, class) as sent.
    pub question: Vec<u8>,
    /// The question name, dotted and lowercased.
    pub name: String,
}

/// The running upstream; the reader stops when this is dropped.
#[derive(Debug)]
pub struct HoldingUpstream {
    sock: UdpSocket,
    addr: SocketAddr,
    held: Arc<Mutex<Vec<Held>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HoldingUpstream {
    /// Binds on a free 127.0.0.1 port with a large receive buffer.
    pub fn start() -> Result<Self> {
        let sock = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind holding upstream", e))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| HarnessError::io("set_read_timeout", e))?;
        set_rcvbuf(&sock, 8 << 20);
        let addr = sock
            .local_addr()
            .map_err(|e| HarnessError::io("local_addr", e))?;
        let reader = sock
            .try_clone()
            .map_err(|e| HarnessError::io("clone socket", e))?;
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (held.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("holding-upstream".into())
            .spawn(move || {
                let start = Instant::now();
                let mut buf = vec![0u8; 65535];
                // Bounded by the stop flag and MAX_LIFETIME; each recv waits <= 100 ms.
                while !s.load(Ordering::Relaxed) && start.elapsed() < MAX_LIFETIME {
                    let Ok((n, from)) = reader.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(rx) = Received::parse(&buf[..n]) {
                        h.lock().unwrap_or_else(|p| p.into_inner()).push(Held {
                            from,
                            id: rx.id,
                            question: rx.question.to_vec(),
                            name: rx.name,
                        });
                    }
                }
            })
            .map_err(|e| HarnessError::io("spawn holding upstream", e))?;
        Ok(Self {
            sock,
            addr,
            held,
            stop,
            thread: Some(thread),
        })
    }

    /// The upstream's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// Every query received so far, in arrival order.
    pub fn held(&self) -> Vec<Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits (at most `limit`) until `n` queries have arrived; returns how many did.
    pub fn wait_for(&self, n: usize, limit: Duration) -> usize {
        poll_until(limit, Duration::from_millis(10), 10_000, || {
            let have = self.held.lock().unwrap_or_else(|p| p.into_inner()).len();
            (have >= n).then_some(have)
        })
        .unwrap_or_else(|| self.held.lock().unwrap_or_else(|p| p.into_inner()).len())
    }

    /// Sends `bytes` to `to` from the upstream's own address and port.
    pub fn send(&self, bytes: &[u8], to: SocketAddr) -> Result<()> {
        self.sock
            .send_to(bytes, to)
            .map(|_| ())
            .map_err(|e| HarnessError::io("send from holding upstream", e))
    }
}

impl Drop for HoldingUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Asks for a larger receive buffer: SO_RCVBUFFORCE where allowed (root; not capped by
/// `net.core.rmem_max`, which is 208 KiB on a stock host), else SO_RCVBUF (best effort, capped).
pub fn set_rcvbuf(sock: &UdpSocket, bytes: i32) {
    use std::os::fd::AsRawFd;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt on a socket we own, with a pointer to a live i32 and its size.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&bytes as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

/// Estimated collision entropy (Rényi order 2) of `values` in bits:
/// `log2(pairs / equal pairs)`. With 10,000 samples it resolves up to ~25 bits, where the
/// plug-in Shannon estimate cannot exceed log2(10,000) = 13.3 bits. Returns `f64::INFINITY` if
/// no two values are equal.
pub fn collision_entropy(values: &[u32]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for v in values {
        *counts.entry(*v).or_insert(0u64) += 1;
    }
    let n = values.len() as f64;
    let equal: u64 = counts.values().map(|c| c * c.saturating_sub(1) / 2).sum();
    if equal == 0 {
        return f64::INFINITY;
    }
    (n * (n - 1.0) / 2.0 / equal as f64).log2()
}

/// Plug-in Shannon entropy of `values` in bits (at most log2 of the sample count).
pub fn shannon_entropy(values: &[u32]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for v in values {
        *counts.entry(*v).or_insert(0u64) += 1;
    }
    let n = values.len() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collision_entropy_tells_uniform_from_narrow() {
        // i * 7919 mod 65536 for 10,000 i: all distinct -> infinite estimate; the same values
        // mod 1024 cycle through every residue -> about 10 bits.
        let wide: Vec<u32> = (0..10_000u32).map(|i| i * 7919 % 65_536).collect();
        let narrow: Vec<u32> = wide.iter().map(|v| v % 1024).collect();
        assert!(collision_entropy(&wide) > 15.0);
        assert!(shannon_entropy(&wide) > 13.2);
        let e = collision_entropy(&narrow);
        assert!((9.5..10.5).contains(&e), "{e}");
        assert!(shannon_entropy(&narrow) <= 10.0 + 1e-9);
        assert!(shannon_entropy(&[7, 7, 7]).abs() < 1e-9);
    }
}
