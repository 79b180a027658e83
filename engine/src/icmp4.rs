//! The ICMPv4 echo socket of the DHCP ping check: an unprivileged ping socket (SOCK_DGRAM,
//! IPPROTO_ICMP) when `net.ipv4.ping_group_range` admits our group, else a raw ICMP socket
//! (CAP_NET_RAW, kept after `-u`) filtered down to echo replies (ICMP_FILTER).

use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// ICMP_FILTER (linux/icmp.h), at level SOL_RAW.
const ICMP_FILTER: libc::c_int = 1;
/// SOL_RAW: socket options of raw sockets.
const SOL_RAW: libc::c_int = 255;
/// ICMP type of an echo reply (RFC 792).
const ECHO_REPLY: u32 = 0;

/// The echo socket.
#[derive(Debug)]
pub struct Icmp4Socket {
    fd: OwnedFd,
    raw: bool,
}

fn open(kind: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the fd is owned right after.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            kind | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            libc::IPPROTO_ICMP,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Icmp4Socket {
    /// Opens a non-blocking echo socket: a ping socket if allowed, else a raw one passing only
    /// echo replies.
    pub fn open() -> io::Result<Icmp4Socket> {
        if let Ok(fd) = open(libc::SOCK_DGRAM) {
            return Ok(Icmp4Socket { fd, raw: false });
        }
        let fd = open(libc::SOCK_RAW)?;
        // The filter is a bitmap of blocked ICMP types: block all but echo replies.
        let filter: u32 = !(1u32 << ECHO_REPLY);
        // SAFETY: passes a pointer to a u32 we own, with its size.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                SOL_RAW,
                ICMP_FILTER,
                (&filter as *const u32).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Icmp4Socket { fd, raw: true })
    }

    /// Whether received datagrams start with their IPv4 header (a raw socket). A ping socket
    /// also sets the echo identifier itself and passes only the replies to its own requests.
    pub fn raw(&self) -> bool {
        self.raw
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Receives one datagram into `buf`: its length and source; `None` when nothing is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, Ipv4Addr)>> {
        // SAFETY: sockaddr_in is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_in = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: receives into a buffer and a sockaddr_in we own, with their sizes.
        let n = unsafe {
            libc::recvfrom(
                self.fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&mut sa as *mut libc::sockaddr_in).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let src = Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
        Ok(Some((n as usize, src)))
    }

    /// Sends the ICMP message `bytes` to `dst` (the kernel adds the IPv4 header).
    pub fn send_to(&self, bytes: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        // SAFETY: sockaddr_in is plain data; all-zero is valid.
        let mut sa: libc::sockaddr_in = unsafe { zeroed() };
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_addr.s_addr = u32::from(dst).to_be();
        // SAFETY: sends from a buffer we own to a sockaddr_in we own, with their sizes.
        let n = unsafe {
            libc::sendto(
                self.fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
