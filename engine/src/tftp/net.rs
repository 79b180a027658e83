//! TFTP datagram I/O: requests with their arrival address and interface, and windows of DATA
//! blocks sent with one `sendmmsg`, each block's payload pointing straight into the shared file
//! bytes (no copy).

use std::io;
use std::mem::zeroed;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;

use crate::socket::{CMSG_SPACE, from_sockaddr, parse_pktinfo, to_sockaddr, write_pktinfo};

/// Most DATA blocks sent by one call.
pub const MAX_BATCH: usize = 32;

/// A received datagram's addresses.
pub struct Received {
    /// Bytes received.
    pub len: usize,
    /// The sender.
    pub peer: SocketAddr,
    /// The address it was sent to (IP_PKTINFO), when known.
    pub local: Option<IpAddr>,
    /// The interface it arrived on (0 when unknown).
    pub ifindex: u32,
}

/// Receives one datagram without blocking; `Ok(None)` when none is waiting.
pub fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Received>> {
    let mut control = [0u8; CMSG_SPACE];
    // SAFETY: all-zero C structs are valid; every pointer below refers to locals that outlive
    // the call, with their exact lengths.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as _;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CMSG_SPACE as _;
    // SAFETY: msg points at live buffers described above.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            // An ICMP error queued on a connected socket: the peer is gone.
            _ => Err(e),
        };
    }
    let Some(peer) = from_sockaddr(&name, msg.msg_namelen as usize) else {
        return Ok(None);
    };
    let (local, ifindex) = parse_pktinfo(&control[..msg.msg_controllen as usize]);
    Ok(Some(Received {
        len: n as usize,
        peer,
        local,
        ifindex,
    }))
}

/// Sends packets made of a 4-byte header and a payload each, in one `sendmmsg`; `to` (with
/// `from`, the source address) for an unconnected socket. Returns how many were sent.
pub fn send_parts(
    fd: RawFd,
    parts: &[([u8; 4], &[u8])],
    to: Option<SocketAddr>,
    from: Option<IpAddr>,
) -> io::Result<usize> {
    let n = parts.len().min(MAX_BATCH);
    // SAFETY: all-zero C structs are valid values.
    let mut iovs: [[libc::iovec; 2]; MAX_BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { zeroed() };
    // SAFETY: as above.
    let mut name: libc::sockaddr_storage = unsafe { zeroed() };
    let mut control = [0u8; CMSG_SPACE];
    let (name_len, control_len) = match to {
        Some(a) => (
            to_sockaddr(&a, &mut name),
            write_pktinfo(from, 0, &mut control),
        ),
        None => (0, 0),
    };
    for (i, (hdr, payload)) in parts[..n].iter().enumerate() {
        iovs[i][0] = libc::iovec {
            iov_base: hdr.as_ptr() as *mut _,
            iov_len: 4,
        };
        iovs[i][1] = libc::iovec {
            iov_base: payload.as_ptr() as *mut _,
            iov_len: payload.len(),
        };
        let h = &mut msgs[i].msg_hdr;
        h.msg_iov = iovs[i].as_mut_ptr();
        h.msg_iovlen = if payload.is_empty() { 1 } else { 2 };
        if to.is_some() {
            h.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = name_len;
            if control_len > 0 {
                h.msg_control = control.as_mut_ptr().cast();
                h.msg_controllen = control_len as _;
            }
        }
    }
    // SAFETY: msgs[..n] point at iovecs, headers, payloads, name and control that all live
    // until the call returns; the kernel only reads them.
    let rc = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), n as u32, libc::MSG_DONTWAIT) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as usize)
}
