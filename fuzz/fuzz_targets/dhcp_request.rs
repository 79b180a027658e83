//! Fuzzes the DHCPv4 server with arbitrary requests: parsing, tags, names, relay and reply
//! building (with option overload).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::fuzzing::check_request(data));
