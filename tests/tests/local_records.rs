//! Local DNS data, differential against dnsmasq 2.90: `--address` (address, `#` and NXDOMAIN
//! forms), `--local`, `--mx-host`, `--srv-host`, `--txt-record`, `--ptr-record`,
//! `--naptr-record`, `--caa-record`, `--cname` (with TTL), `--host-record`, `--dns-rr`,
//! `--interface-name`, `--local-ttl`, `--expand-hosts` with `--domain`, the CHAOS names, and a SIGHUP reload. Both
//! servers read the same configuration file and hosts file and forward to the same knot.
//!
//! Differences on purpose: `version.bind` says `ringmasq-VERSION` and `authors.bind` names
//! ringmasq's authors, so only their rcode, flags and TTL are compared.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

/// The configuration both servers read (`KNOT` is replaced by knot's address).
const CONF: &str = "\
address=/addr.lab.test/192.0.2.1
address=/addr.lab.test/2001:db8::1
address=/v4.lab.test/192.0.2.2
address=/null.lab.test/#
address=/zero.lab.test/0.0.0.0
address=/nx.lab.test/
local=/loc.lab.test/
address=/sub.addr.lab.test/192.0.2.9
server=/srv.addr.lab.test/KNOT
mx-host=mx.lab.test,mail.lab.test,5
srv-host=_sip._tcp.lab.test,sip.lab.test,5060,1,2
txt-record=t.lab.test,hello world,second
ptr-record=1.2.0.192.in-addr.arpa,ptr.lab.test
cname=alias.lab.test,hr.lab.test
cname=alias2.lab.test,alias.lab.test,300
cname=alias3.lab.test,fromhosts.lab.test
cname=alias4.lab.test,www.lab.test
host-record=hr.lab.test,hr2.lab.test,192.0.2.50,2001:db8::50
caa-record=caa.lab.test,0,issue,letsencrypt.org
naptr-record=naptr.lab.test,10,20,s,SIP+D2U,,_sip._udp.lab.test
dns-rr=rr.lab.test,99,0102ff
interface-name=if.lab.test,lo
interface-name=if4.lab.test,lo/4
interface-name=ifnone.lab.test,nosuch0
expand-hosts
domain=lan.test
local-ttl=7
";

/// The hosts file: a name inside an `--address` domain, a CNAME target, a short name.
const HOSTS: &str = "\
192.0.2.60 h.addr.lab.test
192.0.2.61 fromhosts.lab.test
192.0.2.62 shorty
";

/// After the SIGHUP: fromhosts moves, shorty goes, a new name comes.
const HOSTS_AFTER: &str = "\
192.0.2.60 h.addr.lab.test
192.0.2.71 fromhosts.lab.test
192.0.2.72 newname.lab.test
";

/// (name, type, class) asked of both servers.
const CASES: &[(&str, &str)] = &[
    ("addr.lab.test", "A"),
    ("addr.lab.test", "AAAA"),
    ("addr.lab.test", "ANY"),
    ("addr.lab.test", "MX"),
    ("X.Addr.LAB.test", "A"),
    ("v4.lab.test", "A"),
    ("v4.lab.test", "AAAA"),
    ("null.lab.test", "A"),
    ("null.lab.test", "AAAA"),
    ("null.lab.test", "ANY"),
    ("null.lab.test", "TXT"),
    ("zero.lab.test", "A"),
    ("zero.lab.test", "AAAA"),
    ("nx.lab.test", "A"),
    ("a.nx.lab.test", "MX"),
    ("loc.lab.test", "A"),
    ("x.loc.lab.test", "TXT"),
    ("sub.addr.lab.test", "A"),
    ("y.sub.addr.lab.test", "AAAA"),
    ("srv.addr.lab.test", "A"),
    ("h.addr.lab.test", "A"),
    ("h.addr.lab.test", "AAAA"),
    ("mx.lab.test", "MX"),
    ("mx.lab.test", "A"),
    ("_sip._tcp.lab.test", "SRV"),
    ("t.lab.test", "TXT"),
    ("t.lab.test", "ANY"),
    ("1.2.0.192.in-addr.arpa", "PTR"),
    ("alias.lab.test", "A"),
    ("alias.lab.test", "ANY"),
    ("alias.lab.test", "CNAME"),
    ("alias2.lab.test", "AAAA"),
    ("alias3.lab.test", "A"),
    ("alias4.lab.test", "A"),
    ("alias4.lab.test", "MX"),
    ("hr.lab.test", "A"),
    ("HR2.lab.test", "ANY"),
    ("hr.lab.test", "MX"),
    ("50.2.0.192.in-addr.arpa", "PTR"),
    (
        "0.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "PTR",
    ),
    ("caa.lab.test", "CAA"),
    ("naptr.lab.test", "NAPTR"),
    ("rr.lab.test", "TYPE99"),
    ("rr.lab.test", "A"),
    ("shorty.lan.test", "A"),
    ("shorty", "A"),
    ("62.2.0.192.in-addr.arpa", "PTR"),
    ("www.lab.test", "A"),
    // Forwarded for a type we have no local data for; dnsmasq turns knot's NXDOMAIN into
    // NOERROR/AA for a name it calls its own (an `--address` domain, a local record, a name
    // above one), and not for `--dns-rr` names or names below a record. (Hosts-file names are
    // not counted by dnsmasq 2.90 in manual runs; one in this configuration, a `--cname`
    // target, was counted in this harness, so none is compared here.)
    // (The earlier cases addr MX, v4 AAAA, null TXT, zero AAAA, mx A, hr MX, rr A and
    // srv.addr A are of this kind too.)
    ("_tcp.lab.test", "A"),
    ("x.mx.lab.test", "MX"),
    ("h.addr.lab.test", "MX"),
    // --interface-name: lo's addresses, their PTRs; no address of the type: forwarded (and
    // knot's NXDOMAIN rewritten).
    ("if.lab.test", "A"),
    ("if.lab.test", "AAAA"),
    ("IF.lab.test", "ANY"),
    ("1.0.0.127.in-addr.arpa", "PTR"),
    (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa",
        "PTR",
    ),
    ("if4.lab.test", "A"),
    ("if4.lab.test", "AAAA"),
    ("ifnone.lab.test", "A"),
];

