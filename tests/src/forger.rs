//! A forging upstream relay for the cache-poisoning test.
//!
//! For every query it receives (from ringmasq), it first sends three forged responses carrying
//! [`FORGED_ADDR`] — one with the wrong ID, one from a different source port, one whose question
//! differs from the query's — and only then relays the query to the real upstream (knot) and
//! sends knot's genuine answer back.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record};

use crate::client::{decode, encode};
use crate::error::{HarnessError, Result};
use crate::port::LOCALHOST;

/// The address every forged answer carries; it must never reach a client.
pub const FORGED_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 66);

/// Hard cap on the relay thread's lifetime, whatever the test does.
const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// Counters of what the relay did.
#[derive(Debug, Default)]
pub struct RelayCounts {
    /// Queries received from ringmasq.
    pub queries: AtomicU64,
    /// Forged datagrams sent.
    pub forged: AtomicU64,
    /// Genuine answers relayed back.
    pub relayed: AtomicU64,
}

/// The running relay; the thread stops when this is dropped.
#[derive(Debug)]
pub struct ForgingRelay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<RelayCounts>,
    thread: Option<JoinHandle<()>>,
}

impl ForgingRelay {
    /// Starts a relay on a free 127.0.0.1 port that forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Result<Self> {
        let listen = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind relay", e))?;
        let other = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind relay side socket", e))?;
        let up = UdpSocket::bind(SocketAddr::from((LOCALHOST, 0)))
            .map_err(|e| HarnessError::io("bind relay upstream socket", e))?;
        for s in [&listen, &up] {
            s.set_read_timeout(Some(Duration::from_millis(100)))
                .map_err(|e| HarnessError::io("set_read_timeout", e))?;
        }
        let addr = listen
            .local_addr()
            .map_err(|e| HarnessError::io("local_addr", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(RelayCounts::default());
        let (st, ct) = (stop.clone(), counts.clone());
        let thread = std::thread::Builder::new()
            .name("forging-relay".into())
            .spawn(move || run(listen, other, up, upstream, &st, &ct))
            .map_err(|e| HarnessError::io("spawn relay thread", e))?;
        Ok(Self {
            addr,
            stop,
            counts,
            thread: Some(thread),
        })
    }

    /// Where the relay listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ADDR#PORT` for `--server=`.
    pub fn server_spec(&self) -> String {
        format!("{}#{}", self.addr.ip(), self.addr.port())
    }

    /// What the relay has done so far.
    pub fn counts(&self) -> &RelayCounts {
        &self.counts
    }
}

impl Drop for ForgingRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    listen: UdpSocket,
    other: UdpSocket,
    up: UdpSocket,
    upstream: SocketAddr,
    stop: &AtomicBool,
    counts: &RelayCounts,
) {
    let start = Instant::now();
    let mut buf = vec![0u8; 65535];
    let mut ubuf = vec![0u8; 65535];
    // Bounded by the stop flag and MAX_LIFETIME; each iteration waits at most 100 ms.
    while !stop.load(Ordering::Relaxed) && start.elapsed() < MAX_LIFETIME {
        let Ok((n, client)) = listen.recv_from(&mut buf) else {
            continue;
        };
        counts.queries.fetch_add(1, Ordering::Relaxed);
        let query = &buf[..n];
        if let Ok(q) = decode(query) {
            for (forged, via_other) in forgeries(&q) {
                let sock = if via_other { &other } else { &listen };
                if sock.send_to(&forged, client).is_ok() {
                    counts.forged.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if up.send_to(query, upstream).is_err() {
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match up.recv_from(&mut ubuf) {
                Ok((m, from)) if from == upstream && ubuf[..2] == query[..2] => {
                    // Counted before the send: once it is sent, ringmasq may answer and the
                    // test read the counts before this thread runs again.
                    counts.relayed.fetch_add(1, Ordering::Relaxed);
                    if listen.send_to(&ubuf[..m], client).is_err() {
                        counts.relayed.fetch_sub(1, Ordering::Relaxed);
                    }
                    break;
                }
                _ => {}
            }
        }
    }
}

/// Builds the forged responses to `q`: `(bytes, send_from_other_socket)`.
fn forgeries(q: &Message) -> Vec<(Vec<u8>, bool)> {
    let Some(question) = q.queries.first() else {
        return Vec::new();
    };
    let forge = |id: u16, qname: &Name| -> Option<Vec<u8>> {
        let mut m = Message::new(id, MessageType::Response, q.metadata.op_code);
        m.metadata.recursion_desired = q.metadata.recursion_desired;
        m.metadata.recursion_available = true;
        m.metadata.authoritative = true;
        let mut qq = question.clone();
        qq.set_name(qname.clone());
        m.add_query(qq);
        m.add_answer(Record::from_rdata(
            question.name().clone(),
            86400,
            RData::A(A(FORGED_ADDR)),
        ));
        encode(&m).ok()
    };
    let id = q.metadata.id;
    let real = question.name().clone();
    let wrong_name = Name::from_ascii("forged-question.lab.test.").unwrap_or_else(|_| real.clone());
    [
        (forge(id ^ 0x5a5a, &real), false),
        (forge(id, &real), true),
        (forge(id, &wrong_name), false),
    ]
    .into_iter()
    .filter_map(|(m, o)| m.map(|m| (m, o)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::make_query;
    use hickory_proto::rr::{DNSClass, RecordType};

    #[test]
    fn forgeries_differ_as_intended() {
        let q = make_query(0x1111, "www.lab.test.", RecordType::A, DNSClass::IN).unwrap();
        let f = forgeries(&q);
        assert_eq!(f.len(), 3);
        let m: Vec<Message> = f.iter().map(|(b, _)| decode(b).unwrap()).collect();
        assert_ne!(m[0].metadata.id, 0x1111);
        assert_eq!(m[1].metadata.id, 0x1111);
        assert!(f[1].1, "second forgery comes from another port");
        assert_eq!(m[2].metadata.id, 0x1111);
        assert_ne!(m[2].queries[0].name, q.queries[0].name);
        for x in &m {
            assert_eq!(x.answers[0].data, RData::A(A(FORGED_ADDR)));
        }
    }
}
