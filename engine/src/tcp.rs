//! DNS over TCP, for clients (RFC 7766) and for upstream retries of truncated answers.
//!
//! TCP is not the hot path, so both backends drive it the same way: every TCP socket lives in the
//! worker's epoll set and is served with non-blocking syscalls when epoll reports it ready (the
//! io_uring backend watches the epoll fd from its ring). Messages carry a two-byte length prefix
//! (RFC 1035 §4.2.2); a connection may carry several queries, answered as they complete
//! (RFC 7766 §6.2.1.1); idle connections are closed after the idle timeout (RFC 7766 §6.2.3) and
//! the number of client connections is capped across all workers.

use crate::access::AccessPolicy;
use crate::epoll::{Epoll, Token};
use ringmasq_proto::dns::forward::Forwarder;
use ringmasq_proto::dns::outbox::{ClientEndpoint, Outbox};
use ringmasq_proto::dns::stats::DropReason;
use ringmasq_proto::time::Instant;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest a client may hold a connection with a partial message before it is closed.
const MAX_MESSAGE: usize = 65_535;
/// Longest an upstream TCP exchange may take.
const UPSTREAM_TCP_TIMEOUT_MS: u64 = 10_000;

struct ClientConn {
    sock: Socket,
    peer: SocketAddr,
    generation: u32,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    last_active: Instant,
    read_closed: bool,
    want_write: bool,
}

struct UpstreamConn {
    sock: Socket,
    token: u64,
    wbuf: Vec<u8>,
    rbuf: Vec<u8>,
    started: Instant,
    connected: bool,
}

/// Every TCP socket of one worker.
pub struct TcpManager {
    listeners: Vec<Option<Socket>>,
    clients: Vec<Option<ClientConn>>,
    client_free: Vec<usize>,
    generations: Vec<u32>,
    upstream: Vec<Option<UpstreamConn>>,
    upstream_free: Vec<usize>,
    idle_timeout_ms: u64,
    open_connections: Arc<AtomicUsize>,
    max_connections: usize,
    last_sweep: Instant,
    access: AccessPolicy,
}

impl TcpManager {
    /// Manages `listeners`; registers them in `ep`.
    pub fn new(
        listeners: Vec<Socket>,
        ep: &Epoll,
        idle_timeout_ms: u64,
        open_connections: Arc<AtomicUsize>,
        max_connections: usize,
        access: AccessPolicy,
    ) -> std::io::Result<Self> {
        for (i, l) in listeners.iter().enumerate() {
            ep.add(l.as_raw_fd(), Token::TcpListener(i as u32), false)?;
        }
        Ok(Self {
            listeners: listeners.into_iter().map(Some).collect(),
            clients: Vec::new(),
            client_free: Vec::new(),
            generations: Vec::new(),
            upstream: Vec::new(),
            upstream_free: Vec::new(),
            idle_timeout_ms,
            open_connections,
            max_connections,
            last_sweep: Instant(0),
            access,
        })
    }

    /// Handles one epoll event for a TCP token.
    pub fn on_event(
        &mut self,
        token: Token,
        ep: &Epoll,
        now: Instant,
        fwd: &mut Forwarder,
        out: &mut Outbox,
    ) {
        match token {
            Token::TcpListener(i) => self.accept(i as usize, ep, now),
            Token::TcpClient(i) => self.client_ready(i as usize, ep, now, fwd, out),
            Token::TcpUpstream(i) => self.upstream_ready(i as usize, ep, now, fwd, out),
            _ => {}
        }
    }

