//! Fuzzes `parse_query` and the replies built from a parsed query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dns::fuzzing::check_query(data));
