//! `--log-async`: query logging goes through the bounded queue. A generous queue loses no
//! line; a one-line queue under a burst may drop lines, and then says how many it lost. The
//! server keeps answering either way, and every line written is whole.

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::RecordType;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const QUERIES: usize = 300;

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

fn burst(rm: &Ringmasq) -> anyhow::Result<()> {
    let client = rm.client();
    for _ in 0..QUERIES {
        let m = client.query("www.lab.test", RecordType::A)?;
        ensure!(m.answers.len() == 1, "{m:?}");
    }
    Ok(())
}

fn lines_are_whole(log: &str) -> anyhow::Result<()> {
    ensure!(log.ends_with('\n'), "last line cut");
    for l in log.lines() {
        ensure!(
            l.len() > 20 && l.as_bytes()[..4].iter().all(u8::is_ascii_digit),
            "mangled line {l:?}"
        );
    }
    Ok(())
}

fn log_async(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;

    // Room for everything: nothing lost.
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .args_for_log(&["--log-queries", "--log-async=4096"])
        .spawn()?;
    burst(&rm)?;
    let all = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || {
            let log = rm.log();
            (count(&log, "query[A] www.lab.test") == QUERIES).then_some(log)
        },
    );
    ensure!(all.is_some(), "not every query logged:\n{}", rm.log());
    let log = rm.log();
    ensure!(!log.contains("overflow"), "lines lost with a large queue");
    lines_are_whole(&log)?;
    drop(rm);

    // One line of room while several threads log: drops are possible, never silent.
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .args_for_log(&["--log-queries", "--log-async=1"])
        .spawn()?;
    burst(&rm)?;
    rm.check_running()?;
    // A last line after the burst lets the logger thread report any loss.
    std::thread::sleep(Duration::from_millis(200));
    rm.client().query("mail.lab.test", RecordType::A)?;
    ensure!(
        rm.wait_log("query[A] mail.lab.test", Duration::from_secs(5)),
        "last query not logged:\n{}",
        rm.log()
    );
    let settled = poll_until(
        Duration::from_secs(3),
        Duration::from_millis(50),
        60,
        || {
            let log = rm.log();
            let logged = count(&log, "query[A] www.lab.test");
            (logged == QUERIES || log.contains("log lines lost")).then_some((logged, log))
        },
    );
    let Some((logged, log)) = settled else {
        anyhow::bail!("lines missing without an overflow report:\n{}", rm.log());
    };
    println!("one-line queue: {logged}/{QUERIES} query lines logged");
    lines_are_whole(&log)?;
    Ok(())
}

/// Adds several options at once.
trait ArgsForLog {
    fn args_for_log(self, args: &[&str]) -> Self;
}

impl ArgsForLog for ringmasq_tests::RingmasqBuilder {
    fn args_for_log(self, args: &[&str]) -> Self {
        args.iter().fold(self, |b, a| b.arg(*a))
    }
}

backend_tests!(log_async);
