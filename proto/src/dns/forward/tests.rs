//! Forwarder scenarios driven in-process, time as an argument.

use super::*;
use crate::dns::cache::CacheConfig;
use crate::dns::servers::ServerTableBuilder;
use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use std::net::{Ipv4Addr, SocketAddr};

const UP1: &str = "127.0.0.2:53";
const UP2: &str = "127.0.0.3:53";

fn client(port: u16) -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], port)),
        local: None,
        ifindex: 0,
        socket: 0,
        tcp: None,
    }
}

pub(super) fn query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), rtype));
    m.to_vec().unwrap()
}

pub(super) fn answer_for(upstream_query: &[u8], ip: Ipv4Addr, ttl: u32) -> Vec<u8> {
    let q = Message::from_vec(upstream_query).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    let hq = q.queries[0].clone();
    let name = hq.name().clone();
    m.add_query(hq);
    m.add_answer(Record::from_rdata(name, ttl, RData::A(A(ip))));
    m.to_vec().unwrap()
}

fn rcode_for(upstream_query: &[u8], rc: ResponseCode) -> Vec<u8> {
    let q = Message::from_vec(upstream_query).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.response_code = rc;
    m.add_query(q.queries[0].clone());
    m.to_vec().unwrap()
}

struct Harness {
    fwd: Forwarder,
    out: Outbox,
    registry: Arc<StatsRegistry>,
}

impl Harness {
    fn new(servers: &[&str], cfg: ForwarderConfig) -> Self {
        let mut b = ServerTableBuilder::new();
        for s in servers {
            b.add_default(s.parse().unwrap());
        }
        let registry = Arc::new(StatsRegistry::new(1));
        let cache = Arc::new(DnsCache::new(CacheConfig {
            max_entries: 1000,
            use_stale_secs: None,
            no_negcache: false,
        }));
        let fwd = Forwarder::new(
            ForwarderConfig {
                upstream_slots: 8,
                ..cfg
            },
            Shared {
                cache: Some(cache),
                registry: Arc::clone(&registry),
                in_flight: None,
            },
            registry.worker(0),
            Arc::new(b.build()),
            test_seed(7),
        );
        Self {
            fwd,
            out: Outbox::new(),
            registry,
        }
    }

    fn take(&mut self) -> Vec<(Destination, Vec<u8>)> {
        let v: Vec<_> = self
            .out
            .drain()
            .map(|t| (t.to, t.data().to_vec()))
            .collect();
        v
    }

    fn upstream_of(sent: &[(Destination, Vec<u8>)]) -> Vec<(u16, SocketAddr, Vec<u8>)> {
        sent.iter()
            .filter_map(|(d, b)| match d {
                Destination::Upstream { slot, server } => Some((*slot, *server, b.clone())),
                _ => None,
            })
            .collect()
    }
}

fn msg(b: &[u8]) -> Message {
    Message::from_vec(b).unwrap()
}

