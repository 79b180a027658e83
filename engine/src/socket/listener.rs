//! Client listeners: the UDP and TCP sockets a worker receives queries on, whether their
//! replies may be fragmented, and whether an address is free to take.

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::setsockopt_int;

/// Whether a listener reports each datagram's destination address and interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pktinfo {
    /// Always (IP_PKTINFO / IPV6_RECVPKTINFO): the receiver needs the interface.
    Always,
    /// Only on a wildcard address, where the answer must name its source address. A socket
    /// bound to one address answers from it anyway, so the kernel is spared writing the control
    /// message on every datagram and checking the source address on every reply.
    WildcardOnly,
}

/// Whether a listener's replies may be fragmented by the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fragments {
    /// The kernel's default: a reply larger than the path MTU is fragmented here (TFTP blocks
    /// of a large negotiated size, DNS with a raised `--edns-packet-max`).
    Allowed,
    /// Don't Fragment, the path MTU ignored (`IP_PMTUDISC_PROBE`, `IPV6_DONTFRAG`), as RFC 9715
    /// §3.1 (R1) asks of UDP responders: a reply is never fragmented. One that cannot leave
    /// whole (a link under 1,280 octets) fails its send, counted, and the listener turns
    /// fragments back on ([`fragments_after_emsgsize`]). For IPv4 the kernel also skips the
    /// per-datagram IP ID (a keyed hash and an atomic add on an array shared by every CPU).
    DontFragment,
}

impl Fragments {
    /// The choice for DNS listeners: Don't Fragment when every UDP reply fits IPv6's minimum
    /// MTU (RFC 8200 §5: 1,280 octets), as it does with the default `--edns-packet-max` of
    /// 1,232 (1,232 + 40 + 8); with a larger limit, the kernel's default, so that a large
    /// answer still reaches a client that asked for it.
    pub fn for_dns(edns_packet_max: u16) -> Fragments {
        if usize::from(edns_packet_max) + 48 <= 1280 {
            Fragments::DontFragment
        } else {
            Fragments::Allowed
        }
    }
}

/// A UDP socket for client queries on `addr`, shared with the other workers through
/// SO_REUSEPORT, reporting each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO)
/// as `pktinfo` says, its replies fragmented or not as `fragments` says.
pub fn udp_listener(addr: SocketAddr, pktinfo: Pktinfo, fragments: Fragments) -> Result<Socket> {
    let domain = Domain::for_address(addr);
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .with_context(|| format!("creating UDP socket for {addr}"))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    let _ = s.set_recv_buffer_size(4 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    let report = pktinfo == Pktinfo::Always || addr.ip().is_unspecified();
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
        if report {
            setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
        }
    } else if report {
        setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
    }
    // Allowed is what a new socket has already (the kernel's default, which follows the
    // ip_no_pmtu_disc sysctl): nothing to set.
    if fragments == Fragments::DontFragment {
        set_fragments(&s, addr.is_ipv6(), Fragments::DontFragment)?;
    }
    s.bind(&SockAddr::from(addr))
        .with_context(|| format!("binding UDP {addr}"))?;
    Ok(s)
}

/// Sets how `s` (IPv6 if `v6`) treats replies larger than their path: [`Fragments`]'s
/// `IP_PMTUDISC_PROBE` / `IPV6_DONTFRAG` 1, or back to `IP_PMTUDISC_WANT` / `IPV6_DONTFRAG` 0.
pub(super) fn set_fragments(s: &Socket, v6: bool, fragments: Fragments) -> std::io::Result<()> {
    let dont = fragments == Fragments::DontFragment;
    if v6 {
        setsockopt_int(
            s.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_DONTFRAG,
            i32::from(dont),
        )
    } else {
        let mode = if dont {
            libc::IP_PMTUDISC_PROBE
        } else {
            libc::IP_PMTUDISC_WANT
        };
        setsockopt_int(s.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, mode)
    }
}

