//! `--domain=NAME,INTERFACE` with `--expand-hosts`: hosts-file names whose address is in one of
//! the interface's subnets get that domain (here `lo`, so 127.0.0.0/8 and ::1), other names the
//! plain `--domain`. Answers must match dnsmasq 2.90 on the same files.

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, TempDir, backend_tests};

const HOSTS: &str = "\
127.0.0.5 box
192.0.2.62 shorty
::1 six
";

/// (name, type, answered locally with data?)
const CASES: &[(&str, &str)] = &[
    ("box.lo.test", "A"),
    ("box.lan.test", "A"),
    ("box", "A"),
    ("shorty.lan.test", "A"),
    ("shorty.lo.test", "A"),
    ("six.lo.test", "AAAA"),
    ("5.0.0.127.in-addr.arpa", "PTR"),
    ("62.2.0.192.in-addr.arpa", "PTR"),
];

fn domain_interface(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let dir = TempDir::new("domif")?;
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, HOSTS)?;
    let args = [
        format!("--addn-hosts={}", hosts.display()),
        "--expand-hosts".to_string(),
        "--domain=lan.test".to_string(),
        "--domain=lo.test,lo".to_string(),
    ];
    let dnsmasq = Dnsmasq::start(&knot.server_spec(), &args, ("box.lo.test.", RecordType::A))?;
    let mut b = Ringmasq::builder(backend).server(knot.server_spec());
    for a in &args {
        b = b.arg(a.clone());
    }
    let rm = b.spawn()?;
    let mut local_answers = 0;
    for &(name, rtype) in CASES {
        let run =
            |addr| -> anyhow::Result<DigAnswer> { Ok(Dig::new(addr, name).rtype(rtype).run()?) };
        let want = run(dnsmasq.addr).with_context(|| format!("dnsmasq {name} {rtype}"))?;
        let got = run(rm.addr()).with_context(|| format!("ringmasq {name} {rtype}"))?;
        let ctx = format!("{name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
        if let Some(what) = got.core_difference(&want) {
            anyhow::bail!("{what} differ: {ctx}");
        }
        if let Some(f) = got.flag_difference(&want, &["qr", "aa", "rd", "ra"]) {
            anyhow::bail!("flag {f} differs: {ctx}");
        }
        if got.has_flag("aa") && !got.answers.is_empty() {
            local_answers += 1;
        }
    }
    // The interface form did something: box is known under lo.test.
    let boxed = rm.dig("box.lo.test").run()?;
    ensure!(
        boxed.answers.first().map(|a| a.rdata.as_str()) == Some("127.0.0.5"),
        "box.lo.test: {boxed:?}"
    );
    ensure!(local_answers >= 4, "only {local_answers} local answers");
    Ok(())
}

backend_tests!(domain_interface);
