//! What the DNS core asks the engine to send, in buffers it recycles.
//!
//! The engine drains [`Outbox::drain`] once per loop turn, sends each [`Transmit`] and gives
//! the buffer back with [`Outbox::recycle`] when the send has completed, so steady-state
//! operation allocates nothing.

use std::net::{IpAddr, SocketAddr};

/// Size of a large transmit buffer: the largest DNS message plus a TCP length prefix.
/// Used only for answers to TCP clients.
pub const BUF_SIZE: usize = 65_535 + 2;
/// Size of an ordinary transmit buffer: the largest UDP payload we send (EDNS sizes above
/// 4096 are not used on UDP) plus a TCP length prefix.
pub const SMALL_BUF_SIZE: usize = 4096 + 2;

/// Where a client query came from, and so where its answer goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientEndpoint {
    /// The client's address and port.
    pub peer: SocketAddr,
    /// The local address the query arrived at (IP_PKTINFO / IPV6_PKTINFO); the answer leaves from it.
    pub local: Option<IpAddr>,
    /// The interface the query arrived on (0 when unknown).
    pub ifindex: u32,
    /// The engine's index of the socket the query arrived on; the answer is sent from it.
    pub socket: u16,
    /// The engine's token for the client's TCP connection, if it came over TCP.
    pub tcp: Option<u64>,
}

/// Where a [`Transmit`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An answer to a client.
    Client(ClientEndpoint),
    /// A query to an upstream server over UDP, from the engine's upstream socket `slot`.
    Upstream {
        /// Which of the worker's upstream sockets to send from (and expect the answer on).
        slot: u16,
        /// The server.
        server: SocketAddr,
    },
    /// A query to an upstream server over TCP (the buffer starts with the 2-byte length,
    /// RFC 1035 §4.2.2); the engine reports the answer with this token.
    UpstreamTcp {
        /// The server.
        server: SocketAddr,
        /// Opaque token to hand back with the answer.
        token: u64,
    },
}

impl Destination {
    /// Whether this goes out over TCP (a client's TCP connection or an upstream TCP retry).
    #[inline]
    pub fn is_tcp(&self) -> bool {
        matches!(
            self,
            Destination::Client(ClientEndpoint { tcp: Some(_), .. })
                | Destination::UpstreamTcp { .. }
        )
    }
}

/// One datagram or TCP message to send.
#[derive(Debug)]
pub struct Transmit {
    /// Where it goes.
    pub to: Destination,
    /// The buffer ([`SMALL_BUF_SIZE`] or [`BUF_SIZE`] long); only `buf[..len]` is sent.
    pub buf: Vec<u8>,
    /// Bytes to send.
    pub len: usize,
}

impl Transmit {
    /// The bytes to send.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Queue of transmits plus a pool of free buffers.
#[derive(Debug, Default)]
pub struct Outbox {
    pending: Vec<Transmit>,
    free: Vec<Vec<u8>>,
    free_large: Vec<Vec<u8>>,
}

impl Outbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// A buffer of [`SMALL_BUF_SIZE`] bytes, recycled when one is free.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.free.pop().unwrap_or_else(|| vec![0u8; SMALL_BUF_SIZE])
    }

    /// A buffer for an answer to a client: [`BUF_SIZE`] bytes when the client is on TCP.
    pub fn buffer_for(&mut self, tcp: bool) -> Vec<u8> {
        if tcp {
            self.free_large.pop().unwrap_or_else(|| vec![0u8; BUF_SIZE])
        } else {
            self.buffer()
        }
    }

    /// Queues `buf[..len]` for `to`.
    pub fn push(&mut self, to: Destination, buf: Vec<u8>, len: usize) {
        debug_assert!(len <= buf.len());
        self.pending.push(Transmit { to, buf, len });
    }

    /// Returns a buffer that was not used.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if buf.len() == SMALL_BUF_SIZE && self.free.len() < 4096 {
            self.free.push(buf);
        } else if buf.len() == BUF_SIZE && self.free_large.len() < 16 {
            self.free_large.push(buf);
        }
    }

    /// Moves every queued transmit into `into` (no allocation once `into` has capacity).
    pub fn take_pending(&mut self, into: &mut Vec<Transmit>) {
        into.append(&mut self.pending);
    }

    /// Takes every queued transmit.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Transmit> {
        self.pending.drain(..)
    }

    /// Number of queued transmits.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}