    /// Adds a listener (an address that appeared, `--bind-dynamic`); returns its index.
    pub fn add_listener(&mut self, l: Socket, ep: &Epoll) -> std::io::Result<usize> {
        let i = match self.listeners.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.listeners.push(None);
                self.listeners.len() - 1
            }
        };
        ep.add(l.as_raw_fd(), Token::TcpListener(i as u32), false)?;
        self.listeners[i] = Some(l);
        Ok(i)
    }

    /// Closes the listener on `addr` (an address that went away); its connections stay.
    pub fn remove_listener(&mut self, addr: std::net::SocketAddr, ep: &Epoll) {
        for slot in self.listeners.iter_mut() {
            let bound_here = slot
                .as_ref()
                .and_then(|l| l.local_addr().ok())
                .and_then(|a| a.as_socket())
                .is_some_and(|a| a == addr);
            if bound_here && let Some(l) = slot.take() {
                let _ = ep.delete(l.as_raw_fd());
            }
        }
    }

    fn accept(&mut self, i: usize, ep: &Epoll, now: Instant) {
        let Some(Some(l)) = self.listeners.get(i) else {
            return;
        };
        for _ in 0..64 {
            let (sock, peer) = match l.accept() {
                Ok(x) => x,
                Err(_) => return,
            };
            // `--local-service` applies to TCP clients too.
            if !peer.as_socket().is_some_and(|p| self.access.allows(p.ip())) {
                drop(sock);
                continue;
            }
            // The cap on connections counts every worker's connections.
            if self.open_connections.fetch_add(1, Ordering::AcqRel) >= self.max_connections {
                self.open_connections.fetch_sub(1, Ordering::AcqRel);
                drop(sock);
                continue;
            }
            let _ = sock.set_nonblocking(true);
            let _ = sock.set_tcp_nodelay(true);
            let Some(peer) = peer.as_socket() else {
                self.open_connections.fetch_sub(1, Ordering::AcqRel);
                continue;
            };
            let idx = self.client_free.pop().unwrap_or_else(|| {
                self.clients.push(None);
                self.generations.push(0);
                self.clients.len() - 1
            });
            self.generations[idx] = self.generations[idx].wrapping_add(1);
            if ep
                .add(sock.as_raw_fd(), Token::TcpClient(idx as u32), false)
                .is_err()
            {
                self.open_connections.fetch_sub(1, Ordering::AcqRel);
                self.client_free.push(idx);
                continue;
            }
            self.clients[idx] = Some(ClientConn {
                sock,
                peer,
                generation: self.generations[idx],
                rbuf: Vec::with_capacity(512),
                wbuf: Vec::new(),
                last_active: now,
                read_closed: false,
                want_write: false,
            });
        }
    }

    fn close_client(&mut self, idx: usize, ep: &Epoll) {
        if let Some(c) = self.clients[idx].take() {
            let _ = ep.delete(c.sock.as_raw_fd());
            self.open_connections.fetch_sub(1, Ordering::AcqRel);
            self.client_free.push(idx);
        }
    }

    fn client_ready(
        &mut self,
        idx: usize,
        ep: &Epoll,
        now: Instant,
        fwd: &mut Forwarder,
        out: &mut Outbox,
    ) {
        let Some(Some(c)) = self.clients.get_mut(idx) else {
            return;
        };
        c.last_active = now;
        if c.want_write {
            flush(c);
            if c.wbuf.is_empty() {
                c.want_write = false;
                let _ = ep.modify(c.sock.as_raw_fd(), Token::TcpClient(idx as u32), false);
            }
        }
        let mut chunk = [0u8; 4096];
        let mut bad = false;
        loop {
            match c.sock.read(&mut chunk) {
                Ok(0) => {
                    c.read_closed = true;
                    break;
                }
                Ok(n) => {
                    c.rbuf.extend_from_slice(&chunk[..n]);
                    if c.rbuf.len() > MAX_MESSAGE + 2 + 4096 * 4 {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            self.close_client(idx, ep);
            return;
        }
        // Frame and hand over every complete message (RFC 7766 §8: two-byte length).
        let token = (u64::from(c.generation) << 32) | idx as u64;
        let endpoint = ClientEndpoint {
            peer: c.peer,
            local: None,
            ifindex: 0,
            socket: 0,
            tcp: Some(token),
        };
        let mut consumed = 0;
        loop {
            let rest = &c.rbuf[consumed..];
            if rest.len() < 2 {
                break;
            }
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            if len < 12 {
                // A message shorter than a DNS header cannot be a query: close, and count it.
                fwd.count_drop(DropReason::MalformedQuery);
                bad = true;
                break;
            }
            if rest.len() < 2 + len {
                break;
            }
            fwd.handle_query(now, endpoint, &rest[2..2 + len], out);
            consumed += 2 + len;
        }
        c.rbuf.drain(..consumed);
        if bad || (c.read_closed && c.wbuf.is_empty() && c.rbuf.len() < 2 && consumed == 0) {
            self.close_client(idx, ep);
        }
    }

    /// Queues an answer for the client connection `token`.
    pub fn send_answer(&mut self, token: u64, data: &[u8], ep: &Epoll) {
        let idx = (token & 0xffff_ffff) as usize;
        let generation = (token >> 32) as u32;
        let Some(Some(c)) = self.clients.get_mut(idx) else {
            return;
        };
        if c.generation != generation {
            return;
        }
        c.wbuf.extend_from_slice(&(data.len() as u16).to_be_bytes());
        c.wbuf.extend_from_slice(data);
        flush(c);
        if !c.wbuf.is_empty() && !c.want_write {
            c.want_write = true;
            let _ = ep.modify(c.sock.as_raw_fd(), Token::TcpClient(idx as u32), true);
        }
        if c.read_closed && c.wbuf.is_empty() {
            self.close_client(idx, ep);
        }
    }

    /// Starts an upstream TCP exchange; `framed` already carries the length prefix.
    #[allow(clippy::too_many_arguments)]
    pub fn start_upstream(
        &mut self,
        server: SocketAddr,
        token: u64,
        framed: &[u8],
        ep: &Epoll,
        now: Instant,
        fwd: &mut Forwarder,
        out: &mut Outbox,
    ) {
        let sock = match Socket::new(
            Domain::for_address(server),
            Type::STREAM,
            Some(Protocol::TCP),
        ) {
            Ok(s) => s,
            Err(_) => return fwd.handle_upstream_tcp(now, token, None, out),
        };
        let _ = sock.set_nonblocking(true);
        let _ = sock.set_tcp_nodelay(true);
        match sock.connect(&SockAddr::from(server)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(_) => return fwd.handle_upstream_tcp(now, token, None, out),
        }
        let idx = self.upstream_free.pop().unwrap_or_else(|| {
            self.upstream.push(None);
            self.upstream.len() - 1
        });
        if ep
            .add(sock.as_raw_fd(), Token::TcpUpstream(idx as u32), true)
            .is_err()
        {
            self.upstream_free.push(idx);
            return fwd.handle_upstream_tcp(now, token, None, out);
        }
        self.upstream[idx] = Some(UpstreamConn {
            sock,
            token,
            wbuf: framed.to_vec(),
            rbuf: Vec::with_capacity(2048),
            started: now,
            connected: false,
        });
    }

    fn close_upstream(&mut self, idx: usize, ep: &Epoll) -> Option<UpstreamConn> {
        let c = self.upstream.get_mut(idx)?.take()?;
        let _ = ep.delete(c.sock.as_raw_fd());
        self.upstream_free.push(idx);
        Some(c)
    }

    fn upstream_ready(
        &mut self,
        idx: usize,
        ep: &Epoll,
        now: Instant,
        fwd: &mut Forwarder,
        out: &mut Outbox,
    ) {
        let Some(Some(c)) = self.upstream.get_mut(idx) else {
            return;
        };
        if !c.connected {
            match c.sock.take_error() {
                Ok(None) => c.connected = true,
                _ => {
                    let token = c.token;
                    self.close_upstream(idx, ep);
                    return fwd.handle_upstream_tcp(now, token, None, out);
                }
            }
        }
        while !c.wbuf.is_empty() {
            match c.sock.write(&c.wbuf) {
                Ok(n) => {
                    c.wbuf.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    let token = c.token;
                    self.close_upstream(idx, ep);
                    return fwd.handle_upstream_tcp(now, token, None, out);
                }
            }
        }
        let _ = ep.modify(c.sock.as_raw_fd(), Token::TcpUpstream(idx as u32), false);
        let mut chunk = [0u8; 4096];
        let mut failed = false;
        loop {
            match c.sock.read(&mut chunk) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => c.rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
            if c.rbuf.len() >= 2 {
                let len = u16::from_be_bytes([c.rbuf[0], c.rbuf[1]]) as usize;
                if c.rbuf.len() >= 2 + len {
                    break;
                }
            }
        }
        let complete = c.rbuf.len() >= 2
            && c.rbuf.len() >= 2 + u16::from_be_bytes([c.rbuf[0], c.rbuf[1]]) as usize;
        if complete {
            let c = self.close_upstream(idx, ep).expect("connection present");
            let len = u16::from_be_bytes([c.rbuf[0], c.rbuf[1]]) as usize;
            fwd.handle_upstream_tcp(now, c.token, Some(&c.rbuf[2..2 + len]), out);
        } else if failed {
            let token = c.token;
            self.close_upstream(idx, ep);
            fwd.handle_upstream_tcp(now, token, None, out);
        }
    }

    /// Closes idle client connections and stuck upstream exchanges; call about once a second.
    pub fn sweep(&mut self, ep: &Epoll, now: Instant, fwd: &mut Forwarder, out: &mut Outbox) {
        if now.as_millis().saturating_sub(self.last_sweep.as_millis()) < 500 {
            return;
        }
        self.last_sweep = now;
        for idx in 0..self.clients.len() {
            if let Some(c) = &self.clients[idx]
                && now.as_millis().saturating_sub(c.last_active.as_millis()) > self.idle_timeout_ms
            {
                self.close_client(idx, ep);
            }
        }
        for idx in 0..self.upstream.len() {
            if let Some(c) = &self.upstream[idx]
                && now.as_millis().saturating_sub(c.started.as_millis()) > UPSTREAM_TCP_TIMEOUT_MS
            {
                let token = c.token;
                self.close_upstream(idx, ep);
                fwd.handle_upstream_tcp(now, token, None, out);
            }
        }
    }

    /// No client or upstream connection is open on this worker: nothing for [`Self::sweep`]
    /// to time out.
    pub fn is_idle(&self) -> bool {
        self.clients.len() == self.client_free.len()
            && self.upstream.len() == self.upstream_free.len()
    }

    /// Client connections open on this worker.
    pub fn client_count(&self) -> usize {
        self.clients.iter().filter(|c| c.is_some()).count()
    }
}

fn flush(c: &mut ClientConn) {
    while !c.wbuf.is_empty() {
        match c.sock.write(&c.wbuf) {
            Ok(0) => break,
            Ok(n) => {
                c.wbuf.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
}
