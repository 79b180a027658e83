//! Invariants the `tftp_parse` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`).

use super::negotiate::{Limits, negotiate};
use super::packet::{Packet, parse, write_request};
use super::path::resolve;
use super::transfer::{Emit, Step, Transfer};
use crate::time::Instant;

/// Parses `data` as a client packet; a request must write back to bytes that parse to the same
/// request, its name must resolve to a path without `..`, and a transfer negotiated from it
/// must run to completion on in-order ACKs. Panics on a broken invariant.
pub fn check_packet(data: &[u8]) {
    let Ok(Packet::Request(req)) = parse(data) else {
        return;
    };
    let mut out = Vec::new();
    write_request(&req, &mut out);
    let back = parse(&out).expect("our own request parses");
    assert_eq!(back, Packet::Request(req.clone()));
    if let Ok(p) = resolve(req.filename, b"/srv/tftp", true) {
        assert!(!p.split(|&b| b == b'/').any(|c| c == b".." || c.is_empty()));
    }
    let size = u64::from(data.len() as u32 * 37);
    let n = negotiate(&req.options, req.mode, size, &Limits::default());
    let (mut t, mut emit) = Transfer::start(&n, size, Instant(0));
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "transfer does not finish");
        let ack = match emit {
            Emit::Oack => 0,
            Emit::Blocks { last, .. } => Transfer::wire_block(last),
        };
        match t.on_ack(ack, Instant(steps)) {
            Step::Send(e) => emit = e,
            Step::Done => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(t.acked(), t.blocks());
}
