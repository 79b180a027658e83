//! The DNSSEC switches on the signed lab, each against the default behaviour:
//! `--dnssec-check-unsigned=no` (an RRset left unsigned in a signed zone is insecure instead of
//! bogus), `--dnssec-debug` (bogus answers passed on without AD instead of SERVFAIL),
//! `--dnssec-limits` (a sub-query cap of 1 cannot build the chain: SERVFAIL; a raised NSEC3
//! iteration cap makes the 200-iteration denial secure), `--proxy-dnssec` (without `--dnssec`,
//! the AD bit of a validating upstream is passed on only with it).

use anyhow::{Context, ensure};
use ringmasq_tests::{Backend, DigAnswer, Ringmasq, SignedLab, backend_tests};

fn start(backend: Backend, server: String, args: &[String]) -> anyhow::Result<Ringmasq> {
    let mut b = Ringmasq::builder(backend).server(server);
    for a in args {
        b = b.arg(a.clone());
    }
    Ok(b.spawn()?)
}

fn ask(rm: &Ringmasq, name: &str) -> anyhow::Result<DigAnswer> {
    rm.dig(name)
        .opt("+dnssec")
        .timeout(5)
        .run()
        .with_context(|| format!("{name}; log:\n{}", rm.log()))
}

fn has(a: &DigAnswer, record: &str) -> bool {
    a.answer_keys().iter().any(|k| k == record)
}

fn dnssec_switches(backend: Backend) -> anyhow::Result<()> {
    let lab = SignedLab::start()?;
    let knot = lab.knot.server_spec();
    let validating = |extra: &[&str]| {
        let mut v = vec![
            "--dnssec".to_string(),
            format!("--trust-anchor={}", lab.anchor),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    // Default: the unsigned RRset of a signed zone is bogus, the broken signature too.
    let rm = start(backend, knot.clone(), &validating(&[]))?;
    let a = ask(&rm, "nosig.sec.test.")?;
    ensure!(a.status == "SERVFAIL", "default, nosig: {a:?}");
    let a = ask(&rm, "www.bogus.test.")?;
    ensure!(a.status == "SERVFAIL", "default, bogus: {a:?}");
    let a = ask(&rm, "nx.iter.test.")?;
    ensure!(
        a.status == "NXDOMAIN" && !a.has_flag("ad"),
        "default, 200 iterations: {a:?}"
    );
    drop(rm);

    // --dnssec-check-unsigned=no: unsigned data is taken as insecure, without proof.
    let rm = start(
        backend,
        knot.clone(),
        &validating(&["--dnssec-check-unsigned=no"]),
    )?;
    let a = ask(&rm, "nosig.sec.test.")?;
    ensure!(
        a.status == "NOERROR" && !a.has_flag("ad") && has(&a, "nosig.sec.test. A 192.0.2.9"),
        "check-unsigned=no, nosig: {a:?}"
    );
    let a = ask(&rm, "www.sec.test.")?;
    ensure!(a.has_flag("ad"), "check-unsigned=no, signed data: {a:?}");
    drop(rm);

    // --dnssec-debug: bogus data passes without AD; secure data keeps AD.
    let rm = start(backend, knot.clone(), &validating(&["--dnssec-debug"]))?;
    let a = ask(&rm, "www.bogus.test.")?;
    ensure!(
        a.status == "NOERROR" && !a.has_flag("ad") && has(&a, "www.bogus.test. A 192.0.2.66"),
        "dnssec-debug, bogus: {a:?}"
    );
    let a = ask(&rm, "www.sec.test.")?;
    ensure!(a.has_flag("ad"), "dnssec-debug, secure: {a:?}");
    drop(rm);

    // --dnssec-limits: 1 sub-query cannot reach the root; 0 keeps a default.
    let rm = start(
        backend,
        knot.clone(),
        &validating(&["--dnssec-limits=0,0,1"]),
    )?;
    let a = ask(&rm, "www.sec.test.")?;
    ensure!(a.status == "SERVFAIL", "one sub-query: {a:?}");
    drop(rm);
    let rm = start(
        backend,
        knot.clone(),
        &validating(&["--dnssec-limits=0,0,0,250"]),
    )?;
    let a = ask(&rm, "nx.iter.test.")?;
    ensure!(
        a.status == "NXDOMAIN" && a.has_flag("ad"),
        "250 iterations allowed: {a:?}"
    );
    drop(rm);

    // --proxy-dnssec, without --dnssec, behind a validating unbound.
    let unbound = lab.unbound(true)?;
    for proxy in [false, true] {
        let args: Vec<String> = if proxy {
            vec!["--proxy-dnssec".into()]
        } else {
            vec![]
        };
        let rm = start(backend, unbound.server_spec(), &args)?;
        for round in ["upstream", "cache"] {
            let a = rm.dig("www.sec.test.").opt("+adflag").run()?;
            ensure!(
                a.status == "NOERROR" && a.has_flag("ad") == proxy,
                "proxy-dnssec={proxy} ({round}): {a:?}"
            );
        }
    }
    Ok(())
}

backend_tests!(dnssec_switches);
