//! The ringmasq engine: per-core workers on io_uring (or epoll with recvmmsg/sendmmsg), the
//! control thread, and process setup. Protocol rules live in `ringmasq-proto`; this crate only
//! moves bytes, keeps time and wires things together.
#![warn(missing_docs)]

pub mod access;
pub mod clock;
pub mod control;
pub mod dhcp;
pub mod dnssec;
pub mod epoll;
pub mod guards;
pub mod hosts;
pub mod hostsdir;
pub mod icmp4;
pub mod icmp6;
pub mod listeners;
pub mod logging;
pub mod mmsg;
pub mod netlink;
pub mod process;
pub mod ra;
pub mod runtime;
pub mod signals;
pub mod snapshot;
pub mod socket;
pub mod tcp;
pub mod tftp;
pub mod upstreams;
pub mod uring;
pub mod worker;
