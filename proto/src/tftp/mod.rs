//! TFTP (RFC 1350) read-only server core with option negotiation (RFC 2347, 2348, 2349) and
//! windows (RFC 7440): packet parsing and writing ([`packet`]), path safety ([`path`]),
//! negotiation ([`negotiate`]) and the per-transfer state machine ([`transfer`]).

pub mod fuzzing;
pub mod negotiate;
pub mod packet;
pub mod path;
pub mod transfer;

#[cfg(test)]
mod captures;
#[cfg(test)]
mod tests;

pub use negotiate::{Limits, Negotiated, negotiate, to_netascii};
pub use packet::{ErrorCode, Mode, Oack, Packet, ParseError, Request, RequestOptions, parse};
pub use path::{PathError, resolve};
pub use transfer::{Emit, Step, Transfer, block_span};

/// The well-known TFTP port (RFC 1350 §4).
pub const PORT: u16 = 69;
