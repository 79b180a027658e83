//! Fuzzes `parse_query` and the replies built from a parsed query.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmasq_proto::dns::packet::{
    RCODE_FORMERR, RCODE_REFUSED, parse_query, parse_response_head, write_error_reply,
    write_header_only_reply,
};

fuzz_target!(|data: &[u8]| {
    let mut out = [0u8; 1024];
    match parse_query(data) {
        Ok(q) => {
            let n = write_error_reply(&q, RCODE_REFUSED, &mut out, 1232);
            assert!(n > 0);
            let head = parse_response_head(&out[..n]).expect("our own reply parses");
            assert_eq!(head.id, q.id);
            assert_eq!(head.key.as_ref(), Some(&q.key));
        }
        Err(_) => {
            let _ = write_header_only_reply(data, RCODE_FORMERR, &mut out);
        }
    }
});
