//! Fuzzes the lease-file reader (dnsmasq's format) and its round trip through the writer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::store_fuzzing::check_lease_file(data));
