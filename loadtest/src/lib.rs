//! `ringmasq-load`: a DNS (and DHCPv4, see [`dhcp`]) load generator built to outrun the
//! server it measures.
//!
//! Each generator thread owns its sockets, its io_uring (multishot receive into a
//! provided buffer ring, batched sends) or the recvmmsg/sendmmsg fallback, and a
//! preallocated in-flight table, so steady-state operation allocates nothing per query.
//! See [`run::run`] for the entry point and [`stats::Stats`] for what is measured.
#![warn(missing_docs)]

pub mod affinity;
pub mod cli;
pub mod dhcp;
pub mod driver;
pub mod echo;
pub mod echo_uring;
pub mod flight;
pub mod mmsg;
pub mod name;
pub mod pxe;
pub mod qtype;
pub mod querylist;
pub mod run;
pub mod stats;
pub mod tcp;
pub mod transport;
pub mod uring;
pub mod workload;