/// Queries after the SIGHUP.
const AFTER: &[(&str, &str)] = &[
    ("alias3.lab.test", "A"),
    ("fromhosts.lab.test", "A"),
    ("newname.lab.test", "A"),
    ("shorty.lan.test", "A"),
    ("addr.lab.test", "A"),
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

fn ask(addr: SocketAddr, name: &str, rtype: &str, class: &str) -> anyhow::Result<DigAnswer> {
    Ok(Dig::new(addr, name)
        .rtype(rtype)
        .class(class)
        .opt("+bufsize=1232")
        .run()?)
}

/// Compares one question's answers from both servers.
fn compare(rm: SocketAddr, dm: SocketAddr, name: &str, rtype: &str) -> anyhow::Result<()> {
    let want = ask(dm, name, rtype, "IN").with_context(|| format!("dnsmasq {name} {rtype}"))?;
    let got = ask(rm, name, rtype, "IN").with_context(|| format!("ringmasq {name} {rtype}"))?;
    let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
    if let Some(what) = got.core_difference(&want) {
        anyhow::bail!("{what} differ: {ctx}");
    }
    // AA on a forwarded answer depends on cache state; local answers are always AA.
    // Knot's zone TTL is 3600; local data here has TTL 7 or 300.
    let local = want.has_flag("aa")
        && !want.answers.is_empty()
        && want.answers.iter().all(|r| r.ttl != 3600);
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

fn local_records(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("local")?;
    let conf = dir.join("local.conf");
    std::fs::write(&conf, CONF.replace("KNOT", &knot.server_spec()))?;
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, HOSTS)?;
    let dnsmasq = start_dnsmasq(&knot.server_spec(), &conf, &hosts)?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(format!("--addn-hosts={}", hosts.display()))
        .arg(format!("--conf-file={}", conf.display()))
        .spawn()?;
    for &(name, rtype) in CASES {
        compare(rm.addr(), dnsmasq.addr, name, rtype)?;
    }
    // CHAOS: the same rcodes and flags; version/authors text differs on purpose.
    for name in [
        "version.bind",
        "authors.bind",
        "hostname.bind",
        "id.server",
        "version.server",
        "x.version.bind",
    ] {
        for t in ["TXT", "A"] {
            let want = ask(dnsmasq.addr, name, t, "CH")?;
            let got = ask(rm.addr(), name, t, "CH")?;
            let ctx = format!("CH {name} {t}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
            ensure!(got.status == want.status, "rcode differs: {ctx}");
            ensure!(
                got.has_flag("aa") == want.has_flag("aa"),
                "AA differs: {ctx}"
            );
            ensure!(
                got.answers.len() == want.answers.len(),
                "answers differ: {ctx}"
            );
            let ttls = |a: &DigAnswer| a.answers.iter().map(|r| r.ttl).collect::<Vec<_>>();
            ensure!(ttls(&got) == ttls(&want), "TTLs differ: {ctx}");
        }
    }
    let v = ask(rm.addr(), "version.bind", "TXT", "CH")?;
    ensure!(
        v.answers
            .first()
            .is_some_and(|r| r.rdata.contains("ringmasq-")),
        "version.bind: {v:#?}"
    );
    // SIGHUP: both re-read the hosts file; the CNAME chain into it follows.
    std::fs::write(&hosts, HOSTS_AFTER)?;
    rm.signal(libc::SIGHUP)?;
    dnsmasq.signal(libc::SIGHUP)?;
    poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || {
            let a = ask(rm.addr(), "newname.lab.test", "A", "IN").ok()?;
            (!a.answers.is_empty()).then_some(())
        },
    )
    .context("ringmasq did not reload")?;
    poll_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        100,
        || {
            let a = ask(dnsmasq.addr, "newname.lab.test", "A", "IN").ok()?;
            (!a.answers.is_empty()).then_some(())
        },
    )
    .context("dnsmasq did not reload")?;
    for &(name, rtype) in AFTER {
        compare(rm.addr(), dnsmasq.addr, name, rtype)?;
    }
    Ok(())
}

backend_tests!(local_records);
