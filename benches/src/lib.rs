//! Shared pieces of the criterion benches in `benches/`: queries, upstream answers and a client
//! endpoint, built once outside the measured loops.
#![warn(missing_docs)]

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ringmasq_proto::dns::outbox::ClientEndpoint;
use std::net::{Ipv4Addr, SocketAddr};

/// The upstream server the benches' forwarders are configured with (never contacted).
pub const UPSTREAM: &str = "127.0.0.1:5300";

/// A recursive query with ID `id` for `name` of type `t`, in wire form.
pub fn query(id: u16, name: &str, t: RecordType) -> Vec<u8> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    m.to_vec().unwrap()
}

/// An upstream answer to `upstream_query`: one A record, 192.0.2.1, TTL 300.
pub fn answer_for(upstream_query: &[u8]) -> Vec<u8> {
    let q = Message::from_vec(upstream_query).unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    let hq = q.queries[0].clone();
    let name = hq.name().clone();
    m.add_query(hq);
    m.add_answer(Record::from_rdata(
        name,
        300,
        RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
    ));
    m.to_vec().unwrap()
}

/// A UDP client on 127.0.0.1:40000.
pub fn client() -> ClientEndpoint {
    ClientEndpoint {
        peer: SocketAddr::from(([127, 0, 0, 1], 40000)),
        local: None,
        ifindex: 0,
        socket: 0,
        tcp: None,
    }
}
