//! Why a DHCP request got no reply, and counters for every such outcome.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a request is dropped without a reply. Every drop is counted in [`DhcpStats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than the 236-byte BOOTP header.
    #[error("packet shorter than the BOOTP header")]
    TooShort = 0,
    /// Longer than [`crate::dhcp::packet::MAX_REQUEST`].
    #[error("packet too long")]
    TooLong,
    /// `op` is not BOOTREQUEST.
    #[error("not a BOOTREQUEST")]
    NotRequest,
    /// `hlen` is zero.
    #[error("zero hardware address length")]
    ZeroHlen,
    /// `hlen` above 16.
    #[error("hardware address length above 16")]
    BadHlen,
    /// An option runs past its field, or has a length its code does not allow.
    #[error("bad option length")]
    BadOptionLength,
    /// Option 52 with a value other than 1, 2 or 3.
    #[error("bad option overload value")]
    BadOverload,
    /// Option 52 inside an overloaded field, or repeated.
    #[error("option overload loop")]
    OverloadLoop,
    /// Option 82 longer than 255 bytes.
    #[error("relay agent option too long")]
    GiantOption82,
    /// A DHCP message type a server does not answer (OFFER, ACK, NAK, unknown).
    #[error("message type not for a server")]
    UnexpectedType,
    /// No range serves the interface (or relay) the request came from.
    #[error("no range for this network")]
    NoRange,
    /// The client is `ignore`d by a host entry or an ignore tag.
    #[error("client ignored by configuration")]
    Ignored,
    /// The pool has no free address.
    #[error("address pool exhausted")]
    PoolExhausted,
    /// `--dhcp-lease-max` reached.
    #[error("lease limit reached")]
    LeaseMax,
    /// The request names another server (RFC 2131 §4.3.2 SELECTING).
    #[error("request for another server")]
    OtherServer,
    /// Not authoritative and the client's lease is unknown (RFC 2131 §4.3.2).
    #[error("unknown lease, not authoritative")]
    NotAuthoritative,
    /// RELEASE or DECLINE for an address the client does not hold.
    #[error("release or decline for an address not held")]
    NotHeld,
    /// BOOTP client without a static address and no `--bootp-dynamic`.
    #[error("BOOTP client without a static address")]
    BootpNoAddress,
    /// A request on a proxy-DHCP range that is not a PXE DISCOVER this server can answer
    /// (addresses are another server's business).
    #[error("proxy-DHCP range: not a PXE request")]
    ProxyRange,
    /// The reply would not fit in the caller's buffer.
    #[error("reply buffer too small")]
    ReplyTooBig,
    /// The request arrived on an interface DHCP is not served on (`-i`, `-I`,
    /// `--no-dhcp-interface`).
    #[error("interface not served")]
    InterfaceNotServed,
    /// A request to the PXE boot server port (4011) from a client that is not a PXE client.
    #[error("not a PXE client")]
    NotPxeClient,
    /// A PXE boot server request for a boot item no `--pxe-service` serves with a file.
    #[error("no PXE boot service of that type")]
    NoBootService,
}

impl DropReason {
    /// Number of reasons (size of the counter array).
    pub const COUNT: usize = DropReason::NoBootService as usize + 1;
}

/// Counters shared by all workers: replies by type and drops by reason (relaxed atomics).
#[derive(Debug, Default)]
pub struct DhcpStats {
    /// Replies sent, indexed by DHCP message type (0 = BOOTP reply).
    pub replies: [AtomicU64; 9],
    /// RELEASE and DECLINE messages acted on (no reply is sent for these).
    pub silent: AtomicU64,
    /// Drops, indexed by `DropReason as usize`.
    pub drops: [AtomicU64; DropReason::COUNT],
}

impl DhcpStats {
    /// Count a drop.
    pub fn drop(&self, r: DropReason) {
        self.drops[r as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Drops counted for `r`.
    pub fn drops_for(&self, r: DropReason) -> u64 {
        self.drops[r as usize].load(Ordering::Relaxed)
    }

    /// Total drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Count a reply of DHCP type `t` (0 for BOOTP).
    pub fn reply(&self, t: u8) {
        if let Some(c) = self.replies.get(t as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Replies counted of DHCP type `t`.
    pub fn replies_for(&self, t: u8) -> u64 {
        self.replies
            .get(t as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
}
