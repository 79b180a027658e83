//! The DHCPv4 lab: a server namespace and a client namespace joined by a veth pair, with
//! helpers to run ringmasq or dnsmasq in the one and udhcpc or dhclient in the other.
//!
//! Addresses: the server's end `rmqv0` is 10.77.0.1/24; the client's end `rmqv1` has the MAC
//! [`CLIENT_MAC`] and no address until a client configures one.

use std::net::{Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::binary::ringmasq_bin;
use crate::netns::{Netns, find_tool, is_root, run, veth};
use crate::process::ChildGuard;
use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// The hardware address of the client namespace's interface.
pub const CLIENT_MAC: &str = "02:77:00:00:00:02";
/// The server's interface (in the server namespace).
pub const SERVER_IF: &str = "rmqv0";
/// The client's interface (in the client namespace).
pub const CLIENT_IF: &str = "rmqv1";
/// The server's address on [`SERVER_IF`].
pub const SERVER_ADDR: &str = "10.77.0.1";
/// The dynamic range every lab server is started with.
pub const RANGE: &str = "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h";

/// True when the DHCP scenarios can run here: root, `ip`, udhcpc and dhclient. Prints why not.
pub fn usable() -> bool {
    let ok = is_root()
        && find_tool("udhcpc").is_some()
        && find_tool("dhclient").is_some()
        && run(&["ip", "-V"]);
    if !ok {
        println!("note: needs root, ip, udhcpc and dhclient; skipping");
    }
    ok
}

/// True when dnsmasq is installed. Prints why not.
pub fn have_dnsmasq() -> bool {
    let ok = find_tool("dnsmasq").is_some();
    if !ok {
        println!("note: needs dnsmasq; skipping");
    }
    ok
}

/// A server (ringmasq or dnsmasq) running in a lab namespace; SIGKILLed by PID when dropped.
#[derive(Debug)]
pub struct LabServer {
    child: ChildGuard,
}

impl LabServer {
    /// The server's PID.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: i32) {
        self.child.signal(signal).expect("signal server");
    }

    /// Sends `signal` and waits (at most 10 s) until the server has exited.
    pub fn stop(mut self, signal: i32) {
        self.signal(signal);
        let gone = poll_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            1000,
            || self.child.check_running().is_err().then_some(()),
        );
        assert!(gone.is_some(), "server did not exit on signal {signal}");
    }
}

/// The two namespaces, the veth pair between them and a scratch directory.
#[derive(Debug)]
pub struct DhcpLab {
    /// Scratch directory: server log, lease file, client configuration and leases.
    pub dir: TempDir,
    /// The server's namespace.
    pub server: Netns,
    /// The clients' namespace.
    pub client: Netns,
    /// With [`DhcpLab::with_relay`]: the relay's namespace between server and clients.
    pub relay: Option<Netns>,
}

/// The relay's address on the server side (with [`DhcpLab::with_relay`]).
pub const RELAY_SERVER_SIDE: &str = "10.77.0.2";
/// The relay's address on the clients' side, the `giaddr` of relayed requests.
pub const RELAY_GIADDR: &str = "10.78.0.1";
/// The relay's interface on the clients' side.
pub const RELAY_CLIENT_IF: &str = "rmqr1";

impl DhcpLab {
    /// Creates the namespaces (names made unique by `tag` and the PID) and the veth pair.
    pub fn new(tag: &str) -> Self {
        let dir = TempDir::new(&format!("dhcp-{tag}")).expect("scratch directory");
        let server = Netns::unique(&format!("rmq{tag}s")).expect("server namespace");
        let client = Netns::unique(&format!("rmq{tag}c")).expect("client namespace");
        assert!(
            veth(&server, SERVER_IF, &client, CLIENT_IF, Some(CLIENT_MAC)),
            "veth pair"
        );
        server.must_ip(&["addr", "add", "10.77.0.1/24", "dev", SERVER_IF]);
        DhcpLab {
            dir,
            server,
            client,
            relay: None,
        }
    }

