//! An answer bigger than knot's UDP limit: knot truncates it (TC), ringmasq must fetch it over
//! TCP. A TCP client gets the full RRset; a UDP client gets TC or, if its payload allows, the
//! full RRset.

use anyhow::ensure;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{TcpDns, make_query, next_id, txt_strings, with_edns};
use ringmasq_tests::zone::BIG_TXT_RECORDS;
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

const BIG: &str = "big.lab.test.";

fn truncation(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    // Fixture check: knot itself truncates the 1232-byte EDNS UDP answer.
    let direct = knot.client().send(&with_edns(
        make_query(next_id(), BIG, RecordType::TXT, DNSClass::IN)?,
        1232,
        false,
    ))?;
    ensure!(
        direct.metadata.truncation,
        "fixture: knot did not truncate big.lab.test"
    );
    let mut kt = TcpDns::connect(knot.addr(), std::time::Duration::from_secs(2))?;
    let full = kt.exchange(&make_query(next_id(), BIG, RecordType::TXT, DNSClass::IN)?)?;
    let mut want = txt_strings(&full);
    want.sort();
    ensure!(
        want.len() == BIG_TXT_RECORDS,
        "fixture: knot TCP gave {} records",
        want.len()
    );

    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    let tcp0 = knot.stats()?.tcp_queries();

    // UDP without EDNS: 512-byte limit (RFC 1035 §4.2.1), must be truncated.
    let plain = rm.client().query(BIG, RecordType::TXT)?;
    ensure!(
        plain.metadata.truncation,
        "no-EDNS UDP answer of >512 bytes without TC"
    );

    // UDP with a 4096 payload: TC, or the complete RRset.
    let big = rm.client().send(&with_edns(
        make_query(next_id(), BIG, RecordType::TXT, DNSClass::IN)?,
        4096,
        false,
    ))?;
    if !big.metadata.truncation {
        let mut got = txt_strings(&big);
        got.sort();
        ensure!(
            got == want,
            "UDP 4096 answer without TC but incomplete: {} records",
            got.len()
        );
    }

    // TCP: the complete RRset.
    let mut conn = rm.client().tcp()?;
    let m = conn.exchange(&make_query(next_id(), BIG, RecordType::TXT, DNSClass::IN)?)?;
    ensure!(!m.metadata.truncation, "TCP answer has TC");
    let mut got = txt_strings(&m);
    got.sort();
    ensure!(
        got == want,
        "TCP answer: {} of {} records",
        got.len(),
        want.len()
    );

    // knot truncates every UDP answer for this name, so ringmasq must have used TCP upstream.
    let tcp1 = knot.stats()?.tcp_queries();
    ensure!(tcp1 > tcp0, "knot saw no TCP query from ringmasq");
    Ok(())
}

backend_tests!(truncation);
