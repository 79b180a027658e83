//! Malformed client packets (garbage, short header, bad label type, overrunning label,
//! compression-pointer loop) are dropped without an answer and counted in malformed.bind,
//! while good queries keep being answered.

use std::time::Duration;

use std::io::Write;

use anyhow::ensure;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{TcpDns, make_query, next_id};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

/// A query header: ID, RD set, QDCOUNT 1 (RFC 1035 §4.1.1).
fn header(id: u16) -> Vec<u8> {
    let mut h = id.to_be_bytes().to_vec();
    h.extend_from_slice(&[0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
    h
}

fn packets() -> Vec<(&'static str, Vec<u8>)> {
    let mut garbage = vec![0u8; 48];
    for (i, b) in garbage.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(0x9c);
    }
    // Keep QR = 0 and opcode = QUERY so it looks like a query, not a stray response.
    garbage[2] &= 0x07;

    let mut bad_label = header(0x2001);
    // 0x45: top bits 01 are a reserved label type (RFC 1035 §4.1.4, RFC 6891 §5).
    bad_label.extend_from_slice(&[0x45, b'a', b'b', b'c', 0, 0, 1, 0, 1]);

    let mut overrun = header(0x2002);
    // Label claims 50 bytes, only 6 follow.
    overrun.extend_from_slice(&[50, b'a', b'b', b'c', 0, 0, 1]);

    let mut ptr_loop = header(0x2003);
    // The question name is a compression pointer to itself (offset 12).
    ptr_loop.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);

    let mut truncated = header(0x2004);
    // Name ends, but QTYPE/QCLASS are missing.
    truncated.extend_from_slice(&[3, b'w', b'w', b'w', 0]);

    vec![
        ("garbage", garbage),
        (
            "short header",
            vec![0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00],
        ),
        ("empty", Vec::new()),
        ("bad label type", bad_label),
        ("label overrun", overrun),
        ("pointer loop", ptr_loop),
        ("truncated question", truncated),
    ]
}

fn malformed(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    // Read now, checked last, so the drop checks run even without the counter.
    let before = rm.counter("malformed.bind");
    let silent = rm.client().timeout(Duration::from_millis(300));
    let pkts = packets();
    for (what, bytes) in &pkts {
        let reply = silent.exchange_raw(bytes)?;
        ensure!(
            reply.is_none(),
            "{what}: got a reply {reply:02x?}, expected a silent drop"
        );
        let m = rm.client().query("www.lab.test.", RecordType::A)?;
        ensure!(
            m.metadata.response_code == ResponseCode::NoError && m.answers.len() == 1,
            "good query after {what} failed: {m:?}"
        );
        rm.check_running()?;
    }
    // The empty datagram may not be distinguishable from nothing; the rest must be counted.
    let before = before?;
    let after = rm.counter("malformed.bind")?;
    let want = pkts.len() as u64 - 1;
    ensure!(
        after - before >= want,
        "malformed.bind went {before} -> {after}, expected +{want}"
    );
    Ok(())
}

/// Over TCP: a malformed message gets no answer (the connection may be closed), and a
/// connection stuck halfway through a message blocks neither other TCP clients nor UDP.
fn malformed_tcp(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::start(backend, &knot.server_spec())?;
    let quick = Duration::from_millis(500);

    for (what, bytes) in packets().into_iter().filter(|(_, b)| !b.is_empty()) {
        let mut conn = TcpDns::connect(rm.addr(), quick)?;
        conn.write_raw(&bytes)?;
        match conn.read() {
            Err(_) => {} // closed or silent: both fine
            Ok(m) => anyhow::bail!("{what} over TCP: got an answer {m:?}"),
        }
    }

    // A client that sends a length prefix of 300 and only 20 bytes, then stalls.
    let mut stalled = std::net::TcpStream::connect(rm.addr())?;
    stalled.write_all(&300u16.to_be_bytes())?;
    stalled.write_all(&header(0x3001)[..12])?;
    stalled.write_all(&[3, b'w', b'w', b'w', 3, b'l', b'a', b'b'])?;

    let mut conn = rm.client().tcp()?;
    let m = conn.exchange(&make_query(
        next_id(),
        "www.lab.test.",
        RecordType::A,
        DNSClass::IN,
    )?)?;
    ensure!(
        m.answers.len() == 1,
        "TCP query beside a stalled connection: {m:?}"
    );
    let m = rm.client().query("www.lab.test.", RecordType::A)?;
    ensure!(
        m.answers.len() == 1,
        "UDP query beside a stalled connection: {m:?}"
    );
    drop(stalled);
    rm.check_running()?;
    Ok(())
}

backend_tests!(malformed, malformed_tcp);
