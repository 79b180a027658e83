//! A restart at once (as `systemctl restart` does: SIGTERM, wait for the exit, start): the new
//! server takes the same address and answers. On io_uring the kernel can hold the old
//! listener a few milliseconds past the old process's end; the start waits for it instead of
//! failing with "address already in use" (it did in 12 of 20 restarts before).

use std::process::Command;
use std::time::{Duration, Instant};

use ringmasq_tests::binary::ringmasq_bin;
use ringmasq_tests::port::free_port;
use ringmasq_tests::process::ChildGuard;
use ringmasq_tests::{Backend, Dig, TempDir, backend_tests};

fn restart_at_once(b: Backend) -> anyhow::Result<()> {
    let dir = TempDir::new("restart")?;
    let port = free_port()?;
    let start = |round: usize| -> anyhow::Result<ChildGuard> {
        let mut cmd = Command::new(ringmasq_bin()?);
        cmd.args([
            "-k",
            &format!("--port={port}"),
            "--listen-address=127.0.0.1",
            "--no-resolv",
            "--no-hosts",
            &format!("--io-backend={}", b.as_arg()),
        ]);
        Ok(ChildGuard::spawn(
            "ringmasq",
            cmd,
            &dir.join(&format!("out-{round}.txt")),
        )?)
    };
    let addr = format!("127.0.0.1:{port}").parse()?;
    let answers = |child: &mut ChildGuard| -> anyhow::Result<()> {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            child.check_running()?;
            if let Ok(a) = Dig::new(addr, "cachesize.bind")
                .rtype("TXT")
                .class("CH")
                .run()
                && a.status == "NOERROR"
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < end, "no answer from the restarted server");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut child = start(0)?;
    answers(&mut child)?;
    for round in 1..=10 {
        child.signal(libc::SIGTERM)?;
        let end = Instant::now() + Duration::from_secs(10);
        while child.check_running().is_ok() {
            anyhow::ensure!(Instant::now() < end, "ringmasq did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(1));
        }
        child = start(round)?;
        answers(&mut child)?;
    }
    Ok(())
}

backend_tests!(restart_at_once);
