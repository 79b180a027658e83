//! `--cpu N` pins the generator thread: read its affinity from /proc while it runs.

mod common;
use common::{Guard, echo};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn generator_thread_is_pinned() {
    let (_e, addr) = echo(&[]);
    let child = Command::new(env!("CARGO_BIN_EXE_ringmasq-load"))
        .args([
            "dns", "--server", &addr, "--names", "10", "--suffix", "p.test", "--rate", "200",
        ])
        .args(["--duration", "3s", "--cpu", "0", "--json"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _g = Guard::new(child);
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut found = None;
    while found.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        for t in std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
            if comm.trim() == "load-0" {
                let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                found = status
                    .lines()
                    .find(|l| l.starts_with("Cpus_allowed_list:"))
                    .map(str::to_string);
            }
        }
    }
    let line = found.expect("generator thread load-0 seen");
    assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
}
