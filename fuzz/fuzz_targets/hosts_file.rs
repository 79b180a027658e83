//! Fuzzes the hosts-file loader and lookups.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dns::fuzzing::check_hosts(data));
