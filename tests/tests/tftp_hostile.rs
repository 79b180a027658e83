//! Hostile TFTP packets to port 69 (RFC 1350, RFC 2347-2349): 18 named classes — empty and
//! one-byte datagrams, unknown opcodes, requests without a file name terminator or mode, a
//! bogus mode, an option without a value, out-of-range blksize/windowsize, a non-numeric tsize,
//! a 600-byte file name, a write request, and ACK/DATA/ERROR/OACK sent to the request port.
//! After each the server is alive, the packet was answered with an ERROR, ignored as an
//! invalid option (a transfer starts, RFC 2347 §4 lets the server drop an option it does not
//! accept) or dropped — and counted in the SIGUSR1 TFTP line — and a good request is served.

use std::time::Duration;

use ringmasq_tests::tftp::{Reply, TftpServer};
use ringmasq_tests::{Backend, backend_tests};

fn rrq(name: &[u8], mode: Option<&[u8]>, opts: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = vec![0, 1];
    b.extend_from_slice(name);
    b.push(0);
    if let Some(m) = mode {
        b.extend_from_slice(m);
        b.push(0);
    }
    for (k, v) in opts {
        b.extend_from_slice(k);
        b.push(0);
        b.extend_from_slice(v);
        b.push(0);
    }
    b
}

fn classes() -> Vec<(&'static str, Vec<u8>)> {
    let long = vec![b'a'; 600];
    vec![
        ("empty datagram", Vec::new()),
        ("one byte", vec![1]),
        (
            "opcode 0",
            vec![0, 0, b'f', 0, b'o', b'c', b't', b'e', b't', 0],
        ),
        (
            "opcode 9",
            vec![0, 9, b'f', 0, b'o', b'c', b't', b'e', b't', 0],
        ),
        (
            "file name without its NUL",
            vec![0, 1, b'f', b'i', b'l', b'e'],
        ),
        ("no mode", vec![0, 1, b'f', b'i', b'l', b'e', 0]),
        ("bogus mode", rrq(b"file", Some(b"bogus"), &[])),
        ("option without a value", {
            let mut b = rrq(b"file", Some(b"octet"), &[]);
            b.extend_from_slice(b"blksize\0");
            b
        }),
        (
            "blksize 0",
            rrq(b"file", Some(b"octet"), &[(b"blksize", b"0")]),
        ),
        (
            "blksize 100000",
            rrq(b"file", Some(b"octet"), &[(b"blksize", b"100000")]),
        ),
        (
            "windowsize 0",
            rrq(b"file", Some(b"octet"), &[(b"windowsize", b"0")]),
        ),
        (
            "tsize not a number",
            rrq(b"file", Some(b"octet"), &[(b"tsize", b"abc")]),
        ),
        ("600-byte file name", rrq(&long, Some(b"octet"), &[])),
        ("write request", {
            let mut b = rrq(b"new", Some(b"octet"), &[]);
            b[1] = 2;
            b
        }),
        ("ACK to port 69", vec![0, 4, 0, 1]),
        ("DATA to port 69", vec![0, 3, 0, 1, b'x', b'y']),
        ("ERROR to port 69", vec![0, 5, 0, 0, b'n', b'o', 0]),
        (
            "OACK to port 69",
            vec![0, 6, b'b', b'l', b'k', b's', b'i', b'z', b'e', 0, b'8', 0],
        ),
    ]
}

/// Sum of the TFTP counters that record a refused or dropped packet or a started transfer,
/// from a fresh SIGUSR1 line.
fn handled(s: &TftpServer) -> u64 {
    let seen = s.log().matches("TFTP: ").count();
    s.signal(libc::SIGUSR1).expect("SIGUSR1");
    let mut line = String::new();
    for _ in 0..100 {
        let log = s.log();
        if log.matches("TFTP: ").count() > seen {
            line = log
                .lines()
                .rev()
                .find(|l| l.contains("TFTP: "))
                .unwrap_or("")
                .to_string();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!line.is_empty(), "no TFTP statistics line after SIGUSR1");
    let num = |label: &str| -> u64 {
        line.split(", ")
            .flat_map(|p| p.split("; "))
            .find_map(|p| {
                let p = p.trim_start_matches("dropped: ");
                let p = p.split("TFTP: ").last().unwrap_or(p);
                p.strip_suffix(label).and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    };
    num(" transfers started")
        + num(" errors sent")
        + num(" malformed")
        + num(" unknown peer")
        + num(" unexpected")
}

fn hostile_tftp_packets_are_refused_or_dropped_and_counted(b: Backend) -> anyhow::Result<()> {
    let s = TftpServer::start(b, &[], |root| {
        std::fs::write(root.join("file"), b"hello").unwrap();
    })
    .unwrap();
    let all = classes();
    assert!(all.len() >= 10);
    for (name, bytes) in &all {
        let before = handled(&s);
        let c = s.raw_client(Duration::from_millis(300)).unwrap();
        c.request(bytes).unwrap();
        let reply = c.recv().ok();
        if let Some(r) = &reply {
            assert!(
                matches!(r, Reply::Error(..) | Reply::Data(1, _) | Reply::Oack(_)),
                "{name}: unexpected reply {r:?}"
            );
        }
        // The counters are bumped by the TFTP thread, read by the control thread: poll briefly.
        let mut after = handled(&s);
        for _ in 0..10 {
            if after > before {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            after = handled(&s);
        }
        assert!(
            after > before,
            "{name}: not counted ({before} -> {after}), reply {reply:?}"
        );
        // A good request right after is served.
        let good = s.raw_client(Duration::from_secs(2)).unwrap();
        good.rrq("file", &[]).unwrap();
        match good.recv().unwrap() {
            Reply::Data(1, d) => assert_eq!(d, b"hello", "{name}"),
            other => panic!("{name}: good request got {other:?}"),
        }
        eprintln!("{name}: {reply:?}");
    }
    Ok(())
}

backend_tests!(hostile_tftp_packets_are_refused_or_dropped_and_counted);
