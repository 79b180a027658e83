//! Query and answer guards: `-D/--domain-needed`, `-b/--bogus-priv`, `-f/--filterwin2k`,
//! `--filter-AAAA`, `--filter-rr`, `--stop-dns-rebind` with `--rebind-localhost-ok` and
//! `--rebind-domain-ok`, `-B/--bogus-nxdomain` and `--ignore-address`. ringmasq's answers must
//! match what dnsmasq 2.90 answers with the same options in front of the same knot upstream.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use hickory_proto::rr::{RData, RecordType};
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, backend_tests};

/// The upstream's zone: public, private, loopback and mapped addresses, a CNAME to a private
/// name, an address to turn into NXDOMAIN, one to ignore, and a name with several types.
const GUARD_ZONE: &str = "\
$ORIGIN guard.test.
$TTL 3600
@ IN SOA ns.guard.test. admin.guard.test. 1 3600 600 86400 300
@ IN NS ns.guard.test.
ns IN A 192.0.2.1
public IN A 93.184.216.10
public IN AAAA 2606:2800:220:1::10
cgnat IN A 100.64.1.1
priv10 IN A 10.1.2.3
loop IN A 127.0.0.5
mixed IN A 93.184.216.20
mixed IN A 10.0.0.20
alias IN CNAME priv10
aliaspub IN CNAME public
v6ula IN AAAA fd00::1
v6mapped IN AAAA ::ffff:10.0.0.1
x.ok IN A 10.9.9.9
bogus IN A 198.51.100.66
bogus2 IN A 93.184.216.30
bogus2 IN A 198.51.100.66
ignored IN A 203.0.113.99
both IN A 93.184.216.40
both IN AAAA 2606:2800:220:1::40
both IN MX 10 mail.guard.test.
both IN TXT \"hello\"
_sip._udp IN SRV 0 0 5060 public
";

/// A reverse zone for the private 10/8 range, so forwarded reverse queries have answers.
const REV10_ZONE: &str = "\
$ORIGIN 10.in-addr.arpa.
$TTL 3600
@ IN SOA ns.guard.test. admin.guard.test. 1 3600 600 86400 300
@ IN NS ns.guard.test.
3.2.1 IN PTR priv10.guard.test.
";

/// Options for the query-side guards and the record filters.
const QUERY_OPTS: &[&str] = &[
    "--domain-needed",
    "--bogus-priv",
    "--filterwin2k",
    "--filter-AAAA",
    "--filter-rr=TXT",
];

/// (name, type, AA compared?) under [`QUERY_OPTS`]. AA is compared where a guard makes the
/// answer up; on forwarded answers dnsmasq passes the upstream's AA on a cache miss only.
const QUERY_CASES: &[(&str, &str, bool)] = &[
    ("foo", "A", true),
    ("foo", "AAAA", true),
    ("3.2.1.10.in-addr.arpa", "PTR", true),
    ("1.1.168.192.in-addr.arpa", "PTR", true),
    ("1.0.0.127.in-addr.arpa", "PTR", true),
    ("2.1.10.in-addr.arpa", "PTR", true),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        "PTR",
        true,
    ),
    ("3.2.1.10.in-addr.arpa", "A", false),
    ("guard.test", "SOA", true),
    ("public.guard.test", "SOA", true),
    ("_sip._udp.guard.test", "SRV", true),
    ("_ldap.guard.test", "ANY", true),
    ("both.guard.test", "AAAA", false),
    ("both.guard.test", "TXT", false),
    ("both.guard.test", "A", false),
    ("both.guard.test", "MX", false),
    ("public.guard.test", "AAAA", false),
    ("aliaspub.guard.test", "A", false),
];

/// Options for the answer-side guards.
const ANSWER_OPTS: &[&str] = &[
    "--stop-dns-rebind",
    "--rebind-localhost-ok",
    "--rebind-domain-ok=/ok.guard.test/",
    "--bogus-nxdomain=198.51.100.66",
    "--ignore-address=203.0.113.99",
];

