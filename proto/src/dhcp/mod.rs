//! Sans-IO DHCPv4 server core: configuration model, request parsing, the shared lease
//! allocator, reply building, and the lease file and journal formats.
//!
//! The engine owns sockets and files. Per received datagram it calls [`Server::handle`] with a
//! per-worker [`Scratch`], the monotonic and wall-clock time, the [`InterfaceInfo`] from
//! IP_PKTINFO and the bytes, then acts on the [`Action`]: persist the journal bytes, then send.

pub mod allocator;
mod compiled;
pub mod config;
pub mod dns_names;
mod exchange;
pub mod fuzzing;
pub mod journal;
pub mod lease;
pub mod lease_clock;
pub mod lease_file;
pub mod lease_time;
pub mod matching;
mod names;
pub mod neighbour_fuzzing;
pub mod neighbours;
mod network;
pub mod occupancy;
pub mod option_fuzzing;
pub mod packet;
pub mod ping;
pub mod ping_fuzzing;
mod proxy;
pub mod pxe;
pub mod pxe_fuzzing;
pub mod release;
mod reply;
pub mod routes;
pub mod script;
pub mod script_env;
pub mod server;
pub mod stats;
pub mod store_fuzzing;
pub mod tags;
pub mod tools_fuzzing;
pub mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_clid;
#[cfg(test)]
mod tests_clock;
#[cfg(test)]
mod tests_inform;
#[cfg(test)]
mod tests_lease;
#[cfg(test)]
mod tests_ping;
#[cfg(test)]
mod tests_tags;

pub use allocator::{Allocator, ClientKey};
pub use config::{
    DhcpConfig, Host, HwAddrPattern, InterfaceFilter, LeaseTime, OptionSpec, Range, RangeMode,
    TagCond,
};
pub use dns_names::DhcpNames;
pub use lease::Lease;
pub use matching::{MatchRule, MatchValue, Matcher, TagIf};
pub use pxe::{BootSpec, PxeBoot, PxePrompt, PxeService};
pub use server::{Action, ConfigError, HwAddr, InterfaceInfo, Ipv4Net, ReplyTo, Scratch, Server};
pub use stats::{DhcpStats, DropReason};
