//! Fuzzes the DHCPv4 option decoder (overload, RFC 3396 split options, option 82) and its round
//! trip through the reply encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::option_fuzzing::check_options(data));
