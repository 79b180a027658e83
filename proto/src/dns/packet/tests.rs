//! Tests of the DNS wire view on captured packets, plus never-panic properties.

use super::captures::*;
use super::*;
use proptest::prelude::*;

#[test]
fn parses_captured_dig_query() {
    let b = hex(WWW_A_Q);
    let q = parse_query(&b).unwrap();
    assert_eq!(q.id, 0x5b7c);
    assert!(q.rd() && !q.cd());
    assert_eq!(q.opcode(), 0);
    assert_eq!(q.key.name_to_string(), "www.example.com.");
    assert_eq!((q.key.qtype(), q.key.qclass()), (1, 1));
    assert_eq!(q.question, 12..33);
    assert_eq!(
        q.edns,
        Some(Edns {
            udp_size: 1232,
            do_bit: false,
            version: 0,
            ext_rcode: 0
        })
    );
    assert_eq!(q.udp_limit(4096), 1232);
    assert_eq!(q.udp_limit(1000), 1000);

    let b = hex(ALIAS_A_Q);
    let q = parse_query(&b).unwrap();
    assert_eq!(q.key.name_wire(), b"\x05alias\x07example\x03com\x00");
    assert_eq!(&b[q.question.start + 1..q.question.start + 6], b"ALIAS");

    let b = hex(NOEDNS_Q);
    let q = parse_query(&b).unwrap();
    assert!(q.edns.is_none());
    assert_eq!(q.udp_limit(4096), 512);
}

#[test]
fn rejects_bad_queries() {
    let good = hex(WWW_A_Q);
    assert_eq!(parse_query(&good[..11]).unwrap_err(), PacketError::TooShort);
    assert_eq!(
        parse_query(&hex(WWW_A_R)).unwrap_err(),
        PacketError::NotAQuery
    );
    let mut b = good.clone();
    b[5] = 2; // QDCOUNT=2
    assert_eq!(parse_query(&b).unwrap_err(), PacketError::CountMismatch);
    let mut b = good.clone();
    b[7] = 1; // ANCOUNT=1
    assert_eq!(parse_query(&b).unwrap_err(), PacketError::CountMismatch);
    // Two OPT RRs: FORMERR per RFC 6891 §6.1.1.
    let mut b = good.clone();
    b[11] = 2;
    let opt = good[33..].to_vec();
    b.extend_from_slice(&opt);
    assert_eq!(parse_query(&b).unwrap_err(), PacketError::BadOpt);
    // OPT cut short.
    assert_eq!(
        parse_query(&good[..good.len() - 1]).unwrap_err(),
        PacketError::TooShort
    );
    // Trailing garbage is ignored.
    let mut b = good.clone();
    b.extend_from_slice(&[1, 2, 3]);
    assert!(parse_query(&b).is_ok());
    // Compressed question name.
    let mut b = good[..12].to_vec();
    b[11] = 0;
    b.extend_from_slice(&[0xC0, 0x0B, 0, 1, 0, 1]);
    assert_eq!(parse_query(&b).unwrap_err(), PacketError::BadPointer);
}

#[test]
fn response_head_of_captured_reply() {
    let b = hex(ALIAS_A_R);
    let r = parse_response_head(&b).unwrap();
    assert_eq!(r.id, 0x2e11);
    assert_eq!(r.rcode, 0);
    assert!(r.header().aa() && r.header().rd() && !r.header().ra());
    assert_eq!(r.header().ancount(), 3);
    assert_eq!(
        r.key.unwrap().name_wire(),
        b"\x05alias\x07example\x03com\x00"
    );
    assert_eq!(r.question, 12..35);
    assert_eq!(
        parse_response_head(&hex(NX_R)).unwrap().rcode,
        RCODE_NXDOMAIN
    );
    assert_eq!(
        parse_response_head(&hex(NX_Q)).unwrap_err(),
        PacketError::NotAResponse
    );
}

