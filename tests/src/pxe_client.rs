//! A scripted PXE client, for what no packaged client does: collect the offers of a DHCP
//! server and a proxy-DHCP server on one link (a PXE ROM merges them, udhcpc and dhclient take
//! the first), and ask a boot server on port 4011 for a menu item (PXE 2.1 §2.2.5). It sends
//! what a BIOS PXE ROM sends: option 60 `PXEClient:Arch:xxxxx:UNDI:002001`, 93, 94, 97 and a
//! parameter request list with 43 and 60. Run it inside a namespace with
//! [`crate::netns::Netns::run_in`].

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// The client UUID sent in option 97 (type 0 and 16 bytes).
pub const UUID: [u8; 17] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// A parsed BOOTREPLY.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Where it came from.
    pub from: SocketAddr,
    /// `yiaddr`.
    pub yiaddr: Ipv4Addr,
    /// `siaddr`.
    pub siaddr: Ipv4Addr,
    /// `sname`, up to its first NUL.
    pub sname: String,
    /// `file`, up to its first NUL.
    pub file: String,
    /// Options by code (concatenated when repeated).
    pub options: HashMap<u8, Vec<u8>>,
}

impl Reply {
    /// The DHCP message type (option 53).
    pub fn kind(&self) -> Option<u8> {
        self.options.get(&53).and_then(|v| v.first().copied())
    }

    /// Whether it carries option 60 `PXEClient`.
    pub fn is_pxe(&self) -> bool {
        self.options.get(&60).is_some_and(|v| v == b"PXEClient")
    }

    /// The server identifier (option 54).
    pub fn server_id(&self) -> Option<Ipv4Addr> {
        let v = self.options.get(&54)?;
        <[u8; 4]>::try_from(v.as_slice()).ok().map(Ipv4Addr::from)
    }

    /// Option 43's sub-options by code.
    pub fn pxe_sub(&self, code: u8) -> Option<Vec<u8>> {
        let v = self.options.get(&43)?;
        let mut i = 0;
        while i + 1 < v.len() && v[i] != 255 {
            let (c, l) = (v[i], v[i + 1] as usize);
            let body = v.get(i + 2..i + 2 + l)?;
            if c == code {
                return Some(body.to_vec());
            }
            i += 2 + l;
        }
        None
    }

    /// The boot menu items (type, text) of option 43 sub-option 9.
    pub fn menu(&self) -> Vec<(u16, String)> {
        let Some(m) = self.pxe_sub(9) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i + 3 <= m.len() {
            let t = u16::from_be_bytes([m[i], m[i + 1]]);
            let l = m[i + 2] as usize;
            let text = m.get(i + 3..i + 3 + l).unwrap_or(&[]);
            out.push((t, String::from_utf8_lossy(text).into_owned()));
            i += 3 + l;
        }
        out
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Parses a BOOTREPLY (no overload handling: PXE replies keep `file` for the file).
pub fn parse(bytes: &[u8], from: SocketAddr) -> Option<Reply> {
    if bytes.len() < 240 || bytes[0] != 2 || bytes[236..240] != [99, 130, 83, 99] {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]);
    let mut options: HashMap<u8, Vec<u8>> = HashMap::new();
    let mut i = 240;
    while i < bytes.len() && bytes[i] != 255 {
        if bytes[i] == 0 {
            i += 1;
            continue;
        }
        let l = *bytes.get(i + 1)? as usize;
        let body = bytes.get(i + 2..i + 2 + l)?;
        options.entry(bytes[i]).or_default().extend_from_slice(body);
        i += 2 + l;
    }
    Some(Reply {
        from,
        yiaddr: ip(16),
        siaddr: ip(20),
        sname: cstr(&bytes[44..108]),
        file: cstr(&bytes[108..236]),
        options,
    })
}

/// What the client sends.
#[derive(Debug, Clone)]
pub struct PxeClient {
    /// Hardware address.
    pub mac: [u8; 6],
    /// Client system architecture (option 93; 0 = BIOS, 7 = EFI BC).
    pub arch: u16,
    /// Transaction id.
    pub xid: u32,
}

impl PxeClient {
    /// A request of DHCP type `kind` with the PXE options, `ciaddr` and `extra` options.
    pub fn packet(&self, kind: u8, ciaddr: Ipv4Addr, extra: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 236];
        p[..4].copy_from_slice(&[1, 1, 6, 0]);
        p[4..8].copy_from_slice(&self.xid.to_be_bytes());
        p[10] = 0x80; // broadcast flag: the client has no address to take unicast on
        p[12..16].copy_from_slice(&ciaddr.octets());
        p[28..34].copy_from_slice(&self.mac);
        p.extend_from_slice(&[99, 130, 83, 99]);
        p.extend_from_slice(&[53, 1, kind]);
        let vc = format!("PXEClient:Arch:{:05}:UNDI:002001", self.arch);
        p.extend_from_slice(&[60, vc.len() as u8]);
        p.extend_from_slice(vc.as_bytes());
        p.extend_from_slice(&[93, 2]);
        p.extend_from_slice(&self.arch.to_be_bytes());
        p.extend_from_slice(&[94, 3, 1, 2, 1, 97, 17]);
        p.extend_from_slice(&UUID);
        p.extend_from_slice(&[55, 6, 1, 3, 43, 60, 66, 67, 57, 2, 5, 192]);
        p.extend_from_slice(extra);
        p.push(255);
        p
    }

