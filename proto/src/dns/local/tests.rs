//! Tests of local records and `--address` answers, checked against the answers dnsmasq 2.90
//! gave for the same configuration (see tests/tests/local_records.rs for the live comparison).

use super::*;
use crate::dns::packet::parse_query;
use crate::dns::servers::{DomainAction, DomainPattern, Route, ServerTableBuilder};
use hickory_proto::op::{Edns as HEdns, Message, Query as HQuery};
use hickory_proto::rr::{Name, RecordType};
use proptest::prelude::*;

fn query(name: &str, qtype: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x4321;
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), qtype));
    let mut e = HEdns::new();
    e.set_max_payload(1232);
    m.set_edns(e);
    m.to_vec().unwrap()
}

fn data() -> LocalData {
    let mut b = LocalDataBuilder::new();
    b.mx("mx.test", 5, "mail.mx.test").unwrap();
    b.srv("_sip._tcp.srv.test", 1, 2, 5060, "sip.srv.test")
        .unwrap();
    b.txt("txt.test", &[b"hello world".to_vec(), b"second".to_vec()])
        .unwrap();
    b.ptr("1.2.0.192.in-addr.arpa", "ptr.test").unwrap();
    b.caa("caa.test", 0, "issue", "letsencrypt.org").unwrap();
    b.naptr(
        "naptr.test",
        10,
        20,
        "s",
        "SIP+D2U",
        "",
        "_sip._udp.naptr.test",
    )
    .unwrap();
    b.raw("rr.test", 99, &[1, 2, 0xff]).unwrap();
    b.host(
        &["hr.test", "hr2.test"],
        "192.0.2.50".parse().unwrap(),
        None,
    )
    .unwrap();
    b.host(
        &["hr.test", "hr2.test"],
        "2001:db8::50".parse().unwrap(),
        None,
    )
    .unwrap();
    b.cname("alias.test", "target.test", None).unwrap();
    b.cname("c4.test", "hr.test", None).unwrap();
    b.cname("c5.test", "c6.test", Some(300)).unwrap();
    b.cname("c6.test", "tgt.test", None).unwrap();
    let mut hosts = HostsTable::new();
    hosts.load_str("192.0.2.61 tgt.test\n", "h");
    b.build(7, Some(&hosts))
}

fn ask(d: &LocalData, name: &str, t: RecordType) -> Option<Message> {
    let b = query(name, t);
    let q = parse_query(&b).unwrap();
    let mut out = [0u8; 4096];
    let n = d.answer(&q, 1232, true, &mut out)?;
    Some(Message::from_vec(&out[..n]).unwrap())
}

fn rendered(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect()
}

