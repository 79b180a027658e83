//! 100 identical client questions from 100 clients within 10 ms produce exactly one upstream
//! query (the rest wait on it: CVE-2020-25686 was duplicate in-flight queries each opening
//! another guessable slot), and every client gets the answer. One upstream query carries at
//! most 150 clients (later identical questions would be dropped and counted in
//! `in-flight-full`). Merging spans workers: with 1, 2 and 4 workers (the 100 source ports
//! spread the clients over them through the kernel's SO_REUSEPORT hash) still one query goes
//! upstream, and the worker that sent it answers the clients of the others.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use anyhow::ensure;
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::holding::HoldingUpstream;
use ringmasq_tests::hostile_dns::header;
use ringmasq_tests::{Backend, Ringmasq, backend_tests};

const CLIENTS: usize = 100;

fn dedup_burst(backend: Backend) -> anyhow::Result<()> {
    burst(backend, 1)?;
    burst(backend, 2)?;
    burst(backend, 4)
}

/// Runs the burst on a fresh server; a try whose 100 sends took 10 ms or more (a busy machine)
/// does not count and is repeated, up to 5 times.
fn burst(backend: Backend, threads: u32) -> anyhow::Result<()> {
    for _ in 0..5 {
        if burst_once(backend, threads)? {
            return Ok(());
        }
    }
    anyhow::bail!("never managed to send {CLIENTS} queries within 10 ms")
}

fn burst_once(backend: Backend, threads: u32) -> anyhow::Result<bool> {
    let up = HoldingUpstream::start()?;
    let rm = Ringmasq::builder(backend)
        .server(up.server_spec())
        .threads(threads)
        .spawn()?;
    let mut q = header(0x4242, 0x0100, [1, 0, 0, 0]);
    q.extend_from_slice(b"\x04same\x05burst\x04test\x00\x00\x01\x00\x01");
    let clients: Vec<UdpSocket> = (0..CLIENTS)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let before = stats(&rm)?;
    let t = Instant::now();
    for c in &clients {
        c.send_to(&q, rm.addr())?;
    }
    let spread = t.elapsed();
    if spread >= Duration::from_millis(10) {
        eprintln!("sending took {spread:?}: tried again");
        return Ok(false);
    }
    // The first query reaches the upstream (a loaded machine may take a while); anything
    // more would have reached it 300 ms later.
    up.wait_for(1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    let held = up.held();
    ensure!(
        held.len() == 1,
        "{threads} worker(s): {CLIENTS} identical questions gave {} upstream queries: {:?}",
        held.len(),
        held.iter().map(|h| h.from).collect::<Vec<_>>()
    );
    for h in &held {
        let mut a = header(h.id, 0x8180, [1, 1, 0, 0]);
        a.extend_from_slice(&h.question);
        a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 42]);
        up.send(&a, h.from)?;
    }
    // Answers that came are read at once; those still on their way get until one shared
    // deadline (a client past the clients one query carries gets none, and is not waited for
    // long).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 512];
    let mut answered = 0u64;
    for (i, c) in clients.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        c.set_read_timeout(Some(left.max(Duration::from_millis(20))))?;
        if let Ok((n, _)) = c.recv_from(&mut buf) {
            ensure!(
                buf[..2] == [0x42, 0x42] && buf[n - 4..n] == [192, 0, 2, 42],
                "client {i}: {:02x?}",
                &buf[..n]
            );
            answered += 1;
        }
    }
    let after = stats(&rm)?;
    let merged = delta(&before, &after, "merged");
    let full = delta(&before, &after, "in-flight-full");
    // Every client is either answered (the first one plus those merged) or, past
    // the clients one query carries, dropped and counted.
    ensure!(
        answered == held.len() as u64 + merged && answered + full == CLIENTS as u64,
        "{answered} answered, {merged} merged, {full} in-flight-full, {} upstream",
        held.len()
    );
    ensure!(
        answered == CLIENTS as u64 && full == 0,
        "only {answered} of {CLIENTS} clients answered ({full} dropped)"
    );
    eprintln!(
        "{threads} worker(s): {} upstream queries, {answered} answered, {merged} merged, {full} dropped (in-flight-full)",
        held.len()
    );
    Ok(true)
}

backend_tests!(dedup_burst);
