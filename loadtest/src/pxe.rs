//! `ringmasq-load pxe`: a burst of simulated PXE machines on one link.
//!
//! Each machine has its own hardware address and transaction id and does what a PXE ROM does:
//! DHCPDISCOVER with options 60 (`PXEClient:Arch:...`), 93 and 97, DHCPREQUEST of the offer
//! (RFC 2131 §4.3.2, SELECTING), then TFTP (RFC 1350, blksize RFC 2348) of the boot file named
//! in the ACK and of an image, from the ACK's next server. All machines start at once; one
//! thread drives them with `poll` over the DHCP socket (port 68, bound to the interface) and
//! one TFTP socket per machine. Run it inside the clients' namespace. The report gives the
//! time until the last machine booted, per-phase latencies and every failure with its reason.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::json;

/// `ringmasq-load pxe` arguments.
#[derive(Debug, Clone, Args)]
pub struct PxeArgs {
    /// Interface the machines boot on (inside the namespace the tool runs in).
    #[arg(long)]
    pub interface: String,
    /// Number of simulated machines.
    #[arg(long, default_value_t = 10)]
    pub clients: u32,
    /// Client system architecture sent in option 93 (0 BIOS, 7 EFI BC, 9 x86-64 EFI).
    #[arg(long, default_value_t = 0)]
    pub arch: u16,
    /// A file every machine fetches after its boot file (kernel or image); none if empty.
    #[arg(long, default_value = "")]
    pub image: String,
    /// TFTP block size asked for (RFC 2348); 0 asks for none (512-byte blocks).
    #[arg(long, default_value_t = 1468)]
    pub blksize: u16,
    /// Local address the TFTP transfers leave from (default: chosen by the kernel).
    #[arg(long)]
    pub source: Option<Ipv4Addr>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Seed of the hardware addresses (machines differ in the low 3 bytes).
    #[arg(long, default_value_t = 1)]
    pub seed: u8,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One TFTP transfer in progress.
struct Transfer {
    sock: UdpSocket,
    server: SocketAddr,
    peer: Option<SocketAddr>,
    rrq: Vec<u8>,
    next: u16,
    blksize: usize,
    bytes: u64,
}

enum Phase {
    Discover,
    Request { addr: Ipv4Addr },
    Fetch { files: Vec<String>, index: usize },
    Done,
    Failed(String),
}

struct Machine {
    mac: [u8; 6],
    xid: u32,
    phase: Phase,
    last: Vec<u8>,
    sent_at: Instant,
    tries: u32,
    siaddr: Ipv4Addr,
    transfer: Option<Transfer>,
    bound_at: Option<Instant>,
    done_at: Option<Instant>,
    bytes: u64,
}

/// Retransmission interval of DHCP and TFTP requests.
const RETRY: Duration = Duration::from_secs(2);
/// Tries before a machine gives up.
const TRIES: u32 = 6;

fn dhcp_packet(m: &Machine, arch: u16, kind: u8, extra: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&m.xid.to_be_bytes());
    p[10] = 0x80;
    p[28..34].copy_from_slice(&m.mac);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    let vc = format!("PXEClient:Arch:{arch:05}:UNDI:002001");
    p.extend_from_slice(&[60, vc.len() as u8]);
    p.extend_from_slice(vc.as_bytes());
    p.extend_from_slice(&[93, 2]);
    p.extend_from_slice(&arch.to_be_bytes());
    p.extend_from_slice(&[94, 3, 1, 2, 1, 97, 17, 0]);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(&m.mac);
    p.extend_from_slice(&[55, 6, 1, 3, 43, 60, 66, 67, 57, 2, 5, 192]);
    p.extend_from_slice(extra);
    p.push(255);
    p
}

/// A parsed DHCP reply: type, yiaddr, siaddr, server id, boot file.
struct Reply {
    kind: u8,
    xid: u32,
    yiaddr: Ipv4Addr,
    siaddr: Ipv4Addr,
    server: Option<Ipv4Addr>,
    file: String,
}