/// Turns Don't Fragment off on a DNS listener whose reply did not fit its link (the send failed
/// with EMSGSIZE): a link with an MTU under 1,280 octets (IPv4 allows down to 68), where
/// [`Fragments::DontFragment`] would otherwise lose every reply larger than the link. The
/// socket's later replies get the kernel's default, fragmented to fit. Logged each time it is
/// called: once fragments are on, replies stop failing this way, so only the replies already in
/// flight when the first one failed can log it again.
pub fn fragments_after_emsgsize(s: &Socket) {
    let Ok(local) = s.local_addr() else { return };
    let Some(local) = local.as_socket() else {
        return;
    };
    // A reply socket is IPv6 bound to a mapped IPv4 address: its replies are IPv4.
    let local = match local {
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => local,
        },
        v4 => v4,
    };
    match set_fragments(s, local.is_ipv6(), Fragments::Allowed) {
        Ok(()) => tracing::warn!(
            "a reply on {local} did not fit its link with Don't Fragment set: this listener's \
             replies are fragmented to fit from now on"
        ),
        Err(e) => tracing::warn!("could not allow fragments on {local}: {e}"),
    }
}

/// Fails when another socket already holds UDP `addr` (another ringmasq or dnsmasq, say).
/// The workers' listeners share their port through SO_REUSEPORT, which would otherwise let a
/// second server join the group silently and take part of the traffic; a probe bound without
/// any reuse option is refused by the kernel in that case.
pub fn ensure_udp_free(addr: SocketAddr) -> Result<()> {
    wait_udp_free(addr, Duration::ZERO)
}

/// [`ensure_udp_free`], giving a socket that is still closing up to `grace` to go. A server
/// stopped just before — a restart — can hold its addresses for a few milliseconds after its
/// process has ended: measured 10–13 ms for ringmasq on io_uring (`kill -TERM`, wait for the
/// exit, bind at once: refused in 46 of 50 tries), whose rings the kernel releases after the
/// process is gone.
pub fn wait_udp_free(addr: SocketAddr, grace: Duration) -> Result<()> {
    let end = Instant::now() + grace;
    loop {
        if udp_free(addr)? {
            return Ok(());
        }
        if Instant::now() >= end {
            anyhow::bail!("{addr}: address already in use");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a UDP socket bound without reuse options can take `addr` now.
fn udp_free(addr: SocketAddr) -> Result<bool> {
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .with_context(|| format!("creating UDP socket for {addr}"))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    match s.bind(&SockAddr::from(addr)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Ok(false),
        Err(e) => Err(e).with_context(|| format!("binding UDP {addr}")),
    }
}

/// A TCP listener on `addr` shared through SO_REUSEPORT.
pub fn tcp_listener(addr: SocketAddr) -> Result<Socket> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .with_context(|| format!("creating TCP socket for {addr}"))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.bind(&SockAddr::from(addr))
        .with_context(|| format!("binding TCP {addr}"))?;
    s.listen(128)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::option;

    #[test]
    fn dns_listeners_do_not_fragment_while_every_reply_fits_1280_octets() {
        assert_eq!(Fragments::for_dns(512), Fragments::DontFragment);
        assert_eq!(Fragments::for_dns(1232), Fragments::DontFragment);
        assert_eq!(Fragments::for_dns(1233), Fragments::Allowed);
        assert_eq!(Fragments::for_dns(4096), Fragments::Allowed);
        let (ip, ip6) = (libc::IPPROTO_IP, libc::IPPROTO_IPV6);
        let v4 = |f| udp_listener("127.0.0.1:0".parse().unwrap(), Pktinfo::WildcardOnly, f);
        let probe = v4(Fragments::DontFragment).unwrap();
        assert_eq!(
            option(&probe, ip, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_PROBE
        );
        let default = v4(Fragments::Allowed).unwrap();
        assert_eq!(
            option(&default, ip, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_WANT
        );
        // IPv6 where the machine has it.
        let v6 = |f| udp_listener("[::1]:0".parse().unwrap(), Pktinfo::WildcardOnly, f);
        if let (Ok(on), Ok(off)) = (v6(Fragments::DontFragment), v6(Fragments::Allowed)) {
            assert_eq!(option(&on, ip6, libc::IPV6_DONTFRAG), 1);
            assert_eq!(option(&off, ip6, libc::IPV6_DONTFRAG), 0);
        }
    }
}
