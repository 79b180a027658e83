//! The forwarder with guards on: where the query and answer guards take effect, and what they
//! leave in the cache.

use super::*;
use crate::dns::cache::CacheConfig;
use crate::dns::guard::{AddrPrefix, RecordFilter};
use crate::dns::servers::{DomainAction, DomainPattern, ServerTableBuilder};
use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const UP: &str = "127.0.0.2:53";
const REV_UP: &str = "127.0.0.9:53";

fn client() -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], 4000)),
        local: None,
        ifindex: 0,
        socket: 0,
        tcp: None,
    }
}

fn query(id: u16, name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(Name::from_ascii(name).unwrap(), rtype));
    m.to_vec().unwrap()
}

/// A reply to `upstream_query` with a CNAME to `target.test.` and A records for `ips`.
fn answer(upstream_query: &[u8], cname: bool, ips: &[Ipv4Addr]) -> Vec<u8> {
    let q = Message::from_vec(upstream_query).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    let hq = q.queries[0].clone();
    let mut owner = hq.name().clone();
    m.add_query(hq);
    if cname {
        let target = Name::from_ascii("target.test.").unwrap();
        m.add_answer(Record::from_rdata(
            owner.clone(),
            300,
            RData::CNAME(CNAME(target.clone())),
        ));
        owner = target;
    }
    for ip in ips {
        m.add_answer(Record::from_rdata(owner.clone(), 300, RData::A(A(*ip))));
    }
    m.to_vec().unwrap()
}

/// Replies to the client, and upstream queries (slot, server, bytes).
type Sent = (Vec<Message>, Vec<(u16, SocketAddr, Vec<u8>)>);

struct Harness {
    fwd: Forwarder,
    out: Outbox,
    registry: Arc<StatsRegistry>,
}

impl Harness {
    fn new(guards: Guards) -> Self {
        let mut b = ServerTableBuilder::new();
        b.add_default(UP.parse().unwrap());
        b.add_domain(
            &DomainPattern::Suffix("9.10.in-addr.arpa".into()),
            DomainAction::Forward(REV_UP.parse().unwrap()),
        );
        let registry = Arc::new(StatsRegistry::new(1));
        let cache = Arc::new(DnsCache::new(CacheConfig {
            max_entries: 100,
            use_stale_secs: None,
            no_negcache: false,
        }));
        let fwd = Forwarder::new(
            ForwarderConfig {
                guards,
                ..ForwarderConfig::default()
            },
            Shared {
                cache: Some(cache),
                registry: Arc::clone(&registry),
                in_flight: None,
            },
            registry.worker(0),
            Arc::new(b.build()),
            test_seed(3),
        );
        Self {
            fwd,
            out: Outbox::new(),
            registry,
        }
    }

    /// Sends a client query; returns (replies to the client, upstream queries).
    fn ask(&mut self, name: &str, rtype: RecordType) -> Sent {
        self.fwd.handle_query(
            Instant(1_000),
            client(),
            &query(0x4242, name, rtype),
            &mut self.out,
        );
        self.take()
    }

    fn upstream(&mut self, slot: u16, from: SocketAddr, reply: &[u8]) -> Vec<Message> {
        self.fwd
            .handle_upstream(Instant(1_010), slot, from, reply, &mut self.out);
        self.take().0
    }

    fn take(&mut self) -> Sent {
        let mut replies = Vec::new();
        let mut ups = Vec::new();
        for t in self.out.drain() {
            match t.to {
                Destination::Client(_) => replies.push(Message::from_vec(t.data()).unwrap()),
                Destination::Upstream { slot, server } => {
                    ups.push((slot, server, t.data().to_vec()))
                }
                Destination::UpstreamTcp { .. } => {}
            }
        }
        (replies, ups)
    }
}

