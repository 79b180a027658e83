//! Fuzzes the DNS name reader (compression pointers, label and name limits), `skip_name` and the text/wire round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dns::fuzzing::check_name(data));
