//! `--no-poll`: a resolv-file edit is NOT picked up by polling, but SIGHUP re-reads it.

use std::time::Duration;

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use ringmasq_tests::port::free_loopback_addr;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, TempDir, backend_tests, zone};

fn no_poll(backend: Backend) -> anyhow::Result<()> {
    let ip = free_loopback_addr(53)?;
    let knot = Knot::builder()
        .ip(ip)
        .port(53)
        .zone(zone::LAB, zone::lab_zone())
        .start()
        .context("knot on port 53 (needs root)")?;
    let dead = free_loopback_addr(53)?;
    let dir = TempDir::new("nopoll")?;
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, format!("nameserver {dead}\n"))?;
    let rm = Ringmasq::builder(backend)
        .resolv_file(&resolv)
        .arg("--no-poll")
        .spawn()?;
    std::thread::sleep(Duration::from_millis(1100));
    let tmp = dir.join("resolv.tmp");
    std::fs::write(&tmp, format!("nameserver {ip}\n"))?;
    std::fs::rename(&tmp, &resolv)?;

    // Fresh names each time, so nothing is cached or merged.
    let client = rm.client().timeout(Duration::from_millis(500));
    let answered = |name: &str| {
        matches!(client.query(name, RecordType::A),
            Ok(m) if m.metadata.response_code == ResponseCode::NoError && m.answers.len() == 1)
    };
    for i in 1..=4 {
        std::thread::sleep(Duration::from_millis(600));
        ensure!(
            !answered(&format!("n{i}.lab.test.")),
            "resolv file re-read despite --no-poll"
        );
    }
    rm.signal(libc::SIGHUP)?;
    let mut i = 4;
    let ok = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(200),
        15,
        || {
            i += 1;
            answered(&format!("n{i}.lab.test.")).then_some(())
        },
    );
    ensure!(
        ok.is_some(),
        "SIGHUP did not re-read the resolv file with --no-poll"
    );
    ensure!(knot.query_count()? >= 2, "knot saw no query");
    Ok(())
}

backend_tests!(no_poll);
