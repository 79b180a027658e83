//! SIGHUP while queries are in flight: a client thread sends 2000 queries one after another
//! while SIGHUP (cache clear, re-reads) arrives several times; not one query may fail. Halfway,
//! a hosts file changes: after the next SIGHUP its new address is answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Knot, Ringmasq, TempDir, backend_tests};

const QUERIES: usize = 2000;
const HUPS: usize = 8;
/// The whole loop must finish within this (it takes well under a second per 1000 normally).
const LIMIT: Duration = Duration::from_secs(60);

fn sighup_under_load(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let hosts_dir = TempDir::new("hup-hosts")?;
    let hosts = hosts_dir.join("hosts");
    std::fs::write(&hosts, "192.0.2.200 hup.lab.test\n")?;
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(format!("--addn-hosts={}", hosts.display()))
        .spawn()?;
    let client = rm.client().timeout(Duration::from_secs(2));
    let done = Arc::new(AtomicUsize::new(0));
    let progress = Arc::clone(&done);
    // SIGHUPs sent so far: the load goes on past QUERIES until the last one is out, so the
    // last signal cannot miss the load however late this thread gets a CPU.
    let hups = Arc::new(AtomicUsize::new(0));
    let hups_sent = Arc::clone(&hups);
    let names = [
        "www.lab.test",
        "mail.lab.test",
        "mail2.lab.test",
        "c1.lab.test",
        "hup.lab.test",
    ];
    let load = std::thread::spawn(move || -> anyhow::Result<()> {
        let start = Instant::now();
        let mut i = 0;
        while i < QUERIES || hups_sent.load(Ordering::Relaxed) < HUPS {
            anyhow::ensure!(start.elapsed() < LIMIT, "load loop over {LIMIT:?}");
            let name = names[i % names.len()];
            let m = client
                .query(name, RecordType::A)
                .with_context(|| format!("query {i} ({name})"))?;
            anyhow::ensure!(
                m.metadata.response_code == ResponseCode::NoError && !m.answers.is_empty(),
                "query {i} ({name}): {:?} with {} answers",
                m.metadata.response_code,
                m.answers.len()
            );
            i += 1;
            progress.store(i, Ordering::Relaxed);
        }
        Ok(())
    });
    // Spread the signals over the run: one each time another 1/(HUPS+1) of it is done.
    let mut sent = 0;
    let start = Instant::now();
    while sent < HUPS && !load.is_finished() && start.elapsed() < LIMIT {
        if done.load(Ordering::Relaxed) >= (sent + 1) * QUERIES / (HUPS + 1) {
            if sent == HUPS / 2 {
                // Replaced whole (a reload still running from the last signal must not read
                // a truncated file).
                let tmp = hosts_dir.join("hosts.new");
                std::fs::write(&tmp, "192.0.2.201 hup.lab.test\n")?;
                std::fs::rename(&tmp, &hosts)?;
            }
            rm.signal(libc::SIGHUP)?;
            sent += 1;
            hups.store(sent, Ordering::Relaxed);
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let result = load
        .join()
        .map_err(|_| anyhow::anyhow!("load thread panicked"))?;
    result?;
    rm.check_running()?;
    ensure!(sent == HUPS, "only {sent} SIGHUPs went out during the load");
    ensure!(
        rm.wait_log("cleared cache", Duration::from_secs(2)),
        "no SIGHUP was handled:\n{}",
        rm.log()
    );
    let handled = rm.log_count("cleared cache");
    ensure!(handled >= 1, "SIGHUPs handled: {handled}");
    let m = rm
        .client()
        .timeout(Duration::from_secs(2))
        .query("hup.lab.test", RecordType::A)?;
    let addrs: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
    ensure!(
        addrs == ["192.0.2.201"],
        "after the hosts file changed and SIGHUP: {addrs:?}"
    );
    Ok(())
}

backend_tests!(sighup_under_load);
