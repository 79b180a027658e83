//! Fuzzes `normalize_response` on arbitrary upstream replies, then replays every accepted answer
//! over UDP and TCP and checks the reply is well formed and answers the same question.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ringmasq_proto::dns::fuzzing::check_response(data));
