//! Fuzzes `normalize_response` on arbitrary upstream replies, then replays every accepted answer
//! over UDP and TCP and checks the reply is well formed and answers the same question.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringmasq_proto::dns::answer::{NormalizeOptions, normalize_response};
use ringmasq_proto::dns::packet::{parse_query, parse_response_head};

fuzz_target!(|data: &[u8]| {
    let Ok(head) = parse_response_head(data) else {
        return;
    };
    let Some(key) = head.key else { return };
    let opts = NormalizeOptions {
        min_cache_ttl: Some(5),
        max_cache_ttl: Some(86400),
        neg_ttl: Some(30),
    };
    let Ok((answer, _report)) = normalize_response(data, &key, &opts) else {
        return;
    };
    // A query for the same question: header (RD=1) + question + OPT (udp 1400, DO=1).
    let mut q = Vec::with_capacity(300);
    q.extend_from_slice(&[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(key.name_wire());
    q.extend_from_slice(&key.qtype().to_be_bytes());
    q.extend_from_slice(&key.qclass().to_be_bytes());
    q.extend_from_slice(&[0, 0, 41, 0x05, 0x78, 0, 0, 0x80, 0, 0, 0]);
    let query = parse_query(&q).expect("built query parses");
    let mut out = vec![0u8; 65535];
    for udp in [true, false] {
        let n = answer.write_reply(&query, 7, Some(3600), 1232, udp, &mut out);
        assert!(n > 0);
        if udp {
            assert!(n <= 1232);
        }
        let r = parse_response_head(&out[..n]).expect("replayed answer parses");
        assert_eq!(r.id, 0x1234);
        assert_eq!(r.key.as_ref(), Some(&key));
        // The replayed answer normalises again (it is self-contained).
        normalize_response(&out[..n], &key, &opts).expect("replayed answer is valid");
    }
});
