//! An IPv6 lab for router advertisement (and later DHCPv6) scenarios: two network namespaces
//! the test creates — ringmasq's and a client's — joined by a veth pair (`rmq6s` on the server
//! side, `rmq6c` on the client's), deleted again on drop. Needs root and `ip`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::binary::ringmasq_bin;
use crate::process::ChildGuard;
use crate::tempdir::TempDir;

/// The server's side of the veth pair.
pub const SERVER_IF: &str = "rmq6s";
/// The client's side of the veth pair.
pub const CLIENT_IF: &str = "rmq6c";
/// The client's link-layer address.
pub const CLIENT_MAC: &str = "02:66:00:00:00:02";

/// The two namespaces and the processes started in them.
pub struct Lab6 {
    /// Server namespace name.
    pub server: String,
    /// Client namespace name.
    pub client: String,
    dir: TempDir,
    children: Vec<ChildGuard>,
}

fn run_ok(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Lab6 {
    /// Creates both namespaces and the link, up, with `server_addrs` (CIDR) on the server's
    /// side; the client accepts router advertisements (`accept_ra=2`) and autoconfigures.
    pub fn new(tag: &str, server_addrs: &[&str]) -> Lab6 {
        let id = std::process::id();
        let lab = Lab6 {
            server: format!("rmq6{tag}s{id}"),
            client: format!("rmq6{tag}c{id}"),
            dir: TempDir::new(&format!("ringmasq-lab6-{tag}")).expect("temp dir"),
            children: Vec::new(),
        };
        let (s, c) = (lab.server.as_str(), lab.client.as_str());
        let mut steps: Vec<Vec<&str>> = vec![
            vec!["ip", "netns", "add", s],
            vec!["ip", "netns", "add", c],
            vec![
                "ip", "link", "add", SERVER_IF, "netns", s, "type", "veth", "peer", "name",
                CLIENT_IF, "netns", c,
            ],
            vec![
                "ip", "-n", c, "link", "set", CLIENT_IF, "address", CLIENT_MAC,
            ],
            vec![
                "ip",
                "netns",
                "exec",
                c,
                "sysctl",
                "-qw",
                "net.ipv6.conf.rmq6c.accept_ra=2",
            ],
            vec![
                "ip",
                "netns",
                "exec",
                c,
                "sysctl",
                "-qw",
                "net.ipv6.conf.rmq6c.autoconf=1",
            ],
            // No duplicate address detection on the client: its link-local address is usable
            // at once (the server keeps DAD, so its tracking sees addresses mature).
            vec![
                "ip",
                "netns",
                "exec",
                c,
                "sysctl",
                "-qw",
                "net.ipv6.conf.rmq6c.accept_dad=0",
            ],
            // The server is the router on its link.
            vec![
                "ip",
                "netns",
                "exec",
                s,
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.forwarding=1",
            ],
        ];
        for a in server_addrs {
            steps.push(vec!["ip", "-n", s, "addr", "add", a, "dev", SERVER_IF]);
        }
        steps.extend([
            vec!["ip", "-n", s, "link", "set", "lo", "up"],
            vec!["ip", "-n", c, "link", "set", "lo", "up"],
            vec!["ip", "-n", s, "link", "set", SERVER_IF, "up"],
            vec!["ip", "-n", c, "link", "set", CLIENT_IF, "up"],
        ]);
        for step in steps {
            if let Err(e) = run_ok(&step) {
                panic!("setting up the IPv6 lab: {e}");
            }
        }
        lab
    }

    /// A file in the lab's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts ringmasq in the server namespace (`-d --port=0 --conf-file=/dev/null
    /// --log-debug` then `args`); returns once it logs that it started.
    pub fn start_ringmasq(&mut self, args: &[&str]) {
        let bin = ringmasq_bin().expect("ringmasq binary");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.server])
            .arg(bin)
            .args(["-d", "--log-debug", "--conf-file=/dev/null"])
            .args(args);
        let log = self.path("server.log");
        self.children
            .push(ChildGuard::spawn("ringmasq", cmd, &log).expect("spawn ringmasq"));
        self.wait_log("started:", Duration::from_secs(10));
    }

    /// Starts dnsmasq in the server namespace (`-d --port=0 --conf-file=/dev/null
    /// --user=root --log-facility=-` then `args`), logging to `dnsmasq.log`; returns once that
    /// log contains `ready`.
    pub fn start_dnsmasq(&mut self, args: &[&str], ready: &str) {
        let pid = self.path("dnsmasq.pid");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.server, "dnsmasq", "-d", "--port=0"])
            .args(["--conf-file=/dev/null", "--user=root", "--log-facility=-"])
            .arg(format!("--pid-file={}", pid.display()))
            .args(args);
        let log = self.path("dnsmasq.log");
        self.children
            .push(ChildGuard::spawn("dnsmasq", cmd, &log).expect("spawn dnsmasq"));
        let end = Instant::now() + Duration::from_secs(10);
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains(ready)
        {
            assert!(Instant::now() < end, "dnsmasq did not log {ready:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (ringmasq or dnsmasq) started last with SIGTERM (a clean stop: the lease file is
    /// rewritten) and waits up to 10 s for it to exit.
    pub fn stop_ringmasq(&mut self) {
        let Some(mut child) = self.children.pop() else {
            return;
        };
        child.signal(libc::SIGTERM).expect("SIGTERM ringmasq");
        let end = Instant::now() + Duration::from_secs(10);
        while child.check_running().is_ok() {
            assert!(Instant::now() < end, "ringmasq did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the server started last.
    pub fn signal_server(&self, signal: i32) {
        if let Some(c) = self.children.last() {
            c.signal(signal).expect("signal server");
        }
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }

    /// Waits until the server log contains `needle`.
    pub fn wait_log(&self, needle: &str, limit: Duration) {
        let end = Instant::now() + limit;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < end,
                "no {needle:?} in the server log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a command in the server namespace.
    pub fn in_server(&self, args: &[&str]) -> Output {
        self.exec(&self.server, args)
    }

    /// Runs a command in the client namespace.
    pub fn in_client(&self, args: &[&str]) -> Output {
        self.exec(&self.client, args)
    }

    fn exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("timeout")
            .args(["30", "ip", "netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// Adds an address to the server's side of the link.
    pub fn add_server_addr(&self, cidr: &str) {
        run_ok(&[
            "ip",
            "-n",
            &self.server,
            "addr",
            "add",
            cidr,
            "dev",
            SERVER_IF,
        ])
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// `ip -6 addr show` on the client's link: (address/len, valid_lft, preferred_lft) of each
    /// global address.
    pub fn client_global_v6(&self) -> Vec<(String, String, String)> {
        let out = self.in_client(&[
            "ip", "-6", "-o", "addr", "show", "dev", CLIENT_IF, "scope", "global",
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let at = |k: &str| {
                    w.iter()
                        .position(|x| *x == k)
                        .and_then(|i| w.get(i + 1))
                        .map(|s| s.to_string())
                };
                Some((at("inet6")?, at("valid_lft")?, at("preferred_lft")?))
            })
            .collect()
    }

    /// Polls until the client has a global address starting with `prefix` (e.g.
    /// `"2001:db8:1:0:"`); returns it with its lifetimes.
    pub fn wait_client_addr(&self, prefix: &str, limit: Duration) -> (String, String, String) {
        let end = Instant::now() + limit;
        loop {
            if let Some(a) = self
                .client_global_v6()
                .into_iter()
                .find(|(a, ..)| a.starts_with(prefix))
            {
                return a;
            }
            assert!(
                Instant::now() < end,
                "the client got no address in {prefix}: {:?}\nserver log:\n{}",
                self.client_global_v6(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `dhclient -6 -v -1` on the client's link with configuration `conf` and `extra`
    /// arguments (script /bin/true unless `extra` has `-sf`), its lease and PID files in the lab (the daemon it leaves is killed on drop);
    /// returns its output.
    pub fn dhclient6(&self, conf: &str, extra: &[&str]) -> String {
        self.wait_link_local();
        let cf = self.path("dhclient6.conf");
        std::fs::write(&cf, conf).expect("write dhclient6.conf");
        let (cf, lf, pf) = (
            cf.display().to_string(),
            self.dhclient6_leases().display().to_string(),
            self.path("dhclient6.pid").display().to_string(),
        );
        let mut args = vec!["dhclient", "-6", "-v", "-1"];
        args.extend(["-cf", &cf, "-lf", &lf, "-pf", &pf, "-sf", "/bin/true"]);
        // Later options win: `extra` may name another script with -sf.
        args.extend_from_slice(extra);
        args.push(CLIENT_IF);
        let out = self.in_client(&args);
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    }

    /// Polls (up to 10 s) until both ends of the link have a link-local address that is no
    /// longer tentative (duplicate address detection over), which DHCPv6 needs.
    pub fn wait_link_local(&self) {
        let end = Instant::now() + Duration::from_secs(10);
        let ready = |ns: &str, dev: &str| {
            let out = self.exec(
                ns,
                &[
                    "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
                ],
            );
            let t = String::from_utf8_lossy(&out.stdout).into_owned();
            t.contains("fe80") && !t.contains("tentative")
        };
        while !(ready(&self.client, CLIENT_IF) && ready(&self.server, SERVER_IF)) {
            assert!(
                Instant::now() < end,
                "no usable link-local addresses on the lab link"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// udhcpc once on the client's link (4 tries 2 s apart, no script) with `extra` arguments:
    /// the address leased, if any, and udhcpc's output.
    pub fn udhcpc(&self, extra: &[&str]) -> (Option<String>, String) {
        self.udhcpc_tries(4, 2, extra)
    }

    /// [`Lab6::udhcpc`] with `tries` DISCOVERs `secs` seconds apart.
    pub fn udhcpc_tries(&self, tries: u32, secs: u32, extra: &[&str]) -> (Option<String>, String) {
        let (tries, secs) = (tries.to_string(), secs.to_string());
        let mut args = vec![
            "udhcpc",
            "-f",
            "-q",
            "-n",
            "-i",
            CLIENT_IF,
            "-t",
            &tries,
            "-T",
            &secs,
            "-s",
            "/bin/true",
        ];
        args.extend_from_slice(extra);
        let out = self.in_client(&args);
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let addr = text
            .split("lease of ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .map(str::to_string);
        (addr, text)
    }

    /// dhclient -6's lease file.
    pub fn dhclient6_leases(&self) -> PathBuf {
        self.path("dhclient6.leases")
    }

    /// Stops the dhclient -6 daemon left by [`Lab6::dhclient6`], by its PID file.
    pub fn kill_dhclient6(&self) {
        if let Ok(pid) = std::fs::read_to_string(self.path("dhclient6.pid"))
            && let Ok(pid) = pid.trim().parse::<i32>()
            && pid > 0
        {
            // SAFETY: kills the dhclient this lab started, by the PID file it wrote.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = std::fs::remove_file(self.path("dhclient6.pid"));
        }
    }

    /// `rdisc6 -1` on the client's link (one solicitation, the first answer). Retried for up
    /// to 10 s while the client's link-local address is still tentative (rdisc6 cannot send
    /// before duplicate address detection ends).
    pub fn rdisc6(&self) -> String {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.in_client(&["rdisc6", "-1", "-r", "5", "-w", "1000", CLIENT_IF]);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains("\n from ") || Instant::now() > end {
                return text + &String::from_utf8_lossy(&out.stderr);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Lab6 {
    fn drop(&mut self) {
        // Processes first (killed by PID in their guards), then the namespaces.
        self.kill_dhclient6();
        // A dhclient -6 that forked away before writing its PID file names this lab's paths.
        crate::process::kill_mentioning(&self.path("dhclient6.conf").to_string_lossy());
        self.children.clear();
        for ns in [&self.server, &self.client] {
            let _ = run_ok(&["ip", "netns", "del", ns]);
        }
    }
}

/// The last `iaaddr` of a dhclient -6 lease file's text (its newest lease).
pub fn last_iaaddr(leases: &str) -> Option<String> {
    leases
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("iaaddr "))
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string)
}

/// One field of rdisc6's output (`Name : value`), the first occurrence, trimmed.
pub fn rdisc6_field<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.trim_start().starts_with(name))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim())
}

/// Whether the lab can run: root, and every tool in `tools` on the PATH. Prints why not.
pub fn usable(tools: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let on_path = |t: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(t).is_file()))
            .unwrap_or(false)
            || ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
                .iter()
                .any(|d| std::path::Path::new(d).join(t).is_file())
    };
    let missing: Vec<&str> = ["ip"]
        .iter()
        .chain(tools)
        .copied()
        .filter(|t| !on_path(t))
        .collect();
    if !root || !missing.is_empty() {
        println!("note: needs root and {missing:?}; skipping");
        return false;
    }
    true
}