#[test]
fn error_replies() {
    let b = hex(ALIAS_A_Q);
    let q = parse_query(&b).unwrap();
    let mut out = [0u8; 512];
    let n = write_error_reply(&q, RCODE_REFUSED, &mut out, 1232);
    let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
    assert_eq!(m.metadata.id, 0x2e11);
    assert_eq!(
        m.metadata.response_code,
        hickory_proto::op::ResponseCode::Refused
    );
    assert!(m.metadata.recursion_desired && m.metadata.recursion_available);
    assert_eq!(m.queries[0].name().to_ascii(), "ALIAS.Example.com.");
    assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232);
    assert_eq!(
        write_error_reply(&q, RCODE_REFUSED, &mut out[..20], 1232),
        0
    );

    // BADVERS needs the OPT to carry the upper RCODE bits.
    let n = write_error_reply(&q, RCODE_BADVERS, &mut out, 1232);
    assert_eq!(out[3] & 0x0F, 0);
    assert_eq!(out[n - 6], 1);

    let n = write_header_only_reply(&b, RCODE_FORMERR, &mut out).unwrap();
    assert_eq!(n, 12);
    assert_eq!(
        &out[..12],
        &[0x2e, 0x11, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        write_header_only_reply(&hex(NX_R), RCODE_FORMERR, &mut out),
        None
    );
    assert_eq!(
        write_header_only_reply(&b[..5], RCODE_FORMERR, &mut out),
        None
    );
}

#[test]
fn setters() {
    let mut b = hex(NOEDNS_R);
    set_id(&mut b, 0xBEEF);
    set_tc(&mut b, true);
    set_rcode(&mut b, RCODE_SERVFAIL);
    let h = Header::new(&b).unwrap();
    assert_eq!(h.id(), 0xBEEF);
    assert!(h.tc() && h.aa());
    assert_eq!(h.rcode(), 2);
    set_tc(&mut b, false);
    set_counts(&mut b, 1, 2, 3, 4);
    let h = Header::new(&b).unwrap();
    assert!(!h.tc());
    assert_eq!(
        (h.qdcount(), h.ancount(), h.nscount(), h.arcount()),
        (1, 2, 3, 4)
    );
    set_id(&mut [0u8; 1], 1);
}

proptest! {
    #[test]
    fn parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_response_head(&b);
        if let Ok(q) = parse_query(&b) {
            let mut out = [0u8; 700];
            let n = write_error_reply(&q, RCODE_SERVFAIL, &mut out, 1232);
            prop_assert!(n > 0);
            let r = parse_response_head(&out[..n]).unwrap();
            prop_assert_eq!(r.key.as_ref(), Some(&q.key));
        }
        let mut out = [0u8; 12];
        let _ = write_header_only_reply(&b, RCODE_FORMERR, &mut out);
    }

    #[test]
    fn mutated_captures_never_panic(i in 0usize..14, pos in any::<prop::sample::Index>(), val in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut b = hex(ALL[i]);
        let p = pos.index(b.len());
        b[p] = val;
        let c = cut.index(b.len() + 1);
        let _ = parse_query(&b[..c]);
        let _ = parse_response_head(&b[..c]);
    }

    #[test]
    fn hickory_query_round_trip(labels in proptest::collection::vec("[a-zA-Z0-9]{1,12}", 1..5), qtype in 1u16..300, id in any::<u16>(), edns in any::<bool>(), do_bit in any::<bool>()) {
        use hickory_proto::op::{Edns as HEdns, Message, Query as HQuery};
        use hickory_proto::rr::{Name, RecordType};
        let text = labels.join(".");
        let name = Name::from_ascii(format!("{text}.")).unwrap();
        let mut m = Message::query();
        m.metadata.id = id;
        m.metadata.recursion_desired = true;
        m.add_query(HQuery::query(name, RecordType::from(qtype)));
        if edns {
            let mut e = HEdns::new();
            e.set_max_payload(1400);
            e.set_dnssec_ok(do_bit);
            m.set_edns(e);
        }
        let b = m.to_vec().unwrap();
        let q = parse_query(&b).unwrap();
        prop_assert_eq!(q.id, id);
        prop_assert_eq!(q.key.qtype(), qtype);
        prop_assert_eq!(q.key.name_to_string(), format!("{}.", text.to_ascii_lowercase()));
        prop_assert_eq!(q.edns.map(|e| (e.udp_size, e.do_bit)), edns.then_some((1400, do_bit)));
        let mut out = [0u8; 512];
        let n = write_error_reply(&q, RCODE_NXDOMAIN, &mut out, 1232);
        let r = Message::from_vec(&out[..n]).unwrap();
        prop_assert_eq!(r.queries[0].name().to_ascii(), format!("{text}."));
        prop_assert_eq!(r.metadata.id, id);
        prop_assert_eq!(r.edns.as_ref().map(|e| e.flags().dnssec_ok), edns.then_some(do_bit));
    }
}
