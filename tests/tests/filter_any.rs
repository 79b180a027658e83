//! `--filter-rr=ANY` (RFC 8482 §4.3 defanging): answers to ANY queries keep only A, AAAA, MX
//! and CNAME records (and NS and SRV, as dnsmasq 2.90 does); answers to other types are
//! untouched. Differential against dnsmasq 2.90 with the same option in front of the same knot,
//! which answers ANY over UDP with one RRset (the lowest type), so each name below holds the
//! type under test.

use anyhow::{Context, ensure};
use hickory_proto::rr::RecordType;
use ringmasq_tests::{Backend, Dig, DigAnswer, Dnsmasq, Knot, Ringmasq, backend_tests};

const ZONE: &str = "\
$ORIGIN any.test.
$TTL 3600
@ IN SOA ns.any.test. admin.any.test. 1 3600 600 86400 300
@ IN NS ns.any.test.
ns IN A 192.0.2.1
many IN A 192.0.2.40
many IN AAAA 2001:db8::40
many IN MX 10 mail.any.test.
many IN TXT \"text that ANY answers drop\"
many IN SRV 0 0 5060 many.any.test.
many IN CAA 0 issue \"ca.example\"
txtonly IN TXT \"only text\"
alias IN CNAME many
t-srv IN SRV 0 0 5060 many.any.test.
t-caa IN CAA 0 issue \"ca.example\"
t-ptr IN PTR many.any.test.
t-hinfo IN HINFO \"cpu\" \"os\"
t-naptr IN NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:x@example.com!\" .
t-https IN HTTPS 1 . alpn=h2
t-dname IN DNAME many.any.test.
t-aaaa IN AAAA 2001:db8::41
t-mx IN MX 10 many.any.test.
";

const CASES: &[(&str, &str)] = &[
    ("many.any.test", "ANY"),
    ("txtonly.any.test", "ANY"),
    ("alias.any.test", "ANY"),
    ("any.test", "ANY"),
    ("t-srv.any.test", "ANY"),
    ("t-caa.any.test", "ANY"),
    ("t-ptr.any.test", "ANY"),
    ("t-hinfo.any.test", "ANY"),
    ("t-naptr.any.test", "ANY"),
    ("t-https.any.test", "ANY"),
    ("t-dname.any.test", "ANY"),
    ("t-aaaa.any.test", "ANY"),
    ("t-mx.any.test", "ANY"),
    ("t-caa.any.test", "CAA"),
    ("many.any.test", "TXT"),
    ("many.any.test", "SRV"),
    ("many.any.test", "A"),
];

fn filter_any(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::builder()
        .zone("any.test.", ZONE.to_string())
        .start()?;
    let opts = ["--filter-rr=ANY".to_string()];
    let dnsmasq = Dnsmasq::start(
        &knot.server_spec(),
        &opts,
        ("many.any.test.", RecordType::A),
    )?;
    let rm = Ringmasq::builder(backend)
        .server(knot.server_spec())
        .arg(opts[0].clone())
        .spawn()?;
    // Twice: the second round is served from both caches.
    for round in 0..2 {
        for &(name, rtype) in CASES {
            let run = |addr| -> anyhow::Result<DigAnswer> {
                Ok(Dig::new(addr, name)
                    .rtype(rtype)
                    .opt("+bufsize=1232")
                    .run()?)
            };
            let want = run(dnsmasq.addr).with_context(|| format!("dnsmasq {name} {rtype}"))?;
            let got = run(rm.addr()).with_context(|| format!("ringmasq {name} {rtype}"))?;
            let ctx =
                format!("round {round}: {name} {rtype}\nringmasq: {got:#?}\ndnsmasq: {want:#?}");
            match got.core_difference(&want) {
                None => {}
                // dnsmasq passes the upstream's additional section (the NS glue) through;
                // ringmasq passes only the question's chain (issue 2's bailiwick rule).
                Some("section counts") if got.counts[..3] == want.counts[..3] => {}
                Some(what) => anyhow::bail!("{what} differ: {ctx}"),
            }
            if let Some(f) = got.flag_difference(&want, &["qr", "rd", "ra", "tc"]) {
                anyhow::bail!("flag {f} differs: {ctx}");
            }
            if rtype == "ANY" {
                ensure!(
                    got.answers.iter().all(|r| {
                        ["A", "AAAA", "MX", "CNAME", "NS", "SRV"].contains(&r.rtype.as_str())
                    }),
                    "ANY answer kept other types: {ctx}"
                );
            }
        }
    }
    let txt = Dig::new(rm.addr(), "many.any.test").rtype("TXT").run()?;
    ensure!(txt.answers.len() == 1, "TXT query filtered: {txt:?}");
    Ok(())
}

backend_tests!(filter_any);
