//! What the TFTP service asks its I/O loop to do: packets to send and transfer sockets to
//! start or stop receiving on. The service never sends itself, so the same transfer logic runs
//! on the epoll loop ([`super::poller`]) and on the io_uring loop (`crate::uring::tftp`).

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;

use ringmasq_proto::tftp::{Transfer, block_span};
use socket2::Socket;

use super::files::{FileBytes, Loader};

/// A running transfer: its slot and a serial number that is never reused, so a completion or
/// error for a transfer that has ended (its slot since reused) is told apart and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Index of the transfer's slot.
    pub slot: u32,
    /// The transfer's serial number.
    pub serial: u32,
}

/// Where a packet goes: a connected transfer socket (`to` empty), or an unconnected listener
/// with the peer and the source address to answer from.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// The socket to send on.
    pub fd: RawFd,
    /// The peer, for an unconnected socket.
    pub to: Option<SocketAddr>,
    /// The source address (IP_PKTINFO), for an unconnected socket.
    pub from: Option<IpAddr>,
}

impl Route {
    /// The route of a transfer: its own connected socket when it has one, else the listener
    /// `listener` with the peer and the address to answer from (`--tftp-single-port`).
    pub fn of(
        sock: Option<&Socket>,
        listener: RawFd,
        peer: SocketAddr,
        local: Option<IpAddr>,
    ) -> Route {
        match sock {
            Some(s) => Route {
                fd: s.as_raw_fd(),
                to: None,
                from: None,
            },
            None => Route {
                fd: listener,
                to: Some(peer),
                from: local,
            },
        }
    }
}

/// DATA blocks `first..=last` of `data` in blocks of `blksize` bytes, one datagram each: a
/// 4-byte header and the block's bytes straight from the shared file contents.
pub struct Blocks {
    /// The transfer.
    pub owner: Owner,
    /// Where to send.
    pub route: Route,
    /// The whole file as sent (shared between transfers); these blocks are filled.
    pub data: Arc<FileBytes>,
    /// The negotiated block size.
    pub blksize: usize,
    /// First absolute block number.
    pub first: u64,
    /// Last absolute block number.
    pub last: u64,
}

impl Blocks {
    /// Each block in order as its DATA header and bytes, ending early at a block whose bytes
    /// are not all read (the service sends only filled blocks, so that is a safeguard: a
    /// block is never sent short).
    pub fn datagrams(&self) -> impl Iterator<Item = ([u8; 4], &[u8])> + '_ {
        (self.first..=self.last).map_while(move |block| {
            let bytes = self
                .data
                .get(block_bytes(block, self.blksize, self.data.len()))?;
            Some((data_header(block), bytes))
        })
    }
}

/// One request to the I/O loop.
pub enum Out {
    /// A window of DATA blocks.
    Blocks(Blocks),
    /// One small packet (OACK or ERROR), with the socket to close once it has left.
    Packet {
        /// The transfer, when the packet belongs to one.
        owner: Option<Owner>,
        /// Where to send.
        route: Route,
        /// The datagram.
        bytes: Vec<u8>,
        /// A socket used for this packet alone (an ERROR from a fresh port).
        keep: Option<Socket>,
    },
    /// Start receiving on a new transfer's socket.
    Watch {
        /// The transfer.
        owner: Owner,
        /// Its connected socket.
        fd: RawFd,
    },
    /// Read `file` into the bytes of `loader` (a file the cache did not hold): through the
    /// ring on io_uring, with plain reads on epoll.
    Load {
        /// The only writer of the file's shared bytes.
        loader: Loader,
        /// The open file.
        file: File,
    },
    /// Stop receiving on an ended transfer's socket and close it.
    Close {
        /// The transfer.
        owner: Owner,
        /// Its socket.
        sock: Socket,
    },
}

/// The 4-byte DATA header of absolute block `block` (the wire number rolls over, RFC 1350).
pub fn data_header(block: u64) -> [u8; 4] {
    let w = Transfer::wire_block(block).to_be_bytes();
    [0, 3, w[0], w[1]]
}

/// The byte range of absolute block `block` of `data` in blocks of `blksize` bytes.
pub fn block_bytes(block: u64, blksize: usize, len: usize) -> Range<usize> {
    block_span(block, blksize as u64, len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_roll_over_and_ranges_end_with_the_file() {
        assert_eq!(data_header(1), [0, 3, 0, 1]);
        assert_eq!(data_header(65_536), [0, 3, 0, 0]);
        assert_eq!(data_header(65_537), [0, 3, 0, 1]);
        assert_eq!(block_bytes(1, 512, 1000), 0..512);
        assert_eq!(block_bytes(2, 512, 1000), 512..1000);
        // A size that is a multiple of the block size ends with an empty block.
        assert_eq!(block_bytes(3, 512, 1024), 1024..1024);
    }
}
