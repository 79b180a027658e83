//! Validation of real answers captured from `knotd` serving the test suite's signed lab
//! (tests/lab/dnssec-lab.sh, signatures valid 2020-01-01 to 2040-01-01, captured with DO=1),
//! at a fixed time.

use super::*;
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use std::collections::HashMap;
use std::str::FromStr;

const LAB: &str = include_str!("testdata/lab.txt");
const ANCHOR: &str =
    ".,56486,13,2,1eb40c42778d14f1b5a81107e9c7dd39068637bccb94bb4429f0f62a38f0eeac";
/// 2030-01-01T00:00:00Z.
const NOW: u32 = 1_893_456_000;

fn captures() -> HashMap<(Name, RecordType), Vec<u8>> {
    LAB.lines()
        .map(|l| {
            let mut it = l.split_whitespace();
            let name = Name::from_ascii(it.next().unwrap()).unwrap().to_lowercase();
            let name = if name.is_fqdn() {
                name
            } else {
                Name::from_str(&format!("{name}.")).unwrap()
            };
            let t = RecordType::from_str(it.next().unwrap()).unwrap();
            let hex = it.next().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            ((name, t), bytes)
        })
        .collect()
}

fn config() -> ValidatorConfig {
    ValidatorConfig {
        anchors: vec![TrustAnchor::parse(ANCHOR).unwrap()],
        check_unsigned: true,
        no_timecheck: Default::default(),
        timecheck_from: 0,
        debug: false,
        limits: Limits::default(),
    }
}

/// Runs the validator on the captured answer to `name`/`rtype`, answering its sub-queries
/// from the captures as the forwarder would; returns the status and the sub-queries made.
fn run_with(
    cfg: &ValidatorConfig,
    store: &mut KeyStore,
    name: &str,
    rtype: RecordType,
    now: u32,
) -> (Security, Vec<(Name, RecordType)>) {
    let caps = captures();
    let qname = Name::from_ascii(name).unwrap();
    let msg = Message::from_vec(&caps[&(qname.clone(), rtype)]).unwrap();
    let mut asked = Vec::new();
    for _ in 0..50 {
        match validate(&msg, &qname, rtype, cfg, store, now) {
            Outcome::Done(s) => return (s, asked),
            Outcome::Need(n, t) => {
                let m = caps
                    .get(&(n.clone(), t))
                    .map(|b| std::sync::Arc::new(Message::from_vec(b).unwrap()));
                assert!(m.is_some(), "no capture for {n} {t}");
                store.insert_answer(&n, t, m, now);
                asked.push((n, t));
            }
        }
    }
    panic!("validation of {name} did not finish");
}

fn run(name: &str, rtype: RecordType) -> Security {
    run_with(&config(), &mut KeyStore::new(), name, rtype, NOW).0
}

fn bogus_code(s: Security) -> u16 {
    match s {
        Security::Bogus(b) => b.ede,
        other => panic!("expected bogus, got {other:?}"),
    }
}

#[test]
fn positive_answers_in_signed_zones_are_secure_for_every_algorithm() {
    for name in [
        "www.sec.test.",
        "www.n3.test.",
        "www.rsa256.test.",
        "www.rsa512.test.",
        "www.ed25519.test.",
        "www.iter.test.",
    ] {
        assert_eq!(run(name, RecordType::A), Security::Secure, "{name}");
    }
}

#[test]
fn denials_nsec_and_nsec3() {
    assert_eq!(run("nx.sec.test.", RecordType::A), Security::Secure);
    assert_eq!(run("txt.sec.test.", RecordType::AAAA), Security::Secure);
    assert_eq!(run("nope.test.", RecordType::A), Security::Secure);
    // n3.test. is signed with opt-out: an NXDOMAIN there is not provably secure (RFC 5155 §8.3).
    assert_eq!(run("nx.n3.test.", RecordType::A), Security::Insecure);
    assert_eq!(run("www.n3.test.", RecordType::DS), Security::Secure);
    // 200 NSEC3 iterations: over the limit of 150, insecure (RFC 9276 §3.2).
    assert_eq!(run("nx.iter.test.", RecordType::A), Security::Insecure);
}

#[test]
fn wildcard_and_cname_chains_across_zones() {
    assert_eq!(run("a.wild.sec.test.", RecordType::A), Security::Secure);
    assert_eq!(run("cname.sec.test.", RecordType::A), Security::Secure);
    // knotd does not follow a CNAME out of its zone: the signed CNAME alone is the answer.
    assert_eq!(run("loop.sec.test.", RecordType::A), Security::Secure);
}

#[test]
fn insecure_delegations_are_proven() {
    assert_eq!(run("www.insec.test.", RecordType::A), Security::Insecure);
    assert_eq!(run("nx.insec.test.", RecordType::A), Security::Insecure);
    // The DS NODATA itself is proven by a matching (opt-out) NSEC3: secure.
    assert_eq!(run("unsigned.n3.test.", RecordType::DS), Security::Secure);
}

