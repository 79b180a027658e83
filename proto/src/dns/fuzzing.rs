//! Invariants the fuzz targets check, shared with the corpus replay that runs them on stable
//! under `cargo test` (`proto/tests/fuzz_corpus.rs`, `fuzz/fuzz_targets/*`).

use super::answer::{NormalizeOptions, normalize_response};
use super::packet::{
    RCODE_FORMERR, RCODE_REFUSED, parse_query, parse_response_head, write_error_reply,
    write_header_only_reply,
};

/// The `parse_query` target: a parsed query yields a reply that parses back to the same ID and
/// question; anything else at most a header-only FORMERR. Panics on a broken invariant.
pub fn check_query(data: &[u8]) {
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
}

/// The `normalize_response` target: an accepted upstream answer replays over UDP (within 1232
/// bytes) and TCP as a reply that parses, repeats the question and normalises again. Panics on a
/// broken invariant.
pub fn check_response(data: &[u8]) {
    let Ok(head) = parse_response_head(data) else {
        return;
    };
    let Some(key) = head.key else { return };
    let opts = NormalizeOptions {
        min_cache_ttl: Some(5),
        max_cache_ttl: Some(86400),
        neg_ttl: Some(30),
    };
    let Ok((answer, _)) = normalize_response(data, &key, &opts) else {
        return;
    };
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
        normalize_response(&out[..n], &key, &opts).expect("replayed answer is valid");
    }
}

/// The `dnssec_validate` target: any upstream answer, also served as the answer to every DS and
/// DNSKEY sub-query the validator asks for, ends in a verdict within the sub-query limit, never
/// panics, and never spends more signature checks than the work limit. Panics on a broken
/// invariant.
pub fn check_validation(data: &[u8]) {
    use super::dnssec::{KeyStore, Limits, Outcome, TrustAnchor, ValidatorConfig, validate};
    use hickory_proto::op::Message;
    use std::sync::Arc;
    let Ok(msg) = Message::from_vec(data) else {
        return;
    };
    let Some(q) = msg.queries.first() else { return };
    let (qname, qtype) = (q.name().clone(), q.query_type());
    // The anchor of the captured lab (proto/src/dns/dnssec/testdata).
    let Ok(anchor) = TrustAnchor::parse(
        ".,56486,13,2,1eb40c42778d14f1b5a81107e9c7dd39068637bccb94bb4429f0f62a38f0eeac",
    ) else {
        unreachable!("the fixed anchor parses")
    };
    let limits = Limits::default();
    let cfg = ValidatorConfig {
        anchors: vec![anchor],
        check_unsigned: true,
        limits,
        ..ValidatorConfig::default()
    };
    let mut store = KeyStore::new();
    let shared = Arc::new(msg.clone());
    let now = 1_893_456_000;
    for _ in 0..=limits.subqueries_per_answer {
        match validate(&msg, &qname, qtype, &cfg, &mut store, now) {
            Outcome::Done(_) => return,
            Outcome::Need(n, t) => {
                // A store that ignored the insert would loop: the same need must not repeat.
                assert!(
                    store.answer(&n, t, now).is_none(),
                    "asked twice for {n} {t}"
                );
                store.insert_answer(&n, t, Some(Arc::clone(&shared)), now);
            }
        }
    }
    panic!("validation did not end within the sub-query limit");
}

/// The `dns_name` target: names read at the first offsets of `data` (as the question and
/// records are read) stay within RFC 1035's limits, `skip_name` agrees on where they end, and
/// a name whose text form has no escapes converts back to the same wire bytes. Panics on a
/// broken invariant.
pub fn check_name(data: &[u8]) {
    use super::local::wire_name;
    use super::name::{MAX_NAME_LEN, name_to_string, read_name, skip_name};
    let mut out = [0u8; MAX_NAME_LEN];
    for offset in 0..data.len().min(32) {
        let Ok((len, end)) = read_name(data, offset, &mut out) else {
            continue;
        };
        assert!(len <= MAX_NAME_LEN && end <= data.len() && end > offset);
        assert_eq!(skip_name(data, offset).ok(), Some(end));
        let wire = &out[..len];
        assert_eq!(wire.last(), Some(&0));
        assert!(wire.iter().all(|b| !b.is_ascii_uppercase()));
        let text = name_to_string(wire);
        if !text.contains('\\') {
            assert_eq!(wire_name(&text).ok().as_deref(), Some(wire), "{text}");
        }
    }
}

/// The `hosts_file` target: an arbitrary hosts file loads (bad lines reported, never a panic),
/// and every name field of it can be looked up. Panics on a broken invariant.
pub fn check_hosts(data: &[u8]) {
    use super::hosts::HostsTable;
    let mut t = HostsTable::new();
    let errors = t.load_bytes(data, "fuzz");
    assert!(errors.len() <= data.len());
    for token in String::from_utf8_lossy(data)
        .split_ascii_whitespace()
        .take(64)
    {
        let _ = t.lookup(token);
    }
}
