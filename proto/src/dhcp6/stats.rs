//! Why DHCPv6 datagrams were dropped, counted per reason.

/// Why a datagram got no reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop6 {
    /// Not a well-formed DHCPv6 message (header, option lengths, relay layers).
    Malformed,
    /// A server-to-client type (ADVERTISE, REPLY, RECONFIGURE, RELAY-REPL) or an unknown one.
    NotClientMessage,
    /// A message that must carry a Client Identifier did not (RFC 8415 §16).
    NoClientId,
    /// A Server Identifier that is not ours, or one where none may be (RFC 8415 §16).
    ServerId,
    /// No DHCPv6 range is in effect on the client's link.
    NoRange,
    /// The client's `--dhcp-host` says `ignore`.
    Ignored,
    /// A CONFIRM without addresses (RFC 8415 §18.3.3: no reply).
    NothingToConfirm,
    /// It arrived on an interface DHCPv6 does not serve (`-i`, `-I`, `--no-dhcp*-interface`).
    Interface,
}

impl Drop6 {
    /// Every reason, in counter order.
    pub const ALL: [Drop6; 8] = [
        Drop6::Malformed,
        Drop6::NotClientMessage,
        Drop6::NoClientId,
        Drop6::ServerId,
        Drop6::NoRange,
        Drop6::Ignored,
        Drop6::NothingToConfirm,
        Drop6::Interface,
    ];

    fn index(self) -> usize {
        Drop6::ALL.iter().position(|d| *d == self).unwrap_or(0)
    }
}

/// Drop counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats6 {
    drops: [u64; 8],
}

impl Stats6 {
    /// Counts one drop.
    pub fn count(&mut self, why: Drop6) {
        self.drops[why.index()] += 1;
    }

    /// Drops for one reason.
    pub fn drops(&self, why: Drop6) -> u64 {
        self.drops[why.index()]
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.drops.iter().sum()
    }
}
