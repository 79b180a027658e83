//! DHCPv4 end to end: ringmasq in one network namespace, udhcpc and dhclient in another, joined
//! by a veth pair the test creates (and deletes). Needs root, `ip`, udhcpc and dhclient; skips
//! with a note otherwise.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ringmasq_tests::binary::ringmasq_bin;

const CLIENT_MAC: &str = "02:77:00:00:00:02";

struct Net {
    server: String,
    client: String,
    dir: PathBuf,
}

fn run(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Net {
    fn new(tag: &str) -> Option<Net> {
        let id = std::process::id();
        let n = Net {
            server: format!("rmq{tag}s{id}"),
            client: format!("rmq{tag}c{id}"),
            dir: std::env::temp_dir().join(format!("ringmasq-dhcp-{tag}-{id}")),
        };
        std::fs::create_dir_all(&n.dir).ok()?;
        let ok = run(&["ip", "netns", "add", &n.server])
            && run(&["ip", "netns", "add", &n.client])
            && run(&[
                "ip", "link", "add", "rmqv0", "netns", &n.server, "type", "veth", "peer", "name",
                "rmqv1", "netns", &n.client,
            ])
            && run(&[
                "ip",
                "-n",
                &n.server,
                "addr",
                "add",
                "10.77.0.1/24",
                "dev",
                "rmqv0",
            ])
            && run(&["ip", "-n", &n.server, "link", "set", "rmqv0", "up"])
            && run(&["ip", "-n", &n.server, "link", "set", "lo", "up"])
            && run(&[
                "ip", "-n", &n.client, "link", "set", "rmqv1", "address", CLIENT_MAC,
            ])
            && run(&["ip", "-n", &n.client, "link", "set", "rmqv1", "up"]);
        ok.then_some(n)
    }

    fn server(&self, extra: &[&str]) -> Child {
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let mut args = vec![
            "netns".to_string(),
            "exec".into(),
            self.server.clone(),
            ringmasq_bin().unwrap().to_string_lossy().into_owned(),
            "-d".into(),
            "--port=0".into(),
            "--conf-file=/dev/null".into(),
            "--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h".into(),
            format!("--dhcp-leasefile={}", self.lease_file().display()),
            "--domain=lab.test".into(),
            "--dhcp-option=option:ntp-server,10.77.0.7".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let child = Command::new("ip")
            .args(&args)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.wait_log("DHCP, IP range");
        child
    }

    /// dnsmasq 2.90 on the same namespace, range, lease file and domain as [`Net::server`].
    fn dnsmasq(&self, extra: &[&str]) -> Child {
        let log = std::fs::File::create(self.dir.join("server.log")).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server, "dnsmasq", "-d", "--port=0"])
            .args(["--conf-file=/dev/null", "--log-facility=-", "--user=root"])
            .arg(format!(
                "--pid-file={}",
                self.dir.join("dnsmasq.pid").display()
            ))
            .arg("--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h")
            .arg(format!("--dhcp-leasefile={}", self.lease_file().display()))
            .arg("--domain=lab.test")
            .args(extra)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.wait_log("DHCP, IP range");
        child
    }

    fn lease_file(&self) -> PathBuf {
        self.dir.join("leases")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str) {
        let end = Instant::now() + Duration::from_secs(10);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < end,
                "no {needle:?} in log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// udhcpc: one DORA, then exit (`-q`); returns the address it got.
    fn udhcpc(&self) -> String {
        self.udhcpc_with(&[])
    }

    /// `dig` run in the server namespace against ringmasq on 127.0.0.1:53; `+short` output.
    fn dig(&self, args: &[&str]) -> String {
        let out = Command::new("timeout")
            .args([
                "10",
                "ip",
                "netns",
                "exec",
                &self.server,
                "dig",
                "@127.0.0.1",
            ])
            .args(["+short", "+tries=1", "+time=2"])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// udhcpc with extra arguments (`-x hostname:NAME`, `-R`); returns the address it got.
    fn udhcpc_with(&self, extra: &[&str]) -> String {
        let out = Command::new("timeout")
            .args([
                "20",
                "ip",
                "netns",
                "exec",
                &self.client,
                "udhcpc",
                "-f",
                "-q",
                "-n",
            ])
            .args(["-i", "rmqv1", "-t", "4", "-T", "2", "-s", "/bin/true"])
            .args(extra)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let addr = text
            .split("lease of ")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .unwrap_or_else(|| panic!("udhcpc got no lease:\n{text}\nserver:\n{}", self.log()));
        addr.to_string()
    }

    fn dhclient(&self, extra: &[&str]) -> String {
        let cf = self.dir.join("dh.conf");
        std::fs::write(
            &cf,
            "request subnet-mask, broadcast-address, routers, domain-name, \
             domain-name-servers, ntp-servers;\n",
        )
        .unwrap();
        let out = Command::new("timeout")
            .args(["30", "ip", "netns", "exec", &self.client, "dhclient", "-v"])
            .args(extra)
            .arg("-cf")
            .arg(&cf)
            .arg("-lf")
            .arg(self.dir.join("dhclient.leases"))
            .arg("-pf")
            .arg(self.dir.join("dhclient.pid"))
            .args(["-sf", "/bin/true", "rmqv1"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
    }

    /// Sends `bytes` to the server's port 67 from inside the client namespace.
    fn send_raw(&self, packets: Vec<Vec<u8>>) {
        let dev = [
            "-n",
            &self.client,
            "addr",
            "add",
            "10.77.0.200/24",
            "dev",
            "rmqv1",
        ];
        assert!(run(&[&["ip"][..], &dev[..]].concat()));
        let ns = PathBuf::from("/var/run/netns").join(&self.client);
        std::thread::spawn(move || {
            let f = std::fs::File::open(ns).unwrap();
            // SAFETY: moves this (short-lived) thread into the client namespace.
            assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            for p in packets {
                s.send_to(&p, "10.77.0.1:67").unwrap();
            }
        })
        .join()
        .unwrap();
        let del = [
            "-n",
            &self.client,
            "addr",
            "del",
            "10.77.0.200/24",
            "dev",
            "rmqv1",
        ];
        assert!(run(&[&["ip"][..], &del[..]].concat()));
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dhclient.pid"))
            && let Ok(pid) = pid.trim().parse::<i32>()
        {
            // SAFETY: kills the dhclient this test started, by its PID file.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        run(&["ip", "netns", "del", &self.server]);
        run(&["ip", "netns", "del", &self.client]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn usable() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = [
        "/usr/sbin/udhcpc",
        "/usr/sbin/dhclient",
        "/usr/bin/udhcpc",
        "/sbin/dhclient",
    ];
    let have = |n: &str| {
        tools
            .iter()
            .any(|t| t.ends_with(n) && Path::new(t).exists())
    };
    if !(root && have("udhcpc") && have("dhclient") && run(&["ip", "-V"])) {
        println!("note: needs root, ip, udhcpc and dhclient; skipping");
        return false;
    }
    true
}

fn stop(mut c: Child, signal: i32) {
    // SAFETY: signals the `ip netns exec` child we started (it execs ringmasq, same PID).
    unsafe { libc::kill(c.id() as i32, signal) };
    let _ = c.wait();
}

#[test]
fn udhcpc_static_host_kill9_restart_and_malformed_packets() {
    if !usable() {
        return;
    }
    let net = Net::new("u").expect("namespaces");
    let host = format!("--dhcp-host={CLIENT_MAC},10.77.0.20,statichost");
    let server = net.server(&[]);
    let addr = net.udhcpc();
    assert!(addr.starts_with("10.77.0."), "{addr}");
    // Renew: the same client gets the same address.
    assert_eq!(net.udhcpc(), addr);
    // kill -9 right after the ACK: the journal already holds the lease.
    stop(server, libc::SIGKILL);
    let server = net.server(&[]);
    net.wait_log("1 lease(s) loaded");
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
    assert_eq!(net.udhcpc(), addr);
    // Malformed packets: too short, bad option length, zero hlen; all dropped and counted.
    let mut bad_len = vec![0u8; 300];
    bad_len[0] = 1;
    bad_len[1] = 1;
    bad_len[2] = 6;
    bad_len[236..240].copy_from_slice(&[99, 130, 83, 99]);
    bad_len[240..243].copy_from_slice(&[53, 200, 1]);
    let mut zero_hlen = bad_len.clone();
    zero_hlen[2] = 0;
    zero_hlen[240..244].copy_from_slice(&[53, 1, 1, 255]);
    net.send_raw(vec![vec![1, 2, 3], bad_len, zero_hlen]);
    net.wait_log("3 malformed or unusable packet(s) dropped so far");
    // Service goes on.
    assert_eq!(net.udhcpc(), addr);
    stop(server, libc::SIGTERM);
    // A static host gets its fixed address.
    let server = net.server(&[&host]);
    assert_eq!(net.udhcpc(), "10.77.0.20");
    stop(server, libc::SIGTERM);
}

#[test]
fn dhclient_obtain_renew_release_and_options() {
    if !usable() {
        return;
    }
    let net = Net::new("d").expect("namespaces");
    let server = net.server(&[]);
    let out = net.dhclient(&["-1"]);
    let addr = out
        .split("DHCPACK of ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or_else(|| panic!("no ACK:\n{out}\n{}", net.log()))
        .to_string();
    let leases = std::fs::read_to_string(net.dir.join("dhclient.leases")).unwrap();
    for needle in [
        "option routers 10.77.0.1;".to_string(),
        "option domain-name-servers 10.77.0.1;".into(),
        "option domain-name \"lab.test\";".into(),
        "option ntp-servers 10.77.0.7;".into(),
        format!("fixed-address {addr};"),
    ] {
        assert!(leases.contains(&needle), "{needle} missing in\n{leases}");
    }
    // Renew: a second run requests the recorded address and is ACKed with it.
    let out = net.dhclient(&["-1"]);
    assert!(out.contains(&format!("DHCPACK of {addr}")), "{out}");
    // Release: the lease leaves the file. The address is configured first, as a real
    // dhclient-script would have done (-sf /bin/true does not), so the unicast release routes.
    let cidr = format!("{addr}/24");
    assert!(run(&[
        "ip",
        "-n",
        &net.client,
        "addr",
        "add",
        &cidr,
        "dev",
        "rmqv1"
    ]));
    let out = net.dhclient(&["-r"]);
    assert!(out.contains("DHCPRELEASE"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    stop(server, libc::SIGTERM);
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(!file.contains(&addr), "{file}\n{out}\n{}", net.log());
}

#[test]
fn lease_names_in_dns() {
    if !usable() {
        return;
    }
    let net = Net::new("n").expect("namespaces");
    let server = net.server(&[
        "--port=53",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--dhcp-ttl=77",
        "--log-dhcp",
    ]);
    let addr = net.udhcpc_with(&["-x", "hostname:nbook"]);
    // --log-dhcp: every request with its client and wishes, every reply's options.
    net.wait_log("requested options:");
    let log = net.log();
    assert!(
        log.lines()
            .any(|l| l.contains("DHCPDISCOVER(") && l.contains(" nbook")),
        "{log}"
    );
    assert!(log.contains("DHCPREQUEST("), "{log}");
    assert!(log.contains("sent size:   4 option:  54"), "{log}");
    // The name is published within a moment of the ACK.
    let end = Instant::now() + Duration::from_secs(5);
    while net.dig(&["nbook.lab.test"]) != addr {
        assert!(
            Instant::now() < end,
            "no A for nbook.lab.test:\n{}",
            net.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(net.dig(&["nbook"]), addr);
    assert_eq!(net.dig(&["-x", &addr]), "nbook.lab.test.");
    let full = Command::new("ip")
        .args(["netns", "exec", &net.server, "dig", "@127.0.0.1", "+noall"])
        .args(["+answer", "nbook.lab.test"])
        .output()
        .unwrap();
    let full = String::from_utf8_lossy(&full.stdout).into_owned();
    assert!(full.contains("\t77\tIN\tA\t"), "{full}");
    // DHCPRELEASE (RFC 2131 §4.4.6) from the client: the name leaves DNS with the lease.
    net.send_raw(vec![release(&addr)]);
    let end = Instant::now() + Duration::from_secs(5);
    while net.dig(&["nbook.lab.test"]).contains(&addr) {
        assert!(
            Instant::now() < end,
            "nbook.lab.test still answered:\n{}",
            net.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(server, libc::SIGTERM);
}

/// A DHCPRELEASE of `addr` from `CLIENT_MAC`, with the client identifier udhcpc sends.
fn release(addr: &str) -> Vec<u8> {
    let mac: Vec<u8> = CLIENT_MAC
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    let ip: std::net::Ipv4Addr = addr.parse().unwrap();
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

#[test]
fn hostsfile_and_optsfile_reread_on_sighup() {
    if !usable() {
        return;
    }
    let net = Net::new("h").expect("namespaces");
    let hosts = net.dir.join("dhcp-hosts");
    let opts = net.dir.join("dhcp-opts");
    std::fs::write(&hosts, "# none yet\n02:77:00:00:00:99,10.77.0.30\n").unwrap();
    std::fs::write(&opts, "option:ntp-server,10.77.0.8\n").unwrap();
    let hf = format!("--dhcp-hostsfile={}", hosts.display());
    let of = format!("--dhcp-optsfile={}", opts.display());
    let server = net.server(&[&hf, &of]);
    let first = net.udhcpc();
    assert!(
        first != "10.77.0.21" && first.starts_with("10.77.0."),
        "{first}"
    );
    std::fs::write(
        &hosts,
        format!("02:77:00:00:00:99,10.77.0.30\n{CLIENT_MAC},10.77.0.21,filehost\nbad line,,\n"),
    )
    .unwrap();
    std::fs::write(&opts, "option:router,10.77.0.5\n").unwrap();
    // SAFETY: signals the ringmasq we started (`ip netns exec` execs it, same PID).
    unsafe { libc::kill(server.id() as i32, libc::SIGHUP) };
    let read = format!("read {}", hosts.display());
    let end = Instant::now() + Duration::from_secs(5);
    while net.log().matches(&read).count() < 2 {
        assert!(Instant::now() < end, "no reload:\n{}", net.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        net.log().contains(":3: "),
        "bad line not reported:\n{}",
        net.log()
    );
    // dhclient (no client identifier, so the MAC's entry is free for it) gets the new fixed
    // address and the options file's new router.
    let out = net.dhclient(&["-1"]);
    assert!(out.contains("DHCPACK of 10.77.0.21"), "{out}");
    let leases = std::fs::read_to_string(net.dir.join("dhclient.leases")).unwrap();
    assert!(leases.contains("option routers 10.77.0.5;"), "{leases}");
    stop(server, libc::SIGTERM);
}

fn have_dnsmasq() -> bool {
    let ok = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .iter()
        .any(|p| Path::new(p).exists());
    if !ok {
        println!("note: needs dnsmasq; skipping");
    }
    ok
}

#[test]
fn lease_file_from_dnsmasq() {
    if !usable() || !have_dnsmasq() {
        return;
    }
    let net = Net::new("fd").expect("namespaces");
    // dnsmasq hands out the lowest free address (sequential), which ringmasq's own choice for
    // this client (derived from its identity) is not: only the lease file can carry it over.
    let dm = net.dnsmasq(&["--dhcp-sequential-ip"]);
    let addr = net.udhcpc();
    assert_eq!(addr, "10.77.0.50");
    stop(dm, libc::SIGTERM);
    let file = std::fs::read_to_string(net.lease_file()).unwrap();
    assert!(file.contains(&format!("{CLIENT_MAC} {addr} ")), "{file}");
    let server = net.server(&[]);
    net.wait_log("1 lease(s) loaded");
    assert_eq!(net.udhcpc(), addr);
    stop(server, libc::SIGTERM);
}

#[test]
fn lease_file_to_dnsmasq() {
    if !usable() || !have_dnsmasq() {
        return;
    }
    let net = Net::new("fr").expect("namespaces");
    let server = net.server(&["--dhcp-sequential-ip"]);
    let addr = net.udhcpc();
    assert_eq!(addr, "10.77.0.50");
    // A clean stop folds the journal into the lease file dnsmasq reads.
    stop(server, libc::SIGTERM);
    let dm = net.dnsmasq(&[]);
    assert_eq!(net.udhcpc(), addr, "{}", net.log());
    stop(dm, libc::SIGTERM);
    // Control: without the lease file dnsmasq picks another address for this client.
    std::fs::remove_file(net.lease_file()).unwrap();
    let dm = net.dnsmasq(&[]);
    assert_ne!(net.udhcpc(), addr);
    stop(dm, libc::SIGTERM);
    std::fs::remove_file(net.lease_file()).unwrap();
    let server = net.server(&[]);
    assert_ne!(net.udhcpc(), addr);
    stop(server, libc::SIGTERM);
}
