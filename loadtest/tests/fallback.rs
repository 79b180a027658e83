//! When io_uring is refused, `auto` says so once (not once per thread) and runs on
//! recvmmsg/sendmmsg with the same exact counts.

mod common;
use common::echo;
use std::process::Command;

#[test]
fn fallback_is_announced_once() {
    let (_e, addr) = echo(&[]);
    let out = Command::new("timeout")
        .args([
            "60",
            env!("CARGO_BIN_EXE_ringmasq-load"),
            "dns",
            "--server",
            &addr,
        ])
        .args([
            "--names",
            "10",
            "--suffix",
            "f.test",
            "--count",
            "4000",
            "--threads",
            "3",
            "--json",
        ])
        .env("RINGMASQ_LOAD_NO_URING", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("io_uring unavailable").count(),
        1,
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["backend"], "mmsg");
    assert_eq!(v["sent"], 4000);
    assert_eq!(v["answered"], 4000);
}