#[test]
fn miss_then_hit_with_forgeries_rejected() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let t0 = Instant(1_000_000);
    h.fwd.handle_query(
        t0,
        client(4000),
        &query(0x1234, "WwW.Example.COM.", RecordType::A),
        &mut h.out,
    );
    let sent = h.take();
    let ups = Harness::upstream_of(&sent);
    assert_eq!(ups.len(), 1, "one upstream query");
    let (slot, server, uq) = &ups[0];
    assert_eq!(*server, UP1.parse::<SocketAddr>().unwrap());
    assert_ne!(
        u16::from_be_bytes([uq[0], uq[1]]),
        0x1234,
        "fresh ID upstream"
    );
    let real = answer_for(uq, Ipv4Addr::new(192, 0, 2, 1), 300);
    // Wrong ID.
    let mut forged = real.clone();
    forged[0] ^= 0x55;
    h.fwd
        .handle_upstream(t0, *slot, *server, &forged, &mut h.out);
    // Wrong source port.
    h.fwd.handle_upstream(
        t0,
        *slot,
        "127.0.0.2:54".parse().unwrap(),
        &real,
        &mut h.out,
    );
    // Wrong socket (destination port).
    h.fwd
        .handle_upstream(t0, (*slot + 1) % 8, *server, &real, &mut h.out);
    // Wrong question.
    let other = answer_for(
        &query(
            u16::from_be_bytes([uq[0], uq[1]]),
            "www.example.net.",
            RecordType::A,
        ),
        Ipv4Addr::new(6, 6, 6, 6),
        300,
    );
    h.fwd
        .handle_upstream(t0, *slot, *server, &other, &mut h.out);
    assert!(h.take().is_empty(), "no forgery answered");
    assert_eq!(h.registry.drops(DropReason::RejectedAnswer), 4);
    h.fwd.handle_upstream(t0, *slot, *server, &real, &mut h.out);
    let sent = h.take();
    assert_eq!(sent.len(), 1);
    let reply = msg(&sent[0].1);
    assert_eq!(reply.metadata.id, 0x1234);
    assert_eq!(reply.queries[0].name().to_ascii(), "WwW.Example.COM.");
    assert_eq!(reply.answers.len(), 1);
    // A second query ten seconds later comes from the cache with a lower TTL.
    let t1 = Instant(t0.0 + 10_000);
    h.fwd.handle_query(
        t1,
        client(4001),
        &query(0x7777, "www.example.com.", RecordType::A),
        &mut h.out,
    );
    let sent = h.take();
    assert!(Harness::upstream_of(&sent).is_empty());
    let reply = msg(&sent[0].1);
    assert_eq!(reply.metadata.id, 0x7777);
    assert_eq!(reply.answers[0].ttl, 290);
}

#[test]
fn identical_questions_merge_into_one_upstream_query() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let t0 = Instant(5000);
    let clients = MAX_WAITERS as u16 + 20;
    for i in 0..clients {
        h.fwd.handle_query(
            t0,
            client(5000 + i),
            &query(i, "merge.test.", RecordType::A),
            &mut h.out,
        );
    }
    let sent = h.take();
    let ups = Harness::upstream_of(&sent);
    assert_eq!(ups.len(), 1);
    let (slot, server, uq) = &ups[0];
    h.fwd.handle_upstream(
        t0,
        *slot,
        *server,
        &answer_for(uq, Ipv4Addr::new(192, 0, 2, 9), 60),
        &mut h.out,
    );
    let sent = h.take();
    // MAX_WAITERS clients get the answer; the rest were dropped and counted.
    assert_eq!(sent.len(), MAX_WAITERS);
    assert_eq!(
        h.registry.drops(DropReason::InFlightFull),
        u64::from(clients) - MAX_WAITERS as u64
    );
}

#[test]
fn timeout_moves_to_next_server_then_servfail() {
    let mut h = Harness::new(
        &[UP1, UP2],
        ForwarderConfig {
            attempt_timeout_ms: 1000,
            total_timeout_ms: 3000,
            ..ForwarderConfig::default()
        },
    );
    let t0 = Instant(10_000);
    h.fwd.handle_query(
        t0,
        client(6000),
        &query(9, "slow.test.", RecordType::A),
        &mut h.out,
    );
    let first = Harness::upstream_of(&h.take());
    assert_eq!(first.len(), 1);
    assert_eq!(h.fwd.poll_timeout(), Some(Instant(11_000)));
    h.fwd.handle_timeout(Instant(11_000), &mut h.out);
    let second = Harness::upstream_of(&h.take());
    assert_eq!(second.len(), 1);
    assert_ne!(first[0].1, second[0].1, "next server tried");
    // A late answer from the first server is still accepted.
    h.fwd.handle_timeout(Instant(12_000), &mut h.out);
    h.take();
    h.fwd.handle_timeout(Instant(13_000), &mut h.out);
    let sent = h.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        msg(&sent[0].1).metadata.response_code,
        ResponseCode::ServFail
    );
    assert_eq!(h.fwd.in_flight(), 0);
}

