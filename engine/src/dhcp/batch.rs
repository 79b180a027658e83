//! Batched datagram I/O for the DHCP socket: many requests per `recvmmsg` (each with its
//! IP_PKTINFO interface) and many replies per `sendmmsg` (each with its own destination and,
//! for broadcasts, the interface to leave by), so a loop turn costs two system calls for the
//! traffic of a whole turn instead of two per packet.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;

use super::socket::Received;

/// Datagrams per `recvmmsg`/`sendmmsg` call.
pub const MAX: usize = 64;
/// Receive buffer per datagram (a DHCP message is at most a few KiB; longer ones are cut).
const DGRAM: usize = 4096;
/// Room for one IP_PKTINFO control message.
const CMSG: usize = 64;

/// Control-message space, aligned as `cmsghdr` needs.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Cmsg([u8; CMSG]);

fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut s: libc::sockaddr_in = unsafe { zeroed() };
    s.sin_family = libc::AF_INET as libc::sa_family_t;
    s.sin_port = a.port().to_be();
    s.sin_addr.s_addr = u32::from(*a.ip()).to_be();
    s
}

/// Buffers for one `recvmmsg` of up to [`MAX`] datagrams.
pub struct RecvBatch {
    bufs: Vec<[u8; DGRAM]>,
    names: Vec<libc::sockaddr_in>,
    controls: Vec<Cmsg>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
    got: Vec<Received>,
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    /// Empty buffers (allocated once, reused by every call).
    pub fn new() -> Self {
        // SAFETY: all-zero sockaddr_in, iovec and mmsghdr are valid values.
        let zero_name: libc::sockaddr_in = unsafe { zeroed() };
        let zero_iov: libc::iovec = unsafe { zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { zeroed() };
        RecvBatch {
            bufs: vec![[0u8; DGRAM]; MAX],
            names: vec![zero_name; MAX],
            controls: vec![Cmsg([0; CMSG]); MAX],
            iovs: vec![zero_iov; MAX],
            hdrs: vec![zero_hdr; MAX],
            got: Vec::with_capacity(MAX),
        }
    }

    /// One `recvmmsg` of at most `max` (≤ [`MAX`]) datagrams without blocking; returns how
    /// many arrived (0 when none is waiting).
    pub fn recv(&mut self, fd: RawFd, max: usize) -> io::Result<usize> {
        let max = max.min(MAX);
        self.got.clear();
        for i in 0..max {
            self.iovs[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: DGRAM,
            };
            let h = &mut self.hdrs[i];
            h.msg_len = 0;
            h.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_in).cast();
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = self.controls[i].0.as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = CMSG;
            h.msg_hdr.msg_flags = 0;
        }
        // SAFETY: the first `max` headers point at buffers owned by `self` (names, iovecs,
        // controls, data), each with its true length; they outlive the call and nothing else
        // uses them during it.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                max as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        for i in 0..n as usize {
            let h = &self.hdrs[i];
            let mut ifindex = 0;
            // SAFETY: the CMSG macros walk the control buffer the kernel filled, bounded by the
            // msg_controllen it set; the payload of an IP_PKTINFO message is an in_pktinfo.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                while !c.is_null() {
                    if (*c).cmsg_level == libc::IPPROTO_IP && (*c).cmsg_type == libc::IP_PKTINFO {
                        let info = libc::CMSG_DATA(c)
                            .cast::<libc::in_pktinfo>()
                            .read_unaligned();
                        ifindex = info.ipi_ifindex as u32;
                    }
                    c = libc::CMSG_NXTHDR(&h.msg_hdr, c);
                }
            }
            let src = &self.names[i];
            self.got.push(Received {
                len: (h.msg_len as usize).min(DGRAM),
                src: SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(src.sin_addr.s_addr)),
                    u16::from_be(src.sin_port),
                ),
                ifindex,
            });
        }
        Ok(n as usize)
    }

    /// The `i`th datagram of the last [`RecvBatch::recv`] and where it came from.
    pub fn get(&self, i: usize) -> (&[u8], Received) {
        let r = self.got[i];
        (&self.bufs[i][..r.len], r)
    }
}

