//! Shared helpers for the end-to-end tests: start the echo responder on an ephemeral
//! loopback port, run the generator, parse its JSON. Every child is killed by PID.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};

/// A child process killed (by its PID) and reaped on drop.
pub struct Guard(pub Child, Option<MutexGuard<'static, ()>>);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if self.1.is_some() {
            HELD.with(|h| h.set(false));
        }
    }
}

impl Guard {
    /// Guards a child process (killed and reaped on drop).
    pub fn new(child: Child) -> Self {
        Guard(child, None)
    }
}

/// Tests in one binary run in parallel threads; load runs share two cores with each other and
/// would measure each other. Each echo responder holds this lock for its test's lifetime, so
/// the measured runs of one test binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

thread_local! {
    /// This thread holds `SERIAL` already (a test with two responders takes it once).
    static HELD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn serial() -> Option<MutexGuard<'static, ()>> {
    if HELD.with(|h| h.get()) {
        return None;
    }
    let g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    HELD.with(|h| h.set(true));
    Some(g)
}

/// Starts `ringmasq-echo` on 127.0.0.1 with an ephemeral port; returns it and `ADDR:PORT`.
pub fn echo(extra: &[&str]) -> (Guard, String) {
    let turn = serial();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringmasq-echo"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn ringmasq-echo");
    let out = child.stdout.take().expect("stdout");
    let guard = Guard(child, turn);
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("read listen line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listen line")
        .to_string();
    (guard, addr)
}

/// Runs `ringmasq-load dns --server ADDR <args> --json` (bounded by a 60 s kill timer)
/// and returns the parsed JSON plus the raw stdout.
pub fn load(addr: &str, args: &[&str]) -> (Value, String) {
    let out = Command::new("timeout")
        .args([
            "60",
            env!("CARGO_BIN_EXE_ringmasq-load"),
            "dns",
            "--server",
            addr,
        ])
        .args(args)
        .arg("--json")
        .output()
        .expect("run ringmasq-load");
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        out.status.success(),
        "ringmasq-load failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    (v, stdout)
}

/// A JSON number as u64.
pub fn n(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("`{k}` missing or not an integer in {v}"))
}