#[test]
fn records_answer_their_type_only() {
    let d = data();
    let m = ask(&d, "MX.test.", RecordType::MX).unwrap();
    assert!(m.metadata.authoritative);
    assert_eq!(rendered(&m), ["MX.test. 7 MX 5 mail.mx.test."]);
    // Other types of a name with local records are forwarded, as dnsmasq.
    assert!(ask(&d, "mx.test.", RecordType::A).is_none());
    assert!(ask(&d, "hr.test.", RecordType::MX).is_none());
    assert!(ask(&d, "nothere.test.", RecordType::A).is_none());
    let m = ask(&d, "_sip._tcp.srv.test.", RecordType::SRV).unwrap();
    assert_eq!(
        rendered(&m),
        ["_sip._tcp.srv.test. 7 SRV 1 2 5060 sip.srv.test."]
    );
    let m = ask(&d, "txt.test.", RecordType::TXT).unwrap();
    assert_eq!(rendered(&m), ["txt.test. 7 TXT hello worldsecond"]);
    let m = ask(&d, "1.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(rendered(&m), ["1.2.0.192.in-addr.arpa. 7 PTR ptr.test."]);
    assert_eq!(
        ask(&d, "caa.test.", RecordType::CAA).unwrap().answers.len(),
        1
    );
    assert_eq!(
        ask(&d, "naptr.test.", RecordType::NAPTR)
            .unwrap()
            .answers
            .len(),
        1
    );
    assert_eq!(
        ask(&d, "rr.test.", RecordType::Unknown(99))
            .unwrap()
            .answers
            .len(),
        1
    );
}

#[test]
fn host_records_and_ptr() {
    let d = data();
    let m = ask(&d, "hr2.test.", RecordType::ANY).unwrap();
    assert_eq!(
        rendered(&m),
        ["hr2.test. 7 A 192.0.2.50", "hr2.test. 7 AAAA 2001:db8::50"]
    );
    let m = ask(&d, "50.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(rendered(&m), ["50.2.0.192.in-addr.arpa. 7 PTR hr.test."]);
    let rev6 = "0.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
    assert_eq!(ask(&d, rev6, RecordType::PTR).unwrap().answers.len(), 1);
}

#[test]
fn cname_chains_to_local_data_only() {
    let d = data();
    let m = ask(&d, "alias.test.", RecordType::A).unwrap();
    assert_eq!(rendered(&m), ["alias.test. 7 CNAME target.test."]);
    let m = ask(&d, "alias.test.", RecordType::MX).unwrap();
    assert_eq!(m.answers.len(), 1);
    let m = ask(&d, "c4.test.", RecordType::ANY).unwrap();
    assert_eq!(
        rendered(&m),
        [
            "c4.test. 7 CNAME hr.test.",
            "hr.test. 7 A 192.0.2.50",
            "hr.test. 7 AAAA 2001:db8::50"
        ]
    );
    let m = ask(&d, "c5.test.", RecordType::A).unwrap();
    assert_eq!(
        rendered(&m),
        [
            "c5.test. 300 CNAME c6.test.",
            "c6.test. 7 CNAME tgt.test.",
            "tgt.test. 7 A 192.0.2.61"
        ]
    );
    let m = ask(&d, "c5.test.", RecordType::AAAA).unwrap();
    assert_eq!(m.answers.len(), 2);
    let m = ask(&d, "c5.test.", RecordType::CNAME).unwrap();
    assert_eq!(rendered(&m), ["c5.test. 300 CNAME c6.test."]);
}

#[test]
fn cname_loop_is_bounded() {
    let mut b = LocalDataBuilder::new();
    b.cname("a.x", "b.x", None).unwrap();
    b.cname("b.x", "a.x", None).unwrap();
    let d = b.build(0, None);
    let m = ask(&d, "a.x.", RecordType::A).unwrap();
    assert_eq!(m.answers.len(), MAX_CHAIN);
}

#[test]
fn truncates_over_udp_limit() {
    let mut b = LocalDataBuilder::new();
    for i in 0..100 {
        b.txt("big.test", &[vec![b'a' + (i % 26) as u8; 200]])
            .unwrap();
    }
    let d = b.build(0, None);
    let m = ask(&d, "big.test.", RecordType::TXT).unwrap();
    assert!(m.metadata.truncation && m.answers.is_empty());
}

fn address_table() -> crate::dns::servers::ServerTable {
    let mut b = ServerTableBuilder::new();
    let sfx = |s: &str| DomainPattern::Suffix(s.into());
    b.add_domain(
        &sfx("addr.test"),
        DomainAction::Address("192.0.2.1".parse().unwrap()),
    );
    b.add_domain(
        &sfx("addr.test"),
        DomainAction::Address("2001:db8::1".parse().unwrap()),
    );
    b.add_domain(&sfx("null.test"), DomainAction::NullAddress);
    b.build()
}

fn ask_address(name: &str, t: RecordType) -> Message {
    let table = address_table();
    let b = query(name, t);
    let q = parse_query(&b).unwrap();
    let Route::Address(a) = table.route_for(q.key.name_wire(), q.key.qtype()) else {
        panic!("not an address route");
    };
    let mut out = [0u8; 1500];
    let n = write_address_reply(&q, &table, a, 7, 1232, true, &mut out);
    Message::from_vec(&out[..n]).unwrap()
}

#[test]
fn address_answers_as_dnsmasq() {
    let m = ask_address("www.Addr.test.", RecordType::A);
    assert!(m.metadata.authoritative);
    assert_eq!(rendered(&m), ["www.Addr.test. 7 A 192.0.2.1"]);
    assert_eq!(
        rendered(&ask_address("addr.test.", RecordType::ANY)),
        ["addr.test. 7 AAAA 2001:db8::1"]
    );
    assert_eq!(
        rendered(&ask_address("null.test.", RecordType::AAAA)),
        ["null.test. 7 AAAA ::"]
    );
    assert_eq!(
        rendered(&ask_address("null.test.", RecordType::ANY)),
        ["null.test. 7 A 0.0.0.0", "null.test. 7 AAAA ::"]
    );
}

#[test]
fn reverse_names() {
    assert_eq!(
        reverse_name("192.0.2.1".parse().unwrap()),
        wire_name("1.2.0.192.in-addr.arpa").unwrap()
    );
    assert_eq!(reverse_name("::1".parse().unwrap()).len(), 64 + 10);
    assert_eq!(wire_name("").unwrap(), [0]);
    assert!(wire_name("a..b").is_err());
}

proptest! {
    /// Any TXT strings encode to RDATA that hickory decodes back to the same strings.
    #[test]
    fn txt_round_trip(strings in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..255), 1..5)) {
        let mut b = LocalDataBuilder::new();
        b.txt("t.test", &strings).unwrap();
        let d = b.build(0, None);
        let m = ask(&d, "t.test.", RecordType::TXT).unwrap();
        let hickory_proto::rr::RData::TXT(t) = &m.answers[0].data else { panic!() };
        let got: Vec<Vec<u8>> = t.txt_data.iter().map(|s| s.to_vec()).collect();
        prop_assert_eq!(got, strings);
    }
}

