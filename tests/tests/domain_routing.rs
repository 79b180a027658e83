//! `--server=/routed.test/ADDR#PORT` sends that domain (and its subdomains) to a second knot;
//! `--server=/local.test/` answers locally only (NXDOMAIN, nothing forwarded); everything else
//! goes to the default upstream.

use anyhow::ensure;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests, zone};

fn domain_routing(backend: Backend) -> anyhow::Result<()> {
    let main = Knot::start_lab()?;
    let second = Knot::start_routed()?;
    let rm = Ringmasq::builder(backend)
        .server(main.server_spec())
        .server(format!("/routed.test/{}", second.server_spec()))
        .server("/local.test/")
        .spawn()?;
    let (m0, s0) = (main.query_count()?, second.query_count()?);

    let a = rm.dig("host.routed.test").run()?;
    ensure!(a.status == "NOERROR", "routed: {a:?}");
    ensure!(
        a.answers.len() == 1 && a.answers[0].rdata == zone::ROUTED_SECOND_ADDR,
        "routed.test answered by the wrong upstream: {:?}",
        a.answers
    );
    let (m1, s1) = (main.query_count()?, second.query_count()?);
    ensure!(s1 - s0 == 1, "second knot saw {} queries", s1 - s0);
    ensure!(
        m1 == m0,
        "main knot saw {} queries for routed.test",
        m1 - m0
    );

    // Subdomains follow the route too.
    let sub = rm.dig("deep.host.routed.test").run()?;
    ensure!(sub.status == "NXDOMAIN", "subdomain: {sub:?}");
    ensure!(
        second.query_count()? == s1 + 1,
        "subdomain not sent to second knot"
    );

    let w = rm.dig("www.lab.test").run()?;
    ensure!(
        w.status == "NOERROR" && w.answers.len() == 1 && w.answers[0].rdata == "192.0.2.1",
        "default route: {w:?}"
    );
    ensure!(
        main.query_count()? == m1 + 1,
        "main knot did not see the lab.test query"
    );
    let s2 = second.query_count()?;
    ensure!(s2 == s1 + 1, "lab.test leaked to the second knot");

    let l = rm.dig("x.local.test").run()?;
    ensure!(l.status == "NXDOMAIN", "local-only domain: {l:?}");
    ensure!(
        main.query_count()? == m1 + 1,
        "local.test forwarded to main knot"
    );
    ensure!(
        second.query_count()? == s2,
        "local.test forwarded to second knot"
    );
    Ok(())
}

backend_tests!(domain_routing);