/// One reply for [`SendBatch::send`].
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Where to.
    pub dst: SocketAddrV4,
    /// Leave by this interface (IP_PKTINFO), as a broadcast must.
    pub ifindex: Option<u32>,
}

/// Buffers for `sendmmsg` of up to [`MAX`] replies per call.
pub struct SendBatch {
    names: Vec<libc::sockaddr_in>,
    controls: Vec<Cmsg>,
    iovs: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl Default for SendBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl SendBatch {
    /// Empty buffers (allocated once, reused by every call).
    pub fn new() -> Self {
        // SAFETY: all-zero sockaddr_in, iovec and mmsghdr are valid values.
        let zero_name: libc::sockaddr_in = unsafe { zeroed() };
        let zero_iov: libc::iovec = unsafe { zeroed() };
        let zero_hdr: libc::mmsghdr = unsafe { zeroed() };
        SendBatch {
            names: vec![zero_name; MAX],
            controls: vec![Cmsg([0; CMSG]); MAX],
            iovs: vec![zero_iov; MAX],
            hdrs: vec![zero_hdr; MAX],
        }
    }

    /// Sends every datagram of `out` without blocking, [`MAX`] per `sendmmsg`; `done(i, r)`
    /// hears the outcome of each, in order. A datagram the kernel refuses fails alone: the
    /// batch goes on with the next.
    pub fn send(
        &mut self,
        fd: RawFd,
        out: &[Datagram<'_>],
        mut done: impl FnMut(usize, io::Result<()>),
    ) {
        let mut at = 0;
        while at < out.len() {
            let n = (out.len() - at).min(MAX);
            for (i, d) in out[at..at + n].iter().enumerate() {
                self.names[i] = sockaddr(d.dst);
                self.iovs[i] = libc::iovec {
                    iov_base: d.bytes.as_ptr() as *mut libc::c_void,
                    iov_len: d.bytes.len(),
                };
                let h = &mut self.hdrs[i];
                h.msg_len = 0;
                h.msg_hdr.msg_name = (&mut self.names[i] as *mut libc::sockaddr_in).cast();
                h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
                h.msg_hdr.msg_iov = &mut self.iovs[i];
                h.msg_hdr.msg_iovlen = 1;
                h.msg_hdr.msg_flags = 0;
                h.msg_hdr.msg_control = std::ptr::null_mut();
                h.msg_hdr.msg_controllen = 0;
                if let Some(index) = d.ifindex {
                    let c = &mut self.controls[i];
                    c.0 = [0; CMSG];
                    h.msg_hdr.msg_control = c.0.as_mut_ptr().cast();
                    // SAFETY: CMSG_SPACE/CMSG_LEN of an in_pktinfo (28 bytes) fit in the 64-byte,
                    // 8-aligned control buffer the header points at; the first cmsghdr is
                    // written within it.
                    unsafe {
                        h.msg_hdr.msg_controllen =
                            libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize;
                        let cm = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                        (*cm).cmsg_level = libc::IPPROTO_IP;
                        (*cm).cmsg_type = libc::IP_PKTINFO;
                        (*cm).cmsg_len =
                            libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as usize;
                        let mut info: libc::in_pktinfo = zeroed();
                        info.ipi_ifindex = index as libc::c_int;
                        libc::CMSG_DATA(cm)
                            .cast::<libc::in_pktinfo>()
                            .write_unaligned(info);
                    }
                }
            }
            // SAFETY: the first `n` headers point at names, iovecs and controls owned by `self`
            // and at reply bytes borrowed from `out`, all alive for the call.
            // Never blocking: a reply waiting on neighbour resolution must fail alone, not stall
            // the loop.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs.as_mut_ptr(),
                    n as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r <= 0 {
                // The first datagram failed (sendmmsg reports an error only for the first).
                let e = if r < 0 {
                    io::Error::last_os_error()
                } else {
                    io::Error::from(io::ErrorKind::WriteZero)
                };
                done(at, Err(e));
                at += 1;
                continue;
            }
            for i in 0..r as usize {
                done(at + i, Ok(()));
            }
            at += r as usize;
        }
    }
}
