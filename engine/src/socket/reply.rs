//! The sockets replies to IPv4 clients leave from, one beside each listener.

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

use super::attach_classic_bpf;
use super::listener::{Fragments, set_fragments};

/// The socket an IPv4 client listener's replies leave from, or None where replies leave from
/// the listener itself (an IPv6 listener, or a host without IPv6 sockets).
///
/// Why a second socket: a socket's sends charge its send buffer, and each reply's buffer is
/// handed back (`sock_wfree`) as the datagram leaves, which wakes whatever waits on the
/// socket's wait queue for write space. On a listener that is always someone: the worker's
/// receive (io_uring's multishot receive, or epoll) stays queued there. So every reply took
/// the queue's lock and called the waiter's wake-up function, which then ignored the event.
/// A reply socket has no waiter, and the wake-up is skipped. (Measured on the io_uring echo
/// at 100k queries/s: 4 % less CPU per query, about all that it cost over a recvmmsg echo.)
///
/// It must never be handed a query. It is an IPv6 socket accepting IPv4 (`IPV6_V6ONLY` 0)
/// bound to the listener's address mapped into IPv6, alongside the listener (both set
/// SO_REUSEADDR), so it sends from the same address and port. For each arriving IPv4
/// datagram the kernel picks the best-scoring socket bound to its address and port, and an
/// IPv4 socket always scores above an IPv6 one (`compute_score` in net/ipv4/udp.c), so the
/// listener is chosen while it exists. Should a datagram reach it anyway (between a
/// listener's close and the reply socket's), its filter drops it at once.
pub fn udp_reply_socket(addr: SocketAddr, fragments: Fragments) -> Option<Socket> {
    let SocketAddr::V4(v4) = addr else {
        return None;
    };
    match reply_socket_v4(v4, fragments) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::debug!("replies on {addr} leave from the listener: {e:#}");
            None
        }
    }
}

fn reply_socket_v4(addr: SocketAddrV4, fragments: Fragments) -> Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))
        .context("creating an IPv6 socket")?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    let _ = s.set_send_buffer_size(4 << 20);
    drop_every_datagram(&s).context("attaching the drop filter")?;
    if fragments == Fragments::DontFragment {
        set_fragments(&s, false, Fragments::DontFragment)?;
    }
    let mapped = SocketAddrV6::new(addr.ip().to_ipv6_mapped(), addr.port(), 0, 0);
    s.bind(&SockAddr::from(mapped))
        .with_context(|| format!("binding UDP {mapped}"))?;
    Ok(s)
}

/// A socket filter that drops every datagram the socket would receive.
fn drop_every_datagram(s: &Socket) -> std::io::Result<()> {
    const BPF_RET_K: u16 = 0x06;
    let code = [libc::sock_filter {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: 0,
    }];
    attach_classic_bpf(s, libc::SO_ATTACH_FILTER, &code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::fragments_after_emsgsize;
    use crate::socket::option;
    use crate::socket::{Pktinfo, udp_listener};
    use std::time::{Duration, Instant};

    /// Reads every datagram waiting on `socks` within `wait`, as (socket index, payload).
    fn drain(socks: &[&Socket], wait: Duration) -> Vec<(usize, Vec<u8>)> {
        let mut got = Vec::new();
        let end = Instant::now() + wait;
        while Instant::now() < end {
            let mut idle = true;
            for (k, s) in socks.iter().enumerate() {
                let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 512];
                if let Ok(n) = s.recv(&mut buf) {
                    // SAFETY: `recv` initialised the first `n` bytes.
                    let bytes = buf[..n]
                        .iter()
                        .map(|b| unsafe { b.assume_init() })
                        .collect();
                    got.push((k, bytes));
                    idle = false;
                }
            }
            if idle {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        got
    }

    #[test]
    fn replies_leave_from_the_listener_address_and_queries_never_reach_the_reply_socket() {
        if Socket::new(Domain::IPV6, Type::DGRAM, None).is_err() {
            eprintln!("no IPv6 sockets here: replies leave from the listener, nothing to test");
            return;
        }
        for listen in ["127.0.0.1", "0.0.0.0"] {
            let f = Fragments::DontFragment;
            let first =
                udp_listener(format!("{listen}:0").parse().unwrap(), Pktinfo::Always, f).unwrap();
            let addr = first.local_addr().unwrap().as_socket().unwrap();
            let to: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
            // Bound after the listener, the reply socket is the first of the port's sockets
            // the kernel looks at (newest first): a tie would hand it every query.
            let reply = udp_reply_socket(addr, f).expect("a reply socket for IPv4");
            assert_eq!(
                option(&reply, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER),
                libc::IP_PMTUDISC_PROBE,
                "{listen}: Don't Fragment on the replies"
            );
            let clients: Vec<std::net::UdpSocket> = (0..64)
                .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
                .collect();
            // Then with a second listener in the group, bound after the reply socket.
            let mut listeners = vec![first];
            for round in 0..2 {
                if round == 1 {
                    listeners.push(udp_listener(addr, Pktinfo::Always, f).unwrap());
                }
                // Queries from 64 source ports, spread over the group by their hash.
                for (i, c) in clients.iter().enumerate() {
                    c.send_to(&[i as u8], to).unwrap();
                }
                let mut socks: Vec<&Socket> = listeners.iter().collect();
                socks.push(&reply);
                let got = drain(&socks, Duration::from_millis(300));
                let mut seen: Vec<u8> = got.iter().map(|(_, b)| b[0]).collect();
                seen.sort_unstable();
                assert_eq!(
                    seen,
                    (0..64).collect::<Vec<u8>>(),
                    "{listen}, {} listeners: every query received once",
                    listeners.len()
                );
                assert!(
                    got.iter().all(|(k, _)| *k < listeners.len()),
                    "{listen}: a query reached the reply socket"
                );
            }
            // The reply comes from the listener's address and port.
            let client = &clients[0];
            let peer = SockAddr::from(client.local_addr().unwrap());
            reply.send_to(b"answer", &peer).unwrap();
            client
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = client.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (&b"answer"[..], to), "{listen}");
        }
        // IPv6 listeners answer from the listener itself.
        assert!(udp_reply_socket("[::1]:53".parse().unwrap(), Fragments::Allowed).is_none());
    }

    #[test]
    fn a_reply_that_did_not_fit_turns_fragments_on_for_the_reply_socket() {
        if Socket::new(Domain::IPV6, Type::DGRAM, None).is_err() {
            return;
        }
        let listener = udp_listener(
            "127.0.0.1:0".parse().unwrap(),
            Pktinfo::WildcardOnly,
            Fragments::DontFragment,
        )
        .unwrap();
        let addr = listener.local_addr().unwrap().as_socket().unwrap();
        let reply = udp_reply_socket(addr, Fragments::DontFragment).unwrap();
        fragments_after_emsgsize(&reply);
        // The IPv4 option, which its IPv4 replies follow.
        assert_eq!(
            option(&reply, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_WANT
        );
    }
}
