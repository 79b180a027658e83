//! A wildcard listener answers from the address each query was sent to (item 2 of the DNS
//! issue). Started with no `--listen-address` and no `--interface`, ringmasq binds 0.0.0.0 and
//! [::], as dnsmasq does; dig then asks 127.0.0.1, a second loopback address and ::1 in turn.
//! dig takes a reply only from the address it asked ("reply from unexpected source" otherwise),
//! so each answer shows that the reply left from the query's destination (IP_PKTINFO /
//! IPV6_PKTINFO).

use anyhow::{Context, ensure};
use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::dig::Dig;
use ringmasq_tests::port::free_port;
use ringmasq_tests::process::{ChildGuard, tail};
use ringmasq_tests::tempdir::TempDir;
use ringmasq_tests::{Backend, backend_tests};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

/// The CHAOS question `cachesize.bind`, asked of `ip` on `port`.
fn ask(ip: IpAddr, port: u16) -> anyhow::Result<ringmasq_tests::dig::DigAnswer> {
    Dig::new(SocketAddr::new(ip, port), "cachesize.bind")
        .class("CH")
        .rtype("TXT")
        .opt("+norec")
        .timeout(1)
        .run()
        .map_err(Into::into)
}

fn wildcard_listener(backend: Backend) -> anyhow::Result<()> {
    let dir = TempDir::new("wildcard")?;
    // The wildcard port is free when chosen, but another process may bind it on 0.0.0.0 before
    // the server does (any process drawing random source ports): then a new port is tried.
    let mut attempt = 0;
    let (mut server, port, log) = loop {
        attempt += 1;
        let port = free_port()?;
        let log = dir.path().join(format!("ringmasq-{attempt}.out"));
        let mut cmd = std::process::Command::new(ringmasq_bin()?);
        cmd.args([
            "-k",
            &format!("--port={port}"),
            "--no-hosts",
            "--no-resolv",
            &format!("--io-backend={backend}"),
            "-8",
            "-",
        ]);
        let mut server = ChildGuard::spawn("ringmasq", cmd, &log)?;
        // Bounded wait for the start.
        let start = Instant::now();
        let started = loop {
            if ask(IpAddr::V4(Ipv4Addr::LOCALHOST), port).is_ok() {
                break Ok(());
            }
            if let Err(e) = server.check_running() {
                break Err(anyhow::Error::from(e));
            }
            if start.elapsed() >= Duration::from_secs(10) {
                break Err(anyhow::anyhow!(
                    "no answer on 127.0.0.1:{port}: {}",
                    tail(&log, 10)
                ));
            }
        };
        match started {
            Ok(()) => break (server, port, log),
            Err(_) if attempt < 3 && tail(&log, 10).contains("in use") => continue,
            Err(e) => return Err(e),
        }
    };
    for ip in [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(127, 45, 6, 7)),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ] {
        let a = ask(ip, port).with_context(|| {
            format!(
                "no answer from {ip} to a query sent to {ip} ({})",
                tail(&log, 10)
            )
        })?;
        ensure!(
            a.answers.iter().any(|r| r.rdata.contains("150")),
            "{ip}: unexpected answer {a:?}"
        );
    }
    server.check_running()?;
    Ok(())
}

backend_tests!(wildcard_listener);
