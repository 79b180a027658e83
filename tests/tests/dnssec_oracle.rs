//! Differential DNSSEC test: unbound 1.17 validating the signed lab with the same trust anchor
//! is the oracle; ringmasq (forwarding to a non-validating unbound, which assembles CNAME chains
//! across zones) must agree with it on rcode and AD for every query. dnsmasq 2.90 with
//! `--dnssec` on the same upstream is run too and its differences are printed (they are
//! recorded in README.md, not failures).

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Ringmasq, SignedLab, backend_tests};
use std::net::SocketAddr;

const QUERIES: &[(&str, &str)] = &[
    ("www.sec.test.", "A"),
    ("txt.sec.test.", "AAAA"),
    ("txt.sec.test.", "TXT"),
    ("nx.sec.test.", "A"),
    ("a.wild.sec.test.", "A"),
    ("b.c.wild.sec.test.", "AAAA"),
    ("cname.sec.test.", "A"),
    ("loop.sec.test.", "A"),
    ("sec.test.", "DNSKEY"),
    ("sec.test.", "DS"),
    ("www.n3.test.", "A"),
    ("txt.n3.test.", "AAAA"),
    ("nx.n3.test.", "A"),
    ("www.rsa256.test.", "A"),
    ("nx.rsa256.test.", "A"),
    ("www.rsa512.test.", "AAAA"),
    ("www.ed25519.test.", "A"),
    ("nx.ed25519.test.", "TXT"),
    ("nope.test.", "A"),
    ("test.", "SOA"),
    ("www.insec.test.", "A"),
    ("nx.insec.test.", "A"),
    ("insec.test.", "DS"),
    ("www.iter.test.", "A"),
    ("nx.iter.test.", "A"),
    ("www.bogus.test.", "A"),
    ("txt.bogus.test.", "TXT"),
    ("www.expired.test.", "A"),
    ("www.wrongds.test.", "A"),
];

fn ask(server: SocketAddr, name: &str, rtype: &str) -> anyhow::Result<DigAnswer> {
    Dig::new(server, name)
        .rtype(rtype)
        .opt("+dnssec")
        .timeout(5)
        .run()
        .with_context(|| format!("{name} {rtype} from {server}"))
}

fn summary(a: &DigAnswer) -> String {
    format!("{}{}", a.status, if a.has_flag("ad") { "+AD" } else { "" })
}

fn dnssec_oracle(backend: Backend) -> anyhow::Result<()> {
    let lab = SignedLab::start()?;
    let oracle = lab.unbound(true)?;
    let upstream = lab.unbound(false)?;
    let rm = Ringmasq::builder(backend)
        .server(upstream.server_spec())
        .arg("--dnssec")
        .arg(format!("--trust-anchor={}", lab.anchor))
        .spawn()?;
    let dnsmasq = Dnsmasq::start(
        &upstream.server_spec(),
        &["--dnssec".into(), format!("--trust-anchor={}", lab.anchor)],
        ("test.", RecordType::SOA),
    )?;
    let mut disagreements = Vec::new();
    for &(name, rtype) in QUERIES {
        let want = ask(oracle.addr, name, rtype)?;
        let got = ask(rm.addr(), name, rtype)?;
        if got.status != want.status || got.has_flag("ad") != want.has_flag("ad") {
            disagreements.push(format!(
                "{name} {rtype}: ringmasq {} unbound {}",
                summary(&got),
                summary(&want)
            ));
        }
        // Where both answer, the data agree too.
        if want.status == "NOERROR" && got.status == "NOERROR" {
            ensure!(
                got.answer_keys()
                    .iter()
                    .filter(|k| !k.contains(" RRSIG "))
                    .collect::<Vec<_>>()
                    == want
                        .answer_keys()
                        .iter()
                        .filter(|k| !k.contains(" RRSIG "))
                        .collect::<Vec<_>>(),
                "{name} {rtype}: records differ: ringmasq {:?} unbound {:?}",
                got.answer_keys(),
                want.answer_keys()
            );
        }
        let dm = ask(dnsmasq.addr, name, rtype)?;
        if dm.status != want.status || dm.has_flag("ad") != want.has_flag("ad") {
            eprintln!(
                "dnsmasq differs: {name} {rtype}: dnsmasq {} unbound {} ringmasq {}",
                summary(&dm),
                summary(&want),
                summary(&got)
            );
        }
    }
    ensure!(
        disagreements.is_empty(),
        "ringmasq and unbound disagree:\n{}\nunbound log:\n{}\nringmasq log:\n{}",
        disagreements.join("\n"),
        oracle.log(),
        rm.log()
    );
    Ok(())
}

backend_tests!(dnssec_oracle);
