//! DNSSEC validation against a local signed hierarchy (tests/lab/dnssec-lab.sh served by knotd,
//! ringmasq forwarding straight to it with the lab's trust anchor): for each query, the rcode,
//! the AD bit, the records, and for bogus answers the Extended DNS Error (RFC 8914). Asked twice:
//! the second answers come from the cache, which keeps the validation status.

use anyhow::{Context, ensure};
use ringmasq_tests::{Backend, DigAnswer, Ringmasq, SignedLab, backend_tests};

/// One query and what ringmasq must answer.
struct Case {
    name: &'static str,
    rtype: &'static str,
    status: &'static str,
    ad: bool,
    /// A record (`name type rdata`) the answer must hold.
    record: Option<&'static str>,
    /// The EDE INFO-CODE of a bogus answer.
    ede: Option<u16>,
}

const fn case(name: &'static str, rtype: &'static str, status: &'static str, ad: bool) -> Case {
    Case {
        name,
        rtype,
        status,
        ad,
        record: None,
        ede: None,
    }
}

const CASES: &[Case] = &[
    Case {
        record: Some("www.sec.test. A 192.0.2.1"),
        ..case("www.sec.test.", "A", "NOERROR", true)
    },
    case("txt.sec.test.", "AAAA", "NOERROR", true),
    case("nx.sec.test.", "A", "NXDOMAIN", true),
    Case {
        record: Some("a.wild.sec.test. A 192.0.2.7"),
        ..case("a.wild.sec.test.", "A", "NOERROR", true)
    },
    Case {
        record: Some("cname.sec.test. CNAME www.n3.test."),
        ..case("cname.sec.test.", "A", "NOERROR", true)
    },
    case("www.n3.test.", "A", "NOERROR", true),
    case("txt.n3.test.", "AAAA", "NOERROR", true),
    // n3.test. is signed with NSEC3 opt-out: its NXDOMAIN cannot be secure (RFC 5155 §8.3).
    case("nx.n3.test.", "A", "NXDOMAIN", false),
    case("www.rsa256.test.", "A", "NOERROR", true),
    case("www.rsa512.test.", "A", "NOERROR", true),
    case("www.ed25519.test.", "A", "NOERROR", true),
    case("nope.test.", "A", "NXDOMAIN", true),
    Case {
        record: Some("www.insec.test. A 192.0.2.1"),
        ..case("www.insec.test.", "A", "NOERROR", false)
    },
    case("nx.insec.test.", "A", "NXDOMAIN", false),
    case("www.iter.test.", "A", "NOERROR", true),
    // 200 NSEC3 iterations, over the limit of 150: insecure (RFC 9276 §3.2).
    case("nx.iter.test.", "A", "NXDOMAIN", false),
    Case {
        ede: Some(6),
        ..case("www.bogus.test.", "A", "SERVFAIL", false)
    },
    Case {
        ede: Some(7),
        ..case("www.expired.test.", "A", "SERVFAIL", false)
    },
    Case {
        ede: Some(9),
        ..case("www.wrongds.test.", "A", "SERVFAIL", false)
    },
];

fn check(c: &Case, a: &DigAnswer) -> anyhow::Result<()> {
    let what = format!("{} {}", c.name, c.rtype);
    ensure!(
        a.status == c.status,
        "{what}: status {} (want {})",
        a.status,
        c.status
    );
    ensure!(
        a.has_flag("ad") == c.ad,
        "{what}: AD {} (want {})",
        a.has_flag("ad"),
        c.ad
    );
    if let Some(r) = c.record {
        ensure!(
            a.answer_keys().iter().any(|k| k == r),
            "{what}: no {r} in {:?}",
            a.answer_keys()
        );
    }
    if c.ede.is_some() {
        ensure!(a.ede == c.ede, "{what}: EDE {:?} (want {:?})", a.ede, c.ede);
    }
    Ok(())
}

fn dnssec_lab(backend: Backend) -> anyhow::Result<()> {
    let lab = SignedLab::start()?;
    let rm = Ringmasq::builder(backend)
        .server(lab.knot.server_spec())
        .arg("--dnssec")
        .arg(format!("--trust-anchor={}", lab.anchor))
        .spawn()?;
    for round in ["upstream", "cache"] {
        for c in CASES {
            let a = rm
                .dig(c.name)
                .rtype(c.rtype)
                .opt("+dnssec")
                .timeout(5)
                .run()
                .with_context(|| format!("{round}: {} {}", c.name, c.rtype))?;
            check(c, &a).with_context(|| format!("{round} round; log:\n{}", rm.log()))?;
        }
    }
    // CD=1: bogus data passes through unvalidated (RFC 4035 §3.2.2).
    let a = rm.dig("www.bogus.test.").opt("+dnssec").opt("+cd").run()?;
    ensure!(a.status == "NOERROR" && !a.has_flag("ad"), "CD=1: {a:?}");
    ensure!(
        a.answer_keys()
            .iter()
            .any(|k| k == "www.bogus.test. A 192.0.2.66"),
        "CD=1: {a:?}"
    );
    // Without DO: no RRSIGs (RFC 4035 §3.2.1); AD only when asked with AD (RFC 6840 §5.7).
    let a = rm
        .dig("www.sec.test.")
        .opt("+nodnssec")
        .opt("+noadflag")
        .run()?;
    ensure!(
        a.status == "NOERROR" && !a.has_flag("ad"),
        "DO=0 AD=0: {a:?}"
    );
    ensure!(
        a.answers.iter().all(|r| r.rtype != "RRSIG"),
        "DO=0 got RRSIGs: {a:?}"
    );
    let a = rm
        .dig("www.sec.test.")
        .opt("+nodnssec")
        .opt("+adflag")
        .run()?;
    ensure!(a.has_flag("ad"), "DO=0 AD=1: no AD: {a:?}");
    let a = rm.dig("www.sec.test.").opt("+dnssec").run()?;
    ensure!(
        a.answers.iter().any(|r| r.rtype == "RRSIG"),
        "DO=1 without RRSIG: {a:?}"
    );
    Ok(())
}

backend_tests!(dnssec_lab);
