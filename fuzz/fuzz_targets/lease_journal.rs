//! Fuzzes the lease journal replay and its round trip through the record encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::store_fuzzing::check_journal(data));
