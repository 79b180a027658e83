//! Guard tests on bytes captured from knotd (upstream replies) and dnsmasq 2.90 (the replies it
//! makes up), both on loopback.

use super::*;
use crate::dns::answer::{AnswerKind, NormalizeOptions, normalize_response};
use crate::dns::packet::captures::hex;
use crate::dns::packet::parse_query;
use proptest::prelude::*;

/// A query and knotd's reply for `priv10.guard.test A` (10.1.2.3).
const PRIV10_Q: &str =
    "123401000001000000000001067072697631300567756172640474657374000001000100002904d0000000000000";
const PRIV10_R: &str = "1234850000010001000000010670726976313005677561726404746573740000010001c00c0001000100000e1000040a01020300002904d0000000000000";
/// `mixed.guard.test A`: 10.0.0.20 and 93.184.216.20.
const MIXED_Q: &str =
    "123401000001000000000001056d697865640567756172640474657374000001000100002904d0000000000000";
const MIXED_R: &str = "123485000001000200000001056d6978656405677561726404746573740000010001c00c0001000100000e1000040a000014c00c0001000100000e1000045db8d81400002904d0000000000000";
/// `alias.guard.test A`: CNAME priv10.guard.test, then 10.1.2.3.
const ALIAS_Q: &str =
    "12340100000100000000000105616c6961730567756172640474657374000001000100002904d0000000000000";
const ALIAS_R: &str = "12348500000100020000000105616c69617305677561726404746573740000010001c00c0005000100000e10000906707269763130c012c02e0001000100000e1000040a01020300002904d0000000000000";
/// `v6mapped.guard.test AAAA`: ::ffff:10.0.0.1.
const V6MAPPED_Q: &str = "1234010000010000000000010876366d6170706564056775617264047465737400001c000100002904d0000000000000";
const V6MAPPED_R: &str = "1234850000010001000000010876366d6170706564056775617264047465737400001c0001c00c001c000100000e10001000000000000000000000ffff0a00000100002904d0000000000000";
/// `aliaspub.guard.test A`: CNAME public.guard.test, then 93.184.216.10.
const ALIASPUB_Q: &str = "12340100000100000000000108616c6961737075620567756172640474657374000001000100002904d0000000000000";
const ALIASPUB_R: &str = "12348500000100020000000108616c69617370756205677561726404746573740000010001c00c0005000100000e100009067075626c6963c015c0310001000100000e1000045db8d80a00002904d0000000000000";
/// `loop.guard.test A`: 127.0.0.5.
const LOOP_Q: &str =
    "123401000001000000000001046c6f6f700567756172640474657374000001000100002904d0000000000000";
const LOOP_R: &str = "123485000001000100000001046c6f6f7005677561726404746573740000010001c00c0001000100000e1000047f00000500002904d0000000000000";
/// `bogus2.guard.test A`: 93.184.216.30 and 198.51.100.66.
const BOGUS2_Q: &str =
    "12340100000100000000000106626f677573320567756172640474657374000001000100002904d0000000000000";
const BOGUS2_R: &str = "12348500000100020000000106626f6775733205677561726404746573740000010001c00c0001000100000e1000045db8d81ec00c0001000100000e100004c633644200002904d0000000000000";
/// `ignored.guard.test A`: 203.0.113.99.
const IGNORED_Q: &str = "1234010000010000000000010769676e6f7265640567756172640474657374000001000100002904d0000000000000";
const IGNORED_R: &str = "1234850000010001000000010769676e6f72656405677561726404746573740000010001c00c0001000100000e100004cb00716300002904d0000000000000";

/// dnsmasq 2.90 `--stop-dns-rebind`, `priv10.guard.test A`: NOERROR, AA, EDE 15.
const DNSMASQ_REBIND: &str = "123485800001000000000001067072697631300567756172640474657374000001000100002904d0000000000006000f0002000f";
/// dnsmasq 2.90 `--bogus-priv`, `3.2.1.10.in-addr.arpa PTR`: NXDOMAIN, AA.
const BOGUS_PRIV_Q: &str = "12340100000100000000000101330132013102313007696e2d61646472046172706100000c000100002904d0000000000000";
const DNSMASQ_BOGUS_PRIV: &str = "12348583000100000000000101330132013102313007696e2d61646472046172706100000c000100002904d0000000000000";
/// dnsmasq 2.90 `--domain-needed`, `foo A`: NXDOMAIN, no AA.
const FOO_Q: &str = "12340100000100000000000103666f6f000001000100002904d0000000000000";
const DNSMASQ_DOMAIN_NEEDED: &str =
    "12348183000100000000000103666f6f000001000100002904d0000000000000";
