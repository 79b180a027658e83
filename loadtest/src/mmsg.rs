//! Fallback UDP backend for kernels or sandboxes without io_uring: non-blocking
//! connected sockets, `sendmmsg` per socket per batch, `ppoll` then `recvmmsg`.

use crate::transport::{Event, Transport, connected_udp_sockets, timespec};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per `sendmmsg`/`recvmmsg` call.
const BATCH: usize = 256;
const RECV_BUF: usize = 2048;

/// The recvmmsg/sendmmsg transport.
pub struct MmsgTransport {
    socks: Vec<UdpSocket>,
    pollfds: Vec<libc::pollfd>,
    sendq: Vec<Vec<(libc::iovec, u64)>>,
    send_iov: Vec<libc::iovec>,
    send_hdrs: Vec<libc::mmsghdr>,
    recv_bufs: Vec<u8>,
    recv_iov: Vec<libc::iovec>,
    recv_hdrs: Vec<libc::mmsghdr>,
}

fn empty_hdr() -> libc::mmsghdr {
    // SAFETY: mmsghdr is a plain C struct for which all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

impl MmsgTransport {
    /// Opens `sockets` non-blocking sockets connected to `server`.
    pub fn new(server: SocketAddr, sockets: usize) -> io::Result<Self> {
        let socks = connected_udp_sockets(server, sockets, true)?;
        let pollfds = socks
            .iter()
            .map(|s| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let mut recv_bufs = vec![0u8; BATCH * RECV_BUF];
        let recv_iov = (0..BATCH)
            .map(|i| libc::iovec {
                iov_base: recv_bufs[i * RECV_BUF..].as_mut_ptr().cast(),
                iov_len: RECV_BUF,
            })
            .collect();
        Ok(MmsgTransport {
            sendq: (0..socks.len())
                .map(|_| Vec::with_capacity(BATCH))
                .collect(),
            socks,
            pollfds,
            send_iov: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            send_hdrs: (0..BATCH).map(|_| empty_hdr()).collect(),
            recv_bufs,
            recv_iov,
            recv_hdrs: (0..BATCH).map(|_| empty_hdr()).collect(),
        })
    }

    fn flush(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        for (si, q) in self.sendq.iter_mut().enumerate() {
            if q.is_empty() {
                continue;
            }
            for (i, (iov, _)) in q.iter().enumerate() {
                self.send_iov[i] = *iov;
                self.send_hdrs[i] = empty_hdr();
                self.send_hdrs[i].msg_hdr.msg_iov = &mut self.send_iov[i];
                self.send_hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            let mut done = 0;
            while done < q.len() {
                // SAFETY: hdrs[done..len] point at iovecs whose buffers the caller keeps valid
                // until poll returns; the socket is open.
                let n = unsafe {
                    libc::sendmmsg(
                        self.socks[si].as_raw_fd(),
                        self.send_hdrs[done..].as_mut_ptr(),
                        (q.len() - done) as u32,
                        0,
                    )
                };
                if n > 0 {
                    done += n as usize;
                } else {
                    let err = io::Error::last_os_error();
                    if err.raw_os_error() == Some(libc::EINTR) {
                        continue;
                    }
                    if err.raw_os_error() == Some(libc::EAGAIN) {
                        // Socket buffer full: wait briefly for room rather than drop.
                        let mut p = libc::pollfd {
                            fd: self.socks[si].as_raw_fd(),
                            events: libc::POLLOUT,
                            revents: 0,
                        };
                        // SAFETY: one valid pollfd.
                        unsafe { libc::poll(&mut p, 1, 10) };
                        continue;
                    }
                    // The first unsent datagram failed; report it and go on with the rest.
                    on(Event::SendError { token: q[done].1 });
                    done += 1;
                }
            }
            q.clear();
        }
    }

    fn drain(&mut self, si: usize, on: &mut dyn FnMut(Event<'_>)) {
        loop {
            for i in 0..BATCH {
                self.recv_hdrs[i] = empty_hdr();
                self.recv_hdrs[i].msg_hdr.msg_iov = &mut self.recv_iov[i];
                self.recv_hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: BATCH headers each point at one iovec over a RECV_BUF slice of recv_bufs.
            let n = unsafe {
                libc::recvmmsg(
                    self.socks[si].as_raw_fd(),
                    self.recv_hdrs.as_mut_ptr(),
                    BATCH as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error().raw_os_error();
                if e == Some(libc::EAGAIN) || e == Some(libc::EINTR) {
                    return;
                }
                on(Event::RecvError);
                continue;
            }
            let n = n as usize;
            for i in 0..n {
                let len = (self.recv_hdrs[i].msg_len as usize).min(RECV_BUF);
                on(Event::Response {
                    socket: si,
                    data: &self.recv_bufs[i * RECV_BUF..i * RECV_BUF + len],
                });
            }
            if n < BATCH {
                return;
            }
        }
    }
}

impl Transport for MmsgTransport {
    fn name(&self) -> &'static str {
        "mmsg"
    }

    unsafe fn queue(&mut self, socket: usize, ptr: *const u8, len: usize, token: u64) -> bool {
        let q = &mut self.sendq[socket];
        if q.len() >= BATCH {
            return false;
        }
        q.push((
            libc::iovec {
                iov_base: ptr as *mut _,
                iov_len: len,
            },
            token,
        ));
        true
    }

    fn poll(
        &mut self,
        timeout_ns: u64,
        _batch: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> io::Result<()> {
        self.flush(on);
        if timeout_ns > 0 {
            let ts = timespec(timeout_ns);
            // SAFETY: pollfds is a live array of len() entries; no signal mask.
            let r = unsafe {
                libc::ppoll(
                    self.pollfds.as_mut_ptr(),
                    self.pollfds.len() as _,
                    &ts,
                    std::ptr::null(),
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(e);
                }
                return Ok(());
            }
            for si in 0..self.socks.len() {
                if self.pollfds[si].revents != 0 {
                    self.drain(si, on);
                }
            }
        } else {
            for si in 0..self.socks.len() {
                self.drain(si, on);
            }
        }
        Ok(())
    }
}
