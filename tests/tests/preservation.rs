//! The client's ID, flags (RD, CD) and the exact bytes of its question, including mixed case,
//! come back unchanged, whether the answer is forwarded or served from the cache.

use anyhow::ensure;
use hickory_proto::op::{MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RecordType};
use ringmasq_tests::client::{encode, make_query};
use ringmasq_tests::{Backend, Knot, Ringmasq, backend_tests};

/// Length of the single question section starting at offset 12 (uncompressed name).
fn question_len(msg: &[u8]) -> usize {
    let mut i = 12;
    while i < msg.len() && msg[i] != 0 {
        i += usize::from(msg[i]) + 1;
    }
    i + 1 + 4 - 12
}

fn preservation(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let rm = Ringmasq::start(backend, &knot.server_spec())?;
    let client = rm.client();
    // First forwarded, then twice from the cache with other spellings.
    for (id, name, cd) in [
        (0xbeef_u16, "WwW.LaB.TeSt.", true),
        (0x0001, "www.LAB.test.", false),
        (0xfffe, "WWW.lab.TEST.", true),
    ] {
        let mut q = make_query(id, name, RecordType::A, DNSClass::IN)?;
        q.metadata.checking_disabled = cd;
        let qbytes = encode(&q)?;
        let (raw, _) = client.send_raw_matching(&qbytes, id)?;
        let r = ringmasq_tests::client::decode(&raw)?;
        ensure!(
            r.metadata.id == id,
            "{name}: ID {:#x} != {id:#x}",
            r.metadata.id
        );
        ensure!(
            r.metadata.message_type == MessageType::Response,
            "{name}: QR not set"
        );
        ensure!(
            r.metadata.op_code == OpCode::Query,
            "{name}: opcode changed"
        );
        ensure!(r.metadata.recursion_desired, "{name}: RD not echoed");
        ensure!(r.metadata.checking_disabled == cd, "{name}: CD not echoed");
        ensure!(
            r.metadata.response_code == ResponseCode::NoError,
            "{name}: {:?}",
            r.metadata.response_code
        );
        ensure!(r.answers.len() == 1, "{name}: answers {:?}", r.answers);
        let ql = question_len(&qbytes);
        ensure!(
            raw.len() >= 12 + ql && raw[12..12 + ql] == qbytes[12..12 + ql],
            "{name}: question bytes changed: sent {:02x?}, got {:02x?}",
            &qbytes[12..12 + ql],
            &raw[12..(12 + ql).min(raw.len())]
        );
        ensure!(raw[4..6] == [0, 1], "{name}: QDCOUNT changed");
    }

    // dig with a mixed-case name: dig itself checks the echoed question and ID.
    let d = rm.dig("C1.LaB.TeSt").run()?;
    ensure!(
        d.status == "NOERROR" && d.answers.len() == 3,
        "dig mixed case: {d:?}"
    );
    ensure!(
        d.answers[0].name == "C1.LaB.TeSt.",
        "owner name case: {:?}",
        d.answers[0]
    );
    let d = rm.dig("wWw.lAb.TEst").run()?;
    ensure!(
        d.status == "NOERROR" && d.answers.len() == 1,
        "dig cached mixed case: {d:?}"
    );
    Ok(())
}

backend_tests!(preservation);
