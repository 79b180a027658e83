//! Which socket and ID an upstream query leaves with: the random pool, a server's own bound
//! socket (`--server=ADDR@SRC`), and ID lanes on ports every worker shares.

use super::*;
use crate::dns::cache::CacheConfig;
use crate::dns::servers::{DomainAction, DomainPattern, Egress, ServerTableBuilder};
use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery};
use hickory_proto::rr::{Name, RecordType};

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(HQuery::query(
        Name::from_ascii(name).unwrap(),
        RecordType::A,
    ));
    m.to_vec().unwrap()
}

fn forwarder(b: ServerTableBuilder, cfg: ForwarderConfig) -> Forwarder {
    let registry = Arc::new(StatsRegistry::new(1));
    let cache = Arc::new(DnsCache::new(CacheConfig {
        max_entries: 1000,
        use_stale_secs: None,
        no_negcache: false,
    }));
    Forwarder::new(
        cfg,
        Shared {
            cache: Some(cache),
            registry: Arc::clone(&registry),
            in_flight: None,
        },
        registry.worker(0),
        Arc::new(b.build()),
        [9; 32],
    )
}

/// Sends `n` distinct questions and returns (slot, server, upstream ID) of each upstream query.
fn send(fwd: &mut Forwarder, n: u16, suffix: &str) -> Vec<(u16, SocketAddr, u16)> {
    let mut out = Outbox::new();
    for i in 0..n {
        let client = ClientEndpoint {
            peer: SocketAddr::from(([127, 0, 0, 1], 4000 + i)),
            local: None,
            ifindex: 0,
            socket: 0,
            tcp: None,
        };
        fwd.handle_query(
            Instant(1_000_000),
            client,
            &query(i, &format!("q{i}.{suffix}.")),
            &mut out,
        );
    }
    out.drain()
        .filter_map(|t| match t.to {
            Destination::Upstream { slot, server } => {
                let d = t.data();
                Some((slot, server, u16::from_be_bytes([d[0], d[1]])))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn pool_queries_spread_over_the_pool_with_any_id() {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    let cfg = ForwarderConfig {
        upstream_slots: 8,
        id_lane: (1, 2),
        dns_forward_max: 1000,
        ..ForwarderConfig::default()
    };
    let sent = send(&mut forwarder(b, cfg), 400, "example");
    assert_eq!(sent.len(), 400);
    assert!(sent.iter().all(|(slot, _, _)| *slot < 8));
    let slots: std::collections::HashSet<_> = sent.iter().map(|s| s.0).collect();
    assert_eq!(slots.len(), 8, "every pool socket used");
    let odd = sent.iter().filter(|s| s.2 % 2 == 1).count();
    assert!(
        (100..300).contains(&odd),
        "IDs not confined to a lane: {odd} odd of 400"
    );
}

#[test]
fn shared_query_port_confines_ids_to_the_worker_lane() {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    for (lane, lanes) in [(0u16, 2u16), (1, 2), (2, 3), (6, 7)] {
        let cfg = ForwarderConfig {
            upstream_slots: 1,
            pool_port_shared: true,
            id_lane: (lane, lanes),
            dns_forward_max: 1000,
            ..ForwarderConfig::default()
        };
        let mut b2 = ServerTableBuilder::new();
        b2.add_default("127.0.0.2:53".parse().unwrap());
        let sent = send(&mut forwarder(b2, cfg), 300, "example");
        assert_eq!(sent.len(), 300);
        assert!(
            sent.iter().all(|(_, _, id)| id % lanes == lane),
            "lane {lane}/{lanes}"
        );
        let distinct: std::collections::HashSet<_> = sent.iter().map(|s| s.2).collect();
        assert!(distinct.len() > 290, "IDs stay random within the lane");
    }
    drop(b);
}

#[test]
fn bound_server_uses_its_own_socket_and_lane() {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    let via = Egress::Bound {
        socket: 1,
        shared_port: true,
    };
    b.add_domain(
        &DomainPattern::Suffix("lab".into()),
        DomainAction::ForwardVia("127.0.0.3:53".parse().unwrap(), via),
    );
    let cfg = ForwarderConfig {
        upstream_slots: 4,
        id_lane: (1, 2),
        dns_forward_max: 1000,
        ..ForwarderConfig::default()
    };
    let mut fwd = forwarder(b, cfg);
    let lab = send(&mut fwd, 50, "lab");
    assert_eq!(lab.len(), 50);
    for (slot, server, id) in &lab {
        assert_eq!(*slot, 4 + 1, "bound socket 1 is slot pool + 1");
        assert_eq!(*server, "127.0.0.3:53".parse::<SocketAddr>().unwrap());
        assert_eq!(id % 2, 1);
    }
    let other = send(&mut fwd, 50, "example");
    assert!(other.iter().all(|(slot, _, _)| *slot < 4));
}

/// An answer to an upstream query sent as (slot, server, id) for question `name`.
fn answer(id: u16, name: &str) -> Vec<u8> {
    let mut m = Message::from_vec(&query(id, name)).unwrap();
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_available = true;
    m.to_vec().unwrap()
}

#[test]
fn pool_sockets_are_renewed_after_their_queries_end() {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    let cfg = ForwarderConfig {
        upstream_slots: 4,
        port_reuse: 2,
        dns_forward_max: 1000,
        ..ForwarderConfig::default()
    };
    let mut fwd = forwarder(b, cfg);
    // Eight queries fill every slot to its reuse limit: all four retire.
    let sent = send(&mut fwd, 8, "rot");
    assert_eq!(sent.len(), 8);
    let mut per_slot = [0u32; 4];
    for (slot, _, _) in &sent {
        per_slot[usize::from(*slot)] += 1;
    }
    assert_eq!(per_slot, [2; 4], "a retired slot takes no more queries");
    let mut renew = Vec::new();
    fwd.take_port_renewals(&mut renew);
    assert!(renew.is_empty(), "queries still in flight");
    // Answer the queries of slot 0 only: slot 0, and only it, is due for a new socket.
    let mut out = Outbox::new();
    for (i, (slot, server, id)) in sent.iter().enumerate() {
        if *slot == 0 {
            let a = answer(*id, &format!("q{i}.rot."));
            fwd.handle_upstream(Instant(1_000_010), *slot, *server, &a, &mut out);
        }
    }
    fwd.take_port_renewals(&mut renew);
    let slots: Vec<u16> = renew.iter().map(|r| r.slot).collect();
    assert_eq!(slots, vec![0]);
    assert!(
        renew[0].v4 && !renew[0].v6,
        "only the IPv4 socket carried queries"
    );
    // Until renewed, and with every other slot retired, queries still leave (reusing a slot).
    fwd.port_renewed(0);
    let more = send(&mut fwd, 2, "after");
    assert!(
        more.iter().all(|(slot, _, _)| *slot == 0),
        "the only open slot is the renewed one: {more:?}"
    );
}

#[test]
fn a_forged_answer_does_not_end_the_attempt_on_its_slot() {
    let mut b = ServerTableBuilder::new();
    b.add_default("127.0.0.2:53".parse().unwrap());
    let cfg = ForwarderConfig {
        upstream_slots: 1,
        port_reuse: 1,
        dns_forward_max: 1000,
        ..ForwarderConfig::default()
    };
    let mut fwd = forwarder(b, cfg);
    let sent = send(&mut fwd, 1, "forge");
    let (slot, server, id) = sent[0];
    let mut out = Outbox::new();
    let wrong = answer(id.wrapping_add(1), "q0.forge.");
    fwd.handle_upstream(Instant(1_000_010), slot, server, &wrong, &mut out);
    let mut renew = Vec::new();
    fwd.take_port_renewals(&mut renew);
    assert!(renew.is_empty(), "a wrong ID must not free the socket");
    fwd.handle_upstream(
        Instant(1_000_020),
        slot,
        server,
        &answer(id, "q0.forge."),
        &mut out,
    );
    fwd.take_port_renewals(&mut renew);
    assert_eq!(renew.len(), 1);
    assert_eq!(renew[0].slot, 0);
}
