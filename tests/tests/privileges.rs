//! `-u nobody`: after binding, the server runs as nobody (group dip when it exists, else
//! nobody's own group) with only CAP_NET_BIND_SERVICE, CAP_NET_ADMIN and CAP_NET_RAW, in
//! every thread; it still answers, and its pid file (written before the switch, in a
//! root-owned directory) is removed at SIGTERM.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Knot, Ringmasq, TempDir, backend_tests};

/// CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
const KEPT: u64 = (1 << 10) | (1 << 12) | (1 << 13);

/// Field 2 (uid/gid) and field 3 (primary gid) of `name`'s line in a colon-separated file.
fn db_field(file: &str, name: &str, field: usize) -> Option<u32> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(field)?.parse().ok())
}

/// `(real, effective, saved, fs)` ids of a `Uid:`/`Gid:` line, and the hex value of a `Cap*:` line.
fn status_line<'a>(status: &'a str, key: &str) -> anyhow::Result<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .with_context(|| format!("no {key} in\n{status}"))
}

fn check_thread(status: &str, uid: u32, gid: u32) -> anyhow::Result<()> {
    let want_uid = format!("{uid}\t{uid}\t{uid}\t{uid}");
    let want_gid = format!("{gid}\t{gid}\t{gid}\t{gid}");
    ensure!(status_line(status, "Uid:")? == want_uid, "Uid:\n{status}");
    ensure!(status_line(status, "Gid:")? == want_gid, "Gid:\n{status}");
    ensure!(
        status_line(status, "Groups:")?.is_empty(),
        "Groups:\n{status}"
    );
    for key in ["CapEff:", "CapPrm:"] {
        let caps = u64::from_str_radix(status_line(status, key)?, 16)?;
        ensure!(caps == KEPT, "{key} {caps:#x}, want {KEPT:#x}\n{status}");
    }
    ensure!(
        u64::from_str_radix(status_line(status, "CapInh:")?, 16)? == 0,
        "CapInh\n{status}"
    );
    Ok(())
}

fn privileges(backend: Backend) -> anyhow::Result<()> {
    let Some(uid) = db_field("/etc/passwd", "nobody", 2) else {
        bail!("no user nobody in /etc/passwd");
    };
    let gid = db_field("/etc/group", "dip", 2)
        .or_else(|| db_field("/etc/passwd", "nobody", 3))
        .context("no group for nobody")?;
    let knot = Knot::start_lab()?;
    let piddir = TempDir::new("rmq-pid")?;
    let pidfile = piddir.join("ringmasq.pid");
    let mut rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg("-u")
        .arg("nobody")
        .arg(format!("--pid-file={}", pidfile.display()))
        .spawn()?;
    let pid = rm.pid();
    let written = std::fs::read_to_string(&pidfile).context("pid file")?;
    ensure!(
        written.trim() == pid.to_string(),
        "pid file says {written:?}, pid {pid}"
    );

    let a = rm.client().query("www.lab.test", RecordType::A)?;
    ensure!(a.answers.len() == 1, "no answer as nobody: {a:?}");

    let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{pid}/task"))?
        .filter_map(|e| e.ok())
        .collect();
    ensure!(
        tasks.len() >= 3,
        "expected main, control and 2 workers, got {}",
        tasks.len()
    );
    for t in tasks {
        let status = std::fs::read_to_string(t.path().join("status"))?;
        check_thread(&status, uid, gid).with_context(|| format!("thread {:?}", t.file_name()))?;
    }

    rm.signal(libc::SIGTERM)?;
    let exited = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        500,
        || rm.check_running().is_err().then_some(()),
    );
    ensure!(exited.is_some(), "still running 5 s after SIGTERM");
    let removed = poll_until(
        Duration::from_secs(3),
        Duration::from_millis(20),
        300,
        || (!pidfile.exists()).then_some(()),
    );
    ensure!(
        removed.is_some(),
        "pid file {} left behind",
        pidfile.display()
    );
    Ok(())
}

backend_tests!(privileges);
