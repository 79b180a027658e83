//! Sans-IO DHCPv6 server core (RFC 8415): wire format, configuration and links, the server
//! with its bindings, and the IPv6 lines of dnsmasq's lease file.
//!
//! The engine owns the socket on port 547 and the lease store. Per datagram it calls
//! [`Server6::handle`] with the wall time, the arrival [`Link6`], the sender and the bytes;
//! for an [`Action6::Reply`] it makes the [`Change6`]s durable first, then sends.

pub mod config;
pub mod fqdn;
pub mod fuzzing;
pub mod lease;
mod options;
pub mod script;
pub mod server;
pub mod stats;
pub mod tags;
pub mod wire;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_tags;

pub use config::{Config6, Host6, Ipv6Net, Link6, Option6, Range6};
pub use lease::Lease6;
pub use server::{Action6, Change6, Server6};
pub use stats::{Drop6, Stats6};
pub use tags::{MatchRule6, Matcher6};
