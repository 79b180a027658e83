//! Tests of hosts-file parsing and answers. The expected reply bytes were captured from
//! dnsmasq 2.90 (`--no-hosts --addn-hosts=FILE`) answering the captured dig queries in
//! [`crate::dns::packet::captures`].

use super::*;
use crate::dns::packet::captures::{ALIAS_A_Q, NODATA_Q, NOEDNS_Q, WWW_A_Q, hex};
use crate::dns::packet::parse_query;
use hickory_proto::op::{Edns as HEdns, Message, Query as HQuery};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The hosts file dnsmasq answered the captured queries from.
const CAPTURE_HOSTS: &str = "192.0.2.1 WWW.Example.com\n2001:db8::1 www.example.com\n";
/// dnsmasq's reply to [`WWW_A_Q`]: AA, RA, RD, AD cleared, TTL 0, OPT udp 1232.
const WWW_A_R_DNSMASQ: &str = "5b7c8580000100010000000103777777076578616d706c6503636f6d0000010001c00c00010001000000000004c000020100002904d0000000000000";
/// dnsmasq's reply to [`NOEDNS_Q`]: no OPT.
const NOEDNS_R_DNSMASQ: &str = "27088580000100010000000003777777076578616d706c6503636f6d0000010001c00c00010001000000000004c0000201";

const SAMPLE: &str = "\
# comment line
192.0.2.1   MixedCase.Example.test alias1   # trailing comment
192.0.2.2   two.example.test
192.0.2.3\ttwo.example.test
2001:db8::1 v6only.example.test
2001:db8::2 two.example.test
192.0.2.1   second-for-1.example.test
192.0.2.9   plain.
192.0.2.10
   \r
999.1.1.1 badaddr.example.test
fe80::1%eth0 zone.example.test
192.0.2.11 x..y.example.test good11.example.test
192.0.2.12 two.example.test#comment
192.0.2.2   two.example.test
";

fn table(text: &str) -> HostsTable {
    let mut t = HostsTable::new();
    t.load_str(text, "test");
    t
}

fn query(name: &str, qtype: RecordType, edns: Option<(u16, bool)>) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x1234;
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), qtype));
    if let Some((size, do_bit)) = edns {
        let mut e = HEdns::new();
        e.set_max_payload(size);
        e.set_dnssec_ok(do_bit);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

/// Answers `name qtype` (UDP, EDNS 1232) and parses the reply; `None` if not answered.
fn ask(t: &HostsTable, name: &str, qtype: RecordType) -> Option<Message> {
    let b = query(name, qtype, Some((1232, false)));
    let q = parse_query(&b).unwrap();
    let mut out = [0u8; 4096];
    let n = t.answer(&q, 0, 1232, true, &mut out)?;
    Some(Message::from_vec(&out[..n]).unwrap())
}

fn addrs(m: &Message) -> BTreeSet<IpAddr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

fn ptr_target(m: &Message) -> String {
    match &m.answers[0].data {
        RData::PTR(p) => p.0.to_ascii(),
        other => panic!("not a PTR: {other:?}"),
    }
}

#[test]
fn parses_and_reports_bad_lines() {
    let mut t = HostsTable::new();
    let errors = t.load_str(SAMPLE, "hosts.txt");
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "bad address \"999.1.1.1\" at hosts.txt line 11",
            "bad address \"fe80::1%eth0\" at hosts.txt line 12",
            "bad name \"x..y.example.test\" at hosts.txt line 13",
        ]
    );
    assert_eq!(
        t.lookup("two.example.test"),
        ["192.0.2.2", "192.0.2.3", "192.0.2.12", "2001:db8::2"]
            .map(|a| a.parse::<IpAddr>().unwrap())
    );
    assert_eq!(t.lookup("MIXEDCASE.example.TEST."), t.lookup("alias1"));
    assert_eq!(t.lookup("plain"), ["192.0.2.9".parse::<IpAddr>().unwrap()]);
    assert_eq!(t.lookup("good11.example.test").len(), 1);
    assert!(t.lookup("badaddr.example.test").is_empty());
    assert!(t.lookup("comment").is_empty());
    // Names: mixedcase, alias1, two, v6only, second-for-1, plain, good11.
    assert_eq!(t.names(), 7);
    // The duplicate `192.0.2.2 two.example.test` line is stored once.
    assert_eq!(t.len(), 10);
}