#[test]
fn refused_moves_on_and_truncated_goes_tcp() {
    let mut h = Harness::new(&[UP1, UP2], ForwarderConfig::default());
    let t0 = Instant(10_000);
    h.fwd.handle_query(
        t0,
        client(6001),
        &query(3, "big.test.", RecordType::TXT),
        &mut h.out,
    );
    let ups = Harness::upstream_of(&h.take());
    let (slot, server, uq) = &ups[0];
    h.fwd.handle_upstream(
        t0,
        *slot,
        *server,
        &rcode_for(uq, ResponseCode::Refused),
        &mut h.out,
    );
    let ups2 = Harness::upstream_of(&h.take());
    assert_eq!(ups2.len(), 1, "REFUSED moves to the next server");
    let (slot, server, uq) = &ups2[0];
    let mut tc = answer_for(uq, Ipv4Addr::new(1, 2, 3, 4), 60);
    tc[2] |= 0x02; // TC
    h.fwd.handle_upstream(t0, *slot, *server, &tc, &mut h.out);
    let sent = h.take();
    let (token, framed) = match &sent[..] {
        [(Destination::UpstreamTcp { token, server: s }, b)] => {
            assert_eq!(s, server);
            (*token, b.clone())
        }
        other => panic!("expected a TCP retry, got {other:?}"),
    };
    let tcp_query = &framed[2..];
    assert_eq!(
        u16::from_be_bytes([framed[0], framed[1]]) as usize,
        tcp_query.len()
    );
    let full = answer_for(tcp_query, Ipv4Addr::new(1, 2, 3, 4), 60);
    h.fwd
        .handle_upstream_tcp(t0, token, Some(&full), &mut h.out);
    let sent = h.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(msg(&sent[0].1).metadata.id, 3);
}

#[test]
fn over_forward_max_is_refused() {
    let mut h = Harness::new(
        &[UP1],
        ForwarderConfig {
            dns_forward_max: 2,
            ..ForwarderConfig::default()
        },
    );
    let t0 = Instant(1);
    for (i, n) in ["a.test.", "b.test.", "c.test."].iter().enumerate() {
        h.fwd.handle_query(
            t0,
            client(7000 + i as u16),
            &query(i as u16, n, RecordType::A),
            &mut h.out,
        );
    }
    let sent = h.take();
    assert_eq!(Harness::upstream_of(&sent).len(), 2);
    let refused: Vec<_> = sent
        .iter()
        .filter(|(d, _)| matches!(d, Destination::Client(_)))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        msg(&refused[0].1).metadata.response_code,
        ResponseCode::Refused
    );
    assert_eq!(h.registry.drops(DropReason::ForwardLimit), 1);
}

#[test]
fn negative_answer_is_cached_by_soa_minimum() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let t0 = Instant(100_000);
    h.fwd.handle_query(
        t0,
        client(8000),
        &query(1, "nx.example.", RecordType::A),
        &mut h.out,
    );
    let ups = Harness::upstream_of(&h.take());
    let (slot, server, uq) = &ups[0];
    let q = msg(uq);
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.response_code = ResponseCode::NXDomain;
    m.add_query(q.queries[0].clone());
    let zone = Name::from_ascii("example.").unwrap();
    m.add_authority(Record::from_rdata(
        zone.clone(),
        3600,
        RData::SOA(SOA::new(zone.clone(), zone, 1, 3600, 600, 86400, 30)),
    ));
    h.fwd
        .handle_upstream(t0, *slot, *server, &m.to_vec().unwrap(), &mut h.out);
    assert_eq!(
        msg(&h.take()[0].1).metadata.response_code,
        ResponseCode::NXDomain
    );
    // Within 30 s: from the cache.
    h.fwd.handle_query(
        Instant(t0.0 + 20_000),
        client(8001),
        &query(2, "nx.example.", RecordType::A),
        &mut h.out,
    );
    let sent = h.take();
    assert!(Harness::upstream_of(&sent).is_empty());
    assert_eq!(
        msg(&sent[0].1).metadata.response_code,
        ResponseCode::NXDomain
    );
    // After 30 s: upstream again.
    h.fwd.handle_query(
        Instant(t0.0 + 31_000),
        client(8002),
        &query(3, "nx.example.", RecordType::A),
        &mut h.out,
    );
    assert_eq!(Harness::upstream_of(&h.take()).len(), 1);
    let _ = DNSClass::IN;
}

#[test]
fn malformed_and_response_packets_are_dropped_and_counted() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    for junk in [&b""[..], b"\x00\x01", &[0x01u8; 40][..]] {
        h.fwd.handle_query(Instant(1), client(1), junk, &mut h.out);
    }
    let mut resp = query(5, "x.test.", RecordType::A);
    resp[2] |= 0x80;
    h.fwd.handle_query(Instant(1), client(1), &resp, &mut h.out);
    assert!(h.take().is_empty());
    assert_eq!(h.registry.drops(DropReason::MalformedQuery), 3);
    assert_eq!(h.registry.drops(DropReason::ResponseFromClient), 1);
}