/// dnsmasq 2.90 `--filterwin2k`, `guard.test SOA`: NOERROR, AA.
const SOA_Q: &str =
    "1234010000010000000000010567756172640474657374000006000100002904d0000000000000";
const DNSMASQ_FILTERWIN2K: &str =
    "1234858000010000000000010567756172640474657374000006000100002904d0000000000000";

fn key(q: &str) -> QuestionKey {
    parse_query(&hex(q)).unwrap().key
}

/// Wire form of a dotted name.
fn wire(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

fn qkey(name: &str, qtype: u16) -> QuestionKey {
    QuestionKey::new(&wire(name), qtype, CLASS_IN)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn reply_to(q: &str, r: GuardReply) -> Vec<u8> {
    let qb = hex(q);
    let q = parse_query(&qb).unwrap();
    let mut out = [0u8; 512];
    let n = write_guard_reply(&q, r, 1232, &mut out);
    out[..n].to_vec()
}

#[test]
fn guard_replies_match_dnsmasq_bytes() {
    assert_eq!(reply_to(PRIV10_Q, GuardReply::REBIND), hex(DNSMASQ_REBIND));
    assert_eq!(
        reply_to(BOGUS_PRIV_Q, GuardReply::BOGUS_PRIV),
        hex(DNSMASQ_BOGUS_PRIV)
    );
    assert_eq!(
        reply_to(FOO_Q, GuardReply::DOMAIN_NEEDED),
        hex(DNSMASQ_DOMAIN_NEEDED)
    );
    assert_eq!(
        reply_to(SOA_Q, GuardReply::FILTERWIN2K),
        hex(DNSMASQ_FILTERWIN2K)
    );
}

#[test]
fn ede_is_left_out_without_edns_or_room() {
    // The same query without its OPT record: no OPT, so no EDE.
    let mut qb = hex(PRIV10_Q);
    qb.truncate(qb.len() - 11);
    qb[11] = 0;
    let q = parse_query(&qb).unwrap();
    let mut out = [0u8; 512];
    let n = write_guard_reply(&q, GuardReply::REBIND, 1232, &mut out);
    assert_eq!(n, qb.len());
    assert_eq!(&out[2..4], &[0x85, 0x80]);
    // Room for the OPT but not the option: the reply stays valid, without EDE.
    let qb = hex(PRIV10_Q);
    let q = parse_query(&qb).unwrap();
    let mut small = vec![0u8; qb.len()];
    assert_eq!(
        write_guard_reply(&q, GuardReply::REBIND, 1232, &mut small),
        qb.len()
    );
    let mut tiny = [0u8; 8];
    assert_eq!(
        write_guard_reply(&q, GuardReply::REBIND, 1232, &mut tiny),
        0
    );
}

#[test]
fn domain_needed_stops_dotless_address_queries_only() {
    let g = Guards {
        domain_needed: true,
        ..Guards::default()
    };
    for t in [TYPE_A, TYPE_AAAA, TYPE_ANY] {
        assert_eq!(
            g.check_query(&qkey("foo", t)),
            QueryVerdict::Answer(GuardReply::DOMAIN_NEEDED)
        );
    }
    // dnsmasq 2.90 forwards other types, the root, and names with a dot.
    for (n, t) in [
        ("foo", TYPE_MX),
        ("foo", TYPE_PTR),
        ("foo", TYPE_SOA),
        ("", TYPE_A),
        ("foo.bar", TYPE_A),
    ] {
        assert_eq!(g.check_query(&qkey(n, t)), QueryVerdict::Forward, "{n} {t}");
    }
    assert_eq!(
        g.check_query(&key(FOO_Q)),
        QueryVerdict::Answer(GuardReply::DOMAIN_NEEDED)
    );
    // Off: nothing is stopped.
    assert_eq!(
        Guards::default().check_query(&key(FOO_Q)),
        QueryVerdict::Forward
    );
}

#[test]
fn bogus_priv_answers_private_reverse_ptr_and_any() {
    let g = Guards {
        bogus_priv: true,
        ..Guards::default()
    };
    let nx = QueryVerdict::Answer(GuardReply::BOGUS_PRIV);
    assert_eq!(g.check_query(&key(BOGUS_PRIV_Q)), nx);
    // The names dnsmasq 2.90 answered NXDOMAIN to, and those it forwarded.
    for n in [
        "1.1.168.192.in-addr.arpa",
        "5.5.16.172.in-addr.arpa",
        "1.0.0.127.in-addr.arpa",
        "3.2.1.0.in-addr.arpa",
        "1.1.254.169.in-addr.arpa",
        "1.2.0.192.in-addr.arpa",
        "1.100.51.198.in-addr.arpa",
        "255.255.255.255.in-addr.arpa",
        "10.in-addr.arpa",
        "168.192.in-addr.arpa",
        "1.1.1.1.10.in-addr.arpa",
        "d.f.ip6.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    ] {
        assert_eq!(g.check_query(&qkey(n, TYPE_PTR)), nx, "{n}");
        assert_eq!(g.check_query(&qkey(n, TYPE_ANY)), nx, "{n}");
    }
    for n in [
        "5.5.32.172.in-addr.arpa",
        "1.1.64.100.in-addr.arpa",
        "x.1.1.168.192.in-addr.arpa",
        "in-addr.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.ip6.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
    ] {
        assert_eq!(
            g.check_query(&qkey(n, TYPE_PTR)),
            QueryVerdict::Forward,
            "{n}"
        );
    }
    for t in [TYPE_A, TYPE_SOA, 16] {
        assert_eq!(
            g.check_query(&qkey("3.2.1.10.in-addr.arpa", t)),
            QueryVerdict::Forward
        );
    }
}

#[test]
fn filterwin2k_answers_soa_srv_and_underscore_any() {
    let g = Guards {
        filterwin2k: true,
        ..Guards::default()
    };
    let nodata = QueryVerdict::Answer(GuardReply::FILTERWIN2K);
    assert_eq!(g.check_query(&key(SOA_Q)), nodata);
    assert_eq!(
        g.check_query(&qkey("_sip._udp.guard.test", TYPE_SRV)),
        nodata
    );
    assert_eq!(g.check_query(&qkey("public.guard.test", TYPE_SOA)), nodata);
    assert_eq!(g.check_query(&qkey("_ldap.guard.test", TYPE_ANY)), nodata);
    assert_eq!(
        g.check_query(&qkey("both.guard.test", TYPE_ANY)),
        QueryVerdict::Forward
    );
    assert_eq!(
        g.check_query(&qkey("_sip._udp.guard.test", 16)),
        QueryVerdict::Forward
    );
    assert_eq!(
        g.check_query(&qkey("_x.guard.test", TYPE_A)),
        QueryVerdict::Forward
    );
}

#[test]
fn reverse_names_read_as_dnsmasq_reads_them() {
    let r = |n: &str| reverse_name_addr(&wire(n));
    assert_eq!(r("3.2.1.10.in-addr.arpa"), Some(ip("10.1.2.3")));
    assert_eq!(r("2.1.10.in-addr.arpa"), Some(ip("10.1.2.0")));
    assert_eq!(r("1.2.3.4.5.10.in-addr.arpa"), Some(ip("10.5.4.3")));
    assert_eq!(r("d.f.ip6.arpa"), Some(ip("fd00::")));
    assert_eq!(r("x.10.in-addr.arpa"), None);
    assert_eq!(r("in-addr.arpa"), None);
    assert_eq!(r("ip6.arpa"), None);
    assert_eq!(r("ab.ip6.arpa"), None);
    assert_eq!(r("g.ip6.arpa"), None);
    assert_eq!(r("example.com"), None);
}

#[test]
fn private_ranges_match_dnsmasq_rebind_checks() {
    for a in [
        "10.1.2.3",
        "192.168.1.1",
        "172.16.5.5",
        "127.0.0.5",
        "0.0.0.0",
        "0.1.2.3",
        "169.254.1.1",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00::1",
        "fdff:ffff::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "feff::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ] {
        assert!(is_private(ip(a), false), "{a}");
    }
    for a in [
        "93.184.216.10",
        "100.64.1.1",
        "172.32.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "fc00::1",
        "64:ff9b::a00:1",
        "::10.0.0.1",
        "::ffff:93.184.216.1",
        "2606:2800:220:1::10",
    ] {
        assert!(!is_private(ip(a), false), "{a}");
    }
    // --rebind-localhost-ok exempts loopback and "this network" only.
    for a in [
        "127.0.0.5",
        "0.0.0.0",
        "0.1.2.3",
        "::1",
        "::",
        "::ffff:127.0.0.1",
    ] {
        assert!(!is_private(ip(a), true), "{a}");
    }
    for a in ["10.1.2.3", "fe80::1", "2001:db8::1"] {
        assert!(is_private(ip(a), true), "{a}");
    }
}

#[test]
fn rebind_blocks_private_answers_unless_exempt() {
    let g = Guards {
        stop_dns_rebind: true,
        ..Guards::default()
    };
    let blocked = AnswerVerdict::Replace(GuardReply::REBIND);
    for (q, r) in [
        (PRIV10_Q, PRIV10_R),
        (MIXED_Q, MIXED_R),
        (ALIAS_Q, ALIAS_R),
        (V6MAPPED_Q, V6MAPPED_R),
        (LOOP_Q, LOOP_R),
    ] {
        assert_eq!(g.check_answer(&key(q), &hex(r)), blocked, "{q}");
    }
    assert_eq!(
        g.check_answer(&key(ALIASPUB_Q), &hex(ALIASPUB_R)),
        AnswerVerdict::Accept
    );
    let lo = Guards {
        rebind_localhost_ok: true,
        ..g.clone()
    };
    assert_eq!(
        lo.check_answer(&key(LOOP_Q), &hex(LOOP_R)),
        AnswerVerdict::Accept
    );
    assert_eq!(lo.check_answer(&key(PRIV10_Q), &hex(PRIV10_R)), blocked);
    // --rebind-domain-ok matches the question name, label-wise.
    let ok = Guards {
        rebind_domain_ok: vec![wire("guard.test")],
        ..g.clone()
    };
    assert_eq!(
        ok.check_answer(&key(PRIV10_Q), &hex(PRIV10_R)),
        AnswerVerdict::Accept
    );
    let one = Guards {
        rebind_domain_ok: vec![wire("priv10.guard.test"), wire("uard.test")],
        ..g
    };
    assert_eq!(
        one.check_answer(&key(PRIV10_Q), &hex(PRIV10_R)),
        AnswerVerdict::Accept
    );
    assert_eq!(one.check_answer(&key(ALIAS_Q), &hex(ALIAS_R)), blocked);
}

#[test]
fn bogus_nxdomain_and_ignore_address_look_at_every_address() {
    let g = Guards {
        bogus_nxdomain: vec![AddrPrefix::host(ip("198.51.100.66"))],
        ignore_address: vec![AddrPrefix::new(ip("203.0.113.0"), 24)],
        ..Guards::default()
    };
    assert_eq!(
        g.check_answer(&key(BOGUS2_Q), &hex(BOGUS2_R)),
        AnswerVerdict::Replace(GuardReply::BOGUS_NXDOMAIN)
    );
    assert_eq!(
        g.check_answer(&key(IGNORED_Q), &hex(IGNORED_R)),
        AnswerVerdict::Ignore
    );
    assert_eq!(
        g.check_answer(&key(PRIV10_Q), &hex(PRIV10_R)),
        AnswerVerdict::Accept
    );
    // Garbage is left to the normaliser.
    assert_eq!(
        g.check_answer(&key(PRIV10_Q), &[1, 2, 3]),
        AnswerVerdict::Accept
    );
}

#[test]
fn prefixes_contain_their_addresses() {
    let p = AddrPrefix::new(ip("198.51.100.0"), 24);
    assert!(p.contains(ip("198.51.100.255")));
    assert!(!p.contains(ip("198.51.101.0")));
    assert!(!p.contains(ip("::ffff:198.51.100.1")));
    assert!(AddrPrefix::new(ip("0.0.0.0"), 0).contains(ip("1.2.3.4")));
    let v6 = AddrPrefix::new(ip("2001:db8::"), 32);
    assert!(v6.contains(ip("2001:db8:ffff::1")));
    assert!(!v6.contains(ip("2001:db9::1")));
    assert!(AddrPrefix::host(ip("::1")).contains(ip("::1")));
    assert!(!AddrPrefix::host(ip("::1")).contains(ip("::2")));
}

fn normalized(q: &str, r: &str) -> StoredAnswer {
    normalize_response(&hex(r), &key(q), &NormalizeOptions::default())
        .unwrap()
        .0
}

#[test]
fn filters_remove_records_and_leave_nodata() {
    let g = Guards {
        filter: RecordFilter {
            types: vec![TYPE_A],
            any: false,
        },
        ..Guards::default()
    };
    // A CNAME chain keeps the CNAME: still NOERROR, no record of the asked type.
    let a = normalized(ALIASPUB_Q, ALIASPUB_R);
    let (f, removed) = g.filter_answer(TYPE_A, &a).unwrap();
    assert_eq!(removed, 1);
    assert_eq!(f.counts(), (1, 0));
    assert_eq!(f.kind(), AnswerKind::NoData);
    let qb = hex(ALIASPUB_Q);
    let q = parse_query(&qb).unwrap();
    let mut out = [0u8; 512];
    let n = f.write_reply(&q, 0, None, 1232, true, &mut out);
    let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        m.answers[0].record_type(),
        hickory_proto::rr::RecordType::CNAME
    );
    // Both addresses gone.
    let (f, removed) = g
        .filter_answer(TYPE_A, &normalized(MIXED_Q, MIXED_R))
        .unwrap();
    assert_eq!((removed, f.counts()), (2, (0, 0)));
    // AAAA filtering leaves an A answer alone.
    let g6 = Guards {
        filter: RecordFilter {
            types: vec![TYPE_AAAA],
            any: false,
        },
        ..Guards::default()
    };
    assert!(
        g6.filter_answer(TYPE_A, &normalized(MIXED_Q, MIXED_R))
            .is_none()
    );
    assert!(
        Guards::default()
            .filter_answer(TYPE_A, &normalized(MIXED_Q, MIXED_R))
            .is_none()
    );
}

#[test]
fn filtered_answer_replays_with_patched_ttls() {
    let g = Guards {
        filter: RecordFilter {
            types: vec![TYPE_CNAME],
            any: false,
        },
        ..Guards::default()
    };
    let (f, removed) = g
        .filter_answer(TYPE_A, &normalized(ALIASPUB_Q, ALIASPUB_R))
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(f.kind(), AnswerKind::Positive);
    let qb = hex(ALIASPUB_Q);
    let q = parse_query(&qb).unwrap();
    let mut out = [0u8; 512];
    let n = f.write_reply(&q, 100, None, 1232, true, &mut out);
    let m = hickory_proto::op::Message::from_vec(&out[..n]).unwrap();
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].ttl, 3600 - 100);
}

