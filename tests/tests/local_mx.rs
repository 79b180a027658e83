//! `--selfmx` and `--localmx`, differential against dnsmasq 2.90: an MX record for every name
//! of the hosts file (IPv4 or IPv6, short or long, any case) pointing to the name itself or to
//! the `--mx-target` (else this machine's host name); `--selfmx` wins over `--localmx`, an
//! `--mx-host` record over both; other names are forwarded and addresses answered as before.
//! Both servers read the same hosts file and forward to the same knot. (Other types of a hosts
//! name are left out: how dnsmasq rewrites knot's NXDOMAIN for them is not stable, see
//! `local_records.rs`.)

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

const HOSTS: &str = "\
192.0.2.61 printer.lab.test printer
2001:db8::7 six.lab.test
";

/// (name, type) asked of both servers under every configuration.
const CASES: &[(&str, &str)] = &[
    ("printer.lab.test", "MX"),
    ("PRINTER.Lab.test", "MX"),
    ("six.lab.test", "MX"),
    ("printer", "MX"),
    ("other.lab.test", "MX"),
    ("printer.lab.test", "A"),
];

/// The option sets compared, each on a fresh pair of servers.
const CONFIGS: &[&[&str]] = &[
    &["--selfmx"],
    &["--localmx", "--mx-target=mail.lab.test"],
    &["--localmx"],
    &[
        "--localmx",
        "--selfmx",
        "--mx-target=mail.lab.test",
        "--mx-host=printer.lab.test,relay.lab.test,5",
    ],
];

fn ask(addr: std::net::SocketAddr, name: &str, rtype: &str) -> anyhow::Result<DigAnswer> {
    Ok(Dig::new(addr, name).rtype(rtype).run()?)
}

fn local_mx(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("localmx")?;
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, HOSTS)?;
    let mut synthesised = 0;
    for opts in CONFIGS {
        let mut extra = vec![format!("--addn-hosts={}", hosts.display())];
        extra.extend(opts.iter().map(|o| o.to_string()));
        let dnsmasq = Dnsmasq::start(
            &knot.server_spec(),
            &extra,
            ("printer.lab.test.", RecordType::A),
        )?;
        let mut b = Ringmasq::builder(backend).server(knot.server_spec());
        for a in &extra {
            b = b.arg(a);
        }
        let rm = b.spawn()?;
        for &(name, rtype) in CASES {
            let want = ask(dnsmasq.addr, name, rtype).with_context(|| format!("dnsmasq {name}"))?;
            let got = ask(rm.addr(), name, rtype).with_context(|| format!("ringmasq {name}"))?;
            let ctx = format!("{opts:?} {name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
            if let Some(what) = got.core_difference(&want) {
                anyhow::bail!("{what} differ: {ctx}");
            }
            let local = want.answers.iter().any(|r| r.rtype == "MX");
            if local {
                synthesised += 1;
                ensure!(got.flag_difference(&want, &["aa"]).is_none(), "AA: {ctx}");
                let ttls = |a: &DigAnswer| a.answers.iter().map(|r| r.ttl).collect::<Vec<_>>();
                ensure!(ttls(&got) == ttls(&want), "TTLs differ: {ctx}");
            }
        }
    }
    // Four machine names under four configurations, all answered with an MX by both.
    ensure!(synthesised == 16, "{synthesised} MX answers compared");
    Ok(())
}

backend_tests!(local_mx);
