//! Tests of the TFTP core on captured client requests and simulated transfers.

use std::time::Duration;

use proptest::prelude::*;

use super::captures::{self, bytes};
use super::fuzzing::check_packet;
use super::negotiate::{Limits, negotiate};
use super::packet::*;
use super::transfer::{Emit, MAX_RETRIES, Step, Transfer};
use crate::time::Instant;

#[test]
fn curl_request() {
    let b = bytes(captures::CURL_BLKSIZE_1468);
    let Packet::Request(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert!(!r.write);
    assert_eq!(r.filename, b"pxelinux.0");
    assert_eq!(r.mode, Mode::Octet);
    assert_eq!(
        r.options,
        RequestOptions {
            blksize: Some(1468),
            timeout: Some(6),
            tsize: Some(0),
            windowsize: None
        }
    );
    let b = bytes(captures::CURL_DEFAULT);
    let Packet::Request(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.options.blksize, Some(512));
}

#[test]
fn tftp_hpa_and_atftp_requests() {
    let b = bytes(captures::TFTP_HPA_PLAIN);
    let Packet::Request(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.options, RequestOptions::default());
    let b = bytes(captures::ATFTP_WINDOW);
    let Packet::Request(r) = parse(&b).unwrap() else {
        panic!()
    };
    assert_eq!(r.filename, b"boot/grubx64.efi");
    assert_eq!(r.options.windowsize, Some(8));
    assert_eq!(r.options.tsize, Some(0));
}

#[test]
fn malformed_packets() {
    assert_eq!(parse(b""), Err(ParseError::Short));
    assert_eq!(parse(b"\x00"), Err(ParseError::Short));
    assert_eq!(parse(b"\x00\x04\x00"), Err(ParseError::Short));
    assert_eq!(parse(b"\x00\x06\x00\x00"), Err(ParseError::Opcode(6)));
    assert_eq!(parse(b"\x00\x01a\x00octet"), Err(ParseError::Malformed));
    assert_eq!(parse(b"\x00\x01\x00octet\x00"), Err(ParseError::Malformed));
    assert_eq!(parse(b"\x00\x01a\x00mail\x00"), Err(ParseError::Mode));
    assert_eq!(parse(b"\x00\x01a\x00\x00"), Err(ParseError::Mode));
    // Out-of-range or non-numeric option values are not acknowledged.
    let Packet::Request(r) =
        parse(b"\x00\x01a\x00NetASCII\x00BLKSIZE\x007\x00timeout\x00256\x00tsize\x00x\x00")
            .unwrap()
    else {
        panic!()
    };
    assert_eq!(r.mode, Mode::Netascii);
    assert_eq!(r.options, RequestOptions::default());
    assert_eq!(parse(b"\x00\x04\x12\x34"), Ok(Packet::Ack(0x1234)));
    assert_eq!(
        parse(b"\x00\x05\x00\x01no\x00"),
        Ok(Packet::Error {
            code: 1,
            message: b"no"
        })
    );
    assert!(matches!(
        parse(b"\x00\x02f\x00octet\x00"),
        Ok(Packet::Request(Request { write: true, .. }))
    ));
}

#[test]
fn written_packets() {
    let mut out = Vec::new();
    write_error(ErrorCode::FileNotFound, "file not found", &mut out);
    assert_eq!(out, b"\x00\x05\x00\x01file not found\x00");
    let o = Oack {
        blksize: Some(1468),
        timeout: None,
        tsize: Some(123),
        windowsize: Some(8),
    };
    write_oack(&o, &mut out);
    assert_eq!(
        out,
        b"\x00\x06blksize\x001468\x00tsize\x00123\x00windowsize\x008\x00"
    );
    assert_eq!(parse_oack(&out), Some(o));
    let mut d = [0u8; 4];
    write_data_header(0x0102, &mut d);
    assert_eq!(d, [0, 3, 1, 2]);
}

fn n(blksize: u16, window: u16, oack: bool) -> super::Negotiated {
    let req = RequestOptions {
        blksize: oack.then_some(blksize),
        windowsize: (window > 1).then_some(window),
        ..RequestOptions::default()
    };
    let mut n = negotiate(&req, Mode::Octet, 0, &Limits::default());
    n.blksize = blksize;
    n
}

/// Runs a transfer with a client that acks every window's last block; returns the DATA blocks
/// (wire numbers) sent in order.
fn run(size: u64, neg: &super::Negotiated) -> Vec<u16> {
    let (mut t, mut emit) = Transfer::start(neg, size, Instant(0));
    let mut wire = Vec::new();
    let mut now = 0;
    loop {
        now += 1;
        let ack = match emit {
            Emit::Oack => 0,
            Emit::Blocks { first, last } => {
                wire.extend((first..=last).map(Transfer::wire_block));
                Transfer::wire_block(last)
            }
        };
        match t.on_ack(ack, Instant(now)) {
            Step::Send(e) => emit = e,
            Step::Done => return wire,
            s => panic!("{s:?}"),
        }
    }
}

#[test]
fn sizes_and_last_block() {
    let neg = n(512, 1, false);
    assert_eq!(run(0, &neg), [1]);
    assert_eq!(run(511, &neg), [1]);
    assert_eq!(run(512, &neg), [1, 2]);
    assert_eq!(run(1025, &neg), [1, 2, 3]);
    let (t, _) = Transfer::start(&neg, 1025, Instant(0));
    assert_eq!(t.block_range(1), 0..512);
    assert_eq!(t.block_range(3), 1024..1025);
    assert_eq!(t.blocks(), 3);
    let (t, _) = Transfer::start(&neg, 1024, Instant(0));
    assert_eq!(t.block_range(3), 1024..1024);
}

#[test]
fn block_numbers_roll_over_to_zero() {
    // 33 MiB at 512 bytes: 67585 blocks, past 65535.
    let size = 33 * 1024 * 1024;
    let wire = run(size, &n(512, 1, true));
    assert_eq!(wire.len(), 67585);
    assert_eq!(wire[65534], 65535);
    assert_eq!(wire[65535], 0);
    assert_eq!(wire[65536], 1);
    let wire = run(size, &n(512, 7, true));
    assert_eq!(wire.len(), 67585);
    assert_eq!(wire[65535], 0);
}

#[test]
fn oack_then_window() {
    let neg = n(1468, 4, true);
    let (mut t, emit) = Transfer::start(&neg, 10 * 1468, Instant(0));
    assert_eq!(emit, Emit::Oack);
    assert_eq!(t.on_ack(1, Instant(1)), Step::Duplicate);
    assert_eq!(
        t.on_ack(0, Instant(1)),
        Step::Send(Emit::Blocks { first: 1, last: 4 })
    );
    // A partial ACK (block 3 lost after 2): the next window starts at 3 (RFC 7440).
    assert_eq!(
        t.on_ack(2, Instant(2)),
        Step::Send(Emit::Blocks { first: 3, last: 6 })
    );
    assert_eq!(t.on_ack(2, Instant(3)), Step::Duplicate);
    assert_eq!(t.on_ack(9, Instant(3)), Step::Duplicate);
    assert_eq!(
        t.on_ack(6, Instant(4)),
        Step::Send(Emit::Blocks { first: 7, last: 10 })
    );
    assert_eq!(
        t.on_ack(10, Instant(5)),
        Step::Send(Emit::Blocks {
            first: 11,
            last: 11
        })
    );
    assert_eq!(t.on_ack(11, Instant(6)), Step::Done);
}

#[test]
fn duplicate_acks_never_double_the_stream() {
    let neg = n(512, 1, false);
    let (mut t, _) = Transfer::start(&neg, 5000, Instant(0));
    assert_eq!(
        t.on_ack(1, Instant(1)),
        Step::Send(Emit::Blocks { first: 2, last: 2 })
    );
    // The same ACK again (the network duplicated it): nothing is sent.
    for _ in 0..5 {
        assert_eq!(t.on_ack(1, Instant(2)), Step::Duplicate);
    }
    assert_eq!(
        t.on_ack(2, Instant(3)),
        Step::Send(Emit::Blocks { first: 3, last: 3 })
    );
}

#[test]
fn lost_ack_is_retransmitted_with_back_off_then_abandoned() {
    let neg = n(512, 1, false);
    let (mut t, emit) = Transfer::start(&neg, 5000, Instant(0));
    assert_eq!(emit, Emit::Blocks { first: 1, last: 1 });
    assert_eq!(t.deadline(), Instant(2000));
    assert_eq!(t.on_timeout(Instant(1999)), Step::Idle);
    let mut now = Instant(2000);
    let mut gaps = Vec::new();
    for _ in 0..MAX_RETRIES {
        assert_eq!(
            t.on_timeout(now),
            Step::Send(Emit::Blocks { first: 1, last: 1 })
        );
        gaps.push((t.deadline() - now).as_millis());
        now = t.deadline();
    }
    assert_eq!(gaps, [4000, 8000, 16000, 16000, 16000, 16000]);
    assert_eq!(t.on_timeout(now), Step::Abandon);
}

#[test]
fn progress_resets_the_back_off() {
    let neg = n(512, 1, true);
    let (mut t, _) = Transfer::start(&neg, 5000, Instant(0));
    assert_eq!(t.on_timeout(Instant(2000)), Step::Send(Emit::Oack));
    assert_eq!(t.deadline(), Instant(6000));
    assert!(matches!(t.on_ack(0, Instant(2500)), Step::Send(_)));
    assert_eq!(t.deadline(), Instant(4500));
    let late = Instant(4500).saturating_add(Duration::from_secs(1));
    assert_eq!(
        t.on_timeout(late),
        Step::Send(Emit::Blocks { first: 1, last: 1 })
    );
}

#[test]
fn corpus_invariants_on_captures() {
    for c in [
        captures::CURL_BLKSIZE_1468,
        captures::CURL_DEFAULT,
        captures::TFTP_HPA_PLAIN,
        captures::ATFTP_WINDOW,
    ] {
        check_packet(&bytes(c));
    }
}

fn arb_request() -> impl Strategy<Value = (Vec<u8>, bool, bool, RequestOptions)> {
    (
        proptest::collection::vec(1u8..=255, 1..64),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(8u16..=65464),
        proptest::option::of(1u8..=255),
        proptest::option::of(any::<u64>().prop_map(|v| v % 10_000_000_000_000_000_000)),
        proptest::option::of(1u16..=65535),
    )
        .prop_map(
            |(name, write, ascii, blksize, timeout, tsize, windowsize)| {
                (
                    name,
                    write,
                    ascii,
                    RequestOptions {
                        blksize,
                        timeout,
                        tsize,
                        windowsize,
                    },
                )
            },
        )
}

proptest! {
    #[test]
    fn request_round_trip((name, write, ascii, options) in arb_request()) {
        let req = Request {
            write,
            filename: &name,
            mode: if ascii { Mode::Netascii } else { Mode::Octet },
            options,
        };
        let mut out = Vec::new();
        write_request(&req, &mut out);
        prop_assert_eq!(parse(&out), Ok(Packet::Request(req)));
    }

    #[test]
    fn arbitrary_bytes_never_break_invariants(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_packet(&data);
    }

    #[test]
    fn random_acks_never_overrun(acks in proptest::collection::vec(any::<u16>(), 0..300), window in 1u16..=32) {
        let neg = n(512, window, window % 2 == 0);
        let (mut t, _) = Transfer::start(&neg, 40_000, Instant(0));
        let mut sent_to = 0;
        for (i, a) in acks.into_iter().enumerate() {
            match t.on_ack(a, Instant(i as u64)) {
                Step::Send(Emit::Blocks { first, last }) => {
                    prop_assert!(first <= last && last <= t.blocks());
                    prop_assert!(last - first < u64::from(window));
                    prop_assert_eq!(first, t.acked() + 1);
                    sent_to = last;
                }
                Step::Done => { prop_assert_eq!(t.acked(), t.blocks()); break; }
                _ => {}
            }
            prop_assert!(t.acked() <= sent_to.max(t.acked()));
        }
    }
}
