//! A second server on an address ringmasq already listens on is refused at start ("address
//! already in use", exit non-zero), as dnsmasq is, instead of silently joining the workers'
//! SO_REUSEPORT group and taking part of the traffic.

use anyhow::ensure;
use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::{Backend, Ringmasq, backend_tests};

fn port_in_use(backend: Backend) -> anyhow::Result<()> {
    let first = Ringmasq::builder(backend).spawn()?;
    let addr = first.addr();
    let mut second = std::process::Command::new(ringmasq_bin()?)
        .args([
            "-k",
            &format!("--port={}", addr.port()),
            &format!("--listen-address={}", addr.ip()),
            "--no-hosts",
            "--no-resolv",
            "-8",
            "-",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // Bounded wait: a second server that did start is killed by PID.
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = second.try_wait()? {
            break Some(s);
        }
        if start.elapsed() > std::time::Duration::from_secs(5) {
            second.kill()?;
            second.wait()?;
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = second.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err)?;
    }
    ensure!(
        status.is_some_and(|s| !s.success()),
        "a second server started on {addr}: {status:?}"
    );
    ensure!(
        err.contains("address already in use"),
        "unclear error: {err}"
    );
    // The first one still answers.
    let a = first.dig("version.bind").opt("+norec").run();
    ensure!(a.is_ok(), "first server stopped answering: {a:?}");
    Ok(())
}

backend_tests!(port_in_use);
