//! The raw ICMPv6 socket router advertisements use: only Router Solicitations are let in
//! (ICMP6_FILTER), each with the interface and hop limit it arrived with; advertisements leave
//! with hop limit 255 (RFC 4861 6.1.1 / 6.1.2 make receivers check it).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// ICMP6_FILTER (linux/icmpv6.h), at level IPPROTO_ICMPV6.
const ICMP6_FILTER: libc::c_int = 1;
/// Hop limit every Neighbor Discovery message is sent with (RFC 4861 6.1.2).
pub const ND_HOP_LIMIT: libc::c_int = 255;

/// One received ICMPv6 message's origin.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Length of the ICMPv6 message.
    pub len: usize,
    /// Source address.
    pub src: Ipv6Addr,
    /// Interface it arrived on.
    pub ifindex: u32,
    /// The IPv6 header's hop limit (-1 when the kernel did not report it).
    pub hop_limit: i32,
}

/// The raw ICMPv6 socket.
#[derive(Debug)]
pub struct Icmp6Socket {
    fd: OwnedFd,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: passes a pointer to a value we own, with its size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

#[repr(C, align(8))]
struct CmsgBuf([u8; 128]);

impl Icmp6Socket {
    /// Opens a non-blocking raw ICMPv6 socket passing only ICMPv6 type `accept` (needs
    /// CAP_NET_RAW).
    pub fn open(accept: u8) -> io::Result<Icmp6Socket> {
        // SAFETY: plain socket(2) call; the fd is owned right after.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_INET6,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::IPPROTO_ICMPV6,
            )
        })?;
        // SAFETY: fd was just returned by socket(2) and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        // The filter is a bitmap of blocked types (RFC 3542 3.2): block all, pass one.
        let mut filter = [u32::MAX; 8];
        filter[usize::from(accept >> 5)] &= !(1u32 << (accept & 31));
        setsockopt(raw, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &filter)?;
        let one: libc::c_int = 1;
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &one)?;
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &one)?;
        setsockopt(
            raw,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_HOPS,
            &ND_HOP_LIMIT,
        )?;
        setsockopt(
            raw,
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            &ND_HOP_LIMIT,
        )?;
        let zero: libc::c_int = 0;
        setsockopt(raw, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, &zero)?;
        Ok(Icmp6Socket { fd })
    }

    /// Joins multicast `group` on interface `ifindex` (already joined is not an error).
    pub fn join(&self, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
        let req = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: group.octets(),
            },
            ipv6mr_interface: ifindex,
        };
        match setsockopt(
            self.fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_ADD_MEMBERSHIP,
            &req,
        ) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
            r => r,
        }
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one message into `buf`; `None` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: every structure below is plain data owned by this frame; recvmsg writes at
        // most the lengths we pass, and the cmsg walk stays inside `cbuf` via the CMSG macros.
        unsafe {
            let mut src: libc::sockaddr_in6 = zeroed();
            let mut iov = libc::iovec {
                iov_base: buf.as_mut_ptr().cast(),
                iov_len: buf.len(),
            };
            let mut cbuf = CmsgBuf([0; 128]);
            let mut msg: libc::msghdr = zeroed();
            msg.msg_name = (&mut src as *mut libc::sockaddr_in6).cast();
            msg.msg_namelen = size_of::<libc::sockaddr_in6>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cbuf.0.as_mut_ptr().cast();
            msg.msg_controllen = cbuf.0.len();
            let n = libc::recvmsg(self.fd(), &mut msg, libc::MSG_DONTWAIT);
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                    _ => Err(e),
                };
            }
            let mut ifindex = src.sin6_scope_id;
            let mut hop_limit = -1;
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::IPPROTO_IPV6 {
                    if (*c).cmsg_type == libc::IPV6_PKTINFO {
                        let info = libc::CMSG_DATA(c)
                            .cast::<libc::in6_pktinfo>()
                            .read_unaligned();
                        ifindex = info.ipi6_ifindex;
                    } else if (*c).cmsg_type == libc::IPV6_HOPLIMIT {
                        hop_limit = libc::CMSG_DATA(c).cast::<libc::c_int>().read_unaligned();
                    }
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
            Ok(Some(Received {
                len: n as usize,
                src: Ipv6Addr::from(src.sin6_addr.s6_addr),
                ifindex,
                hop_limit,
            }))
        }
    }

    /// Sends `bytes` to `dst` (a link-local or multicast destination names its interface in
    /// the scope id; the kernel picks the interface's link-local source and fills in the
    /// checksum).
    pub fn send_to(&self, bytes: &[u8], dst: SocketAddrV6) -> io::Result<()> {
        // SAFETY: sockaddr_in6 is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_in6 = unsafe { zeroed() };
        sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sa.sin6_addr.s6_addr = dst.ip().octets();
        sa.sin6_scope_id = dst.scope_id();
        // SAFETY: sends from a buffer we own to a sockaddr_in6 we own, with their sizes.
        let n = unsafe {
            libc::sendto(
                self.fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&sa as *const libc::sockaddr_in6).cast(),
                size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsRawFd for Icmp6Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd()
    }
}
