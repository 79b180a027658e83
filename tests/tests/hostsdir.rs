//! `--hostsdir`, differential against dnsmasq 2.90: both servers watch the same directory; a
//! file added, changed, moved in and removed is picked up live (no SIGHUP), and both answer
//! the same afterwards (forward and reverse).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

/// dnsmasq 2.90 on the same data, for the comparison; killed by PID on drop.
fn start_dnsmasq(upstream: &str, hostsdir: &Path) -> anyhow::Result<Dnsmasq> {
    Ok(Dnsmasq::start(
        upstream,
        &[
            format!("--hostsdir={}", hostsdir.display()),
            "--local-ttl=7".to_string(),
        ],
        ("one.lab.test.", RecordType::A),
    )?)
}

fn ask(addr: SocketAddr, name: &str, rtype: &str) -> anyhow::Result<DigAnswer> {
    Ok(Dig::new(addr, name)
        .rtype(rtype)
        .opt("+bufsize=1232")
        .run()?)
}

/// The answer keys of a question, from one server.
fn keys(addr: SocketAddr, name: &str, rtype: &str) -> Option<Vec<String>> {
    ask(addr, name, rtype).ok().map(|a| a.answer_keys())
}

/// Waits until both servers give `want` answers to the question (bounded), then compares
/// rcode, answers, counts and the local flags.
fn settle(
    rm: SocketAddr,
    dm: SocketAddr,
    name: &str,
    rtype: &str,
    want: usize,
) -> anyhow::Result<()> {
    for (who, addr) in [("ringmasq", rm), ("dnsmasq", dm)] {
        poll_until(
            Duration::from_secs(5),
            Duration::from_millis(50),
            100,
            || (keys(addr, name, rtype)?.len() == want).then_some(()),
        )
        .with_context(|| format!("{who}: {name} {rtype} never had {want} answers"))?;
    }
    let want = ask(dm, name, rtype)?;
    let got = ask(rm, name, rtype)?;
    let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
    if let Some(what) = got.core_difference(&want) {
        anyhow::bail!("{what} differ: {ctx}");
    }
    if !want.answers.is_empty() {
        ensure!(
            got.has_flag("aa") == want.has_flag("aa"),
            "AA differs: {ctx}"
        );
        let ttls = |a: &DigAnswer| a.answers.iter().map(|r| r.ttl).collect::<Vec<_>>();
        ensure!(ttls(&got) == ttls(&want), "TTLs differ: {ctx}");
    }
    Ok(())
}

fn hostsdir(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("hostsdir")?;
    let hd = dir.join("hosts.d");
    std::fs::create_dir_all(&hd)?;
    std::fs::write(hd.join("a"), "192.0.2.81 one.lab.test\n")?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), &hd)?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(format!("--hostsdir={}", hd.display()))
        .arg("--local-ttl=7")
        .spawn()?;
    let (r, d) = (rm.addr(), dnsmasq.addr);
    settle(r, d, "one.lab.test", "A", 1)?;
    settle(r, d, "81.2.0.192.in-addr.arpa", "PTR", 1)?;
    // A file added.
    std::fs::write(hd.join("b"), "192.0.2.82 two.lab.test\n")?;
    settle(r, d, "two.lab.test", "A", 1)?;
    // A file changed: the old address goes.
    std::fs::write(hd.join("a"), "192.0.2.91 one.lab.test\n")?;
    poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || {
            let k = keys(r, "one.lab.test", "A")?;
            k.iter().any(|x| x.contains("192.0.2.91")).then_some(())
        },
    )
    .context("ringmasq did not read the changed file")?;
    settle(r, d, "one.lab.test", "A", 1)?;
    settle(r, d, "91.2.0.192.in-addr.arpa", "PTR", 1)?;
    // A file moved in (an editor's write-and-rename).
    std::fs::write(dir.join("c.tmp"), "192.0.2.83 three.lab.test\n")?;
    std::fs::rename(dir.join("c.tmp"), hd.join("c"))?;
    settle(r, d, "three.lab.test", "A", 1)?;
    // A file removed: its names go (the question is forwarded to knot by both).
    std::fs::remove_file(hd.join("b"))?;
    settle(r, d, "two.lab.test", "A", 0)?;
    settle(r, d, "81.2.0.192.in-addr.arpa", "PTR", 0)?;
    Ok(())
}

backend_tests!(hostsdir);