#[test]
fn matches_dnsmasq_bytes() {
    let t = table(CAPTURE_HOSTS);
    let mut out = [0u8; 4096];
    for (q, want) in [(WWW_A_Q, WWW_A_R_DNSMASQ), (NOEDNS_Q, NOEDNS_R_DNSMASQ)] {
        let b = hex(q);
        let q = parse_query(&b).unwrap();
        let n = t.answer(&q, 0, 1232, true, &mut out).unwrap();
        assert_eq!(&out[..n], &hex(want)[..]);
    }
    // MX for a hosts name, and a name not in the table: dnsmasq forwards both.
    for q in [NODATA_Q, ALIAS_A_Q] {
        let b = hex(q);
        assert_eq!(
            t.answer(&parse_query(&b).unwrap(), 0, 1232, true, &mut out),
            None
        );
    }
}

#[test]
fn answers_a_aaaa_any() {
    let t = table(SAMPLE);
    let m = ask(&t, "Two.Example.Test.", RecordType::A).unwrap();
    assert!(m.metadata.authoritative && m.metadata.recursion_available);
    assert!(
        m.metadata.recursion_desired
            && m.metadata.message_type == hickory_proto::op::MessageType::Response
    );
    assert_eq!(
        m.metadata.response_code,
        hickory_proto::op::ResponseCode::NoError
    );
    assert_eq!(m.queries[0].name().to_ascii(), "Two.Example.Test.");
    assert_eq!(m.answers.len(), 3);
    assert!(
        m.answers
            .iter()
            .all(|r| r.ttl == 0 && r.name.to_ascii() == "Two.Example.Test.")
    );
    assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232);
    let m = ask(&t, "two.example.test.", RecordType::AAAA).unwrap();
    assert_eq!(addrs(&m), BTreeSet::from(["2001:db8::2".parse().unwrap()]));
    let m = ask(&t, "two.example.test.", RecordType::ANY).unwrap();
    assert_eq!(m.answers.len(), 4);
    assert_eq!(m.answers[3].record_type(), RecordType::AAAA);
    // Type present for the name only in the other family, or another type: not ours.
    assert!(ask(&t, "v6only.example.test.", RecordType::A).is_none());
    assert!(ask(&t, "plain.", RecordType::AAAA).is_none());
    assert!(ask(&t, "two.example.test.", RecordType::MX).is_none());
    assert!(ask(&t, "two.example.test.", RecordType::TXT).is_none());
    assert!(ask(&t, "nothere.example.test.", RecordType::A).is_none());
    assert!(ask(&t, "example.test.", RecordType::A).is_none());
}

