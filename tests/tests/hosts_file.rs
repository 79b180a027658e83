//! `--addn-hosts=FILE`: names and addresses from a hosts file are answered locally (AA, TTL =
//! `--local-ttl`), other types and other names go upstream. ringmasq's answers must match what
//! dnsmasq itself answers from the same file with the same knot upstream.

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

/// The hosts file: mixed case, two IPv4 addresses for one name, IPv6, a name that is also in
/// knot's zone with other data (`www.lab.test`), an alias, comments.
const HOSTS: &str = "\
# hosts data for the hosts_file scenario
192.0.2.70    Host1.Hosts.Test  alias1.hosts.test   # first name is the PTR target
192.0.2.71    two.hosts.test
192.0.2.72    two.hosts.test
2001:db8::70  v6.hosts.test
2001:db8::71  two.hosts.test
192.0.2.77    www.lab.test
192.0.2.70    later.hosts.test
192.0.2.44    bücher.hosts.test   # Unicode: matched as xn--bcher-kva (IDNA)
";

/// (name, type, answered from the hosts file?)
const CASES: &[(&str, &str, bool)] = &[
    ("host1.hosts.test", "A", true),
    ("xn--bcher-kva.hosts.test", "A", true),
    ("HOST1.hosts.TEST", "A", true),
    ("alias1.hosts.test", "A", true),
    ("two.hosts.test", "A", true),
    ("two.hosts.test", "AAAA", true),
    ("v6.hosts.test", "AAAA", true),
    ("two.hosts.test", "ANY", true),
    ("70.2.0.192.in-addr.arpa", "PTR", true),
    ("72.2.0.192.in-addr.arpa", "PTR", true),
    (
        "0.7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "PTR",
        true,
    ),
    ("www.lab.test", "A", true),
    // Not answered locally: dnsmasq forwards these (no NODATA for other types).
    ("www.lab.test", "AAAA", false),
    ("www.lab.test", "MX", false),
    ("host1.hosts.test", "MX", false),
    ("v6.hosts.test", "A", false),
    ("c1.lab.test", "A", false),
    ("nx.lab.test", "A", false),
];

/// dnsmasq 2.90 on the same data, for the comparison; killed by PID on drop.
fn start_dnsmasq(upstream: &str, hosts: &std::path::Path) -> anyhow::Result<Dnsmasq> {
    Ok(Dnsmasq::start(
        upstream,
        &[format!("--addn-hosts={}", hosts.display())],
        ("host1.hosts.test.", RecordType::A),
    )?)
}

fn hosts_file(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("hosts")?;
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, HOSTS)?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), &hosts)?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(format!("--addn-hosts={}", hosts.display()))
        .spawn()?;
    for &(name, rtype, local) in CASES {
        let run = |addr| -> anyhow::Result<DigAnswer> {
            Ok(ringmasq_tests::Dig::new(addr, name)
                .rtype(rtype)
                .opt("+bufsize=1232")
                .run()?)
        };
        let want = run(dnsmasq.addr).with_context(|| format!("dnsmasq {name} {rtype}"))?;
        let got = run(rm.addr()).with_context(|| format!("ringmasq {name} {rtype}"))?;
        let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
        if let Some(what) = got.core_difference(&want) {
            anyhow::bail!("{what} differ: {ctx}");
        }
        // AA on a forwarded answer depends on cache state (dnsmasq passes the upstream's AA
        // through on a miss, clears it on a hit), so it is compared for local answers only.
        let flags: &[&str] = if local {
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
        if local {
            ensure!(got.has_flag("aa"), "local answer without AA: {ctx}");
            ensure!(!got.answers.is_empty(), "local answer is empty: {ctx}");
            ensure!(
                got.answers.iter().all(|r| r.ttl == 0) && want.answers.iter().all(|r| r.ttl == 0),
                "local TTL is not --local-ttl (0): {ctx}"
            );
            // The question's case is echoed in the answer owners (pointer to the question).
            ensure!(
                got.answers
                    .iter()
                    .all(|r| r.rtype == "PTR" || r.name.trim_end_matches('.') == name),
                "owner case not preserved: {ctx}"
            );
        }
    }
    Ok(())
}

backend_tests!(hosts_file);