    /// Three namespaces: server (10.77.0.1/24 on [`SERVER_IF`]) — relay (10.77.0.2/24 on
    /// `rmqr0`, 10.78.0.1/24 on [`RELAY_CLIENT_IF`]) — clients ([`CLIENT_IF`] with
    /// [`CLIENT_MAC`]). The server routes 10.78.0.0/24 through the relay. No relay runs yet.
    pub fn with_relay(tag: &str) -> Self {
        let dir = TempDir::new(&format!("dhcp-{tag}")).expect("scratch directory");
        let server = Netns::unique(&format!("rmq{tag}s")).expect("server namespace");
        let relay = Netns::unique(&format!("rmq{tag}r")).expect("relay namespace");
        let client = Netns::unique(&format!("rmq{tag}c")).expect("client namespace");
        assert!(veth(&server, SERVER_IF, &relay, "rmqr0", None), "veth");
        assert!(
            veth(
                &relay,
                RELAY_CLIENT_IF,
                &client,
                CLIENT_IF,
                Some(CLIENT_MAC)
            ),
            "veth"
        );
        server.must_ip(&["addr", "add", "10.77.0.1/24", "dev", SERVER_IF]);
        relay.must_ip(&["addr", "add", "10.77.0.2/24", "dev", "rmqr0"]);
        relay.must_ip(&["addr", "add", "10.78.0.1/24", "dev", RELAY_CLIENT_IF]);
        server.must_ip(&["route", "add", "10.78.0.0/24", "via", RELAY_SERVER_SIDE]);
        DhcpLab {
            dir,
            server,
            client,
            relay: Some(relay),
        }
    }

    /// The lease file every lab server uses.
    pub fn lease_file(&self) -> PathBuf {
        self.dir.join("leases")
    }

