//! `-8/--log-facility` and `--log-debug`: `-` sends the log to stderr instead of a file, a
//! facility name sends it to syslog (the server still starts and answers), and debug lines
//! appear only with `--log-debug`.

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::RecordType;
use ringmasq_tests::process::tail;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn log_facility(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;

    // The harness passes `-8 FILE`; a later `-8 -` wins and logs to stderr.
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--log-queries")
        .arg("--log-debug")
        .arg("-8")
        .arg("-")
        .spawn()?;
    rm.client().query("www.lab.test", RecordType::A)?;
    let stderr = rm.dir().join("stdout-stderr.txt");
    let seen = poll_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        150,
        || {
            let text = std::fs::read_to_string(&stderr).ok()?;
            text.contains("query[A] www.lab.test").then_some(text)
        },
    );
    ensure!(
        seen.is_some(),
        "no query line on stderr:\n{}",
        tail(&stderr, 30)
    );
    let text = seen.unwrap_or_default();
    ensure!(
        text.contains("configuration files read"),
        "--log-debug line missing:\n{text}"
    );
    ensure!(
        rm.log().is_empty(),
        "the -8 file was written too:\n{}",
        rm.log()
    );
    drop(rm);

    // Without --log-debug there is no debug line.
    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    ensure!(
        rm.wait_log("started:", Duration::from_secs(3)),
        "{}",
        rm.log()
    );
    ensure!(
        !rm.log().contains("configuration files read"),
        "{}",
        rm.log()
    );
    drop(rm);

    // A syslog facility: lines leave through syslog(3), not the file; serving is unaffected.
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--log-facility=LOCAL5")
        .spawn()?;
    let a = rm.client().query("www.lab.test", RecordType::A)?;
    ensure!(a.answers.len() == 1, "{a:?}");
    rm.check_running()?;
    ensure!(rm.log().is_empty(), "file written with a syslog facility");
    Ok(())
}

backend_tests!(log_facility);
