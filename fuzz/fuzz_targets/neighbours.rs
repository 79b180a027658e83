//! Fuzzes the `/proc/net/arp` reader of `--script-arp` and `--tftp-unique-root=mac`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dhcp::neighbour_fuzzing::check_neighbours(data));
