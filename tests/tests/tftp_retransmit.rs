//! Loss handling, driven by a hand-made client: a lost ACK makes the server resend the block
//! (after the client's `timeout`, then backing off); duplicate ACKs never make it send a block
//! twice; an ACK from a window's middle restarts the window there (RFC 7440).

use std::time::{Duration, Instant};

use ringmasq_tests::tftp::{Reply, TftpServer, pattern};
use ringmasq_tests::{Backend, backend_tests};

fn lost_ack_is_retransmitted_and_duplicates_never_double_the_stream(
    b: Backend,
) -> anyhow::Result<()> {
    let data = pattern(512 * 6 + 10, 3);
    let d2 = data.clone();
    let s = TftpServer::start(b, &[], move |root| {
        std::fs::write(root.join("f"), &d2).unwrap()
    })
    .unwrap();
    let mut c = s.raw_client(Duration::from_secs(4)).unwrap();
    // timeout 1: the server retransmits after one second without an ACK.
    c.rrq("f", &[("timeout", 1)]).unwrap();
    let (oack, _) = c.recv_from().unwrap();
    assert!(
        matches!(oack, Reply::Oack(ref o) if o == b"timeout\x001\x00"),
        "{oack:?}"
    );
    // Times are taken from before the ACK that makes the server send block 1, which it can
    // only send later: a test thread slow to read a datagram makes a gap look longer, never
    // shorter.
    let t0 = Instant::now();
    c.ack(0).unwrap();
    let (first, _) = c.recv_from().unwrap();
    assert_eq!(first, Reply::Data(1, data[..512].to_vec()));
    // Do not ACK block 1: it comes again after about a second, then after about two more.
    let (again, _) = c.recv_from().unwrap();
    let second_at = t0.elapsed();
    assert_eq!(again, first);
    let (third, _) = c.recv_from().unwrap();
    let third_at = t0.elapsed();
    assert_eq!(third, first);
    assert!(second_at >= Duration::from_millis(800), "{second_at:?}");
    assert!(
        third_at >= Duration::from_millis(2800),
        "back-off: again at {second_at:?}, then at {third_at:?}"
    );
    // ACK 1 three times (a duplicating network): block 2 comes exactly once.
    for _ in 0..3 {
        c.ack(1).unwrap();
    }
    let (second, _) = c.recv_from().unwrap();
    assert_eq!(second, Reply::Data(2, data[512..1024].to_vec()));
    c.ack(2).unwrap();
    let (next, _) = c.recv_from().unwrap();
    assert_eq!(
        next,
        Reply::Data(3, data[1024..1536].to_vec()),
        "block 2 was sent twice"
    );
    for b in 3..=7u16 {
        c.ack(b).unwrap();
        if b < 7 {
            let (d, _) = c.recv_from().unwrap();
            assert!(matches!(d, Reply::Data(n, _) if n == b + 1), "{d:?}");
        }
    }
    assert!(
        s.wait_log("TFTP sent", Duration::from_secs(3)),
        "{}",
        s.log()
    );
    Ok(())
}

fn window_restarts_after_a_partial_ack(b: Backend) -> anyhow::Result<()> {
    let data = pattern(512 * 10, 9);
    let d2 = data.clone();
    let s = TftpServer::start(b, &[], move |root| {
        std::fs::write(root.join("w"), &d2).unwrap()
    })
    .unwrap();
    let mut c = s.raw_client(Duration::from_secs(4)).unwrap();
    c.rrq("w", &[("windowsize", 4)]).unwrap();
    assert!(matches!(c.recv_from().unwrap().0, Reply::Oack(_)));
    c.ack(0).unwrap();
    let got: Vec<Reply> = (0..4).map(|_| c.recv_from().unwrap().0).collect();
    for (i, r) in got.iter().enumerate() {
        assert_eq!(
            *r,
            Reply::Data(i as u16 + 1, data[i * 512..(i + 1) * 512].to_vec())
        );
    }
    // Pretend block 3 was lost: ACK 2; the next window is 3..=6.
    c.ack(2).unwrap();
    let next: Vec<u16> = (0..4)
        .map(|_| match c.recv_from().unwrap().0 {
            Reply::Data(n, _) => n,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(next, [3, 4, 5, 6]);
    Ok(())
}

backend_tests!(
    lost_ack_is_retransmitted_and_duplicates_never_double_the_stream,
    window_restarts_after_a_partial_ack
);