#[test]
fn claimed_names_follow_dnsmasq() {
    let d = data();
    let w = |s: &str| wire_name(s).unwrap();
    // Owners of counted records, and the names above them (empty non-terminals).
    for n in [
        "mx.test",
        "_sip._tcp.srv.test",
        "_tcp.srv.test",
        "srv.test",
        "txt.test",
        "1.2.0.192.in-addr.arpa",
        "naptr.test",
        "hr.test",
        "hr2.test",
        "alias.test",
        "c5.test",
        "test",
    ] {
        assert!(d.claims(&w(n)), "{n}");
    }
    // Names below a record, --dns-rr and --caa-record owners, host-record reverse names.
    let mut b = LocalDataBuilder::new();
    b.caa("a.caa.test", 0, "issue", "x").unwrap();
    b.raw("a.rr.test", 99, &[1]).unwrap();
    b.host(&["h.test"], "192.0.2.50".parse().unwrap(), None)
        .unwrap();
    b.mx("mx.test", 1, "m.test").unwrap();
    let d = b.build(0, None);
    for n in [
        "x.mx.test",
        "a.caa.test",
        "caa.test",
        "a.rr.test",
        "rr.test",
        "50.2.0.192.in-addr.arpa",
        "in-addr.arpa",
        "",
    ] {
        assert!(!d.claims(&w(n)), "{n}");
    }
    assert!(d.claims(&w("h.test")));
}

#[test]
fn interface_name_records_and_claims() {
    let mut b = LocalDataBuilder::new();
    let lo: [IpAddr; 2] = ["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
    b.interface_name("gw.test", &lo).unwrap();
    b.interface_name("gw4.test", &lo[..1]).unwrap();
    b.interface_name("none.test", &[]).unwrap();
    let d = b.build(5, None);
    let ask = |name: &str, t: RecordType| {
        let qb = query(name, t);
        let q = parse_query(&qb).unwrap();
        let mut out = [0u8; 1232];
        d.answer(&q, 1232, true, &mut out)
            .map(|n| Message::from_vec(&out[..n]).unwrap())
    };
    let a = ask("gw.test.", RecordType::ANY).unwrap();
    assert_eq!(a.answers.len(), 2);
    assert!(a.answers.iter().all(|r| r.ttl == 5));
    // The first --interface-name for an address owns its PTR.
    let p = ask("1.0.0.127.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(p.answers.len(), 1);
    assert!(p.answers[0].data.to_string().starts_with("gw.test"));
    // No address of the type, or none at all: forwarded, but the name is local.
    assert!(ask("gw4.test.", RecordType::AAAA).is_none());
    assert!(ask("none.test.", RecordType::A).is_none());
    assert!(d.claims(&wire_name("none.test").unwrap()));
    assert!(d.claims(&wire_name("gw4.test").unwrap()));
}
