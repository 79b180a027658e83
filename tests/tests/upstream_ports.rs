//! Upstream source ports are unpredictable (RFC 5452 §9.2): 2,000 forwarded questions leave from
//! ports drawn at random from 1024-65535 (or the --min-port/--max-port range), each socket
//! carrying only a few queries before it is replaced, and with random IDs. The upstream side
//! (a recording relay in front of knot) measures it; every question still gets its answer.

use std::collections::HashSet;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query};
use ringmasq_tests::recorder::{RecordingRelay, bitwise_entropy};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const QUESTIONS: u16 = 2000;
const WINDOW: usize = 64;

/// Asks QUESTIONS distinct names with at most WINDOW outstanding; returns how many were answered.
fn ask_all(rm: &Ringmasq, tag: &str) -> anyhow::Result<usize> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut answered = HashSet::new();
    let mut next = 0u16;
    let mut outstanding = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while (answered.len() < usize::from(QUESTIONS)) && Instant::now() < deadline {
        while next < QUESTIONS && outstanding < WINDOW {
            let q = make_query(
                next,
                &format!("p{next}-{tag}.lab.test."),
                RecordType::A,
                DNSClass::IN,
            )?;
            sock.send_to(&encode(&q)?, rm.addr())?;
            next += 1;
            outstanding += 1;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 => {
                if answered.insert(u16::from_be_bytes([buf[0], buf[1]])) {
                    outstanding = outstanding.saturating_sub(1);
                }
            }
            Ok(_) => {}
            // A lost datagram: let the window move on.
            Err(_) => outstanding = 0,
        }
    }
    Ok(answered.len())
}

fn upstream_ports(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let relay = RecordingRelay::start(knot.addr())?;
    let rm = Ringmasq::builder(backend)
        .server(relay.server_spec())
        .threads(2)
        .spawn()?;
    let answered = ask_all(&rm, "default")?;
    ensure!(
        answered >= usize::from(QUESTIONS) * 99 / 100,
        "only {answered} of {QUESTIONS} questions answered"
    );
    let seen = relay.seen();
    ensure!(
        seen.len() >= usize::from(QUESTIONS),
        "relay saw {} queries",
        seen.len()
    );
    let ports: Vec<u16> = seen.iter().map(|s| s.port).collect();
    let ids: Vec<u16> = seen.iter().map(|s| s.id).collect();
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    let (pe, ie) = (bitwise_entropy(&ports), bitwise_entropy(&ids));
    eprintln!(
        "{} queries, {} distinct source ports, port entropy {pe:.2} bits, ID entropy {ie:.2} bits",
        seen.len(),
        distinct.len()
    );
    // A fixed pool (two workers x 32 sockets) would show at most 64 ports.
    ensure!(
        distinct.len() >= seen.len() / 10,
        "{} distinct ports for {} queries: sockets are not renewed",
        distinct.len(),
        seen.len()
    );
    ensure!(ports.iter().all(|p| *p >= 1024), "a port below 1024");
    ensure!(pe >= 15.0, "source port entropy {pe:.2} bits < 15");
    ensure!(ie >= 15.0, "ID entropy {ie:.2} bits < 15");
    drop(rm);

    // --min-port/--max-port confine the rotation.
    let rm = Ringmasq::builder(backend)
        .server(relay.server_spec())
        .arg("--min-port=40000")
        .arg("--max-port=40999")
        .spawn()?;
    let before = relay.seen().len();
    let answered = ask_all(&rm, "range").context("range run")?;
    ensure!(
        answered >= usize::from(QUESTIONS) * 99 / 100,
        "range run: {answered} answered"
    );
    let seen = relay.seen();
    let ports: HashSet<u16> = seen[before..].iter().map(|s| s.port).collect();
    ensure!(
        ports.iter().all(|p| (40000..=40999).contains(p)),
        "a port outside 40000-40999: {:?}",
        ports
            .iter()
            .filter(|p| !(40000..=40999).contains(*p))
            .collect::<Vec<_>>()
    );
    ensure!(
        ports.len() >= 100,
        "only {} ports used in the range",
        ports.len()
    );
    Ok(())
}

backend_tests!(upstream_ports);
