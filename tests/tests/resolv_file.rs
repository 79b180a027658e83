//! `-r FILE`: an edit of the resolv file is picked up while running. The file starts with a
//! dead nameserver; after it is rewritten to point at a knot on 127.x.y.z:53 (resolv.conf has no
//! ports), queries succeed within a few seconds.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{RData, RecordType};
use ringmasq_tests::port::free_loopback_addr;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, TempDir, backend_tests, zone};

fn write_atomically(dir: &TempDir, path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let tmp = dir.join("resolv.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn resolv_file(backend: Backend) -> anyhow::Result<()> {
    let ip = free_loopback_addr(53)?;
    let knot = Knot::builder()
        .ip(ip)
        .port(53)
        .zone(zone::LAB, zone::lab_zone())
        .start()
        .context("knot on port 53 (needs root / CAP_NET_BIND_SERVICE)")?;
    let dead = free_loopback_addr(53)?;
    ensure!(dead != ip, "dead and live addresses collide");

    let dir = TempDir::new("resolv")?;
    let resolv = dir.join("resolv.conf");
    write_atomically(&dir, &resolv, &format!("# test\nnameserver {dead}\n"))?;
    let rm = Ringmasq::builder(backend).resolv_file(&resolv).spawn()?;

    let client = rm.client().timeout(Duration::from_millis(700));
    let want = RData::A(Ipv4Addr::new(192, 0, 2, 1).into());
    if let Ok(m) = client.query("www.lab.test.", RecordType::A) {
        ensure!(
            !m.answers.iter().any(|r| r.data == want),
            "answered through a dead nameserver?"
        );
    }
    // resolv.conf changes are detected by mtime; make sure the new mtime differs by >= 1 s.
    std::thread::sleep(Duration::from_millis(1100));
    write_atomically(&dir, &resolv, &format!("nameserver {ip}\n"))?;

    let mut last = String::new();
    let ok = poll_until(
        Duration::from_secs(8),
        Duration::from_millis(200),
        40,
        || match client.query("www.lab.test.", RecordType::A) {
            Ok(m)
                if m.metadata.response_code == ResponseCode::NoError
                    && m.answers.iter().any(|r| r.data == want) =>
            {
                Some(())
            }
            other => {
                last = format!("{other:?}");
                None
            }
        },
    );
    if ok.is_none() {
        // Diagnose: is only the name queried before the change stuck (a cached or merged
        // failure), or is the new nameserver not used at all?
        let other = client.query("n1.lab.test.", RecordType::A);
        anyhow::bail!(
            "resolv file change not picked up within 8 s; knot on {ip}:53 saw {} queries \
             (1 is the harness readiness probe); last result for www.lab.test: {last}; \
             a fresh name (n1.lab.test) then gave: {other:?}",
            knot.query_count()?
        );
    }
    ensure!(knot.query_count()? >= 1, "knot on {ip}:53 saw no query");
    Ok(())
}

backend_tests!(resolv_file);