#[test]
fn answers_ptr_with_first_name() {
    let t = table(SAMPLE);
    let m = ask(&t, "1.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert!(m.metadata.authoritative);
    assert_eq!(ptr_target(&m), "mixedcase.example.test.");
    let m = ask(&t, "2.2.0.192.IN-ADDR.ARPA.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "two.example.test.");
    let v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
    let m = ask(&t, v6, RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "v6only.example.test.");
    let m = ask(&t, &v6.replace("b.d", "B.D"), RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "v6only.example.test.");
    // Not in the table, partial reverse names, malformed labels, wrong type.
    for n in [
        "5.2.0.192.in-addr.arpa.",
        "2.0.192.in-addr.arpa.",
        "1.1.2.0.192.in-addr.arpa.",
        "01.2.0.192.in-addr.arpa.",
        "256.2.0.192.in-addr.arpa.",
        "x.2.0.192.in-addr.arpa.",
        "0.1.0.0.2.ip6.arpa.",
        "plain.",
    ] {
        assert!(ask(&t, n, RecordType::PTR).is_none(), "{n}");
    }
    assert!(ask(&t, "1.2.0.192.in-addr.arpa.", RecordType::A).is_none());
}

#[test]
fn reverse_names_decode() {
    let mut w = [0u8; MAX_NAME_LEN];
    let n = text_to_wire(b"4.3.2.1.in-addr.arpa", &mut w).unwrap();
    assert_eq!(reverse_addr(&w[..n]), Some(Addr::V4([1, 2, 3, 4])));
    let ip: Ipv6Addr = "2001:db8:1234:5678:9abc:def0:1:2".parse().unwrap();
    let text: String = ip
        .octets()
        .iter()
        .rev()
        .flat_map(|b| [b & 0xF, b >> 4])
        .map(|x| format!("{x:x}."))
        .collect::<String>()
        + "ip6.arpa";
    let n = text_to_wire(text.as_bytes(), &mut w).unwrap();
    assert_eq!(reverse_addr(&w[..n]), Some(Addr::V6(ip.octets())));
}

#[test]
fn flags_class_edns_and_ttl() {
    let t = table(SAMPLE);
    let mut out = [0u8; 4096];
    // DO echoed, CD copied, our UDP size advertised, local TTL used.
    let mut b = query("plain.", RecordType::A, Some((4096, true)));
    b[3] |= 0x10; // CD
    let q = parse_query(&b).unwrap();
    let n = t.answer(&q, 600, 1400, true, &mut out).unwrap();
    let m = Message::from_vec(&out[..n]).unwrap();
    assert!(m.metadata.checking_disabled && !m.metadata.authentic_data);
    assert_eq!(m.answers[0].ttl, 600);
    let e = m.edns.as_ref().unwrap();
    assert!(e.flags().dnssec_ok);
    assert_eq!(e.max_payload(), 1400);
    // Class CHAOS, EDNS version 1, other opcodes: left to the caller.
    let mut b = query("plain.", RecordType::A, None);
    let qc = b.len() - 1;
    b[qc] = 3;
    assert_eq!(
        t.answer(&parse_query(&b).unwrap(), 0, 1232, true, &mut out),
        None
    );
    let mut b = query("plain.", RecordType::A, Some((1232, false)));
    let v = b.len() - 5; // OPT TTL: ext-rcode, VERSION, flags
    b[v] = 1;
    assert_eq!(
        t.answer(&parse_query(&b).unwrap(), 0, 1232, true, &mut out),
        None
    );
    let mut b = query("plain.", RecordType::A, None);
    b[2] |= 0x10; // opcode 2 (STATUS)
    assert_eq!(
        t.answer(&parse_query(&b).unwrap(), 0, 1232, true, &mut out),
        None
    );
}

#[test]
fn truncates_over_udp_not_tcp() {
    let text: String = (0..100)
        .map(|i| format!("10.0.0.{i} many.test\n"))
        .collect();
    let t = table(&text);
    let mut out = vec![0u8; 65535];
    // 100 A records = 1600 bytes of answers: over 512 without EDNS.
    let b = query("many.test.", RecordType::A, None);
    let q = parse_query(&b).unwrap();
    let n = t.answer(&q, 0, 1232, true, &mut out).unwrap();
    let m = Message::from_vec(&out[..n]).unwrap();
    assert!(m.metadata.truncation && m.answers.is_empty());
    assert_eq!(m.queries.len(), 1);
    let n = t.answer(&q, 0, 1232, false, &mut out).unwrap();
    let m = Message::from_vec(&out[..n]).unwrap();
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 100);
    // EDNS 4096 from the client but only 1232 ours: still too big for UDP.
    let b = query("many.test.", RecordType::A, Some((4096, false)));
    let q = parse_query(&b).unwrap();
    let n = t.answer(&q, 0, 1232, true, &mut out).unwrap();
    assert!(Message::from_vec(&out[..n]).unwrap().metadata.truncation);
    let n = t.answer(&q, 0, 4096, true, &mut out).unwrap();
    assert_eq!(Message::from_vec(&out[..n]).unwrap().answers.len(), 100);
    // A buffer too small even for the header: Some(0).
    assert_eq!(t.answer(&q, 0, 4096, true, &mut out[..20]), Some(0));
}

#[test]
fn expand_hosts() {
    let mut t = HostsTable::new();
    assert!(t.set_expand_domain("x..y").is_err());
    t.set_expand_domain("Lan").unwrap();
    assert!(
        t.load_str("192.0.2.53 short\n192.0.2.54 dotted.name other\n", "h")
            .is_empty()
    );
    assert_eq!(t.lookup("short"), t.lookup("short.lan"));
    assert_eq!(t.lookup("other.lan"), t.lookup("dotted.name"));
    assert!(t.lookup("dotted.name.lan").is_empty());
    let m = ask(&t, "53.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "short.lan.");
    let m = ask(&t, "54.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "dotted.name.");
}

#[test]
fn expand_hosts_domain_per_range() {
    let mut t = HostsTable::new();
    t.set_expand_domain("lan").unwrap();
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    // The range given last is tried first (dnsmasq 2.90).
    t.add_expand_range("late.test", ip("192.0.2.0"), ip("192.0.2.255"))
        .unwrap();
    t.add_expand_range("six.test", ip("fd00::"), ip("fd00::ffff"))
        .unwrap();
    t.add_expand_range("one.test", ip("192.0.2.0"), ip("192.0.2.127"))
        .unwrap();
    assert!(
        t.load_str(
            "192.0.2.5 a\n192.0.2.200 b\n198.51.100.1 c\nfd00::5 d\n",
            "h"
        )
        .is_empty()
    );
    assert_eq!(t.lookup("a.one.test"), [ip("192.0.2.5")]);
    assert!(t.lookup("a.lan").is_empty());
    assert_eq!(t.lookup("b.late.test"), [ip("192.0.2.200")]);
    assert_eq!(t.lookup("c.lan"), [ip("198.51.100.1")]);
    assert_eq!(t.lookup("d.six.test"), [ip("fd00::5")]);
    let m = ask(&t, "5.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "a.one.test.");
}

#[test]
fn directory_in_name_order() {
    let dir = std::env::temp_dir().join(format!("ringmasq-hosts-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("b"), "192.0.2.1 from-b\n").unwrap();
    std::fs::write(dir.join("a"), "192.0.2.1 from-a\nbad line\n").unwrap();
    std::fs::write(dir.join(".hidden"), "192.0.2.1 hidden\n").unwrap();
    std::fs::write(dir.join("sub/c"), "192.0.2.1 from-c\n").unwrap();
    let mut t = HostsTable::new();
    let errors = t.load_path(&dir).unwrap();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].file.ends_with("/a") && errors[0].line == 2);
    assert_eq!(t.names(), 2);
    let m = ask(&t, "1.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "from-a.");
    // A later load keeps the earlier PTR target.
    t.load_str("192.0.2.1 later\n", "x");
    let m = ask(&t, "1.2.0.192.in-addr.arpa.", RecordType::PTR).unwrap();
    assert_eq!(ptr_target(&m), "from-a.");
    assert!(t.load_path(&dir.join("missing")).is_err());
    let file = t.load_path(&dir.join("b")).unwrap();
    assert!(file.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<HostsTable>();
}

/// Loads a generated 1,000,000-line file correctly (and prints the time and memory).
#[test]
fn loads_a_million_lines() {
    use std::fmt::Write as _;
    let path = std::env::temp_dir().join(format!("ringmasq-hosts-1m-{}", std::process::id()));
    let mut text = String::with_capacity(40_000_000);
    for i in 0u32..1_000_000 {
        let [_, b, c, d] = i.to_be_bytes();
        if i % 4 == 3 {
            let _ = writeln!(
                text,
                "2001:db8::{:x}:{:x} host{i}.example.test",
                i >> 16,
                i & 0xFFFF
            );
        } else {
            let _ = writeln!(text, "10.{b}.{c}.{d} host{i}.example.test h{i}");
        }
    }
    std::fs::write(&path, &text).unwrap();
    drop(text);
    let cpu = thread_cpu_time();
    let start = std::time::Instant::now();
    let mut t = HostsTable::new();
    let errors = t.load_path(&path).unwrap();
    let took = start.elapsed();
    let took_cpu = thread_cpu_time().map(|c| c - cpu.unwrap_or_default());
    std::fs::remove_file(&path).unwrap();
    println!(
        "loaded 1,000,000 lines ({} names, {} records) in {took:?} ({took_cpu:?} CPU), {} MiB",
        t.names(),
        t.len(),
        t.mem_size() >> 20
    );
    assert!(errors.is_empty());
    assert_eq!(t.len(), 1_750_000);
    assert_eq!(t.names(), 1_750_000);
    assert_eq!(
        t.lookup("host999999.example.test"),
        ["2001:db8::f:423f".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(t.lookup("h5"), ["10.0.0.5".parse::<IpAddr>().unwrap()]);
    // Speed is measured by benches/hosts_load, not asserted here: a timed test on a shared
    // machine can only be flaky.
    let _ = took_cpu;
}

/// CPU time used by the calling thread so far (Linux `/proc/thread-self/stat`, fields 14 and
/// 15, in clock ticks of 10 ms).
fn thread_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    let mut f = after_comm.split(' ').skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(std::time::Duration::from_millis((utime + stime) * 10))
}

/// One generated hosts line: an address and 1..4 names.
fn entry() -> impl Strategy<Value = (IpAddr, Vec<String>)> {
    let addr = prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        (0u8..4).prop_map(|i| IpAddr::from([192, 0, 2, i])),
    ];
    let name =
        proptest::collection::vec("[a-zA-Z0-9_][a-zA-Z0-9_-]{0,9}", 1..4).prop_map(|l| l.join("."));
    (addr, proptest::collection::vec(name, 1..4))
}

fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(a) => {
            a.octets()
                .iter()
                .rev()
                .flat_map(|b| [b & 0xF, b >> 4])
                .map(|x| format!("{x:x}."))
                .collect::<String>()
                + "ip6.arpa."
        }
    }
}

proptest! {
    /// Round trip: hosts text written from entries, loaded, then every name answers exactly its
    /// addresses (as hickory decodes the reply) and every address its first name.
    #[test]
    fn hosts_text_round_trip(entries in proptest::collection::vec(entry(), 1..20), ws in "[ \t]{1,3}") {
        let mut text = String::new();
        for (a, names) in &entries {
            text.push_str(&format!("{a}{ws}{}{ws}# c\n", names.join(&ws)));
        }
        let mut t = HostsTable::new();
        prop_assert!(t.load_str(&text, "p").is_empty());
        for (_, names) in &entries {
            for n in names {
                let want: BTreeSet<IpAddr> = entries
                    .iter()
                    .filter(|(_, ns)| ns.iter().any(|x| x.eq_ignore_ascii_case(n)))
                    .map(|(a, _)| *a)
                    .collect();
                let m = ask(&t, &format!("{n}."), RecordType::ANY).unwrap();
                prop_assert_eq!(addrs(&m), want.clone());
                prop_assert_eq!(m.answers.len(), want.len());
                prop_assert!(m.metadata.authoritative);
            }
        }
        for (a, _) in &entries {
            let first = &entries.iter().find(|(x, _)| x == a).unwrap().1[0];
            let m = ask(&t, &reverse_name(*a), RecordType::PTR).unwrap();
            prop_assert_eq!(ptr_target(&m), format!("{}.", first.to_ascii_lowercase()));
        }
    }

    /// Arbitrary bytes never panic the loader, and whatever loads answers consistently.
    #[test]
    fn loader_never_panics(text in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut t = HostsTable::new();
        let _ = t.load_bytes(&text, "fuzz");
        prop_assert!(t.len() <= text.len());
    }
}

/// Names given in Unicode are matched in their punycode form (RFC 5891).
#[test]
fn unicode_names_are_stored_as_punycode() {
    let mut t = HostsTable::new();
    let errors = t.load_str("192.0.2.44 Bücher.lab.test\n", "idn");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        t.lookup("xn--bcher-kva.lab.test"),
        ["192.0.2.44".parse::<IpAddr>().unwrap()]
    );
}
