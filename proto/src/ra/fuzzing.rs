//! The invariants the `router_message` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): decoding any bytes as a Router Solicitation or Advertisement
//! never panics, and what decodes re-encodes into bytes that decode again to the same message
//! kind.

use super::message::{Advert, Solicitation};
use super::names::{ECHO_REPLY, decode_echo_reply, echo_request};

/// Checks the decoders on `data` (the echo reply one too: `ra-names` reads replies from the
/// same kind of raw ICMPv6 socket).
pub fn check_router_message(data: &[u8]) {
    if let Some((id, seq)) = decode_echo_reply(data) {
        let mut again = echo_request(id, seq);
        again[0] = ECHO_REPLY;
        assert_eq!(decode_echo_reply(&again), Some((id, seq)));
    }
    if let Ok(s) = Solicitation::decode(data) {
        let again = Solicitation::decode(&s.encode()).expect("re-encoded solicitation decodes");
        assert_eq!(again, s);
    }
    if let Ok(a) = Advert::decode(data) {
        let bytes = a.encode();
        assert_eq!(bytes.len() % 8, 0);
        let again = Advert::decode(&bytes).expect("re-encoded advertisement decodes");
        assert_eq!(again.prefixes, a.prefixes);
        assert_eq!(again.rdnss, a.rdnss);
        assert_eq!(
            (again.managed, again.other, again.mtu),
            (a.managed, a.other, a.mtu)
        );
    }
}
