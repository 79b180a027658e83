//! `--bind-dynamic` in a namespace of its own: ringmasq listens on `-i d0`, which has no address
//! at start; an IPv4 and an IPv6 address added to d0 get listeners (UDP and TCP) within seconds
//! without a restart, a removed address loses its listener, and an address added again is
//! served again.

use std::process::Command;
use std::time::Duration;

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::netns::{Netns, find_tool, is_root};
use ringmasq_tests::process::ChildGuard;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, TempDir};

/// `dig` inside the namespace; the first answer line, or "" when nothing answered.
fn dig(ns: &Netns, server: &str, tcp: bool) -> String {
    let mut c: Command = ns.command("dig");
    c.args([
        &format!("@{server}"),
        "dyn.test",
        "A",
        "+short",
        "+time=1",
        "+tries=1",
    ]);
    if tcp {
        c.arg("+tcp");
    }
    c.output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .unwrap_or_default()
}

fn answers(ns: &Netns, server: &str, tcp: bool) -> bool {
    poll_until(
        Duration::from_secs(8),
        Duration::from_millis(100),
        200,
        || (dig(ns, server, tcp) == "192.0.2.1").then_some(()),
    )
    .is_some()
}

fn listening(ns: &Netns, addr: &str) -> bool {
    ns.command("ss")
        .args(["-Hlun", "sport", "= :53"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(addr))
        .unwrap_or(false)
}

fn bind_dynamic(backend: Backend) -> anyhow::Result<()> {
    if !is_root() || find_tool("dig").is_none() || find_tool("ss").is_none() {
        println!("note: needs root, dig and ss; skipping");
        return Ok(());
    }
    let ns = Netns::unique(&format!("bdyn-{}-", backend.as_arg())).expect("namespace");
    // A veth pair inside the namespace (the dummy driver may be missing).
    ns.must_ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.must_ip(&["link", "set", "d1", "up"]);
    ns.must_ip(&["link", "set", "d0", "up"]);
    let dir = TempDir::new("bind-dynamic")?;
    let mut cmd = ns.command(&ringmasq_bin()?.to_string_lossy());
    cmd.args([
        "-k",
        "--port=53",
        "--interface=d0",
        "--bind-dynamic",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--address=/dyn.test/192.0.2.1",
        &format!("--io-backend={}", backend.as_arg()),
        "--log-facility=-",
    ]);
    let mut server = ChildGuard::spawn("ringmasq", cmd, &dir.join("log"))?;
    let log = || std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    // Loopback is always served with --interface.
    anyhow::ensure!(
        answers(&ns, "127.0.0.1", false),
        "no answer on loopback:\n{}",
        log()
    );
    anyhow::ensure!(
        dig(&ns, "10.99.0.1", false) != "192.0.2.1",
        "answered before the address existed"
    );

    ns.must_ip(&["addr", "add", "10.99.0.1/24", "dev", "d0"]);
    anyhow::ensure!(
        answers(&ns, "10.99.0.1", false),
        "new IPv4 address not served:\n{}",
        log()
    );
    anyhow::ensure!(
        answers(&ns, "10.99.0.1", true),
        "new IPv4 address not served over TCP"
    );
    ns.must_ip(&["-6", "addr", "add", "fd99::1/64", "dev", "d0", "nodad"]);
    anyhow::ensure!(
        answers(&ns, "fd99::1", false),
        "new IPv6 address not served:\n{}",
        log()
    );

    ns.must_ip(&["addr", "del", "10.99.0.1/24", "dev", "d0"]);
    let closed = poll_until(
        Duration::from_secs(8),
        Duration::from_millis(100),
        200,
        || (!listening(&ns, "10.99.0.1")).then_some(()),
    );
    anyhow::ensure!(
        closed.is_some(),
        "listener on a removed address still open:\n{}",
        log()
    );
    anyhow::ensure!(
        answers(&ns, "fd99::1", false),
        "the other address stopped answering"
    );

    ns.must_ip(&["addr", "add", "10.99.0.1/24", "dev", "d0"]);
    anyhow::ensure!(
        answers(&ns, "10.99.0.1", false),
        "re-added address not served:\n{}",
        log()
    );
    server.check_running()?;
    Ok(())
}

ringmasq_tests::backend_tests!(bind_dynamic);
