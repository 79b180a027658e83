//! Hostile client messages over TCP (RFC 1035 §4.2.2, RFC 7766): every class of the corpus in
//! `hostile_dns` framed on its own connection, then TCP's own classes — length 0, 1 and 11,
//! a 65,535-byte garbage message, a length promising more than ever comes, a query trickled
//! one byte at a time. Drops are counted, the answers the RFCs ask for come back, and UDP and
//! other TCP clients are served throughout; a stalled connection is closed by the idle timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query};
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::hostile_dns::{Expect, MALFORMED, RESPONSE, client_classes, reply_rcode};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn frame(m: &[u8]) -> Vec<u8> {
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(m);
    f
}

fn good(id: u16) -> anyhow::Result<Vec<u8>> {
    Ok(encode(&make_query(
        id,
        "www.lab.test.",
        RecordType::A,
        DNSClass::IN,
    )?)?)
}

/// Reads framed messages until `stop` says so, the peer closes (returns `closed = true`) or
/// 3 s pass.
fn read_until(
    s: &mut TcpStream,
    mut stop: impl FnMut(&[Vec<u8>]) -> bool,
) -> anyhow::Result<(Vec<Vec<u8>>, bool)> {
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && !stop(&got) {
        let mut len = [0u8; 2];
        match s.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok((got, true)),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok((got, true)),
            Err(e) => bail!("read: {e}"),
        }
        let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut m)?;
        got.push(m);
    }
    Ok((got, false))
}

fn has_id(msgs: &[Vec<u8>], id: &[u8]) -> bool {
    msgs.iter().any(|m| m.len() >= 2 && m[..2] == *id)
}

fn udp_ok(rm: &Ringmasq) -> anyhow::Result<()> {
    let m = rm.client().query("www.lab.test.", RecordType::A)?;
    ensure!(m.answers.len() == 1, "UDP query failed: {m:?}");
    Ok(())
}

fn hostile_dns_tcp(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--tcp-idle-timeout=2")
        .spawn()?;
    rm.client().query_retry("www.lab.test.", RecordType::A, 3)?;
    let addr: SocketAddr = rm.addr();
    let before = stats(&rm)?;
    let classes = client_classes();
    let mut counted = (0u64, 0u64);

    for (i, class) in classes.iter().enumerate() {
        let m0 = rm.counter("malformed.bind")?;
        let mut s = TcpStream::connect(addr)?;
        let good_id = (0xbe00u16 | i as u16).to_be_bytes();
        let mut bytes = frame(&class.bytes);
        bytes.extend_from_slice(&frame(&good(u16::from_be_bytes(good_id))?));
        s.write_all(&bytes)?;
        let (msgs, closed) = read_until(&mut s, |got| match class.expect {
            Expect::Drop(_) => has_id(got, &good_id),
            Expect::Reply(_) => has_id(got, &good_id) && got.len() >= 2,
        })?;
        let m1 = rm.counter("malformed.bind")?;
        match class.expect {
            Expect::Drop(name) => {
                let others: Vec<_> = msgs.iter().filter(|m| m[..2] != good_id).collect();
                ensure!(
                    others.is_empty(),
                    "{}: answered over TCP: {others:02x?}",
                    class.name
                );
                ensure!(
                    closed || has_id(&msgs, &good_id),
                    "{}: neither closed nor went on serving the connection",
                    class.name
                );
                ensure!(
                    m1 - m0 == 1,
                    "{}: malformed.bind {m0} -> {m1}, expected +1",
                    class.name
                );
                if name == MALFORMED {
                    counted.0 += 1;
                } else {
                    counted.1 += 1;
                }
            }
            Expect::Reply(rc) => {
                let Some(r) = msgs.iter().find(|m| m[..2] == class.bytes[..2]) else {
                    bail!(
                        "{}: no TCP answer (closed: {closed}), expected RCODE {rc}",
                        class.name
                    );
                };
                ensure!(
                    reply_rcode(r) == Some(rc),
                    "{}: RCODE {:?}, expected {rc}",
                    class.name,
                    reply_rcode(r)
                );
                ensure!(m1 == m0, "{}: counted as malformed", class.name);
            }
        }
        rm.check_running()?;
    }

    // A complete 65,535-byte message of garbage (QR=0): dropped and counted.
    let m0 = rm.counter("malformed.bind")?;
    let mut huge = vec![0x5au8; 65535];
    huge[2] = 0x01;
    huge[3] = 0;
    let mut s = TcpStream::connect(addr)?;
    s.write_all(&frame(&huge))?;
    s.write_all(&frame(&good(0xbf01)?))?;
    let (msgs, closed) = read_until(&mut s, |got| has_id(got, &0xbf01u16.to_be_bytes()))?;
    ensure!(
        msgs.iter().all(|m| m[..2] == 0xbf01u16.to_be_bytes()) && (closed || !msgs.is_empty()),
        "65535-byte garbage: {} messages, closed {closed}",
        msgs.len()
    );
    ensure!(
        rm.counter("malformed.bind")? == m0 + 1,
        "65535-byte garbage not counted"
    );
    counted.0 += 1;

    // A query trickled one byte every 5 ms is answered.
    let mut slow = TcpStream::connect(addr)?;
    for b in frame(&good(0xbf02)?) {
        slow.write_all(&[b])?;
        std::thread::sleep(Duration::from_millis(5));
    }
    let (msgs, _) = read_until(&mut slow, |got| !got.is_empty())?;
    ensure!(
        has_id(&msgs, &0xbf02u16.to_be_bytes()),
        "trickled query not answered"
    );

    // A length of 65,535 followed by 100 bytes, then nothing: UDP and another TCP client are
    // served meanwhile, and the idle timeout (2 s) closes the stalled connection.
    let mut stalled = TcpStream::connect(addr)?;
    stalled.write_all(&65535u16.to_be_bytes())?;
    stalled.write_all(&good(0xbf03)?)?;
    stalled.write_all(&[0u8; 70])?;
    udp_ok(&rm)?;
    let mut other = TcpStream::connect(addr)?;
    other.write_all(&frame(&good(0xbf04)?))?;
    let (msgs, _) = read_until(&mut other, |got| !got.is_empty())?;
    ensure!(
        has_id(&msgs, &0xbf04u16.to_be_bytes()),
        "TCP client beside a stalled one not served"
    );
    stalled.set_read_timeout(Some(Duration::from_secs(6)))?;
    let t = Instant::now();
    let mut one = [0u8; 1];
    match stalled.read(&mut one) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => bail!("stalled connection not closed by the idle timeout: {other:?}"),
    }
    ensure!(
        t.elapsed() < Duration::from_secs(5),
        "stalled connection closed only after {:?}",
        t.elapsed()
    );
    udp_ok(&rm)?;

    let after = stats(&rm)?;
    let got = (
        delta(&before, &after, MALFORMED),
        delta(&before, &after, RESPONSE),
    );
    ensure!(
        got == counted,
        "drops (malformed, response) {got:?}, expected {counted:?}"
    );
    rm.check_running()?;
    Ok(())
}

backend_tests!(hostile_dns_tcp);
