//! The simulated clients' sockets in their namespace.
//!
//! Relay mode: one UDP socket on `GIADDR:67`; requests carry `giaddr` and go to the server's
//! port 67, replies come back to port 67 (RFC 2131 §4.1), as through a relay agent.
//!
//! Broadcast mode (clients on the server's link): requests leave a UDP socket on port 68 bound
//! to the interface, to 255.255.255.255:67 (DISCOVER, REQUEST) or to the server (renewal,
//! RELEASE). Replies are read from a packet socket on the interface, because the server sends
//! renewal ACKs to the client's own address and MAC (RFC 2131 §4.1), which no address of the
//! namespace matches; the packet socket also answers ARP for every leased address, as a
//! client that configured it would.

use std::collections::HashMap;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// DHCP server port (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// DHCP client port (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;
const ETH_P_ALL: u16 = 0x0003;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_ARP: u16 = 0x0806;
/// Receive buffer asked for each socket, so a burst of replies is not dropped by the tool.
const RCVBUF: libc::c_int = 16 << 20;

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: passes a pointer to a value we own, with its size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Asks for a large receive buffer: SO_RCVBUFFORCE (root), else SO_RCVBUF.
fn big_rcvbuf(fd: RawFd) {
    if setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &RCVBUF).is_err() {
        let _ = setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &RCVBUF);
    }
}

fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut s: libc::sockaddr_in = unsafe { zeroed() };
    s.sin_family = libc::AF_INET as libc::sa_family_t;
    s.sin_port = a.port().to_be();
    s.sin_addr.s_addr = u32::from(*a.ip()).to_be();
    s
}

fn udp_socket(bind: SocketAddrV4, ifname: Option<&str>) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned right after.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    })?;
    // SAFETY: fd was just returned by socket(2) and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let raw = fd.as_raw_fd();
    let one: libc::c_int = 1;
    setsockopt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one)?;
    setsockopt(raw, libc::SOL_SOCKET, libc::SO_BROADCAST, &one)?;
    if let Some(name) = ifname {
        // SAFETY: the name's bytes with their length.
        check(unsafe {
            libc::setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                name.as_ptr().cast(),
                name.len() as libc::socklen_t,
            )
        })?;
    }
    big_rcvbuf(raw);
    let sa = sockaddr(bind);
    // SAFETY: binds a sockaddr_in we own, with its size.
    check(unsafe {
        libc::bind(
            raw,
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    })?;
    Ok(fd)
}