    /// A socket on port 68 bound to `device` (broadcasts leave and arrive there).
    pub fn socket(device: &str) -> std::io::Result<UdpSocket> {
        let s = socket2_udp(device, 68)?;
        s.set_read_timeout(Some(Duration::from_millis(100)))?;
        Ok(s)
    }

    /// Broadcasts a DISCOVER on `device` and gathers the replies with our xid for `window`.
    pub fn discover(&self, device: &str, window: Duration) -> Vec<Reply> {
        let s = Self::socket(device).expect("client socket");
        let p = self.packet(1, Ipv4Addr::UNSPECIFIED, &[]);
        s.send_to(&p, (Ipv4Addr::BROADCAST, 67)).expect("send");
        self.gather(&s, window, usize::MAX)
    }

    /// Broadcasts a REQUEST for `addr` from `server` (SELECTING) and waits for its ACK.
    pub fn request(&self, device: &str, addr: Ipv4Addr, server: Ipv4Addr) -> Option<Reply> {
        let s = Self::socket(device).expect("client socket");
        let mut extra = vec![50, 4];
        extra.extend_from_slice(&addr.octets());
        extra.extend_from_slice(&[54, 4]);
        extra.extend_from_slice(&server.octets());
        let p = self.packet(3, Ipv4Addr::UNSPECIFIED, &extra);
        s.send_to(&p, (Ipv4Addr::BROADCAST, 67)).expect("send");
        self.gather(&s, Duration::from_secs(3), 1)
            .into_iter()
            .find(|r| r.kind() == Some(5))
    }

    /// Asks boot server `server` (port 4011) for boot item `typ`, layer 0, from `ciaddr`.
    pub fn boot_item(&self, ciaddr: Ipv4Addr, server: Ipv4Addr, typ: u16) -> Option<Reply> {
        let s = UdpSocket::bind((ciaddr, 68)).expect("bind client address");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let mut extra = vec![43, 7, 71, 4];
        extra.extend_from_slice(&typ.to_be_bytes());
        extra.extend_from_slice(&[0, 0, 255]);
        let p = self.packet(3, ciaddr, &extra);
        for _ in 0..3 {
            s.send_to(&p, (server, 4011)).expect("send");
            if let Some(r) = self.gather(&s, Duration::from_secs(2), 1).pop() {
                return Some(r);
            }
        }
        None
    }

    fn gather(&self, s: &UdpSocket, window: Duration, max: usize) -> Vec<Reply> {
        let end = Instant::now() + window;
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        while Instant::now() < end && out.len() < max {
            if let Ok((n, from)) = s.recv_from(&mut buf)
                && let Some(r) = parse(&buf[..n], from)
                && buf[4..8] == self.xid.to_be_bytes()
            {
                out.push(r);
            }
        }
        out
    }
}

/// A UDP socket with SO_REUSEADDR, SO_BROADCAST and SO_BINDTODEVICE, bound to 0.0.0.0:`port`.
fn socket2_udp(device: &str, port: u16) -> std::io::Result<UdpSocket> {
    // Bind through std after setting the options on a raw socket we wrap at once.
    // SAFETY: socket(2); the descriptor is owned by the UdpSocket right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket owned by nothing else.
    let s = unsafe { <UdpSocket as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    for opt in [libc::SO_REUSEADDR, libc::SO_BROADCAST] {
        // SAFETY: a c_int option value we own, with its size.
        let rc = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&one as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: the device name bytes with their length.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            device.as_ptr().cast(),
            device.len() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: binds to a sockaddr_in we own, with its size.
    let rc = unsafe {
        libc::bind(
            s.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(s)
}
