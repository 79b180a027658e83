//! 2,000 TCP connections — half idle, half stalled halfway through a message — do not hurt UDP
//! service, new TCP clients are still served, and the idle timeout (2 s) closes all of them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::ensure;
use hickory_proto::rr::RecordType;
use ringmasq_tests::flood::{fd_count, query, raise_nofile};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const CONNS: usize = 2000;

fn flood_tcp_idle(backend: Backend) -> anyhow::Result<()> {
    let limit = raise_nofile(8192);
    ensure!(
        limit >= 2 * CONNS as u64 + 200,
        "RLIMIT_NOFILE only {limit}"
    );
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--tcp-idle-timeout=2")
        .arg("--max-tcp-connections=4000")
        .spawn()?;
    rm.client().query_retry("www.lab.test.", RecordType::A, 3)?;
    let fds0 = fd_count(rm.pid());
    let mut conns = Vec::with_capacity(CONNS);
    let partial = {
        let q = query(1, "www.lab.test");
        let mut f = ((q.len() + 10) as u16).to_be_bytes().to_vec();
        f.extend_from_slice(&q);
        f
    };
    for i in 0..CONNS {
        let mut s = TcpStream::connect(rm.addr())?;
        if i % 2 == 1 {
            s.write_all(&partial)?;
        }
        conns.push(s);
    }
    let opened = Instant::now();
    // UDP and a fresh TCP client are served beside them.
    for _ in 0..20 {
        let m = rm.client().query("www.lab.test.", RecordType::A)?;
        ensure!(m.answers.len() == 1, "UDP during the TCP flood: {m:?}");
    }
    let mut fresh = rm.client().tcp()?;
    let m = fresh.exchange(&ringmasq_tests::client::make_query(
        7,
        "www.lab.test.",
        RecordType::A,
        hickory_proto::rr::DNSClass::IN,
    )?)?;
    ensure!(m.answers.len() == 1, "fresh TCP client: {m:?}");
    drop(fresh);
    let fds_busy = fd_count(rm.pid());
    // Every connection is closed by the server within the idle timeout plus its 1 s sweep.
    let mut open = conns.len();
    let mut byte = [0u8; 1];
    for s in &conns {
        s.set_read_timeout(Some(Duration::from_secs(6)))?;
    }
    for s in conns.iter_mut() {
        match s.read(&mut byte) {
            Ok(0) => open -= 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => open -= 1,
            _ => {}
        }
        if opened.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    let closed_after = opened.elapsed();
    let fds1 = fd_count(rm.pid());
    eprintln!(
        "{CONNS} TCP connections: server fds {fds0} -> {fds_busy} -> {fds1}; all closed by \
         the server after {closed_after:?} ({open} still open)"
    );
    ensure!(
        open == 0,
        "{open} connections not closed by the idle timeout"
    );
    ensure!(
        fds1 <= fds0 + 5,
        "server fds {fds0} -> {fds1} after the idle timeout"
    );
    let m = rm.client().query("www.lab.test.", RecordType::A)?;
    ensure!(m.answers.len() == 1, "UDP after: {m:?}");
    Ok(())
}

backend_tests!(flood_tcp_idle);
