//! Two workers' forwarders sharing one [`SharedInFlight`]: identical questions on different
//! workers leave as one upstream query (CVE-2020-25686).

use super::*;
use crate::dns::cache::CacheConfig;
use crate::dns::servers::ServerTableBuilder;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use std::net::{Ipv4Addr, SocketAddr};

const UP: &str = "127.0.0.2:53";

struct Pair {
    workers: [Forwarder; 2],
    outs: [Outbox; 2],
    in_flight: Arc<SharedInFlight>,
    registry: Arc<StatsRegistry>,
}

impl Pair {
    fn new() -> Self {
        let mut b = ServerTableBuilder::new();
        b.add_default(UP.parse().unwrap());
        let table = Arc::new(b.build());
        let registry = Arc::new(StatsRegistry::new(2));
        let cache = Arc::new(DnsCache::new(CacheConfig {
            max_entries: 1000,
            use_stale_secs: None,
            no_negcache: false,
        }));
        let in_flight = Arc::new(SharedInFlight::new());
        let worker = |id: u16| {
            Forwarder::new(
                ForwarderConfig {
                    upstream_slots: 8,
                    id_lane: (id, 2),
                    attempt_timeout_ms: 1000,
                    total_timeout_ms: 2000,
                    ..ForwarderConfig::default()
                },
                Shared {
                    cache: Some(Arc::clone(&cache)),
                    registry: Arc::clone(&registry),
                    in_flight: Some(Arc::clone(&in_flight)),
                },
                registry.worker(usize::from(id)),
                Arc::clone(&table),
                test_seed(id as u8 + 1),
            )
        };
        Self {
            workers: [worker(0), worker(1)],
            outs: [Outbox::new(), Outbox::new()],
            in_flight,
            registry,
        }
    }

    fn ask(&mut self, w: usize, now: Instant, client: ClientEndpoint, q: &[u8]) {
        self.workers[w].handle_query(now, client, q, &mut self.outs[w]);
    }

    fn take(&mut self, w: usize) -> Vec<(Destination, Vec<u8>)> {
        self.outs[w]
            .drain()
            .map(|t| (t.to, t.data().to_vec()))
            .collect()
    }
}

fn udp_client(port: u16, socket: u16) -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], port)),
        local: Some("127.0.0.1".parse().unwrap()),
        ifindex: 1,
        socket,
        tcp: None,
    }
}

fn query(id: u16, name: &str) -> Vec<u8> {
    super::tests::query(id, name, RecordType::A)
}

fn answer_for(uq: &[u8], ip: Ipv4Addr) -> Vec<u8> {
    super::tests::answer_for(uq, ip, 60)
}

fn upstream(sent: &[(Destination, Vec<u8>)]) -> Vec<(u16, SocketAddr, Vec<u8>)> {
    sent.iter()
        .filter_map(|(d, b)| match d {
            Destination::Upstream { slot, server } => Some((*slot, *server, b.clone())),
            _ => None,
        })
        .collect()
}

