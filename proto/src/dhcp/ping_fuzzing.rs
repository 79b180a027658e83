//! Invariants the `icmp_echo` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): the echo reply reader of the ping check before an OFFER never
//! panics, with or without an IPv4 header in front, and what it reads is what an echo request
//! turned into a reply carries.

use super::ping::{ECHO_REPLY, decode_echo_reply, echo_request};

/// Runs every check on `data` (a received ICMP datagram, raw or from a ping socket).
pub fn check_echo_reply(data: &[u8]) {
    for with_ip in [false, true] {
        if let Some((id, seq)) = decode_echo_reply(data, with_ip) {
            let mut reply = echo_request(id, seq);
            reply[0] = ECHO_REPLY;
            assert_eq!(decode_echo_reply(&reply, false), Some((id, seq)));
        }
    }
    if data.len() >= 4 {
        let id = u16::from_be_bytes([data[0], data[1]]);
        let seq = u16::from_be_bytes([data[2], data[3]]);
        let req = echo_request(id, seq);
        assert_eq!(super::ping::checksum(&req), 0);
        assert_eq!(
            decode_echo_reply(&req, false),
            None,
            "a request is not a reply"
        );
    }
}