fn parse_reply(b: &[u8]) -> Option<Reply> {
    if b.len() < 240 || b[0] != 2 || b[236..240] != [99, 130, 83, 99] {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
    let mut kind = 0;
    let mut server = None;
    let mut file_option = None;
    let mut i = 240;
    while i + 1 < b.len() && b[i] != 255 {
        if b[i] == 0 {
            i += 1;
            continue;
        }
        let l = b[i + 1] as usize;
        let v = b.get(i + 2..i + 2 + l)?;
        match b[i] {
            53 if l == 1 => kind = v[0],
            54 if l == 4 => server = Some(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
            // RFC 2132 §9.5: the boot file name as an option (dnsmasq sends it so when the
            // client lists option 67 in its parameter request list).
            67 => {
                file_option = Some(
                    String::from_utf8_lossy(v)
                        .trim_end_matches('\0')
                        .to_string(),
                )
            }
            _ => {}
        }
        i += 2 + l;
    }
    let f = &b[108..236];
    let end = f.iter().position(|c| *c == 0).unwrap_or(f.len());
    let mut file = String::from_utf8_lossy(&f[..end]).into_owned();
    if file.is_empty() {
        file = file_option.unwrap_or_default();
    }
    Some(Reply {
        kind,
        xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        yiaddr: ip(16),
        siaddr: ip(20),
        server,
        file,
    })
}

fn setsockopt(fd: i32, opt: libc::c_int, val: &[u8]) -> std::io::Result<()> {
    // SAFETY: passes a buffer we own with its length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// UDP 0.0.0.0:68 on `device`, broadcast allowed, non-blocking.
fn dhcp_socket(device: &str) -> Result<UdpSocket> {
    // SAFETY: socket(2); the descriptor is owned by the UdpSocket at once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        bail!("socket: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket owned by nothing else.
    let s = unsafe { UdpSocket::from_raw_fd(fd) };
    let one = 1i32.to_ne_bytes();
    setsockopt(fd, libc::SO_REUSEADDR, &one)?;
    setsockopt(fd, libc::SO_BROADCAST, &one)?;
    setsockopt(fd, libc::SO_BINDTODEVICE, device.as_bytes())
        .with_context(|| format!("bind to device {device}"))?;
    let big = (8i32 << 20).to_ne_bytes();
    let _ = setsockopt(fd, libc::SO_RCVBUF, &big);
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 68u16.to_be(),
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: binds to a sockaddr_in we own, with its size.
    let rc = unsafe {
        libc::bind(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        bail!("bind 0.0.0.0:68: {}", std::io::Error::last_os_error());
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

fn rrq(name: &str, blksize: u16) -> Vec<u8> {
    let mut p = vec![0, 1];
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    p.extend_from_slice(b"octet\0");
    if blksize != 0 {
        p.extend_from_slice(b"blksize\0");
        p.extend_from_slice(blksize.to_string().as_bytes());
        p.push(0);
    }
    p
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Machine {
    fn send_dhcp(&mut self, dhcp: &UdpSocket, pkt: Vec<u8>, now: Instant) {
        let _ = dhcp.send_to(&pkt, (Ipv4Addr::BROADCAST, 67));
        self.last = pkt;
        self.sent_at = now;
        self.tries = 1;
    }

    fn start_fetch(&mut self, a: &PxeArgs, now: Instant) -> std::io::Result<()> {
        let Phase::Fetch { files, index } = &self.phase else {
            return Ok(());
        };
        let Some(name) = files.get(*index) else {
            self.phase = Phase::Done;
            self.done_at = Some(now);
            self.transfer = None;
            return Ok(());
        };
        let src = SocketAddrV4::new(a.source.unwrap_or(Ipv4Addr::UNSPECIFIED), 0);
        let sock = UdpSocket::bind(src)?;
        sock.set_nonblocking(true)?;
        let server = SocketAddr::from((self.siaddr, 69));
        let req = rrq(name, a.blksize);
        sock.send_to(&req, server)?;
        self.transfer = Some(Transfer {
            sock,
            server,
            peer: None,
            rrq: req,
            next: 1,
            blksize: 512,
            bytes: 0,
        });
        self.sent_at = now;
        self.tries = 1;
        Ok(())
    }

    /// Handles one TFTP datagram; true when the machine moved on to its next file.
    fn on_tftp(&mut self, a: &PxeArgs, b: &[u8], from: SocketAddr, now: Instant) -> bool {
        let Some(t) = &mut self.transfer else {
            return false;
        };
        if t.peer.is_some_and(|p| p != from) || b.len() < 4 {
            return false;
        }
        t.peer = Some(from);
        let op = u16::from_be_bytes([b[0], b[1]]);
        let n = u16::from_be_bytes([b[2], b[3]]);
        match op {
            // OACK (RFC 2347): take the block size, acknowledge block 0.
            6 => {
                let mut parts = b[2..].split(|c| *c == 0);
                while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                    if k.eq_ignore_ascii_case(b"blksize") {
                        t.blksize = std::str::from_utf8(v)
                            .ok()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(512);
                    }
                }
                t.rrq = vec![0, 4, 0, 0];
                let _ = t.sock.send_to(&t.rrq, from);
                self.sent_at = now;
                self.tries = 1;
                false
            }
            3 if n == t.next => {
                let len = b.len() - 4;
                t.bytes += len as u64;
                t.rrq = vec![0, 4, b[2], b[3]];
                let _ = t.sock.send_to(&t.rrq, from);
                t.next = t.next.wrapping_add(1);
                self.sent_at = now;
                self.tries = 1;
                if len < t.blksize {
                    self.bytes += t.bytes;
                    if let Phase::Fetch { index, .. } = &mut self.phase {
                        *index += 1;
                    }
                    if let Err(e) = self.start_fetch(a, now) {
                        self.phase = Phase::Failed(format!("tftp socket: {e}"));
                    }
                    return true;
                }
                false
            }
            // A duplicate: acknowledge it again (RFC 1350 §2), the stream is not doubled.
            3 => {
                let _ = t.sock.send_to(&[0, 4, b[2], b[3]], from);
                false
            }
            5 => {
                let msg = String::from_utf8_lossy(&b[4..])
                    .trim_end_matches('\0')
                    .to_string();
                self.phase = Phase::Failed(format!("tftp error {n}: {msg}"));
                self.transfer = None;
                false
            }
            _ => false,
        }
    }
}

/// Runs the burst and prints the report; an error if any machine failed to boot.
pub fn run(a: &PxeArgs) -> Result<()> {
    let dhcp = dhcp_socket(&a.interface)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(a.timeout);
    let mut machines: Vec<Machine> = (0..a.clients)
        .map(|i| Machine {
            mac: [0x02, 0x70, a.seed, (i >> 16) as u8, (i >> 8) as u8, i as u8],
            xid: 0x5000_0000 ^ (u32::from(a.seed) << 20) ^ i,
            phase: Phase::Discover,
            last: Vec::new(),
            sent_at: start,
            tries: 0,
            siaddr: Ipv4Addr::UNSPECIFIED,
            transfer: None,
            bound_at: None,
            done_at: None,
            bytes: 0,
        })
        .collect();
    let by_xid: HashMap<u32, usize> = machines
        .iter()
        .enumerate()
        .map(|(i, m)| (m.xid, i))
        .collect();
    for m in &mut machines {
        let p = dhcp_packet(m, a.arch, 1, &[]);
        m.send_dhcp(&dhcp, p, start);
    }
    let mut buf = vec![0u8; 65536];
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut owners: Vec<usize> = Vec::new();
    loop {
        let now = Instant::now();
        let open = machines
            .iter()
            .filter(|m| !matches!(m.phase, Phase::Done | Phase::Failed(_)))
            .count();
        if open == 0 || now >= deadline {
            break;
        }
        fds.clear();
        owners.clear();
        fds.push(libc::pollfd {
            fd: dhcp.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for (i, m) in machines.iter().enumerate() {
            if let Some(t) = &m.transfer {
                fds.push(libc::pollfd {
                    fd: t.sock.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
                owners.push(i);
            }
        }
        // SAFETY: polls the pollfd array we own, with its length.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
        let now = Instant::now();
        if fds[0].revents != 0 {
            while let Ok((n, _)) = dhcp.recv_from(&mut buf) {
                let Some(r) = parse_reply(&buf[..n]) else {
                    continue;
                };
                let Some(&i) = by_xid.get(&r.xid) else {
                    continue;
                };
                let m = &mut machines[i];
                match (&m.phase, r.kind) {
                    (Phase::Discover, 2) if r.yiaddr != Ipv4Addr::UNSPECIFIED => {
                        let server = r.server.unwrap_or(r.siaddr);
                        let mut extra = vec![50, 4];
                        extra.extend_from_slice(&r.yiaddr.octets());
                        extra.extend_from_slice(&[54, 4]);
                        extra.extend_from_slice(&server.octets());
                        let p = dhcp_packet(m, a.arch, 3, &extra);
                        m.phase = Phase::Request { addr: r.yiaddr };
                        m.send_dhcp(&dhcp, p, now);
                    }
                    (Phase::Request { addr, .. }, 5) if r.yiaddr == *addr => {
                        m.bound_at = Some(now);
                        m.siaddr = r.siaddr;
                        let mut files = Vec::new();
                        if r.file.is_empty() {
                            m.phase = Phase::Failed("no boot file in the ACK".into());
                            continue;
                        }
                        files.push(r.file.clone());
                        if !a.image.is_empty() {
                            files.push(a.image.clone());
                        }
                        m.phase = Phase::Fetch { files, index: 0 };
                        if let Err(e) = m.start_fetch(a, now) {
                            m.phase = Phase::Failed(format!("tftp socket: {e}"));
                        }
                    }
                    (Phase::Request { .. }, 6) => {
                        m.phase = Phase::Failed("DHCPNAK".into());
                    }
                    _ => {}
                }
            }
        }
        for (k, pfd) in fds[1..].iter().enumerate() {
            if pfd.revents == 0 {
                continue;
            }
            let i = owners[k];
            while let Some(t) = &machines[i].transfer {
                let Ok((n, from)) = t.sock.recv_from(&mut buf) else {
                    break;
                };
                if machines[i].on_tftp(a, &buf[..n], from, now) {
                    // A new transfer (new socket) or done: poll again next turn.
                    break;
                }
            }
        }
        // Retransmissions with a fixed interval; a machine gives up after TRIES sends.
        for m in &mut machines {
            if matches!(m.phase, Phase::Done | Phase::Failed(_))
                || now.duration_since(m.sent_at) < RETRY
            {
                continue;
            }
            if m.tries >= TRIES {
                let what = match m.phase {
                    Phase::Discover => "no DHCPOFFER",
                    Phase::Request { .. } => "no DHCPACK",
                    _ => "TFTP timed out",
                };
                m.phase = Phase::Failed(what.into());
                m.transfer = None;
                continue;
            }
            m.tries += 1;
            m.sent_at = now;
            match &m.transfer {
                Some(t) => {
                    let _ = t.sock.send_to(&t.rrq, t.peer.unwrap_or(t.server));
                }
                None => {
                    let _ = dhcp.send_to(&m.last, (Ipv4Addr::BROADCAST, 67));
                }
            }
        }
    }
    report(a, &machines, start)
}

fn report(a: &PxeArgs, machines: &[Machine], start: Instant) -> Result<()> {
    let secs = |t: Option<Instant>| t.map(|t| t.duration_since(start).as_secs_f64());
    let mut dora: Vec<f64> = machines.iter().filter_map(|m| secs(m.bound_at)).collect();
    let mut boot: Vec<f64> = machines.iter().filter_map(|m| secs(m.done_at)).collect();
    dora.sort_by(f64::total_cmp);
    boot.sort_by(f64::total_cmp);
    let mut failures: HashMap<String, u32> = HashMap::new();
    for m in machines {
        match &m.phase {
            Phase::Done => {}
            Phase::Failed(why) => *failures.entry(why.clone()).or_default() += 1,
            _ => *failures.entry("timed out".into()).or_default() += 1,
        }
    }
    let failed: u32 = failures.values().sum();
    let bytes: u64 = machines.iter().map(|m| m.bytes).sum();
    let all = boot.last().copied().unwrap_or(0.0);
    if a.json {
        println!(
            "{}",
            json!({
                "clients": a.clients,
                "booted": boot.len(),
                "failed": failed,
                "failures": failures,
                "all_booted_s": all,
                "dora_p50_s": percentile(&dora, 0.5),
                "dora_p99_s": percentile(&dora, 0.99),
                "boot_p50_s": percentile(&boot, 0.5),
                "boot_p99_s": percentile(&boot, 0.99),
                "bytes": bytes,
            })
        );
    } else {
        println!(
            "pxe: {} machines, {} booted, {failed} failed; all booted after {all:.3} s",
            a.clients,
            boot.len()
        );
        println!(
            "  DORA p50 {:.3} s p99 {:.3} s; boot p50 {:.3} s p99 {:.3} s; {bytes} bytes fetched",
            percentile(&dora, 0.5),
            percentile(&dora, 0.99),
            percentile(&boot, 0.5),
            percentile(&boot, 0.99)
        );
        for (why, n) in &failures {
            println!("  failed: {n} x {why}");
        }
    }
    if failed > 0 {
        bail!("{failed} of {} machines did not boot", a.clients);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discover_carries_pxe_options() {
        let m = Machine {
            mac: [2, 0x70, 1, 0, 0, 5],
            xid: 7,
            phase: Phase::Discover,
            last: Vec::new(),
            sent_at: Instant::now(),
            tries: 0,
            siaddr: Ipv4Addr::UNSPECIFIED,
            transfer: None,
            bound_at: None,
            done_at: None,
            bytes: 0,
        };
        let p = dhcp_packet(&m, 7, 1, &[]);
        assert_eq!(&p[28..34], &m.mac);
        let text = String::from_utf8_lossy(&p);
        assert!(text.contains("PXEClient:Arch:00007:UNDI:002001"));
        assert!(p.windows(4).any(|w| w == [93, 2, 0, 7]));
        assert_eq!(*p.last().unwrap(), 255);
        assert_eq!(rrq("a", 1468), b"\0\x01a\0octet\0blksize\x001468\0");
    }

    #[test]
    fn boot_file_from_field_or_option_67() {
        let mut b = vec![0u8; 236];
        b[0] = 2;
        b[4..8].copy_from_slice(&9u32.to_be_bytes());
        b.extend_from_slice(&[99, 130, 83, 99, 53, 1, 5]);
        let mut with_option = b.clone();
        with_option.extend_from_slice(&[67, 10]);
        with_option.extend_from_slice(b"pxelinux.0");
        with_option.push(255);
        let r = parse_reply(&with_option).expect("reply");
        assert_eq!((r.kind, r.xid, r.file.as_str()), (5, 9, "pxelinux.0"));
        // The file field wins when both are there.
        with_option[108..113].copy_from_slice(b"a.efi");
        assert_eq!(parse_reply(&with_option).expect("reply").file, "a.efi");
        b.push(255);
        assert_eq!(parse_reply(&b).expect("reply").file, "");
    }
}