fn if_index(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: a NUL-terminated name we own.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

/// A received reply's payload range inside the caller's buffer.
pub type Payload = std::ops::Range<usize>;

/// The clients' sockets.
#[derive(Debug)]
pub struct ClientNet {
    /// Where requests leave from (and, in relay mode, replies arrive).
    udp: OwnedFd,
    /// Broadcast mode: packet socket on the interface (replies and ARP).
    packet: Option<OwnedFd>,
    ifindex: u32,
    /// Where unicast requests go (all requests in relay mode).
    server: SocketAddrV4,
    relay: bool,
    /// Leased address → client MAC, for ARP answers.
    pub arp: HashMap<Ipv4Addr, [u8; 6]>,
    /// ARP requests answered.
    pub arp_answered: u64,
}

impl ClientNet {
    /// Relay mode: requests from `giaddr:67` to `server:67`.
    pub fn relay(giaddr: Ipv4Addr, server: Ipv4Addr) -> io::Result<ClientNet> {
        let udp = udp_socket(SocketAddrV4::new(giaddr, SERVER_PORT), None)?;
        Ok(ClientNet {
            udp,
            packet: None,
            ifindex: 0,
            server: SocketAddrV4::new(server, SERVER_PORT),
            relay: true,
            arp: HashMap::new(),
            arp_answered: 0,
        })
    }

    /// Broadcast mode on interface `ifname`; `server` receives renewals and RELEASEs.
    pub fn broadcast(ifname: &str, server: Ipv4Addr) -> io::Result<ClientNet> {
        let ifindex = if_index(ifname)?;
        let udp = udp_socket(
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT),
            Some(ifname),
        )?;
        // SAFETY: plain socket(2); the fd is owned right after.
        let p = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::c_int::from(ETH_P_ALL.to_be()),
            )
        })?;
        // SAFETY: p was just returned by socket(2) and is owned by nothing else.
        let packet = unsafe { OwnedFd::from_raw_fd(p) };
        big_rcvbuf(packet.as_raw_fd());
        // SAFETY: sockaddr_ll is plain data; bound with its size.
        unsafe {
            let mut ll: libc::sockaddr_ll = zeroed();
            ll.sll_family = libc::AF_PACKET as u16;
            ll.sll_protocol = ETH_P_ALL.to_be();
            ll.sll_ifindex = ifindex as i32;
            check(libc::bind(
                packet.as_raw_fd(),
                (&ll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            ))?;
        }
        Ok(ClientNet {
            udp,
            packet: Some(packet),
            ifindex,
            server: SocketAddrV4::new(server, SERVER_PORT),
            relay: false,
            arp: HashMap::new(),
            arp_answered: 0,
        })
    }

    /// Whether requests carry `giaddr`.
    pub fn is_relay(&self) -> bool {
        self.relay
    }

    /// The descriptor replies arrive on (for poll).
    pub fn rx_fd(&self) -> RawFd {
        self.packet.as_ref().unwrap_or(&self.udp).as_raw_fd()
    }

    /// Sends a request: broadcast (`to_server` false, broadcast mode) or to the server.
    pub fn send(&self, bytes: &[u8], to_server: bool) -> io::Result<()> {
        let dst = if to_server || self.relay {
            self.server
        } else {
            SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT)
        };
        let sa = sockaddr(dst);
        // SAFETY: sends a buffer we own to a sockaddr_in we own, with their lengths.
        let n = unsafe {
            libc::sendto(
                self.udp.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Receives the next DHCP reply into `buf`: `Ok(Some(range of the DHCP payload))`,
    /// `Ok(None)` when nothing is queued. ARP requests for leased addresses are answered on
    /// the way; other frames are skipped.
    pub fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<Payload>> {
        loop {
            let Some(p) = &self.packet else {
                // SAFETY: receives into a buffer we own, with its length.
                let n = unsafe {
                    libc::recv(self.udp.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
                };
                return match n {
                    n if n >= 0 => Ok(Some(0..n as usize)),
                    _ => would_block(io::Error::last_os_error()),
                };
            };
            // SAFETY: sockaddr_ll is plain data filled by recvfrom within the length passed.
            let (n, pkttype) = unsafe {
                let mut ll: libc::sockaddr_ll = zeroed();
                let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                let n = libc::recvfrom(
                    p.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut ll as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                );
                (n, ll.sll_pkttype)
            };
            if n < 0 {
                return would_block(io::Error::last_os_error());
            }
            if pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let frame = &buf[..n as usize];
            if frame.len() < 14 {
                continue;
            }
            match u16::from_be_bytes([frame[12], frame[13]]) {
                ETH_P_IP => {
                    if let Some(r) = dhcp_payload(&frame[14..]) {
                        return Ok(Some(r.start + 14..r.end + 14));
                    }
                }
                ETH_P_ARP => self.answer_arp(frame),
                _ => {}
            }
        }
    }

    /// RFC 826: answers a request for a leased address with its client's MAC.
    fn answer_arp(&mut self, frame: &[u8]) {
        let a = &frame[14..];
        // Ethernet/IPv4 request: htype 1, ptype 0x0800, hlen 6, plen 4, op 1.
        if a.len() < 28 || a[..8] != [0, 1, 8, 0, 6, 4, 0, 1] {
            return;
        }
        let target = Ipv4Addr::new(a[24], a[25], a[26], a[27]);
        let Some(mac) = self.arp.get(&target).copied() else {
            return;
        };
        let mut r = [0u8; 42];
        r[..6].copy_from_slice(&a[8..14]);
        r[6..12].copy_from_slice(&mac);
        r[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
        r[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        r[22..28].copy_from_slice(&mac);
        r[28..32].copy_from_slice(&target.octets());
        r[32..42].copy_from_slice(&a[8..18]);
        if let Some(p) = &self.packet {
            // SAFETY: sockaddr_ll is plain data; sends a frame we own with its length.
            unsafe {
                let mut ll: libc::sockaddr_ll = zeroed();
                ll.sll_family = libc::AF_PACKET as u16;
                ll.sll_protocol = ETH_P_ARP.to_be();
                ll.sll_ifindex = self.ifindex as i32;
                ll.sll_halen = 6;
                ll.sll_addr[..6].copy_from_slice(&a[8..14]);
                if libc::sendto(
                    p.as_raw_fd(),
                    r.as_ptr().cast(),
                    r.len(),
                    0,
                    (&ll as *const libc::sockaddr_ll).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                ) >= 0
                {
                    self.arp_answered += 1;
                }
            }
        }
    }
}

fn would_block(e: io::Error) -> io::Result<Option<Payload>> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
        _ => Err(e),
    }
}

/// The DHCP payload of an IPv4 packet (no fragments) carrying UDP to port 68.
pub fn dhcp_payload(ip: &[u8]) -> Option<Payload> {
    if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
        return None;
    }
    // More-fragments flag or a fragment offset: not a whole datagram.
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let udp = ip.get(ihl..total)?;
    if udp.len() < 8 || u16::from_be_bytes([udp[2], udp[3]]) != CLIENT_PORT {
        return None;
    }
    let ulen = usize::from(u16::from_be_bytes([udp[4], udp[5]])).min(udp.len());
    (ulen >= 8).then(|| ihl + 8..ihl + ulen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_dhcp_payload_of_a_udp_datagram() {
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 9,
        ];
        ip.extend_from_slice(&[0, 67, 0, 68, 0, 12, 0, 0, 1, 2, 3, 4]);
        let total = ip.len() as u16;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        assert_eq!(dhcp_payload(&ip), Some(28..32));
        let mut other = ip.clone();
        other[23] = 69; // to port 69
        assert_eq!(dhcp_payload(&other), None);
        let mut frag = ip.clone();
        frag[6] = 0x20; // more fragments
        assert_eq!(dhcp_payload(&frag), None);
        assert_eq!(dhcp_payload(&ip[..10]), None);
    }
}
