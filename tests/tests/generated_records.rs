//! Generated local records, differential against dnsmasq 2.90: `--synth-domain` (address and
//! sequential names, IPv4 and IPv6 in compressed and uncompressed forms, reverse lookups, case,
//! names outside the range, other types forwarded, hosts-file and `--host-record` PTRs winning
//! over synthesized ones) and `--dynamic-host` (network part from lo's addresses, PTRs, an
//! interface that does not exist), and `-s/--domain=DOMAIN,RANGE[,local]` with `--expand-hosts`
//! (which domain a hosts name gets, the last matching range winning, `local` answering the
//! domain and its reverse zone). Both servers read the same configuration and hosts files and
//! forward to the same knot.

use std::net::SocketAddr;

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

/// The configuration both servers read.
const CONF: &str = "\
synth-domain=syn.lab.test,192.168.0.0/24,internal-
synth-domain=seq.lab.test,10.1.0.50,10.1.0.70,host-*
synth-domain=plain.lab.test,172.16.0.0/16
synth-domain=v6.lab.test,2001:db8::/64
synth-domain=v6p.lab.test,fd00::/64,pre-
synth-domain=v6s.lab.test,fd01::/112,n-*
host-record=hr.lab.test,192.168.0.10
synth-domain=fight.lab.test,192.168.5.0/24
address=/fight.lab.test/192.0.2.99
host-record=192-168-5-7.fight.lab.test,192.0.2.98
dynamic-host=dh.lab.test,0.0.0.8,::5,lo
dynamic-host=dh4.lab.test,1.2.3.9,lo
dynamic-host=dh6.lab.test,::7,lo
dynamic-host=dhnone.lab.test,0.0.0.8,nosuch0
local-ttl=7
";

/// A hosts-file name inside a synthesized range: its PTR wins.
const HOSTS: &str = "\
192.168.0.9 hostnine.lab.test
";

/// (name, type) asked of both servers.
const CASES: &[(&str, &str)] = &[
    ("internal-192-168-0-56.syn.lab.test", "A"),
    ("INTERNAL-192-168-0-56.SYN.lab.test", "A"),
    ("internal-192-168-0-56.syn.lab.test", "ANY"),
    ("56.0.168.192.in-addr.arpa", "PTR"),
    ("9.0.168.192.in-addr.arpa", "PTR"),
    ("10.0.168.192.in-addr.arpa", "PTR"),
    ("host-3.seq.lab.test", "A"),
    ("host-0.seq.lab.test", "A"),
    ("host-20.seq.lab.test", "A"),
    ("55.0.1.10.in-addr.arpa", "PTR"),
    ("172-16-5-6.plain.lab.test", "A"),
    ("255.255.16.172.in-addr.arpa", "PTR"),
    ("2001-db8--1-2.v6.lab.test", "AAAA"),
    ("2001-db8-0-0-0-0-1-2.v6.lab.test", "AAAA"),
    ("2001-db8--.v6.lab.test", "AAAA"),
    (
        "2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "PTR",
    ),
    (
        "0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "PTR",
    ),
    ("pre-fd00--1.v6p.lab.test", "AAAA"),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
        "PTR",
    ),
    ("n-18.v6s.lab.test", "AAAA"),
    (
        "2.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.d.f.ip6.arpa",
        "PTR",
    ),
    ("dh.lab.test", "A"),
    ("dh.lab.test", "AAAA"),
    ("DH.lab.test", "ANY"),
    ("8.0.0.127.in-addr.arpa", "PTR"),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "PTR",
    ),
    ("dh4.lab.test", "A"),
    ("9.3.2.127.in-addr.arpa", "PTR"),
    ("dh6.lab.test", "AAAA"),
    // Precedence: a --host-record name beats the synthesized one, which beats --address.
    ("192-168-5-6.fight.lab.test", "A"),
    ("192-168-5-7.fight.lab.test", "A"),
    ("other.fight.lab.test", "A"),
    ("6.5.168.192.in-addr.arpa", "PTR"),
    // Not ours: forwarded to knot.
    ("www.lab.test", "A"),
];

/// `--domain` ranges with `--expand-hosts`.
const DOMAIN_CONF: &str = "\
expand-hosts
domain=lan.test
domain=one.lab.test,192.168.1.0/24,local
domain=two.lab.test,10.9.0.5,10.9.0.9
domain=three.lab.test,10.9.0.0/16
local-ttl=7
";

