//! An idle worker sleeps until something arrives: no timer wakes it while no query is in
//! flight and no TCP connection is open (a router's DNS server should not tick), and the first
//! query after the pause is answered at once.

use std::time::Duration;

use anyhow::{Context, ensure};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

/// Context switches of the worker thread (`ringmasq-w0`) so far.
fn worker_switches(pid: u32) -> anyhow::Result<u64> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let dir = task?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != "ringmasq-w0" {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status"))?;
        return Ok(status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum());
    }
    anyhow::bail!("no ringmasq-w0 thread in /proc/{pid}/task")
}

fn idle_worker_sleeps(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .threads(1)
        .spawn()?;
    rm.dig("www.lab.test").run()?;
    // The query's upstream timer was set for the forwarding timeout; let it pass.
    std::thread::sleep(Duration::from_secs(2));
    let before = worker_switches(rm.pid()).context("worker thread")?;
    std::thread::sleep(Duration::from_secs(3));
    let after = worker_switches(rm.pid())?;
    // A 500 ms wake-up would show as 6 switches here.
    ensure!(
        after - before <= 2,
        "the idle worker woke {} times in 3 s",
        after - before
    );
    rm.dig("www.lab.test").run()?;
    rm.check_running()?;
    Ok(())
}

backend_tests!(idle_worker_sleeps);