#[test]
fn without_fast_retry_a_lone_server_is_asked_once() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let t0 = Instant(50_000);
    h.fwd.handle_query(
        t0,
        client(9000),
        &query(1, "once.test.", RecordType::A),
        &mut h.out,
    );
    assert_eq!(Harness::upstream_of(&h.take()).len(), 1);
    for s in 1..=9u64 {
        h.fwd.handle_timeout(Instant(t0.0 + s * 1000), &mut h.out);
        assert!(
            Harness::upstream_of(&h.take()).is_empty(),
            "no resend at {s} s"
        );
    }
    h.fwd.handle_timeout(Instant(t0.0 + 10_000), &mut h.out);
    let sent = h.take();
    assert_eq!(
        msg(&sent[0].1).metadata.response_code,
        ResponseCode::ServFail
    );
}

#[test]
fn with_fast_retry_a_lone_server_is_asked_again_with_back_off() {
    let mut h = Harness::new(
        &[UP1],
        ForwarderConfig {
            attempt_timeout_ms: 200,
            backoff: true,
            total_timeout_ms: 3000,
            ..ForwarderConfig::default()
        },
    );
    let t0 = Instant(50_000);
    h.fwd.handle_query(
        t0,
        client(9001),
        &query(1, "again.test.", RecordType::A),
        &mut h.out,
    );
    assert_eq!(Harness::upstream_of(&h.take()).len(), 1);
    let mut resends = Vec::new();
    let mut t = t0.0;
    while let Some(next) = h.fwd.poll_timeout() {
        t = next.0;
        h.fwd.handle_timeout(next, &mut h.out);
        if !Harness::upstream_of(&h.take()).is_empty() {
            resends.push(t - t0.0);
        }
    }
    assert!(t <= t0.0 + 3000);
    assert_eq!(
        resends,
        vec![200, 600, 1400],
        "waits double: 200, 400, 800 ms"
    );
}

#[test]
fn a_new_server_list_takes_over_queries_in_flight() {
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let t0 = Instant(70_000);
    h.fwd.handle_query(
        t0,
        client(9100),
        &query(7, "moved.test.", RecordType::A),
        &mut h.out,
    );
    let first = Harness::upstream_of(&h.take());
    assert_eq!(first[0].1, UP1.parse::<SocketAddr>().unwrap());
    let mut b = ServerTableBuilder::new();
    b.add_default(UP2.parse().unwrap());
    h.fwd.set_servers(Arc::new(b.build()));
    // The client retries: the query goes to the new server at once.
    h.fwd.handle_query(
        Instant(t0.0 + 600),
        client(9100),
        &query(7, "moved.test.", RecordType::A),
        &mut h.out,
    );
    let second = Harness::upstream_of(&h.take());
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].1, UP2.parse::<SocketAddr>().unwrap());
    let (slot, server, uq) = &second[0];
    h.fwd.handle_upstream(
        Instant(t0.0 + 700),
        *slot,
        *server,
        &answer_for(uq, Ipv4Addr::new(192, 0, 2, 7), 60),
        &mut h.out,
    );
    assert_eq!(msg(&h.take()[0].1).answers.len(), 1);
    assert_eq!(h.fwd.in_flight(), 0);
}

/// An NXDOMAIN with an SOA for `uq`'s question.
fn nxdomain_for(uq: &[u8]) -> Vec<u8> {
    let q = msg(uq);
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.response_code = ResponseCode::NXDomain;
    m.metadata.recursion_available = true;
    m.add_query(q.queries[0].clone());
    let zone = Name::from_ascii("test.").unwrap();
    m.add_authority(Record::from_rdata(
        zone.clone(),
        60,
        RData::SOA(SOA::new(zone.clone(), zone, 1, 2, 3, 4, 60)),
    ));
    m.to_vec().unwrap()
}

