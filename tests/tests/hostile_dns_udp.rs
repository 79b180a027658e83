//! Hostile client messages over UDP: every class of the corpus in `hostile_dns` (short headers,
//! count lies, compression loops, long labels and names, OPT misuse, other opcodes, QR=1...)
//! is dropped and counted in its own drop counter, or answered with the RCODE the RFCs ask for,
//! while a concurrent stream of good queries keeps being answered and the server stays up.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query};
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::hostile_dns::{
    Class, Expect, MALFORMED, RESPONSE, client_classes, reply_rcode,
};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

/// A bounded stream of good queries (a cached name) in a thread: (answered, failed).
struct GoodLoad {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GoodLoad {
    fn start(server: SocketAddr) -> anyhow::Result<Self> {
        let sock = UdpSocket::bind("127.0.0.1:0")?;
        sock.set_read_timeout(Some(Duration::from_secs(2)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let (s, a, f) = (stop.clone(), answered.clone(), failed.clone());
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut buf = [0u8; 1500];
            // Bounded: 60 s and 200,000 queries at most.
            for i in 0..200_000u32 {
                if s.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(60) {
                    break;
                }
                let id = (i & 0xffff) as u16;
                let Ok(q) = make_query(id, "www.lab.test.", RecordType::A, DNSClass::IN)
                    .map_err(anyhow::Error::from)
                    .and_then(|m| encode(&m).map_err(anyhow::Error::from))
                else {
                    break;
                };
                let _ = sock.send_to(&q, server);
                let ok = loop {
                    match sock.recv_from(&mut buf) {
                        Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() => {
                            break buf[3] & 0x0f == 0;
                        }
                        Ok(_) => {}
                        Err(_) => break false,
                    }
                };
                if ok { &a } else { &f }.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Ok(Self {
            stop,
            answered,
            failed,
            thread: Some(thread),
        })
    }

    fn finish(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (
            self.answered.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

impl Drop for GoodLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn hostile_dns_udp(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    // Warm the cache so the good load is a steady stream of cache hits.
    rm.client().query_retry("www.lab.test.", RecordType::A, 3)?;
    let load = GoodLoad::start(rm.addr())?;
    let before = stats(&rm)?;

    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut classes = client_classes();
    // UDP only: a datagram larger than any receive buffer (over TCP it is a valid message
    // with trailing bytes).
    let mut huge = classes[classes.len() - 1].bytes.clone();
    huge.resize(9000, 0);
    classes.push(Class {
        name: "datagram of 9000 bytes",
        bytes: huge,
        expect: Expect::Drop(MALFORMED),
    });
    let mut buf = vec![0u8; 65535];
    for (i, class) in classes.iter().enumerate() {
        let m0 = rm.counter("malformed.bind")?;
        sock.send_to(&class.bytes, rm.addr())?;
        // A good query right behind it on the same socket: its answer marks "after".
        let good_id = 0xbe00 | i as u16;
        let good = encode(&make_query(
            good_id,
            "www.lab.test.",
            RecordType::A,
            DNSClass::IN,
        )?)?;
        sock.send_to(&good, rm.addr())?;
        let mut replies = Vec::new();
        let mut good_seen = false;
        let deadline = Instant::now() + Duration::from_secs(3);
        // Bounded by the deadline; every recv waits at most 3 s.
        while Instant::now() < deadline {
            let want_more =
                !good_seen || (matches!(class.expect, Expect::Reply(_)) && replies.is_empty());
            if !want_more {
                break;
            }
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                break;
            };
            if n >= 2 && buf[..2] == good_id.to_be_bytes() {
                good_seen = true;
            } else {
                replies.push(buf[..n].to_vec());
            }
        }
        ensure!(
            good_seen,
            "{}: the good query behind it got no answer",
            class.name
        );
        rm.check_running()?;
        let m1 = rm.counter("malformed.bind")?;
        match class.expect {
            Expect::Drop(_) => {
                ensure!(
                    replies.is_empty(),
                    "{}: answered {:02x?}, must be dropped",
                    class.name,
                    replies
                );
                ensure!(
                    m1 - m0 == 1,
                    "{}: malformed.bind went {m0} -> {m1}, expected +1",
                    class.name
                );
            }
            Expect::Reply(rc) => {
                let Some(r) = replies.first() else {
                    bail!("{}: no answer, expected RCODE {rc}", class.name);
                };
                ensure!(
                    r[..2] == class.bytes[..2],
                    "{}: answer has another ID: {r:02x?}",
                    class.name
                );
                ensure!(
                    reply_rcode(r) == Some(rc),
                    "{}: RCODE {:?}, expected {rc}: {r:02x?}",
                    class.name,
                    reply_rcode(r)
                );
                ensure!(
                    m1 == m0,
                    "{}: counted as malformed ({m0} -> {m1})",
                    class.name
                );
            }
        }
    }
    // Anything arriving late would be an answer to a class that must be dropped.
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    if let Ok((n, _)) = sock.recv_from(&mut buf) {
        bail!("late datagram after the corpus: {:02x?}", &buf[..n]);
    }

    let after = stats(&rm)?;
    let want = |name| {
        classes
            .iter()
            .filter(|c| c.expect == Expect::Drop(name))
            .count() as u64
    };
    for name in [MALFORMED, RESPONSE] {
        let got = delta(&before, &after, name);
        ensure!(
            got == want(name),
            "{name}: +{got}, expected +{}",
            want(name)
        );
    }
    let (answered, failed) = load.finish();
    ensure!(
        failed == 0 && answered > 0,
        "concurrent good load: {answered} answered, {failed} failed"
    );
    eprintln!(
        "{} classes, concurrent good load {answered} answered, 0 failed",
        classes.len()
    );
    rm.check_running()?;
    Ok(())
}

backend_tests!(hostile_dns_udp);
