//! `ringmasq-load dhcp`: N simulated DHCPv4 clients (distinct MACs) doing DORA, then renewal
//! and release, from their own namespace through a veth pair (on the server's link with
//! broadcasts, or as a relay agent), with retransmissions as real clients make them.
//! Reports exchanges per second, retransmissions and give-ups, ACK latency percentiles and
//! the time until all N are leased. Entry point: [`run::run_dhcp`].

pub mod cli;
pub mod clients;
pub mod message;
pub mod net;
pub mod report;
pub mod run;
