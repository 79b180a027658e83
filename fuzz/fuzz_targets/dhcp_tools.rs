//! Fuzzes the DHCP script-environment parser and the lease-time / release tool packets.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::tools_fuzzing::check_tool_packets(data));
