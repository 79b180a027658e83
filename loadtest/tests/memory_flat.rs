//! Memory stays flat during a long run: every slot, buffer and histogram is allocated
//! up front, so RSS sampled early and late in a run barely moves.

mod common;
use common::{Guard, echo};
use std::process::{Command, Stdio};
use std::time::Duration;

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn rss_does_not_grow() {
    let (_e, addr) = echo(&[]);
    let child = Command::new(env!("CARGO_BIN_EXE_ringmasq-load"))
        .args([
            "dns",
            "--server",
            &addr,
            "--unique",
            "m.test",
            "--duration",
            "4s",
        ])
        .args(["--max-outstanding", "512", "--json"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _g = Guard::new(child);
    std::thread::sleep(Duration::from_millis(1000));
    let early = rss_kib(pid);
    std::thread::sleep(Duration::from_millis(2500));
    let late = rss_kib(pid);
    // Hundreds of thousands of queries ran in between; allow 256 KiB of noise.
    assert!(
        late <= early + 256,
        "RSS grew from {early} KiB to {late} KiB"
    );
}
