//! Fuzzes the Router Solicitation and Router Advertisement decoders and their re-encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::ra::fuzzing::check_router_message(data));
