//! Fuzzes configuration-file lines, command lines and resolv.conf through parsing and applying.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_config::fuzzing::check_conf_file(data));
