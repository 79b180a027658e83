//! TCP backend: persistent connections carrying pipelined queries, each prefixed by a
//! two-octet length (RFC 1035 §4.2.2, RFC 7766 §6.2.1.1 pipelining); responses may
//! arrive in any order (RFC 7766 §7) and are matched by ID and question.

use crate::transport::{Event, Transport, timespec};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

/// Largest TCP DNS message plus its length prefix.
const MAX_MSG: usize = 2 + 65535;

struct Conn {
    stream: TcpStream,
    wbuf: Vec<u8>,
    wpos: usize,
    rbuf: Vec<u8>,
    rlen: usize,
}

/// The TCP transport: one connection per socket index.
pub struct TcpTransport {
    server: SocketAddr,
    conns: Vec<Conn>,
    pollfds: Vec<libc::pollfd>,
    wcap: usize,
}

fn connect(server: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(server)?;
    s.set_nodelay(true)?;
    s.set_nonblocking(true)?;
    Ok(s)
}

impl TcpTransport {
    /// Opens `conns` connections, each able to buffer `per_conn` queued queries.
    pub fn new(server: SocketAddr, conns: usize, per_conn: usize) -> io::Result<Self> {
        let wcap = per_conn * (2 + crate::flight::SLOT_BYTES);
        let conns = (0..conns)
            .map(|_| {
                Ok(Conn {
                    stream: connect(server)?,
                    wbuf: Vec::with_capacity(wcap),
                    wpos: 0,
                    rbuf: vec![0; 2 * MAX_MSG],
                    rlen: 0,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let pollfds = conns
            .iter()
            .map(|c| libc::pollfd {
                fd: c.stream.as_raw_fd(),
                events: 0,
                revents: 0,
            })
            .collect();
        Ok(TcpTransport {
            server,
            conns,
            pollfds,
            wcap,
        })
    }

    fn reconnect(&mut self, i: usize, on: &mut dyn FnMut(Event<'_>)) {
        on(Event::RecvError);
        if let Ok(s) = connect(self.server) {
            let c = &mut self.conns[i];
            self.pollfds[i].fd = s.as_raw_fd();
            c.stream = s;
            c.wbuf.clear();
            c.wpos = 0;
            c.rlen = 0;
        }
    }

    fn write_pending(&mut self, i: usize, on: &mut dyn FnMut(Event<'_>)) {
        let c = &mut self.conns[i];
        while c.wpos < c.wbuf.len() {
            match c.stream.write(&c.wbuf[c.wpos..]) {
                Ok(0) => break,
                Ok(n) => c.wpos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.reconnect(i, on),
            }
        }
        // Compact in place (no allocation) so the buffer never grows past its capacity.
        c.wbuf.drain(..c.wpos);
        c.wpos = 0;
    }

    fn read_ready(&mut self, i: usize, on: &mut dyn FnMut(Event<'_>)) {
        loop {
            let c = &mut self.conns[i];
            match c.stream.read(&mut c.rbuf[c.rlen..]) {
                Ok(0) => return self.reconnect(i, on),
                Ok(n) => {
                    c.rlen += n;
                    let mut p = 0;
                    while c.rlen - p >= 2 {
                        let m = usize::from(u16::from_be_bytes([c.rbuf[p], c.rbuf[p + 1]]));
                        if c.rlen - p < 2 + m {
                            break;
                        }
                        on(Event::Response {
                            socket: i,
                            data: &c.rbuf[p + 2..p + 2 + m],
                        });
                        p += 2 + m;
                    }
                    c.rbuf.copy_within(p..c.rlen, 0);
                    c.rlen -= p;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.reconnect(i, on),
            }
        }
    }
}

impl Transport for TcpTransport {
    fn name(&self) -> &'static str {
        "tcp"
    }

    unsafe fn queue(&mut self, socket: usize, ptr: *const u8, len: usize, _token: u64) -> bool {
        let c = &mut self.conns[socket];
        if c.wbuf.len() + 2 + len > self.wcap {
            return false;
        }
        // SAFETY: the caller guarantees `ptr..ptr+len` is valid for reads (Transport::queue).
        let pkt = unsafe { std::slice::from_raw_parts(ptr, len) };
        c.wbuf.extend_from_slice(&(len as u16).to_be_bytes());
        c.wbuf.extend_from_slice(pkt);
        true
    }

    fn poll(
        &mut self,
        timeout_ns: u64,
        _batch: usize,
        on: &mut dyn FnMut(Event<'_>),
    ) -> io::Result<()> {
        for i in 0..self.conns.len() {
            self.write_pending(i, on);
        }
        for (p, c) in self.pollfds.iter_mut().zip(&self.conns) {
            p.events = libc::POLLIN
                | if c.wpos < c.wbuf.len() {
                    libc::POLLOUT
                } else {
                    0
                };
            p.revents = 0;
        }
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
            return if e.raw_os_error() == Some(libc::EINTR) {
                Ok(())
            } else {
                Err(e)
            };
        }
        for i in 0..self.conns.len() {
            let rev = self.pollfds[i].revents;
            if rev & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 {
                self.read_ready(i, on);
            }
            if rev & libc::POLLOUT != 0 {
                self.write_pending(i, on);
            }
        }
        Ok(())
    }
}