#[test]
fn bogus_answers_say_why() {
    assert_eq!(
        bogus_code(run("www.bogus.test.", RecordType::A)),
        ede_code::DNSSEC_BOGUS
    );
    assert_eq!(
        bogus_code(run("www.expired.test.", RecordType::A)),
        ede_code::SIGNATURE_EXPIRED
    );
    assert_eq!(
        bogus_code(run("www.wrongds.test.", RecordType::A)),
        ede_code::DNSKEY_MISSING
    );
}

#[test]
fn time_is_an_argument() {
    // Before the signatures' inception: not yet valid.
    let (s, _) = run_with(
        &config(),
        &mut KeyStore::new(),
        "www.sec.test.",
        RecordType::A,
        1_500_000_000,
    );
    assert_eq!(bogus_code(s), ede_code::SIGNATURE_NOT_YET_VALID);
    // --dnssec-no-timecheck accepts the expired zone.
    let cfg = ValidatorConfig {
        no_timecheck: std::sync::Arc::new(true.into()),
        ..config()
    };
    let (s, _) = run_with(
        &cfg,
        &mut KeyStore::new(),
        "www.expired.test.",
        RecordType::A,
        NOW,
    );
    assert_eq!(s, Security::Secure);
    // --dnssec-timestamp in the future: no time checks yet.
    let cfg = ValidatorConfig {
        timecheck_from: NOW + 1,
        ..config()
    };
    let (s, _) = run_with(
        &cfg,
        &mut KeyStore::new(),
        "www.expired.test.",
        RecordType::A,
        NOW,
    );
    assert_eq!(s, Security::Secure);
}

#[test]
fn unsigned_answers_without_check_unsigned_are_insecure_without_queries() {
    let cfg = ValidatorConfig {
        check_unsigned: false,
        ..config()
    };
    let (s, asked) = run_with(
        &cfg,
        &mut KeyStore::new(),
        "www.insec.test.",
        RecordType::A,
        NOW,
    );
    assert_eq!(s, Security::Insecure);
    assert!(asked.is_empty());
}

#[test]
fn the_chain_is_fetched_once_then_kept_in_the_store() {
    let cfg = config();
    let mut store = KeyStore::new();
    let (s, asked) = run_with(&cfg, &mut store, "www.sec.test.", RecordType::A, NOW);
    assert_eq!(s, Security::Secure);
    let want: Vec<(Name, RecordType)> = [
        ("sec.test.", RecordType::DS),
        ("test.", RecordType::DS),
        (".", RecordType::DNSKEY),
        ("test.", RecordType::DNSKEY),
        ("sec.test.", RecordType::DNSKEY),
    ]
    .iter()
    .map(|(n, t)| (Name::from_ascii(n).unwrap(), *t))
    .collect();
    assert_eq!(asked, want);
    let (s, asked) = run_with(&cfg, &mut store, "txt.sec.test.", RecordType::AAAA, NOW);
    assert_eq!(s, Security::Secure);
    assert!(asked.is_empty(), "{asked:?}");
}

#[test]
fn work_limit_bounds_signature_checks() {
    let cfg = ValidatorConfig {
        limits: Limits {
            work_per_answer: 2,
            ..Limits::default()
        },
        ..config()
    };
    let (s, _) = run_with(
        &cfg,
        &mut KeyStore::new(),
        "www.sec.test.",
        RecordType::A,
        NOW,
    );
    assert_eq!(bogus_code(s), ede_code::OTHER);
}

#[test]
fn no_anchor_for_the_chain_is_bogus() {
    let cfg = ValidatorConfig {
        anchors: Vec::new(),
        ..config()
    };
    let (s, _) = run_with(
        &cfg,
        &mut KeyStore::new(),
        "www.sec.test.",
        RecordType::A,
        NOW,
    );
    assert!(matches!(s, Security::Bogus(_)));
}

#[test]
fn keys_are_kept_with_their_status_until_the_ttl_or_the_signature_expiry() {
    let sec = Name::from_ascii("sec.test.").unwrap();
    // Far from the expiry (2040-01-01): kept for the DNSKEY/DS TTL (300 s), status secure.
    let mut store = KeyStore::new();
    let (s, _) = run_with(&config(), &mut store, "www.sec.test.", RecordType::A, NOW);
    assert_eq!(s, Security::Secure);
    assert!(matches!(
        store.zone(&sec, NOW + 250),
        Some(keys::ZoneStatus::Secure(_))
    ));
    assert!(store.zone(&sec, NOW + 400).is_none());
    // 100 s before the signatures expire: kept only until then (RFC 4035 §5.3.3).
    let expiry = 2_208_988_800u32;
    let mut store = KeyStore::new();
    let (s, _) = run_with(
        &config(),
        &mut store,
        "www.sec.test.",
        RecordType::A,
        expiry - 100,
    );
    assert_eq!(s, Security::Secure);
    assert!(store.zone(&sec, expiry - 50).is_some());
    assert!(store.zone(&sec, expiry + 50).is_none());
}