/// (name, type, AA compared?) under [`ANSWER_OPTS`].
const ANSWER_CASES: &[(&str, &str, bool)] = &[
    ("priv10.guard.test", "A", true),
    ("mixed.guard.test", "A", true),
    ("alias.guard.test", "A", true),
    ("v6ula.guard.test", "AAAA", true),
    ("v6mapped.guard.test", "AAAA", true),
    ("loop.guard.test", "A", false),
    ("x.ok.guard.test", "A", false),
    ("public.guard.test", "A", false),
    ("cgnat.guard.test", "A", false),
    ("aliaspub.guard.test", "A", false),
    ("bogus.guard.test", "A", true),
    ("bogus2.guard.test", "A", true),
];

/// dnsmasq 2.90 on the same data, for the comparison; killed by PID on drop.
fn start_dnsmasq(upstream: &str, extra: &[&str]) -> anyhow::Result<Dnsmasq> {
    Ok(Dnsmasq::start(
        upstream,
        &extra.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ("public.guard.test.", RecordType::A),
    )?)
}

fn knot() -> anyhow::Result<Knot> {
    Ok(Knot::builder()
        .zone("guard.test.", GUARD_ZONE.to_string())
        .zone("10.in-addr.arpa.", REV10_ZONE.to_string())
        .start()?)
}

/// Asks both servers each case once and compares rcode, answers, section counts and flags.
fn compare(
    rm: SocketAddr,
    dnsmasq: SocketAddr,
    cases: &[(&str, &str, bool)],
) -> anyhow::Result<()> {
    for &(name, rtype, aa) in cases {
        let run = |addr| -> anyhow::Result<DigAnswer> {
            Ok(Dig::new(addr, name)
                .rtype(rtype)
                .opt("+bufsize=1232")
                .run()?)
        };
        let want = run(dnsmasq).with_context(|| format!("dnsmasq {name} {rtype}"))?;
        let got = run(rm).with_context(|| format!("ringmasq {name} {rtype}"))?;
        let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
        if let Some(what) = got.core_difference(&want) {
            anyhow::bail!("{what} differ: {ctx}");
        }
        let flags: &[&str] = if aa {
            &["qr", "aa", "rd", "ra", "tc"]
        } else {
            &["qr", "rd", "ra", "tc"]
        };
        if let Some(f) = got.flag_difference(&want, flags) {
            anyhow::bail!("flag {f} differs: {ctx}");
        }
        ensure!(
            got.edns.as_ref().map(|e| e.version) == want.edns.as_ref().map(|e| e.version),
            "EDNS differs: {ctx}"
        );
    }
    Ok(())
}

fn query_guards(backend: Backend) -> anyhow::Result<()> {
    let knot = knot()?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), QUERY_OPTS)?;
    let mut b = Ringmasq::builder(backend).server(knot.server_spec());
    for o in QUERY_OPTS {
        b = b.arg(*o);
    }
    let rm = b.spawn()?;
    compare(rm.addr(), dnsmasq.addr, QUERY_CASES)
}

fn answer_guards(backend: Backend) -> anyhow::Result<()> {
    let knot = knot()?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), ANSWER_OPTS)?;
    let mut b = Ringmasq::builder(backend).server(knot.server_spec());
    for o in ANSWER_OPTS {
        b = b.arg(*o);
    }
    let rm = b.spawn()?;
    compare(rm.addr(), dnsmasq.addr, ANSWER_CASES)?;
    // --ignore-address: the forged-looking answer is never passed on; the client hears nothing
    // until the query times out (dnsmasq sends nothing either).
    let client = rm.client().timeout(Duration::from_millis(1500));
    match client.query("ignored.guard.test.", RecordType::A) {
        Err(_) => {}
        Ok(m) => ensure!(
            !m.answers
                .iter()
                .any(|r| matches!(&r.data, RData::A(a) if a.0.octets() == [203, 0, 113, 99])),
            "an ignored address was passed on: {m:?}"
        ),
    }
    // The answer was dropped, not cached: a later question still goes upstream and is ignored.
    let again = rm.client().timeout(Duration::from_millis(500));
    if let Ok(m) = again.query("ignored.guard.test.", RecordType::A) {
        ensure!(m.answers.is_empty(), "an ignored address was cached: {m:?}");
    }
    Ok(())
}

backend_tests!(query_guards, answer_guards);
