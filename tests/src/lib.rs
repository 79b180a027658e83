//! Shared harness for the ringmasq end-to-end tests.
//!
//! Every scenario in `tests/tests/` starts its own upstream(s) (a real `knotd`, or the forging
//! relay in [`forger`]), its own `ringmasq` process, and talks to it over loopback only, with
//! `dig` (see [`dig`]) or the small hickory-proto client in [`client`]. Every process started here
//! is killed by PID when its guard drops, and every wait loop is bounded in count and time.
#![warn(missing_docs)]

pub mod backend;
pub mod binary;
pub mod blackhole;
pub mod client;
pub mod dhcp_lab;
pub mod dhcp_relay;
pub mod dig;
pub mod dnsmasq;
pub mod drops;
pub mod error;
pub mod flood;
pub mod forger;
pub mod holding;
pub mod hostile_answers;
pub mod hostile_dns;
pub mod knot;
pub mod lab6;
pub mod lease_check;
pub mod netns;
pub mod port;
pub mod process;
pub mod pxe_client;
pub mod pxe_lab;
pub mod read_gate;
pub mod recorder;
pub mod ringmasq;
pub mod script_log;
pub mod scripted;
pub mod signed_lab;
pub mod tempdir;
pub mod tftp;
pub mod wait;
pub mod zone;

pub use backend::Backend;
pub use blackhole::BlackHole;
pub use client::DnsClient;
pub use dig::{Dig, DigAnswer, DigRecord};
pub use dnsmasq::Dnsmasq;
pub use error::HarnessError;
pub use forger::ForgingRelay;
pub use knot::{Knot, KnotStats};
pub use ringmasq::{Ringmasq, RingmasqBuilder};
pub use signed_lab::{SignedLab, Unbound};
pub use tempdir::TempDir;
