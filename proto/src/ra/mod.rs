//! IPv6 router advertisements (RFC 4861 section 6, RFC 8106): the messages, the per-interface
//! timer, and what each interface advertises. The engine owns the ICMPv6 socket and the clock.

pub mod fuzzing;
pub mod message;
pub mod names;
pub mod plan;
pub mod schedule;

pub use message::{Advert, MessageError, Preference, PrefixInfo, Solicitation};
pub use plan::{MtuChoice, RaConfig, RaParams, RaRange, RangeFlags, advert_for};
pub use schedule::Schedule;

#[cfg(test)]
mod tests;