#[test]
fn query_guards_answer_without_forwarding() {
    let mut h = Harness::new(Guards {
        domain_needed: true,
        bogus_priv: true,
        filterwin2k: true,
        ..Guards::default()
    });
    let (r, ups) = h.ask("foo.", RecordType::A);
    assert!(ups.is_empty());
    assert_eq!(r[0].metadata.response_code, ResponseCode::NXDomain);
    assert!(!r[0].metadata.authoritative);
    let (r, ups) = h.ask("3.2.1.10.in-addr.arpa.", RecordType::PTR);
    assert!(ups.is_empty());
    assert_eq!(r[0].metadata.response_code, ResponseCode::NXDomain);
    assert!(r[0].metadata.authoritative);
    let (r, ups) = h.ask("example.test.", RecordType::SOA);
    assert!(ups.is_empty());
    assert_eq!(r[0].metadata.response_code, ResponseCode::NoError);
    assert!(r[0].answers.is_empty());
    assert_eq!(h.registry.total(Counter::DomainNeeded), 1);
    assert_eq!(h.registry.total(Counter::BogusPriv), 1);
    assert_eq!(h.registry.total(Counter::Filterwin2k), 1);
    // A --server rule for the reverse zone wins over --bogus-priv, as in dnsmasq.
    let (r, ups) = h.ask("3.2.9.10.in-addr.arpa.", RecordType::PTR);
    assert!(r.is_empty());
    assert_eq!(ups[0].1, REV_UP.parse::<SocketAddr>().unwrap());
    // Other names and types go on as usual.
    let (r, ups) = h.ask("foo.", RecordType::MX);
    assert!(r.is_empty() && ups.len() == 1);
}

#[test]
fn rebind_blocks_and_does_not_cache() {
    let mut h = Harness::new(Guards {
        stop_dns_rebind: true,
        ..Guards::default()
    });
    for _ in 0..2 {
        let (_, ups) = h.ask("www.test.", RecordType::A);
        let (slot, from, uq) = &ups[0];
        let r = h.upstream(
            *slot,
            *from,
            &answer(uq, true, &[Ipv4Addr::new(192, 168, 1, 1)]),
        );
        assert_eq!(r[0].metadata.response_code, ResponseCode::NoError);
        assert!(r[0].metadata.authoritative);
        assert!(r[0].answers.is_empty());
    }
    assert_eq!(h.registry.total(Counter::RebindBlocked), 2);
    assert_eq!(h.registry.total(Counter::CacheAnswers), 0);
}

#[test]
fn ignored_answer_leaves_the_query_waiting() {
    let mut h = Harness::new(Guards {
        ignore_address: vec![AddrPrefix::host(IpAddr::from([203, 0, 113, 99]))],
        bogus_nxdomain: vec![AddrPrefix::host(IpAddr::from([198, 51, 100, 66]))],
        ..Guards::default()
    });
    let (_, ups) = h.ask("www.test.", RecordType::A);
    let (slot, from, uq) = &ups[0];
    let forged = answer(uq, false, &[Ipv4Addr::new(203, 0, 113, 99)]);
    assert!(h.upstream(*slot, *from, &forged).is_empty());
    assert_eq!(h.registry.drops(DropReason::IgnoredAddress), 1);
    // The real answer, on the same attempt, still gets through.
    let real = answer(uq, false, &[Ipv4Addr::new(93, 184, 216, 10)]);
    let r = h.upstream(*slot, *from, &real);
    assert_eq!(r[0].answers.len(), 1);
    // -B: NXDOMAIN instead.
    let (_, ups) = h.ask("ads.test.", RecordType::A);
    let (slot, from, uq) = &ups[0];
    let r = h.upstream(
        *slot,
        *from,
        &answer(uq, false, &[Ipv4Addr::new(198, 51, 100, 66)]),
    );
    assert_eq!(r[0].metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(h.registry.total(Counter::BogusNxDomain), 1);
}

#[test]
fn filtered_answer_is_cached_filtered() {
    let mut h = Harness::new(Guards {
        filter: RecordFilter {
            types: vec![1],
            any: false,
        },
        ..Guards::default()
    });
    let (_, ups) = h.ask("www.test.", RecordType::A);
    let (slot, from, uq) = &ups[0];
    let r = h.upstream(
        *slot,
        *from,
        &answer(uq, true, &[Ipv4Addr::new(93, 184, 216, 10)]),
    );
    assert_eq!(r[0].metadata.response_code, ResponseCode::NoError);
    assert_eq!(r[0].answers.len(), 1);
    assert_eq!(r[0].answers[0].record_type(), RecordType::CNAME);
    assert_eq!(h.registry.total(Counter::FilteredRecords), 1);
    // From the cache: the same filtered answer, nothing upstream.
    let (r, ups) = h.ask("www.test.", RecordType::A);
    assert!(ups.is_empty());
    assert_eq!(r[0].answers.len(), 1);
    assert_eq!(r[0].answers[0].record_type(), RecordType::CNAME);
}
