//! Network namespaces and veth pairs created (and deleted) by one test.
//!
//! The DHCP scenarios put the server, the clients and any relay each in a namespace of their
//! own, joined by veth pairs; no traffic leaves those namespaces.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `args[0]` with the other arguments, output discarded; true if it exited with success.
pub fn run(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when the test runs as root (namespaces need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The path of `program` in one of the usual binary directories, if it is installed.
pub fn find_tool(program: &str) -> Option<PathBuf> {
    [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ]
    .iter()
    .map(|d| Path::new(d).join(program))
    .find(|p| p.is_file())
}

/// A network namespace, deleted when dropped.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` with its loopback up; `None` if `ip` fails.
    pub fn new(name: &str) -> Option<Self> {
        let _ = run(&["ip", "netns", "del", name]);
        if !run(&["ip", "netns", "add", name]) {
            return None;
        }
        let ns = Netns {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"]).then_some(ns)
    }

    /// Creates namespace `prefix` followed by this test process's PID (so that two test runs
    /// at once never share one), as [`Netns::new`].
    pub fn unique(prefix: &str) -> Option<Self> {
        Self::new(&format!("{prefix}{}", std::process::id()))
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`; true on success.
    pub fn ip(&self, args: &[&str]) -> bool {
        let mut all = vec!["ip", "-n", &self.name];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Like [`Netns::ip`], but panics with the command when it fails.
    pub fn must_ip(&self, args: &[&str]) {
        assert!(self.ip(args), "ip -n {} {}", self.name, args.join(" "));
    }

    /// A command running `program` inside the namespace (`ip netns exec NAME program`); `ip`
    /// execs the program, so the child's PID is the program's.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `f` on a short-lived thread that has entered the namespace (sockets it opens live
    /// there) and returns its result.
    pub fn run_in<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        run_in_named(&self.name, f)
    }
}

/// Runs `f` on a short-lived thread that has entered the named namespace (one made by `ip
/// netns add`, such as a [`crate::lab6::Lab6`]'s) and returns its result.
pub fn run_in_named<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = PathBuf::from("/var/run/netns").join(name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).expect("open namespace");
        // SAFETY: setns(2) on a namespace file we hold open; it moves only this thread,
        // which exits when `f` returns.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

impl Drop for Netns {
    fn drop(&mut self) {
        run(&["ip", "netns", "del", &self.name]);
    }
}

/// Creates a veth pair with end `a_if` in `a` and `b_if` (with hardware address `b_mac` if
/// given) in `b`, both up; true on success.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str, b_mac: Option<&str>) -> bool {
    let mut args = vec![
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if,
    ];
    if let Some(mac) = b_mac {
        args.extend_from_slice(&["address", mac]);
    }
    args.extend_from_slice(&["netns", &b.name]);
    run(&args) && a.ip(&["link", "set", a_if, "up"]) && b.ip(&["link", "set", b_if, "up"])
}
