//! Fuzzes the ICMP echo reply reader of the DHCP ping check (raw and ping-socket forms).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::ping_fuzzing::check_echo_reply(data));
