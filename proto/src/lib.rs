//! Sans-IO protocol core of ringmasq.
//!
//! Bytes, time and events go in; bytes and actions come out. Nothing in this crate opens a socket,
//! starts a thread or reads a clock: the engine passes the current [`time::Instant`] in, so every
//! rule (TTLs, retries, timeouts) is testable faster than real time.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dhcp;
pub mod dhcp6;
pub mod dns;
pub mod iface;
pub mod ra;
pub mod tftp;
pub mod time;
