//! Fuzzes the TFTP packet parser, request round trip, path resolution and transfer machine.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::tftp::fuzzing::check_packet(data));