/// Short names in the ranges above and outside them.
const DOMAIN_HOSTS: &str = "\
192.168.1.5 a
10.9.0.7 b
10.9.0.20 c
10.9.0.6 d
198.51.100.9 e
192.168.1.6 dotted.x
";

/// (name, type) asked of both servers for the `--domain` ranges.
const DOMAIN_CASES: &[(&str, &str)] = &[
    ("a.one.lab.test", "A"),
    ("a.lan.test", "A"),
    ("5.1.168.192.in-addr.arpa", "PTR"),
    ("b.three.lab.test", "A"),
    ("b.two.lab.test", "A"),
    ("7.0.9.10.in-addr.arpa", "PTR"),
    ("c.three.lab.test", "A"),
    ("20.0.9.10.in-addr.arpa", "PTR"),
    ("d.three.lab.test", "A"),
    ("6.0.9.10.in-addr.arpa", "PTR"),
    ("e.lan.test", "A"),
    ("9.100.51.198.in-addr.arpa", "PTR"),
    ("dotted.x", "A"),
    // `local`: the domain and its reverse zone are answered here.
    ("x.one.lab.test", "A"),
    ("99.1.168.192.in-addr.arpa", "PTR"),
    ("dotted.x.one.lab.test", "A"),
];

/// dnsmasq 2.90 on the same data, for the comparison; killed by PID on drop.
fn start_dnsmasq(
    upstream: &str,
    conf: &std::path::Path,
    hosts: &std::path::Path,
) -> anyhow::Result<Dnsmasq> {
    Ok(Dnsmasq::start(
        upstream,
        &[
            format!("--addn-hosts={}", hosts.display()),
            format!("--conf-file={}", conf.display()),
        ],
        ("hr.lab.test.", RecordType::A),
    )?)
}

fn ask(addr: SocketAddr, name: &str, rtype: &str) -> anyhow::Result<DigAnswer> {
    Ok(Dig::new(addr, name)
        .rtype(rtype)
        .opt("+bufsize=1232")
        .run()?)
}

/// Compares one question's answers from both servers.
fn compare(rm: SocketAddr, dm: SocketAddr, name: &str, rtype: &str) -> anyhow::Result<()> {
    let want = ask(dm, name, rtype).with_context(|| format!("dnsmasq {name} {rtype}"))?;
    let got = ask(rm, name, rtype).with_context(|| format!("ringmasq {name} {rtype}"))?;
    let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
    if let Some(what) = got.core_difference(&want) {
        anyhow::bail!("{what} differ: {ctx}");
    }
    // Local answers (TTL 7) are always AA; AA on a forwarded one depends on the cache.
    let local =
        want.has_flag("aa") && !want.answers.is_empty() && want.answers.iter().all(|r| r.ttl == 7);
    let flags: &[&str] = if local {
        &["qr", "aa", "rd", "ra", "tc"]
    } else {
        &["qr", "rd", "ra", "tc"]
    };
    if let Some(f) = got.flag_difference(&want, flags) {
        anyhow::bail!("flag {f} differs: {ctx}");
    }
    if local {
        let ttls = |a: &DigAnswer| a.answers.iter().map(|r| r.ttl).collect::<Vec<_>>();
        ensure!(ttls(&got) == ttls(&want), "TTLs differ: {ctx}");
    }
    Ok(())
}

fn generated_records(backend: Backend) -> anyhow::Result<()> {
    scenario(backend, CONF, HOSTS, CASES)
}

fn domain_ranges(backend: Backend) -> anyhow::Result<()> {
    scenario(backend, DOMAIN_CONF, DOMAIN_HOSTS, DOMAIN_CASES)
}

/// Starts both servers on `conf` and `hosts_text` and compares their answers to `cases`.
fn scenario(
    backend: Backend,
    conf_text: &str,
    hosts_text: &str,
    cases: &[(&str, &str)],
) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("generated")?;
    let conf = dir.join("generated.conf");
    std::fs::write(&conf, conf_text)?;
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, hosts_text)?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), &conf, &hosts)?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(format!("--addn-hosts={}", hosts.display()))
        .arg(format!("--conf-file={}", conf.display()))
        .spawn()?;
    for &(name, rtype) in cases {
        compare(rm.addr(), dnsmasq.addr, name, rtype)?;
    }
    Ok(())
}

backend_tests!(generated_records, domain_ranges);