    /// ringmasq in the server namespace with the lab's range, lease file, `--domain=lab.test`,
    /// an NTP option, plus `extra`; returns once it logged its DHCP range.
    pub fn ringmasq(&self, extra: &[&str]) -> LabServer {
        let mut args = vec![
            "-d".to_string(),
            "--port=0".into(),
            "--conf-file=/dev/null".into(),
            RANGE.into(),
            format!("--dhcp-leasefile={}", self.lease_file().display()),
            "--domain=lab.test".into(),
            "--dhcp-option=option:ntp-server,10.77.0.7".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        self.ringmasq_args(&args)
    }

    /// ringmasq as [`DhcpLab::ringmasq`] (plus `extra`), in a mount namespace of its own where
    /// `/etc` is an overlay whose upper layer is `upper`: what the test writes there (say
    /// `ethers`) the server sees under `/etc`, and the host's `/etc` is left alone.
    pub fn ringmasq_etc_overlay(&self, upper: &Path, extra: &[&str]) -> LabServer {
        let work = self.dir.join("etc-overlay-work");
        std::fs::create_dir_all(&work).expect("overlay work directory");
        let bin = ringmasq_bin().expect("ringmasq binary");
        let mut cmd = self.server.command("unshare");
        let mount = format!(
            "mount -t overlay overlay -o lowerdir=/etc,upperdir={},workdir={} /etc && exec \"$0\" \"$@\"",
            upper.display(),
            work.display()
        );
        cmd.args(["-m", "--propagation", "private", "sh", "-c", &mount])
            .arg(bin)
            .args(["-d", "--port=0", "--conf-file=/dev/null", RANGE])
            .arg(format!("--dhcp-leasefile={}", self.lease_file().display()))
            .arg("--domain=lab.test")
            .args(extra);
        self.start("ringmasq", cmd)
    }

    /// ringmasq in the server namespace with exactly `args`; returns once it logged a DHCP
    /// range.
    pub fn ringmasq_args(&self, args: &[String]) -> LabServer {
        let bin = ringmasq_bin().expect("ringmasq binary");
        let mut cmd = self.server.command(&bin.to_string_lossy());
        cmd.args(args);
        self.start("ringmasq", cmd)
    }

    /// dnsmasq in the server namespace with the lab's range, lease file and domain, plus
    /// `extra`.
    pub fn dnsmasq(&self, extra: &[&str]) -> LabServer {
        let mut cmd = self.server.command("dnsmasq");
        cmd.args([
            "-d",
            "--port=0",
            "--conf-file=/dev/null",
            "--log-facility=-",
        ])
        .arg("--user=root")
        .arg(format!(
            "--pid-file={}",
            self.dir.join("dnsmasq.pid").display()
        ))
        .arg(RANGE)
        .arg(format!("--dhcp-leasefile={}", self.lease_file().display()))
        .arg("--domain=lab.test")
        .args(extra);
        self.start("dnsmasq", cmd)
    }

    /// Spawns `cmd` as the lab's server (its output is the server log); returns once it
    /// logged a DHCP range.
    pub fn start(&self, name: &str, cmd: Command) -> LabServer {
        let log = self.dir.join("server.log");
        let _ = std::fs::remove_file(&log);
        let child = ChildGuard::spawn(name, cmd, &log).expect("spawn server");
        let server = LabServer { child };
        self.wait_log("DHCP, IP range");
        server
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Waits (at most 10 s) until the server log contains `needle`; panics with the log if not.
    pub fn wait_log(&self, needle: &str) {
        self.wait_log_count(needle, 1);
    }

    /// Waits (at most 10 s) until the server log contains `needle` at least `count` times.
    pub fn wait_log_count(&self, needle: &str, count: usize) {
        let end = Instant::now() + Duration::from_secs(10);
        while self.log().matches(needle).count() < count {
            assert!(
                Instant::now() < end,
                "no {count}x {needle:?} in log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// udhcpc: one DORA, then exit (`-q`); returns the address it got.
    pub fn udhcpc(&self) -> String {
        self.udhcpc_with(&[])
    }

    /// udhcpc with extra arguments (`-x hostname:NAME`, `-R`, `-V vendor`); returns the
    /// address it got, panicking with its output and the server log if it got none.
    pub fn udhcpc_with(&self, extra: &[&str]) -> String {
        let text = self.udhcpc_output(extra);
        let addr = text
            .split("lease of ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or_else(|| panic!("udhcpc got no lease:\n{text}\nserver:\n{}", self.log()));
        addr.to_string()
    }

    /// udhcpc run as [`DhcpLab::udhcpc_with`] does, returning its whole output (for clients
    /// that are expected to get nothing).
    pub fn udhcpc_output(&self, extra: &[&str]) -> String {
        let mut cmd = Command::new("timeout");
        cmd.args(["20", "ip", "netns", "exec", self.client.name(), "udhcpc"])
            .args(["-f", "-q", "-n", "-i", CLIENT_IF, "-t", "4", "-T", "2"])
            .args(["-s", "/bin/true"])
            .args(extra);
        let out = cmd.output().expect("run udhcpc");
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    }

    /// udhcpc as [`DhcpLab::udhcpc_with`], with a script that records the environment of its
    /// `bound` call; returns the address and that environment (`ntpsrv=...`, `router=...`).
    pub fn udhcpc_env(&self, extra: &[&str]) -> (String, String) {
        let env = self.dir.join("udhcpc.env");
        let script = self.dir.join("udhcpc.sh");
        let _ = std::fs::remove_file(&env);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n[ \"$1\" = bound ] && env > {}\nexit 0\n",
                env.display()
            ),
        )
        .expect("write script");
        let mut perm = std::fs::metadata(&script).expect("script").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        std::fs::set_permissions(&script, perm).expect("chmod script");
        let script = script.to_string_lossy().into_owned();
        let mut args = vec!["-s", script.as_str()];
        args.extend_from_slice(extra);
        let addr = self.udhcpc_with(&args);
        (addr, std::fs::read_to_string(&env).unwrap_or_default())
    }

    /// dhclient (`-v`, with the lab's request list, lease and PID files) with `extra`
    /// arguments; returns its output.
    pub fn dhclient(&self, extra: &[&str]) -> String {
        self.dhclient_conf(
            "request subnet-mask, broadcast-address, routers, domain-name, \
             domain-name-servers, ntp-servers;\n",
            extra,
        )
    }

    /// dhclient with the configuration text `conf` and `extra` arguments; returns its output.
    pub fn dhclient_conf(&self, conf: &str, extra: &[&str]) -> String {
        let cf = self.dir.join("dh.conf");
        std::fs::write(&cf, conf).expect("write dhclient.conf");
        let out = Command::new("timeout")
            .args(["30", "ip", "netns", "exec", self.client.name(), "dhclient"])
            .arg("-v")
            .args(extra)
            .arg("-cf")
            .arg(&cf)
            .arg("-lf")
            .arg(self.dhclient_leases())
            .arg("-pf")
            .arg(self.dir.join("dhclient.pid"))
            .args(["-sf", "/bin/true", CLIENT_IF])
            .output()
            .expect("run dhclient");
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    }

    /// dhclient's lease file.
    pub fn dhclient_leases(&self) -> PathBuf {
        self.dir.join("dhclient.leases")
    }

    /// `dig @127.0.0.1 +short args...` run in the server namespace.
    pub fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .args(["10", "ip", "netns", "exec", self.server.name(), "dig"])
            .args(["@127.0.0.1", "+short", "+tries=1", "+time=2"])
            .args(args)
            .output()
            .expect("run dig");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends each packet to the server's port 67 from 10.77.0.200 in the client namespace.
    pub fn send_raw(&self, packets: Vec<Vec<u8>>) {
        self.client
            .must_ip(&["addr", "add", "10.77.0.200/24", "dev", CLIENT_IF]);
        self.client.run_in(move || {
            let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
            for p in packets {
                s.send_to(&p, (SERVER_ADDR, 67)).expect("send");
            }
        });
        self.client
            .must_ip(&["addr", "del", "10.77.0.200/24", "dev", CLIENT_IF]);
    }
}

impl Drop for DhcpLab {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dhclient.pid"))
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            // SAFETY: kills the dhclient this lab started, by the PID file it wrote.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // A dhclient that forked into the background after the PID file was read (or before
        // it was written) still names this lab's directory in its arguments.
        crate::process::kill_mentioning(&self.dir.path().to_string_lossy());
    }
}

/// A DHCPRELEASE (RFC 2131 §4.4.6) of `addr` from `mac`, with the client identifier udhcpc
/// sends (type 1 + MAC) and server identifier [`SERVER_ADDR`].
pub fn release_packet(mac: &str, addr: &str) -> Vec<u8> {
    let mac = parse_mac(mac);
    let ip: Ipv4Addr = addr.parse().expect("address");
    let mut p = vec![0u8; 240];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&[0x52, 0x4d, 0x51, 0x01]);
    p[12..16].copy_from_slice(&ip.octets());
    p[28..34].copy_from_slice(&mac);
    p[236..240].copy_from_slice(&[99, 130, 83, 99]);
    p.extend_from_slice(&[53, 1, 7, 54, 4, 10, 77, 0, 1, 61, 7, 1]);
    p.extend_from_slice(&mac);
    p.push(255);
    p
}

/// The six bytes of a colon-separated MAC address.
pub fn parse_mac(mac: &str) -> [u8; 6] {
    let mut out = [0u8; 6];
    for (o, b) in out.iter_mut().zip(mac.split(':')) {
        *o = u8::from_str_radix(b, 16).expect("hex byte");
    }
    out
}
