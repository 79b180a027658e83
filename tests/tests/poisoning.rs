//! Cache poisoning during 1,000 outstanding upstream queries (RFC 5452 §9.1): a holding upstream
//! keeps every query unanswered while the test injects, for each of them, answers that are
//! right in every field but one — ID, source address (127.0.0.77, same port), source port,
//! destination port (another of ringmasq's open upstream ports), question name (another
//! outstanding name), QTYPE, QCLASS. 0 are accepted (the clients get the genuine answers sent
//! afterwards), 0 are cached (a second round comes from the cache, without upstream traffic),
//! and each one is counted in `rejected-answer`. ringmasq does not use 0x20 case randomisation,
//! so there is no case field to forge.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::ensure;
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::holding::{Held, HoldingUpstream, set_rcvbuf};
use ringmasq_tests::hostile_answers::{GOOD, MARK, rr};
use ringmasq_tests::hostile_dns::header;
use ringmasq_tests::{Backend, Ringmasq, backend_tests};

const QUERIES: usize = 1000;

fn response(id: u16, question: &[u8], addr: Ipv4Addr) -> Vec<u8> {
    let mut m = header(id, 0x8180, [1, 1, 0, 0]);
    m.extend_from_slice(question);
    m.extend_from_slice(&rr(&[0xc0, 12], 1, 4, &addr.octets()));
    m
}

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = header(id, 0x0100, [1, 0, 0, 0]);
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Sends `QUERIES` distinct questions and collects the answers: name index -> A address.
fn ask_all(client: &UdpSocket, server: SocketAddr) -> anyhow::Result<Vec<u16>> {
    for i in 0..QUERIES {
        client.send_to(&query(i as u16, &format!("p{i}.poison.test")), server)?;
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok((0..QUERIES as u16).collect())
}

fn collect(client: &UdpSocket, limit: Duration) -> anyhow::Result<BTreeMap<u16, Vec<u8>>> {
    let mut got = BTreeMap::new();
    let mut buf = [0u8; 1500];
    let deadline = Instant::now() + limit;
    // Bounded by the deadline; each recv waits at most 200 ms.
    while got.len() < QUERIES && Instant::now() < deadline {
        if let Ok((n, _)) = client.recv_from(&mut buf) {
            got.insert(u16::from_be_bytes([buf[0], buf[1]]), buf[..n].to_vec());
        }
    }
    Ok(got)
}

/// The A address at the end of a one-answer reply, or None.
fn answer_addr(m: &[u8]) -> Option<Ipv4Addr> {
    (m.len() >= 16 && m[3] & 0x0f == 0 && m[6..8] == [0, 1]).then(|| {
        let a = &m[m.len() - 4..];
        Ipv4Addr::new(a[0], a[1], a[2], a[3])
    })
}

fn poisoning(backend: Backend) -> anyhow::Result<()> {
    let up = HoldingUpstream::start()?;
    let rm = Ringmasq::builder(backend)
        .server(up.server_spec())
        .cache_size(4000)
        .arg("--dns-forward-max=5000")
        .spawn()?;
    let client = UdpSocket::bind("127.0.0.1:0")?;
    set_rcvbuf(&client, 4 << 20);
    client.set_read_timeout(Some(Duration::from_millis(200)))?;
    ask_all(&client, rm.addr())?;
    let n = up.wait_for(QUERIES, Duration::from_secs(5));
    ensure!(n >= QUERIES, "upstream saw only {n} of {QUERIES} queries");
    // The latest attempt per name is the one that is outstanding.
    let mut latest: BTreeMap<String, Held> = BTreeMap::new();
    for h in up.held() {
        latest.insert(h.name.clone(), h);
    }
    ensure!(
        latest.len() == QUERIES,
        "{} distinct names upstream",
        latest.len()
    );
    let held: Vec<Held> = latest.into_values().collect();

    let before = stats(&rm)?;
    let port = up.addr().port();
    let other_addr = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 77], port)))?;
    let other_port = UdpSocket::bind("127.0.0.1:0")?;
    let mut sent = 0u64;
    for (i, h) in held.iter().enumerate() {
        let q = &h.question;
        let n = q.len();
        let mut wrong_type = q.clone();
        wrong_type[n - 3] = 28;
        let mut wrong_class = q.clone();
        wrong_class[n - 1] = 3;
        let other = &held[(i + 1) % held.len()];
        // Another of ringmasq's open upstream ports (a query is outstanding on it): the next
        // one along, so that these forgeries spread over the ports rather than all filling
        // one socket's queue.
        let other_dst = held[i + 1..]
            .iter()
            .chain(&held[..i])
            .map(|o| o.from)
            .find(|a| a.port() != h.from.port())
            .unwrap_or(h.from);
        ensure!(other_dst != h.from, "ringmasq used a single upstream port");
        up.send(&response(h.id ^ 0x0101, q, MARK), h.from)?;
        other_addr.send_to(&response(h.id, q, MARK), h.from)?;
        other_port.send_to(&response(h.id, q, MARK), h.from)?;
        up.send(&response(h.id, q, MARK), other_dst)?;
        up.send(&response(h.id, &other.question, MARK), h.from)?;
        up.send(&response(h.id, &wrong_type, MARK), h.from)?;
        up.send(&response(h.id, &wrong_class, MARK), h.from)?;
        sent += 7;
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Let the forgeries be read before the genuine answers go out.
    std::thread::sleep(Duration::from_millis(200));
    for h in &held {
        up.send(&response(h.id, &h.question, GOOD), h.from)?;
    }
    let got = collect(&client, Duration::from_secs(5))?;
    let poisoned = got
        .values()
        .filter(|m| answer_addr(m) == Some(MARK))
        .count();
    let good = got
        .values()
        .filter(|m| answer_addr(m) == Some(GOOD))
        .count();
    ensure!(poisoned == 0, "{poisoned} forged answers reached clients");
    ensure!(
        good == QUERIES,
        "{good} of {QUERIES} clients got the genuine answer ({} answered)",
        got.len()
    );
    let after = stats(&rm)?;
    let rejected = delta(&before, &after, "rejected-answer");
    ensure!(
        rejected == sent,
        "{sent} forgeries sent, {rejected} counted as rejected"
    );

    // Second round: every answer from the cache, none forged, no upstream traffic.
    let upstream_before = up.held().len();
    ask_all(&client, rm.addr())?;
    let again = collect(&client, Duration::from_secs(5))?;
    let cached_good = again
        .values()
        .filter(|m| answer_addr(m) == Some(GOOD))
        .count();
    ensure!(
        cached_good == QUERIES,
        "second round: {cached_good} of {QUERIES} genuine"
    );
    ensure!(
        up.held().len() == upstream_before,
        "second round went upstream"
    );
    eprintln!("{QUERIES} outstanding, {sent} forgeries: 0 accepted, 0 cached, {rejected} counted");
    Ok(())
}

backend_tests!(poisoning);