#[test]
fn upstream_nxdomain_for_a_local_name_becomes_noerror_aa() {
    use crate::dns::local::LocalDataBuilder;
    use crate::dns::servers::{DomainAction, DomainPattern};
    let mut h = Harness::new(&[UP1], ForwarderConfig::default());
    let mut b = ServerTableBuilder::new();
    b.add_default(UP1.parse().unwrap());
    b.add_domain(
        &DomainPattern::Suffix("addr.test".into()),
        DomainAction::Address("192.0.2.1".parse().unwrap()),
    );
    h.fwd.set_servers(Arc::new(b.build()));
    let mut l = LocalDataBuilder::new();
    l.mx("mx.lab.test", 5, "mail.lab.test").unwrap();
    h.fwd.set_local(Some(Arc::new(l.build(0, None))));
    let t0 = Instant(100_000);
    // (name, type, rewritten): dnsmasq 2.90's observed answers.
    let cases = [
        ("mx.lab.test.", RecordType::A, true),
        ("lab.test.", RecordType::MX, true),
        ("x.mx.lab.test.", RecordType::MX, false),
        ("X.Addr.Test.", RecordType::MX, true),
        ("other.test.", RecordType::A, false),
    ];
    for (i, (name, t, rewritten)) in cases.into_iter().enumerate() {
        for round in 0..2u16 {
            let id = i as u16 * 2 + round;
            h.fwd
                .handle_query(t0, client(9000 + id), &query(id, name, t), &mut h.out);
            let ups = Harness::upstream_of(&h.take());
            // Never cached in either form: the second round goes upstream again when rewritten.
            if round == 1 && !rewritten {
                assert!(ups.is_empty(), "{name}: negative answer cached");
                continue;
            }
            let (slot, server, uq) = &ups[0];
            h.fwd
                .handle_upstream(t0, *slot, *server, &nxdomain_for(uq), &mut h.out);
            let reply = msg(&h.take()[0].1);
            let (rc, aa) = if rewritten {
                (ResponseCode::NoError, true)
            } else {
                (ResponseCode::NXDomain, false)
            };
            assert_eq!(reply.metadata.response_code, rc, "{name}");
            assert_eq!(reply.metadata.authoritative, aa, "{name}");
            assert_eq!(reply.authorities.len(), 1, "{name}: SOA kept");
            assert!(reply.answers.is_empty());
        }
    }
}

#[test]
fn localmx_answers_lease_names_after_mx_host_records() {
    use crate::dhcp::DhcpNames;
    use crate::dns::local::{LocalDataBuilder, wire_name};
    use crate::dns::local_mx::LocalMx;
    let cfg = ForwarderConfig {
        local_mx: Some(LocalMx::Target(wire_name("mail.lab.test").unwrap())),
        local_ttl: 9,
        ..ForwarderConfig::default()
    };
    let mut h = Harness::new(&[UP1], cfg);
    let leases = [("10.0.0.5", "laptop"), ("10.0.0.6", "nas")];
    h.fwd.set_dhcp_names(Some(Arc::new(DhcpNames::build(
        leases,
        Some("lan.test"),
        0,
    ))));
    let mut l = LocalDataBuilder::new();
    l.mx("nas.lan.test", 5, "relay.lab.test").unwrap();
    h.fwd.set_local(Some(Arc::new(l.build(0, None))));
    let t0 = Instant(100_000);
    // (name, the MX exchange answered locally; None: forwarded).
    let cases = [
        ("laptop.lan.test.", Some((1, "mail.lab.test."))),
        ("LAPTOP.", Some((1, "mail.lab.test."))),
        ("nas.lan.test.", Some((5, "relay.lab.test."))),
        ("printer.lan.test.", None),
    ];
    for (i, (name, want)) in cases.into_iter().enumerate() {
        let q = query(i as u16, name, RecordType::MX);
        h.fwd
            .handle_query(t0, client(9100 + i as u16), &q, &mut h.out);
        let sent = h.take();
        match want {
            Some((pref, exchange)) => {
                let reply = msg(&sent[0].1);
                let RData::MX(mx) = &reply.answers[0].data else {
                    panic!("{name}: {reply:?}")
                };
                assert_eq!(
                    (mx.preference, mx.exchange.to_string()),
                    (pref, exchange.into())
                );
                assert_eq!(reply.answers[0].name.to_string(), name, "case kept");
            }
            None => assert_eq!(Harness::upstream_of(&sent).len(), 1, "{name}"),
        }
    }
}
