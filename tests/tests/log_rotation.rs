//! SIGUSR2 reopens the `-8` log file: after logrotate-style renaming, new lines go to a new
//! file at the old path and the rotated file gets no more.

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::RecordType;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn log_rotation(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("--log-queries")
        .spawn()?;
    let log = rm.dir().join("ringmasq.log");
    let rotated = rm.dir().join("ringmasq.log.1");
    rm.client().query("www.lab.test", RecordType::A)?;
    ensure!(
        rm.wait_log("query[A] www.lab.test", Duration::from_secs(3)),
        "no query line before rotation:\n{}",
        rm.log()
    );

    std::fs::rename(&log, &rotated)?;
    // Still writing to the renamed file until told.
    rm.client().query("mail.lab.test", RecordType::A)?;
    let moved = poll_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        150,
        || {
            std::fs::read_to_string(&rotated)
                .ok()?
                .contains("query[A] mail.lab.test")
                .then_some(())
        },
    );
    ensure!(moved.is_some(), "renamed file did not get the next line");

    rm.signal(libc::SIGUSR2)?;
    // The reopen is asynchronous: query until a line shows up at the old path.
    let reopened = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(100),
        50,
        || {
            let _ = rm.client().query("txt.lab.test", RecordType::TXT);
            std::fs::read_to_string(&log)
                .ok()?
                .contains("query[TXT] txt.lab.test")
                .then_some(())
        },
    );
    rm.check_running()?;
    ensure!(
        reopened.is_some(),
        "no new log file at {} after SIGUSR2",
        log.display()
    );
    // From now on, lines go to the new file only.
    rm.client().query("mail2.lab.test", RecordType::A)?;
    ensure!(
        rm.wait_log("query[A] mail2.lab.test", Duration::from_secs(3)),
        "line after reopen missing from the new file:\n{}",
        rm.log()
    );
    let old = std::fs::read_to_string(&rotated)?;
    ensure!(
        !old.contains("mail2.lab.test"),
        "rotated file still written after SIGUSR2:\n{old}"
    );
    ensure!(
        old.contains("www.lab.test"),
        "rotated file lost its lines:\n{old}"
    );
    Ok(())
}

backend_tests!(log_rotation);
