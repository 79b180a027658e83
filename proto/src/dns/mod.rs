//! DNS: wire views, answer normalisation, the shared cache and the forwarder.

pub mod alias;
pub mod answer;
pub mod authoritative;
pub mod cache;
pub mod chaos;
pub mod dnssec;
pub mod forward;
pub mod fuzzing;
pub mod guard;
pub mod hosts;
pub mod local;
pub mod local_mx;
pub mod name;
pub mod outbox;
pub mod packet;
pub mod servers;
pub mod stats;
