//! `--server=ADDR@SRC#PORT` and `--server=ADDR@IF`: queries to such a server leave from that
//! source address (knot answers the zone only to that address, so an answer proves it), through
//! that interface, and — with a fixed source port or `--query-port` shared by two workers —
//! every answer still reaches the worker that asked (no query lost).

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use ringmasq_tests::port::free_port_on;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests, zone};
use std::net::Ipv4Addr;
use std::time::Duration;

const SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

fn src_zone() -> String {
    let mut z = zone::soa("src.test.");
    z.push_str("* IN A 192.0.2.77\n");
    z
}

fn knot() -> anyhow::Result<Knot> {
    Ok(Knot::builder()
        .zone(zone::LAB, zone::lab_zone())
        .zone("src.test.", src_zone())
        .only_from("src.test.", SOURCE)
        .start()?)
}

/// Asks `n` distinct names, each from its own client socket (so both workers get some), and
/// fails on the first one not answered NOERROR with the expected address.
fn all_answered(rm: &Ringmasq, n: usize, suffix: &str, addr: &str) -> anyhow::Result<()> {
    for i in 0..n {
        let name = format!("q{i}.{suffix}");
        let m = rm
            .client()
            .timeout(Duration::from_secs(3))
            .query(&name, RecordType::A)
            .with_context(|| format!("{name} not answered"))?;
        ensure!(
            m.metadata.response_code == ResponseCode::NoError,
            "{name}: {:?}",
            m.metadata.response_code
        );
        let got = m.answers.first().map(|r| r.data.to_string());
        ensure!(got.as_deref() == Some(addr), "{name}: {got:?}");
    }
    Ok(())
}

fn source_address_and_port(backend: Backend) -> anyhow::Result<()> {
    let k = knot()?;
    let port = free_port_on(SOURCE)?;
    let rm = Ringmasq::builder(backend)
        .threads(2)
        .cache_size(0)
        .server(k.server_spec())
        .server(format!("/src.test/{}@{SOURCE}#{port}", k.server_spec()))
        // A longer suffix through the ordinary pool: knot refuses it (wrong source).
        .server(format!("/pool.src.test/{}", k.server_spec()))
        .spawn()?;

    let refused = rm.dig("x.pool.src.test").run()?;
    ensure!(
        refused.status != "NOERROR",
        "knot's ACL did not refuse a query from the pool's address: {refused:?}"
    );
    // 60 names over two workers sharing one source port: all answered.
    all_answered(&rm, 60, "src.test", "192.0.2.77")?;
    let w = rm.dig("www.lab.test").run()?;
    ensure!(w.status == "NOERROR", "default server: {w:?}");
    Ok(())
}

fn source_address_any_port_and_interface(backend: Backend) -> anyhow::Result<()> {
    let k = knot()?;
    let rm = Ringmasq::builder(backend)
        .threads(2)
        .cache_size(0)
        .server(format!("/src.test/{}@{SOURCE}", k.server_spec()))
        .server(format!("/lab.test/{}@lo", k.server_spec()))
        .spawn()?;
    all_answered(&rm, 20, "src.test", "192.0.2.77")?;
    let w = rm.dig("www.lab.test").run()?;
    ensure!(
        w.status == "NOERROR" && w.answers.first().map(|a| a.rdata.as_str()) == Some("192.0.2.1"),
        "through interface lo: {w:?}"
    );
    Ok(())
}

fn shared_query_port(backend: Backend) -> anyhow::Result<()> {
    let k = Knot::builder().zone("src.test.", src_zone()).start()?;
    let port = free_port_on(Ipv4Addr::UNSPECIFIED)?;
    let rm = Ringmasq::builder(backend)
        .threads(2)
        .cache_size(0)
        .server(k.server_spec())
        .arg(format!("--query-port={port}"))
        .spawn()?;
    all_answered(&rm, 60, "src.test", "192.0.2.77")?;
    Ok(())
}

backend_tests!(
    source_address_and_port,
    source_address_any_port_and_interface,
    shared_query_port
);

#[test]
fn unknown_interface_is_refused_at_start() -> anyhow::Result<()> {
    let out = std::process::Command::new(ringmasq_tests::binary::ringmasq_bin()?)
        .args([
            "-k",
            "--port=0",
            "--no-hosts",
            "--no-resolv",
            "--server=127.0.0.1#53@nosuchif0",
        ])
        .output()?;
    let err = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "started with a missing interface");
    ensure!(
        err.contains("nosuchif0"),
        "error does not name the interface: {err}"
    );
    Ok(())
}
