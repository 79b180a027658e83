//! `-V/--alias` ("DNS doctoring"), differential against dnsmasq 2.90: A records from knot
//! rewritten by an exact address, a masked subnet and a range (first and later answers, the
//! latter from the cache), CNAME chains, AAAA and other names untouched. Both servers forward to
//! the same knot.

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, backend_tests};

/// (name, type) asked of both servers, twice (the second from the cache).
const CASES: &[(&str, &str)] = &[
    ("www.lab.test", "A"),
    ("www.lab.test", "AAAA"),
    ("c1.lab.test", "A"),
    ("mail.lab.test", "A"),
    ("ns.lab.test", "A"),
    ("n3.lab.test", "A"),
    ("n12.lab.test", "A"),
];

/// The rule sets compared, each on a fresh pair of servers.
const CONFIGS: &[&[&str]] = &[
    &["--alias=192.0.2.1,10.9.8.7"],
    &["--alias=192.0.2.0,10.1.0.0,255.255.255.0"],
    &["--alias=192.0.2.100-192.0.2.110,10.2.0.0,255.255.255.0"],
    &[
        "--alias=192.0.2.25,10.3.3.3",
        "--alias=192.0.2.0,10.4.0.0,255.255.255.0",
    ],
];

fn ask(addr: std::net::SocketAddr, name: &str, rtype: &str) -> anyhow::Result<DigAnswer> {
    Ok(Dig::new(addr, name).rtype(rtype).run()?)
}

fn alias(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let mut rewritten = 0;
    for opts in CONFIGS {
        let extra: Vec<String> = opts.iter().map(|o| o.to_string()).collect();
        let dnsmasq = Dnsmasq::start(&knot.server_spec(), &extra, ("ns.lab.test.", RecordType::A))?;
        let mut b = Ringmasq::builder(backend).server(knot.server_spec());
        for a in &extra {
            b = b.arg(a);
        }
        let rm = b.spawn()?;
        for round in ["first", "cached"] {
            for &(name, rtype) in CASES {
                let want =
                    ask(dnsmasq.addr, name, rtype).with_context(|| format!("dnsmasq {name}"))?;
                let got =
                    ask(rm.addr(), name, rtype).with_context(|| format!("ringmasq {name}"))?;
                let ctx = format!(
                    "{opts:?} {round} {name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}"
                );
                if let Some(what) = got.core_difference(&want) {
                    anyhow::bail!("{what} differ: {ctx}");
                }
                rewritten += got
                    .answers
                    .iter()
                    .filter(|r| r.rtype == "A" && r.rdata.starts_with("10."))
                    .count();
            }
        }
    }
    ensure!(
        rewritten >= 16,
        "only {rewritten} rewritten addresses compared"
    );
    Ok(())
}

backend_tests!(alias);
