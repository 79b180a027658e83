//! PXE scenarios on top of [`crate::dhcp_lab`]: a TFTP root with boot files, TFTP fetches from
//! the client namespace with tftp-hpa, and a proxy-DHCP segment where a third namespace joins
//! the server's link through a bridge.
//!
//! Proxy segment: the server namespace bridges `rmqv0` (to the clients) and `rmqp0` (to the
//! proxy namespace); the bridge has 10.77.0.1/24, the proxy's `rmqp1` has [`PROXY_ADDR`].

use std::path::Path;
use std::process::Command;

use crate::binary::ringmasq_bin;
use crate::dhcp_lab::{CLIENT_IF, DhcpLab, SERVER_IF};
use crate::netns::{Netns, veth};
use crate::process::ChildGuard;
use crate::tftp::pattern;

/// The proxy-DHCP server's address (in the proxy namespace).
pub const PROXY_ADDR: &str = "10.77.0.2";

/// Boot files written by [`boot_root`]: name and size.
pub const BOOT_FILES: &[(&str, usize)] = &[
    ("pxelinux.0", 42_000),
    ("efi/grubx64.efi", 150_000),
    ("undionly.kpxe", 9_000),
];

/// Writes [`BOOT_FILES`] (deterministic contents) under `root`.
pub fn boot_root(root: &Path) {
    for (i, (name, len)) in BOOT_FILES.iter().enumerate() {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, pattern(*len, i as u64 + 7)).expect("write boot file");
    }
}

/// The contents [`boot_root`] wrote for `name`.
pub fn boot_file(name: &str) -> Vec<u8> {
    let (i, (_, len)) = BOOT_FILES
        .iter()
        .enumerate()
        .find(|(_, (n, _))| *n == name)
        .expect("known boot file");
    pattern(*len, i as u64 + 7)
}

/// Fetches `name` from `server` with tftp-hpa inside `ns`, into `out`; returns the bytes
/// (empty when the transfer failed) and tftp's output.
pub fn tftp_get(ns: &Netns, server: &str, name: &str, out: &Path) -> (Vec<u8>, String) {
    let _ = std::fs::remove_file(out);
    let o = Command::new("timeout")
        .args([
            "20",
            "ip",
            "netns",
            "exec",
            ns.name(),
            "tftp",
            "-m",
            "binary",
        ])
        .arg(server)
        .arg("-c")
        .arg("get")
        .arg(name)
        .arg(out)
        .output()
        .expect("run tftp");
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    (std::fs::read(out).unwrap_or_default(), text)
}

/// Gives the client interface `addr`/24 (what a PXE ROM does with its lease).
pub fn client_address(lab: &DhcpLab, addr: &str) {
    lab.client
        .must_ip(&["addr", "add", &format!("{addr}/24"), "dev", CLIENT_IF]);
}

/// The proxy segment: a namespace for the proxy server joined to the server's link.
#[derive(Debug)]
pub struct ProxySegment {
    /// The proxy's namespace.
    pub ns: Netns,
}

impl ProxySegment {
    /// Bridges the lab's server link with a new namespace (name from `tag`).
    pub fn new(lab: &DhcpLab, tag: &str) -> Self {
        let ns = Netns::unique(&format!("rmq{tag}p")).expect("proxy ns");
        let s = &lab.server;
        s.must_ip(&[
            "link",
            "add",
            "rmqbr",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        s.must_ip(&["addr", "del", "10.77.0.1/24", "dev", SERVER_IF]);
        s.must_ip(&["link", "set", SERVER_IF, "master", "rmqbr"]);
        assert!(veth(s, "rmqp0", &ns, "rmqp1", None), "veth to proxy");
        s.must_ip(&["link", "set", "rmqp0", "master", "rmqbr"]);
        s.must_ip(&["addr", "add", "10.77.0.1/24", "dev", "rmqbr"]);
        s.must_ip(&["link", "set", "rmqbr", "up"]);
        ns.must_ip(&["addr", "add", &format!("{PROXY_ADDR}/24"), "dev", "rmqp1"]);
        ProxySegment { ns }
    }

    /// ringmasq in the proxy namespace with `args`; returns once it logged its proxy range.
    pub fn ringmasq(&self, lab: &DhcpLab, args: &[String]) -> ChildGuard {
        let bin = ringmasq_bin().expect("ringmasq binary");
        let mut cmd = self.ns.command(&bin.to_string_lossy());
        cmd.args(args);
        let log = lab.dir.join("proxy.log");
        let child = ChildGuard::spawn("ringmasq-proxy", cmd, &log).expect("spawn proxy");
        let ok = crate::wait::poll_until(
            std::time::Duration::from_secs(10),
            std::time::Duration::from_millis(50),
            200,
            || {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .contains("DHCP, proxy on subnet")
                    .then_some(())
            },
        );
        assert!(
            ok.is_some(),
            "proxy did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        child
    }
}
