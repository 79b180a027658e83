//! EDNS (RFC 6891): an OPT record comes back only when the query had one (§7), the DO bit is
//! echoed (RFC 3225 §3), and the client's UDP payload size decides truncation (§6.2.3-6.2.5).

use anyhow::ensure;
use hickory_proto::op::Message;
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{TcpDns, make_query, next_id, txt_strings, with_edns};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

fn q(name: &str, rtype: RecordType) -> anyhow::Result<Message> {
    Ok(make_query(next_id(), name, rtype, DNSClass::IN)?)
}

fn edns(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    let c = rm.client();

    // DO bit set: echoed.
    let r = c.send(&with_edns(q("www.lab.test.", RecordType::A)?, 1232, true))?;
    let e = r
        .edns
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no OPT in reply to an EDNS query"))?;
    ensure!(e.flags().dnssec_ok, "DO bit not echoed");
    ensure!(r.answers.len() == 1, "DO query answers: {:?}", r.answers);

    // DO clear: not set in the reply (also from the cache now).
    let r = c.send(&with_edns(q("www.lab.test.", RecordType::A)?, 1232, false))?;
    let e = r
        .edns
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no OPT in cached EDNS reply"))?;
    ensure!(
        !e.flags().dnssec_ok,
        "DO set in reply to a query without DO"
    );

    // No EDNS in the query: none in the reply.
    let r = c.query("www.lab.test.", RecordType::A)?;
    ensure!(r.edns.is_none(), "OPT in reply to a query without EDNS");
    ensure!(r.answers.len() == 1, "plain query answers: {:?}", r.answers);

    // mid.lab.test: ~850-byte answer. Over 512 without EDNS -> TC; fits 1232 -> complete.
    let mut kt = TcpDns::connect(knot.addr(), std::time::Duration::from_secs(2))?;
    let want = txt_strings(&kt.exchange(&q("mid.lab.test.", RecordType::TXT)?)?);
    let r = c.send(&with_edns(
        q("mid.lab.test.", RecordType::TXT)?,
        1232,
        false,
    ))?;
    ensure!(
        !r.metadata.truncation,
        "850-byte answer truncated despite 1232 payload"
    );
    ensure!(
        txt_strings(&r) == want,
        "EDNS 1232 answer differs from knot's"
    );
    let r = c.query("mid.lab.test.", RecordType::TXT)?;
    ensure!(
        r.metadata.truncation,
        "850-byte answer without TC to a non-EDNS client"
    );
    // A payload below 512 is treated as 512 (RFC 6891 §6.2.5).
    let r = c.send(&with_edns(q("mid.lab.test.", RecordType::TXT)?, 300, false))?;
    ensure!(
        r.metadata.truncation,
        "850-byte answer without TC to a 512-byte EDNS client"
    );
    Ok(())
}

backend_tests!(edns);
