//! 29 hostile DHCPv4 classes (RFC 2131 §2, §4.3; RFC 2132 §9.3 overload; RFC 3046 option 82)
//! sent to port 67 from the clients' namespace: short and headerless datagrams, BOOTREPLY,
//! bad hardware lengths, bad cookie, option lengths past the end, missing/odd/duplicate message
//! types, overload loops and bad values, giant or overrunning option 82, requests and declines
//! that name nothing, an unknown relay. After each class the server has either dropped it
//! with a logged reason (`--log-debug`) or answered it (OFFER/NAK/ACK/INFORM reply), never
//! crashed; at least 24 classes are drops; and a real client (udhcpc) gets a lease after all.

use std::time::Duration;

use ringmasq_tests::dhcp_lab::{self, DhcpLab};
use ringmasq_tests::wait::poll_until;

const MAC: [u8; 6] = [0x06, 0x77, 0, 0, 0, 0x42];

/// A BOOTREQUEST with the cookie and `opts` (raw option bytes, END added by the caller).
fn base(opts: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 240];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    p[28..34].copy_from_slice(&MAC);
    p[236..240].copy_from_slice(&[99, 130, 83, 99]);
    p.extend_from_slice(opts);
    p
}

fn classes() -> Vec<(&'static str, Vec<u8>)> {
    let discover = base(&[53, 1, 1, 255]);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = discover.clone();
        f(&mut p);
        p
    };
    let mut giant82 = vec![53, 1, 1, 82, 255];
    giant82.extend_from_slice(&[1, 254]);
    giant82.extend_from_slice(&[0x41; 253]);
    giant82.push(255);
    vec![
        ("empty", Vec::new()),
        ("one byte", vec![1]),
        ("239 bytes", discover[..239].to_vec()),
        ("header and cookie, no options", discover[..240].to_vec()),
        ("BOOTREPLY", with(&|p| p[0] = 2)),
        ("hlen 0", with(&|p| p[2] = 0)),
        ("hlen 17", with(&|p| p[2] = 17)),
        ("bad magic cookie", with(&|p| p[239] = 98)),
        (
            "option length past the end",
            base(&[53, 1, 1, 12, 200, b'x']),
        ),
        ("message type of length 0", base(&[53, 0, 255])),
        ("message type 0", base(&[53, 1, 0, 255])),
        ("message type 200", base(&[53, 1, 200, 255])),
        ("two message types", base(&[53, 1, 1, 53, 1, 3, 255])),
        ("no message type", base(&[12, 3, b'a', b'b', b'c', 255])),
        ("overload value 9", base(&[53, 1, 1, 52, 1, 9, 255])),
        ("overload of length 0", base(&[53, 1, 1, 52, 0, 255])),
        ("overload in file naming itself", {
            let mut p = base(&[53, 1, 1, 52, 1, 1, 255]);
            p[108..112].copy_from_slice(&[52, 1, 3, 255]);
            p
        }),
        ("overload file without END", {
            let mut p = base(&[53, 1, 1, 52, 1, 1, 255]);
            p[108] = 12;
            p[109] = 200;
            p
        }),
        ("giant option 82", base(&giant82)),
        (
            "option 82 sub-option overruns",
            base(&[53, 1, 1, 82, 4, 1, 9, b'a', b'b', 255]),
        ),
        ("REQUEST naming nothing", base(&[53, 1, 3, 255])),
        (
            "REQUEST for another subnet",
            base(&[53, 1, 3, 50, 4, 192, 0, 2, 9, 255]),
        ),
        (
            "DECLINE without an address",
            base(&[53, 1, 4, 54, 4, 10, 77, 0, 1, 255]),
        ),
        ("RELEASE of an address not held", {
            let mut p = base(&[53, 1, 7, 54, 4, 10, 77, 0, 1, 255]);
            p[12..16].copy_from_slice(&[10, 77, 0, 77]);
            p
        }),
        ("OFFER sent to the server", base(&[53, 1, 2, 255])),
        (
            "unknown relay (giaddr)",
            with(&|p| p[24..28].copy_from_slice(&[192, 0, 2, 1])),
        ),
        (
            "client identifier of length 0 and no END",
            base(&[53, 1, 1, 61, 0]),
        ),
        ("1,500 bytes of PAD", {
            let mut p = base(&[]);
            p.extend_from_slice(&[0u8; 1500]);
            p
        }),
        ("host name of 255 NULs", {
            let mut o = vec![53, 1, 1, 12, 255];
            o.extend_from_slice(&[0u8; 255]);
            o.push(255);
            base(&o)
        }),
    ]
}

#[test]
fn hostile_dhcp_packets_are_dropped_or_answered() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("h");
    let server = lab.ringmasq(&["--log-debug"]);
    let all = classes();
    assert!(all.len() >= 25);
    let mut drops = 0;
    for (name, bytes) in &all {
        let log = lab.log();
        let (d0, a0) = (log.matches("dropped: ").count(), replies(&log));
        lab.send_raw(vec![bytes.clone()]);
        let outcome = poll_until(
            Duration::from_secs(3),
            Duration::from_millis(20),
            150,
            || {
                let log = lab.log();
                if log.matches("dropped: ").count() > d0 {
                    Some("dropped")
                } else if replies(&log) > a0 {
                    Some("answered")
                } else {
                    None
                }
            },
        );
        assert!(
            std::path::Path::new(&format!("/proc/{}", server.pid())).exists(),
            "{name}: server died\n{}",
            lab.log()
        );
        let outcome = outcome
            .unwrap_or_else(|| panic!("{name}: neither dropped nor answered\n{}", lab.log()));
        if outcome == "dropped" {
            drops += 1;
        }
        eprintln!("{name}: {outcome}");
    }
    assert!(drops >= 24, "only {drops} of {} classes dropped", all.len());
    let addr = lab.udhcpc();
    assert!(addr.starts_with("10.77.0."), "{addr}");
    server.stop(libc::SIGTERM);
}

fn replies(log: &str) -> usize {
    ["DHCPOFFER(", "DHCPACK(", "DHCPNAK("]
        .iter()
        .map(|k| log.matches(k).count())
        .sum()
}
