//! Fuzzes the DHCPv6 server: any datagram (client message or relayed) is handled without a
//! panic, and every reply decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp6::fuzzing::check_request6(data));