fn clients(sent: &[(Destination, Vec<u8>)]) -> Vec<(ClientEndpoint, Message)> {
    sent.iter()
        .filter_map(|(d, b)| match d {
            Destination::Client(c) => Some((*c, Message::from_vec(b).unwrap())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_question_asked_on_two_workers_goes_upstream_once_and_both_clients_get_it() {
    let mut p = Pair::new();
    let t0 = Instant(10_000);
    p.ask(0, t0, udp_client(4000, 0), &query(0x1111, "dup.test."));
    // The second worker's client writes the name in another case, on listener socket 1.
    p.ask(1, t0, udp_client(4001, 1), &query(0x2222, "DuP.TeSt."));
    let up0 = upstream(&p.take(0));
    assert_eq!(up0.len(), 1, "the first worker forwards");
    assert!(p.take(1).is_empty(), "the second worker sends nothing");
    assert_eq!(p.in_flight.len(), 1);
    let (slot, server, uq) = &up0[0];
    p.workers[0].handle_upstream(
        t0,
        *slot,
        *server,
        &answer_for(uq, Ipv4Addr::new(192, 0, 2, 7)),
        &mut p.outs[0],
    );
    let mut answers = clients(&p.take(0));
    answers.sort_by_key(|(c, _)| c.peer.port());
    assert_eq!(answers.len(), 2, "the owner answers both clients");
    assert_eq!(answers[0].0, udp_client(4000, 0));
    assert_eq!(answers[0].1.metadata.id, 0x1111);
    // Same endpoint (address, local address, socket index) as the query arrived on.
    assert_eq!(answers[1].0, udp_client(4001, 1));
    assert_eq!(answers[1].1.metadata.id, 0x2222);
    assert_eq!(
        answers[1].1.queries[0].name().to_ascii(),
        "DuP.TeSt.",
        "the joiner's own case"
    );
    assert_eq!(answers[1].1.answers.len(), 1);
    assert!(p.in_flight.is_empty(), "the claim ended");
    assert_eq!(p.registry.total(Counter::Merged), 1);
    // Asked again on the second worker: a cache hit, nothing upstream.
    p.ask(1, t0, udp_client(4002, 0), &query(0x3333, "dup.test."));
    let sent = p.take(1);
    assert!(upstream(&sent).is_empty());
    assert_eq!(clients(&sent).len(), 1);
}

#[test]
fn joiners_of_a_query_that_times_out_get_servfail_from_the_owner() {
    let mut p = Pair::new();
    let t0 = Instant(20_000);
    p.ask(0, t0, udp_client(5000, 0), &query(1, "slow.test."));
    for i in 0..10 {
        p.ask(
            1,
            t0,
            udp_client(5001 + i, 0),
            &query(100 + i, "slow.test."),
        );
    }
    // A retry of a client already waiting is not a second waiter.
    p.ask(1, t0, udp_client(5001, 0), &query(100, "slow.test."));
    assert_eq!(upstream(&p.take(0)).len(), 1);
    assert!(p.take(1).is_empty());
    p.workers[0].handle_timeout(Instant(21_000), &mut p.outs[0]);
    p.take(0);
    p.workers[0].handle_timeout(Instant(22_000), &mut p.outs[0]);
    let answers = clients(&p.take(0));
    assert_eq!(
        answers.len(),
        11,
        "the owner's client and ten joiners, once each"
    );
    assert!(
        answers
            .iter()
            .all(|(_, m)| m.metadata.response_code == ResponseCode::ServFail)
    );
    assert!(p.in_flight.is_empty());
}

#[test]
fn tcp_clients_are_not_handed_over_and_refreshes_are_not_repeated() {
    let mut p = Pair::new();
    let t0 = Instant(30_000);
    p.ask(0, t0, udp_client(6000, 0), &query(1, "tcp.test."));
    let mut tcp = udp_client(6001, 0);
    tcp.tcp = Some(42);
    p.ask(1, t0, tcp, &query(2, "tcp.test."));
    assert_eq!(upstream(&p.take(0)).len(), 1);
    // The TCP client's connection lives on the second worker: it forwards on its own.
    assert_eq!(upstream(&p.take(1)).len(), 1);
    assert_eq!(p.in_flight.len(), 1, "one claim, held by the first worker");
}

#[test]
fn the_claim_is_dropped_when_the_forward_limit_refuses_and_joiners_are_refused_too() {
    let mut p = Pair::new();
    let mkey = MergeKey {
        key: QuestionKey::new(b"\x04full\x04test\x00", 1, 1),
        do_bit: false,
        cd_bit: false,
    };
    // Claimed by worker 0 with a joiner, as if worker 0 were just about to forward it.
    let joiner = Waiter::new(
        udp_client(7001, 0),
        &parse_query(&query(9, "full.test.")).unwrap(),
    );
    assert!(matches!(
        p.in_flight.claim(&mkey, 0, None),
        merge::Claim::Owner
    ));
    assert!(matches!(
        p.in_flight.claim(&mkey, 1, Some(joiner)),
        merge::Claim::Joined
    ));
    p.workers[0].refuse_joiners(&mkey, &mut p.outs[0]);
    let answers = clients(&p.take(0));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0.peer.port(), 7001);
    assert_eq!(answers[0].1.metadata.response_code, ResponseCode::Refused);
    assert!(p.in_flight.is_empty());
}
