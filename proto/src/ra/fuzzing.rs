//! The invariants the `router_message` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): decoding any bytes as a Router Solicitation or Advertisement
//! never panics, and what decodes re-encodes into bytes that decode again to the same message
//! kind.

use super::message::{Advert, Solicitation};

/// Checks both decoders on `data`.
pub fn check_router_message(data: &[u8]) {
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
