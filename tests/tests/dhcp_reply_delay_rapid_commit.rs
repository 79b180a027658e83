//! `--dhcp-reply-delay` with `--dhcp-rapid-commit`: dnsmasq's man page delays DHCPOFFER (and
//! proxy) replies, counting time already spent; a rapid-commit DISCOVER is answered by a
//! single ACK (RFC 4039 §4), which is held back once — not once as an OFFER and again as an
//! ACK — while the ACK to an ordinary REQUEST is not delayed at all.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

use ringmasq_tests::dhcp_lab::{self, CLIENT_IF, DhcpLab};

const MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0, 2];

/// A broadcast-flagged request of `kind` with `extra` options (RFC 2131 §4.4.1).
fn request(kind: u8, xid: u32, extra: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 236];
    p[..4].copy_from_slice(&[1, 1, 6, 0]);
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[10] = 0x80;
    p[28..34].copy_from_slice(&MAC);
    p.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
    p.extend_from_slice(extra);
    p.push(255);
    p.resize(300, 0);
    p
}

/// (message type, yiaddr) of a reply for `xid`, waiting at most 5 s.
fn reply(s: &UdpSocket, xid: u32) -> (u8, Ipv4Addr) {
    let mut b = [0u8; 1500];
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        let Ok(n) = s.recv(&mut b) else { continue };
        if n < 244 || b[4..8] != xid.to_be_bytes() {
            continue;
        }
        let mut i = 240;
        while i + 2 < n && b[i] != 255 {
            if b[i] == 53 {
                return (b[i + 2], Ipv4Addr::new(b[16], b[17], b[18], b[19]));
            }
            i += 2 + usize::from(b[i + 1]);
        }
    }
    panic!("no reply to {xid:#x}");
}

#[test]
fn rapid_commit_ack_is_delayed_once_and_request_ack_not_at_all() {
    if !dhcp_lab::usable() {
        return;
    }
    let lab = DhcpLab::new("rd");
    let _server = lab.ringmasq(&["--dhcp-rapid-commit", "--dhcp-reply-delay=2"]);
    let times = lab.client.run_in(|| {
        let s = UdpSocket::bind("0.0.0.0:68").expect("bind :68");
        s.set_broadcast(true).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // SAFETY: SO_BINDTODEVICE with the interface name's bytes and length.
        let r = unsafe {
            libc::setsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&s),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                CLIENT_IF.as_ptr().cast(),
                CLIENT_IF.len() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "SO_BINDTODEVICE");
        let to = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
        // Plain DISCOVER: the OFFER is delayed, the ACK to the REQUEST is not.
        let t = Instant::now();
        s.send_to(&request(1, 0x1001, &[]), to).unwrap();
        let (kind, offered) = reply(&s, 0x1001);
        let offer = t.elapsed();
        assert_eq!(kind, 2, "OFFER");
        let mut opts = vec![50, 4];
        opts.extend_from_slice(&offered.octets());
        opts.extend_from_slice(&[54, 4, 10, 77, 0, 1]);
        let t = Instant::now();
        s.send_to(&request(3, 0x1002, &opts), to).unwrap();
        assert_eq!(reply(&s, 0x1002).0, 5, "ACK");
        let ack = t.elapsed();
        // DISCOVER with Rapid Commit (option 80, RFC 4039): one ACK, delayed once.
        let t = Instant::now();
        s.send_to(&request(1, 0x1003, &[80, 0]), to).unwrap();
        let (kind, _) = reply(&s, 0x1003);
        assert_eq!(kind, 5, "rapid-commit ACK");
        (offer, ack, t.elapsed())
    });
    let (offer, ack, rapid) = times;
    assert!(offer >= Duration::from_secs(2), "OFFER after {offer:?}");
    assert!(ack < Duration::from_secs(2), "REQUEST's ACK after {ack:?}");
    assert!(
        rapid >= Duration::from_secs(2) && rapid < Duration::from_secs(4),
        "rapid-commit ACK after {rapid:?} (2 s once, not twice)"
    );
}