#[test]
fn filter_rr_any_keeps_address_mail_and_alias_records() {
    let f = RecordFilter {
        types: Vec::new(),
        any: true,
    };
    // A, AAAA, MX, CNAME (documented) and NS, SRV (what dnsmasq 2.90 keeps).
    for t in [TYPE_A, TYPE_AAAA, TYPE_MX, TYPE_CNAME, 2, 33] {
        assert!(!f.removes(TYPE_ANY, t));
    }
    // TXT, PTR, HINFO, CAA, NAPTR, DNAME, HTTPS go.
    for t in [16, 12, 13, 257, 35, 39, 65] {
        assert!(f.removes(TYPE_ANY, t), "type {t}");
    }
    assert!(!f.removes(16, 16));
}

/// Encoder for the round trip: the full reverse name of an address (RFC 1035 §3.5, RFC 3596 §2.5).
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s + "ip6.arpa"
        }
    }
}

proptest! {
    #[test]
    fn reverse_names_round_trip_v4(a in any::<u32>()) {
        let ip = IpAddr::V4(Ipv4Addr::from(a));
        prop_assert_eq!(reverse_name_addr(&wire(&reverse_name(ip))), Some(ip));
    }

    #[test]
    fn reverse_names_round_trip_v6(a in any::<u128>()) {
        let ip = IpAddr::V6(Ipv6Addr::from(a));
        prop_assert_eq!(reverse_name_addr(&wire(&reverse_name(ip))), Some(ip));
    }

    #[test]
    fn check_query_never_panics(name in proptest::collection::vec(any::<u8>(), 0..60), t in any::<u16>()) {
        let g = Guards { domain_needed: true, bogus_priv: true, filterwin2k: true, ..Guards::default() };
        // Arbitrary bytes are not always a wire name; only the label walk must stay in bounds.
        let _ = g.check_query(&QuestionKey::new(&name, t, CLASS_IN));
        let _ = reverse_name_addr(&name);
    }
}
