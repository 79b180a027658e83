//! The DHCP server socket: UDP 0.0.0.0:67 with SO_BROADCAST and IP_PKTINFO, so each request's
//! interface is known and each reply leaves by the interface its request came in on; plus the
//! neighbour (ARP) entry set before unicasting to a client that has no address yet.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Server port (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// PXE boot server port (PXE 2.1 §2.2.5).
pub const PXE_PORT: u16 = 4011;
/// Client port (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;

/// The server port in use: [`SERVER_PORT`] unless `--dhcp-alternate-port`.
pub fn server_port(cfg: &ringmasq_config::Config) -> u16 {
    cfg.dhcp.alternate_ports.map_or(SERVER_PORT, |p| p.0)
}

/// The client port replies go to: [`CLIENT_PORT`] unless `--dhcp-alternate-port`.
pub fn client_port(cfg: &ringmasq_config::Config) -> u16 {
    cfg.dhcp.alternate_ports.map_or(CLIENT_PORT, |p| p.1)
}

/// A received datagram's origin.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Payload length.
    pub len: usize,
    /// Sender.
    pub src: SocketAddrV4,
    /// Interface it arrived on (IP_PKTINFO).
    pub ifindex: u32,
}

/// The bound DHCP socket.
#[derive(Debug)]
pub struct DhcpSocket {
    fd: OwnedFd,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
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

fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: passes a pointer to a c_int we own with its size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Receive buffer of the DHCP socket: room for a rack of clients booting at once (10,000
/// requests of ~1-2 KiB kernel truesize each) while the loop drains them.
const RCVBUF: libc::c_int = 24 << 20;

/// SO_RCVBUFFORCE (CAP_NET_ADMIN, not bound by rmem_max), else SO_RCVBUF; best effort.
fn set_rcvbuf(fd: RawFd, bytes: libc::c_int) {
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: passes a pointer to a c_int we own with its size.
        let r = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&bytes as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            return;
        }
    }
}

/// Space for one IP_PKTINFO control message.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

impl DhcpSocket {
    /// Binds UDP `addr` (normally 0.0.0.0:67) with SO_REUSEADDR, SO_BROADCAST and IP_PKTINFO.
    pub fn bind(addr: SocketAddrV4) -> io::Result<DhcpSocket> {
        // SAFETY: plain socket(2) call; the fd is owned right after.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::IPPROTO_UDP,
            )
        })?;
        // SAFETY: fd was just returned by socket(2) and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR)?;
        setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_BROADCAST)?;
        setsockopt_int(raw, libc::IPPROTO_IP, libc::IP_PKTINFO)?;
        set_rcvbuf(raw, RCVBUF);
        let sa = sockaddr(addr);
        // SAFETY: binds to a sockaddr_in we own, with its size.
        check(unsafe {
            libc::bind(
                raw,
                (&sa as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        })?;
        Ok(DhcpSocket { fd })
    }

    /// The raw descriptor (for poll).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one datagram into `buf` without blocking; `None` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: every structure below is plain data owned by this frame; recvmsg writes at
        // most the lengths we pass, and the cmsg walk stays inside `cbuf` via the CMSG macros.
        unsafe {
            let mut src: libc::sockaddr_in = zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut cbuf = CmsgBuf([0; 64]);
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = (&mut src as *mut libc::sockaddr_in).cast();
            msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.0.as_mut_ptr().cast();
            msg.msg_controllen = cbuf.0.len();
            let n = libc::recvmsg(self.fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT);
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                    _ => Err(e),
                };
            }
            let mut ifindex = 0;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_PKTINFO {
                    let info = libc::CMSG_DATA(c)
                        .cast::<libc::in_pktinfo>()
                        .read_unaligned();
                    ifindex = info.ipi_ifindex as u32;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            let src = SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(src.sin_addr.s_addr)),
                u16::from_be(src.sin_port),
            );
            Ok(Some(Received {
                len: n as usize,
                src,
                ifindex,
            }))
        }
    }

    /// Sends `bytes` to `dst`; with `ifindex`, out of that interface (IP_PKTINFO), which is how
    /// a broadcast reply reaches the request's link.
    pub fn send(&self, bytes: &[u8], dst: SocketAddrV4, ifindex: Option<u32>) -> io::Result<()> {
        let sa = sockaddr(dst);
        // SAFETY: as in `recv`: plain data owned by this frame, lengths passed match buffers.
        unsafe {
            let mut iov = libc::iovec {
                iov_base: bytes.as_ptr() as *mut libc::c_void,
                iov_len: bytes.len(),
            };
            let mut cbuf = CmsgBuf([0; 64]);
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = (&sa as *const libc::sockaddr_in) as *mut libc::c_void;
            msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            if let Some(index) = ifindex {
                let space = libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize;
                msg.msg_control = cbuf.0.as_mut_ptr().cast();
                msg.msg_controllen = space;
                let c = libc::CMSG_FIRSTHDR(&msg);
                (*c).cmsg_level = libc::IPPROTO_IP;
                (*c).cmsg_type = libc::IP_PKTINFO;
                (*c).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
                let mut info: libc::in_pktinfo = zeroed();
                info.ipi_ifindex = index as libc::c_int;
                libc::CMSG_DATA(c)
                    .cast::<libc::in_pktinfo>()
                    .write_unaligned(info);
            }
            // Never block the DHCP loop: a unicast reply waiting for neighbour resolution
            // holds send-buffer space, and a full buffer must fail this reply, not stall all.
            check(libc::sendmsg(self.fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) as libc::c_int)?;
        }
        Ok(())
    }

    /// Sets a neighbour entry `ip → hw` on interface `ifname` (SIOCSARP), so a unicast reply
    /// can reach a client that cannot answer ARP yet (RFC 2131 §4.1).
    pub fn set_neighbour(
        &self,
        ifname: &str,
        ip: Ipv4Addr,
        htype: u8,
        hw: &[u8],
    ) -> io::Result<()> {
        // SAFETY: arpreq is plain data; the ioctl reads it and nothing else.
        unsafe {
            let mut req: libc::arpreq = zeroed();
            let pa = sockaddr(SocketAddrV4::new(ip, 0));
            std::ptr::copy_nonoverlapping(
                (&pa as *const libc::sockaddr_in).cast::<u8>(),
                (&mut req.arp_pa as *mut libc::sockaddr).cast::<u8>(),
                size_of::<libc::sockaddr_in>(),
            );
            req.arp_ha.sa_family = libc::sa_family_t::from(htype);
            for (d, s) in req.arp_ha.sa_data.iter_mut().zip(hw) {
                *d = *s as libc::c_char;
            }
            req.arp_flags = libc::ATF_COM;
            for (d, s) in req.arp_dev.iter_mut().zip(ifname.bytes().take(15)) {
                *d = s as libc::c_char;
            }
            check(libc::ioctl(self.fd.as_raw_fd(), libc::SIOCSARP, &req))?;
        }
        Ok(())
    }
}
