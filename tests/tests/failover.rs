//! Failover: the first upstream is down (nothing listening: ICMP port unreachable; or a black
//! hole that swallows queries) and answers still arrive from the second one.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use hickory_proto::rr::{RData, RecordType};
use ringmasq_tests::port::dead_server;
use ringmasq_tests::{Backend, BlackHole, Knot, Ringmasq, backend_tests};

/// Resolves n1..n5.lab.test through `rm`, each within `tries` client tries of 1 s.
fn answers_arrive(rm: &Ringmasq, tries: u32) -> anyhow::Result<()> {
    let client = rm.client().timeout(Duration::from_secs(1));
    for i in 1..=5u8 {
        let name = format!("n{i}.lab.test.");
        let start = Instant::now();
        let m = client
            .query_retry(&name, RecordType::A, tries)
            .with_context(|| format!("{name} never answered"))?;
        let want = RData::A(Ipv4Addr::new(192, 0, 2, 100 + i).into());
        ensure!(
            m.answers.iter().any(|r| r.data == want),
            "{name}: wrong answer {:?}",
            m.answers
        );
        eprintln!("{name} answered after {:?}", start.elapsed());
    }
    Ok(())
}

fn servers_listed(rm: &Ringmasq, specs: &[String]) -> anyhow::Result<()> {
    let servers = rm.servers()?;
    for s in specs {
        ensure!(
            servers.iter().any(|l| l.starts_with(&format!("{s} "))),
            "servers.bind lacks {s}: {servers:?}"
        );
    }
    Ok(())
}

fn failover_refused(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dead = dead_server()?;
    let dead_spec = format!("{}#{}", dead.ip(), dead.port());
    let rm = Ringmasq::builder(backend)
        .server(dead_spec.clone())
        .server(knot.server_spec())
        .spawn()?;
    answers_arrive(&rm, 4)?;
    servers_listed(&rm, &[dead_spec, knot.server_spec()])
}

fn failover_refused_strict_order(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dead = dead_server()?;
    let dead_spec = format!("{}#{}", dead.ip(), dead.port());
    let rm = Ringmasq::builder(backend)
        .server(dead_spec)
        .server(knot.server_spec())
        .arg("--strict-order")
        .spawn()?;
    answers_arrive(&rm, 4)
}

fn failover_blackhole(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let hole = BlackHole::new()?;
    let rm = Ringmasq::builder(backend)
        .server(hole.server_spec())
        .server(knot.server_spec())
        .spawn()?;
    answers_arrive(&rm, 5)?;
    servers_listed(&rm, &[hole.server_spec(), knot.server_spec()])
}

backend_tests!(
    failover_refused,
    failover_refused_strict_order,
    failover_blackhole
);
