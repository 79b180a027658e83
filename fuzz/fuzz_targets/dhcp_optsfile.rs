//! Fuzzes `--dhcp-optsfile` / `--dhcp-hostsfile` lines and `--dhcp-range` values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_config::fuzzing::check_dhcp_files(data));
