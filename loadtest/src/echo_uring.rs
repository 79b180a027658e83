//! The echo responder on io_uring, built the way ringmasq's io_uring workers are: one
//! multishot `RecvMsg` into a provided-buffer ring, each echo sent as an `IORING_OP_SEND` with
//! a destination address, `MSG_DONTWAIT` and no success completion, straight from the buffer
//! the query arrived in; one `io_uring_enter` per loop turn submits the turn's sends and waits
//! for the next datagram (DEFER_TASKRUN where the kernel has it). It is the floor for a server
//! of that design: what the kernel's io_uring path costs per datagram with no server work, to
//! set beside [`crate::echo::serve_udp`] (recvmmsg/sendmmsg) and ringmasq. With a
//! [`reply_socket`] the echoes leave from a second socket, as ringmasq's IPv4 answers do.

use crate::echo::make_echo;
use crate::uring::{BufRing, RECV_BUF};
use io_uring::types::{Fixed, RecvMsgOut};
use io_uring::{IoUring, cqueue, opcode, squeue};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

/// Receive buffers (all of a turn's are pushed back after the next submission).
const BUFFERS: u16 = 256;
const BGID: u16 = 3;
const RECV: u64 = 1;
const SEND: u64 = 2;
/// Room for the source address in each buffer (a `sockaddr_in6`, rounded up).
const NAME_LEN: u32 = 32;

/// A UDP socket bound to `addr` with SO_REUSEADDR, so that a [`reply_socket`] can share it.
pub fn reusable_udp_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// A socket that sends from IPv4 `addr` (bound by a [`reusable_udp_socket`]) and is never
/// handed a datagram for it: an IPv6 socket bound to the mapped address, which scores below
/// the IPv4 socket in the kernel's lookup (ringmasq's reply sockets, `udp_reply_socket` in its
/// engine). Its sends then wake nothing: the receive's poll entry is on the other socket's wait
/// queue.
pub fn reply_socket(addr: SocketAddr) -> io::Result<UdpSocket> {
    let SocketAddr::V4(v4) = addr else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "IPv4 only"));
    };
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    let mapped = SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0);
    s.bind(&mapped.into())?;
    Ok(s.into())
}

/// Answers every datagram on `sock` with its own bytes and QR set, from `reply` when given
/// (else from `sock`), until an error.
pub fn serve_udp_uring(sock: &UdpSocket, reply: Option<&UdpSocket>) -> io::Result<()> {
    crate::transport::set_buffer_sizes(sock.as_raw_fd(), 8 << 20);
    // The buffers and the receive's msghdr are declared before the ring, so they are dropped
    // after it, on every path out of this function.
    let mut bufs = BufRing::new(BUFFERS);
    // SAFETY: all-zero msghdr is valid; multishot recvmsg reads only the two lengths.
    let mut hdr: Box<libc::msghdr> = Box::new(unsafe { std::mem::zeroed() });
    hdr.msg_namelen = NAME_LEN;
    let mut ring = IoUring::builder()
        .setup_cqsize(u32::from(BUFFERS) * 4)
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(u32::from(BUFFERS))
        .or_else(|_| IoUring::new(u32::from(BUFFERS)))?;
    // File 0 receives, file 1 sends.
    let sender = reply.unwrap_or(sock);
    ring.submitter()
        .register_files(&[sock.as_raw_fd(), sender.as_raw_fd()])?;
    // SAFETY: the ring memory lives in `bufs`, which outlives `ring` (declared before it).
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(bufs.ring as u64, BUFFERS, BGID, 0)?;
    }
    let mut armed = false;
    let mut sent_from: Vec<u16> = Vec::with_capacity(usize::from(BUFFERS));
    let mut cqes: Vec<(u64, i32, u32)> = Vec::with_capacity(usize::from(BUFFERS) * 4);
    loop {
        if !armed {
            let e = opcode::RecvMsgMulti::new(Fixed(0), &*hdr, BGID)
                .build()
                .user_data(RECV);
            // SAFETY: `hdr` outlives the ring (declared before it).
            if unsafe { ring.submission().push(&e) }.is_ok() {
                armed = true;
            }
        }
        match ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Err(e),
        }
        // The sends of the last turn went out within that call (MSG_DONTWAIT): their buffers
        // go back to the kernel.
        if !sent_from.is_empty() {
            for bid in sent_from.drain(..) {
                bufs.push(bid);
            }
            bufs.publish();
        }
        cqes.clear();
        cqes.extend(
            ring.completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let mut returned = false;
        for &(ud, res, flags) in &cqes {
            if ud != RECV {
                continue;
            }
            if !cqueue::more(flags) {
                armed = false;
            }
            let Some(bid) = cqueue::buffer_select(flags) else {
                continue;
            };
            if res < 0 {
                bufs.push(bid);
                returned = true;
                continue;
            }
            let data = bufs.buf_mut(bid, res as usize);
            let (name_off, name_len, off, len) = match RecvMsgOut::parse(data, &hdr) {
                Ok(m) if !m.is_payload_truncated() && !m.is_name_data_truncated() => {
                    let base = data.as_ptr() as usize;
                    (
                        m.name_data().as_ptr() as usize - base,
                        m.name_data().len(),
                        m.payload_data().as_ptr() as usize - base,
                        m.payload_data().len(),
                    )
                }
                _ => {
                    bufs.push(bid);
                    returned = true;
                    continue;
                }
            };
            if !make_echo(&mut data[off..off + len]) {
                bufs.push(bid);
                returned = true;
                continue;
            }
            let e = opcode::Send::new(Fixed(1), data[off..].as_ptr(), len as u32)
                .dest_addr(data[name_off..].as_ptr().cast())
                .dest_addr_len(name_len as u32)
                .flags(libc::MSG_DONTWAIT)
                .build()
                .flags(squeue::Flags::SKIP_SUCCESS)
                .user_data(SEND);
            // SAFETY: the payload and address stay in buffer `bid`, which is not pushed back
            // to the kernel until the submission that issues this send has returned.
            if unsafe { ring.submission().push(&e) }.is_err() {
                // A full queue: submit what is there (the sends are issued within the call).
                ring.submit()?;
                for b in sent_from.drain(..) {
                    bufs.push(b);
                }
                returned = true;
                // SAFETY: as above.
                if unsafe { ring.submission().push(&e) }.is_err() {
                    bufs.push(bid);
                    continue;
                }
            }
            sent_from.push(bid);
            debug_assert!(len <= RECV_BUF);
        }
        if returned {
            bufs.publish();
        }
    }
}
