//! A, AAAA, MX, TXT, CNAME chains (within and across zones), NXDOMAIN and NODATA: ringmasq's
//! answers must match what knot itself answers for the same query.

use anyhow::{Context, ensure};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const CASES: &[(&str, &str)] = &[
    ("www.lab.test", "A"),
    ("www.lab.test", "AAAA"),
    ("lab.test", "MX"),
    ("txt.lab.test", "TXT"),
    ("mid.lab.test", "TXT"),
    ("c1.lab.test", "A"),
    ("c1.lab.test", "AAAA"),
    ("cross.lab.test", "A"),
    ("host.other.test", "AAAA"),
    ("nx.lab.test", "A"),
    ("nope.other.test", "AAAA"),
    ("www.lab.test", "MX"),
    ("mail.lab.test", "TXT"),
];

fn records(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    for &(name, rtype) in CASES {
        let want = ringmasq_tests::Dig::new(knot.addr(), name)
            .rtype(rtype)
            .opt("+bufsize=1232")
            .run()
            .with_context(|| format!("knot {name} {rtype}"))?;
        let got = rm
            .dig(name)
            .rtype(rtype)
            .opt("+bufsize=1232")
            .run()
            .with_context(|| format!("ringmasq {name} {rtype}"))?;
        ensure!(
            got.status == want.status,
            "{name} {rtype}: rcode {} != knot's {}",
            got.status,
            want.status
        );
        ensure!(
            got.answer_keys() == want.answer_keys(),
            "{name} {rtype}: answers differ\nringmasq: {:#?}\nknot: {:#?}",
            got.answers,
            want.answers
        );
        for (g, w) in got.answers.iter().zip(&want.answers) {
            ensure!(
                g.ttl <= w.ttl,
                "{name} {rtype}: TTL {} above knot's {}",
                g.ttl,
                w.ttl
            );
        }
        for f in ["qr", "rd", "ra"] {
            ensure!(
                got.has_flag(f),
                "{name} {rtype}: flag {f} missing: {:?}",
                got.flags
            );
        }
        ensure!(!got.has_flag("tc"), "{name} {rtype}: unexpected TC");
        // A second client implementation (Knot's kdig) sees the same answer.
        let k = rm
            .dig(name)
            .rtype(rtype)
            .opt("+bufsize=1232")
            .kdig()
            .run()
            .with_context(|| format!("kdig {name} {rtype}"))?;
        ensure!(
            k.status == want.status && k.answer_keys() == want.answer_keys(),
            "{name} {rtype}: kdig saw {k:?}"
        );
    }
    // Negative answers carry the zone's SOA in the authority section (RFC 2308 §3), checked on
    // a fresh (uncached) name with the raw client.
    for (name, rtype, rcode) in [
        ("nx2.lab.test.", RecordType::A, ResponseCode::NXDomain),
        ("www.lab.test.", RecordType::TXT, ResponseCode::NoError),
    ] {
        let m = rm.client().query(name, rtype)?;
        ensure!(
            m.metadata.response_code == rcode,
            "{name}: {:?}",
            m.metadata.response_code
        );
        ensure!(
            m.answers.is_empty(),
            "{name}: answers in a negative response"
        );
        ensure!(
            m.authorities
                .iter()
                .any(|r| r.record_type() == RecordType::SOA),
            "{name}: no SOA in authority: {:?}",
            m.authorities
        );
    }
    Ok(())
}

backend_tests!(records);
