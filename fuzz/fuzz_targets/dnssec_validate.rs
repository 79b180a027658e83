//! Fuzzes the DNSSEC validator: an arbitrary upstream answer, also served as every DS/DNSKEY
//! sub-query answer, must end in a verdict within the limits without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dns::fuzzing::check_validation(data));
