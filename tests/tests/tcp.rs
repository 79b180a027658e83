//! DNS over TCP on the same port: dig +tcp, then several queries on one connection with the
//! Rust client, sequential and pipelined (RFC 7766 §6.2.1.1).

use std::collections::HashMap;

use anyhow::ensure;
use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{answer_set, make_query, next_id};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const QUERIES: &[(&str, RecordType)] = &[
    ("www.lab.test.", RecordType::A),
    ("www.lab.test.", RecordType::AAAA),
    ("lab.test.", RecordType::MX),
    ("c1.lab.test.", RecordType::A),
    ("nx.lab.test.", RecordType::A),
];

fn check(got: &Message, want: &Message, what: &str) -> anyhow::Result<()> {
    ensure!(
        got.metadata.message_type == MessageType::Response,
        "{what}: not a response"
    );
    ensure!(
        got.metadata.response_code == want.metadata.response_code,
        "{what}: rcode {:?} != knot's {:?}",
        got.metadata.response_code,
        want.metadata.response_code
    );
    ensure!(
        answer_set(got) == answer_set(want),
        "{what}: answers differ: {:?} vs {:?}",
        answer_set(got),
        answer_set(want)
    );
    Ok(())
}

fn tcp(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::start(backend, &knot.server_spec())?;

    let d = rm.dig("www.lab.test").opt("+tcp").run()?;
    ensure!(
        d.status == "NOERROR" && d.answers.len() == 1 && d.answers[0].rdata == "192.0.2.1",
        "dig +tcp: {d:?}"
    );

    // Sequential queries on one connection.
    let mut conn = rm.client().tcp()?;
    for &(name, rtype) in QUERIES {
        let q = make_query(next_id(), name, rtype, DNSClass::IN)?;
        let got = conn.exchange(&q)?;
        ensure!(got.metadata.id == q.metadata.id, "{name}: ID not echoed");
        let want = knot.client().query(name, rtype)?;
        check(&got, &want, &format!("tcp {name} {rtype}"))?;
    }

    // Pipelined: all queries written before any answer is read; answers may come in any order.
    let mut conn = rm.client().tcp()?;
    let mut pending = HashMap::new();
    for (i, &(name, rtype)) in QUERIES.iter().enumerate() {
        let id = 0x4000 + i as u16;
        conn.write(&make_query(id, name, rtype, DNSClass::IN)?)?;
        pending.insert(id, (name, rtype));
    }
    for _ in 0..QUERIES.len() {
        let got = conn.read()?;
        let Some((name, rtype)) = pending.remove(&got.metadata.id) else {
            anyhow::bail!("unexpected or duplicate ID {}", got.metadata.id);
        };
        let want = knot.client().query(name, rtype)?;
        check(&got, &want, &format!("pipelined {name} {rtype}"))?;
    }
    ensure!(pending.is_empty(), "unanswered: {pending:?}");
    Ok(())
}

backend_tests!(tcp);
