//! Socket setup: per-worker SO_REUSEPORT listeners, the upstream socket pool, and the
//! packet-info control messages that make answers leave from the address a query arrived at.

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

/// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
pub const CMSG_SPACE: usize = 64;

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> std::io::Result<()> {
    // SAFETY: passes a pointer to a live i32 and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

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

/// Attaches classic BPF `code` to `s` as socket option `option` (SO_ATTACH_FILTER,
/// SO_ATTACH_REUSEPORT_CBPF).
fn attach_classic_bpf(s: &Socket, option: i32, code: &[libc::sock_filter]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: code.len() as u16,
        filter: code.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `code`, both alive for the call; the kernel copies the program.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&prog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets how `s` (IPv6 if `v6`) treats replies larger than their path: [`Fragments`]'s
/// `IP_PMTUDISC_PROBE` / `IPV6_DONTFRAG` 1, or back to `IP_PMTUDISC_WANT` / `IPV6_DONTFRAG` 0.
fn set_fragments(s: &Socket, v6: bool, fragments: Fragments) -> std::io::Result<()> {
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

/// A UDP socket for upstream queries, bound to a random port.
///
/// With `fixed` (`--query-port`) that port is used; with a `[min, max]` range (`--min-port`,
/// `--max-port`, 1024-65535 by default) a random free port in it, drawn here rather than by the
/// kernel, whose ephemeral range is narrower; with neither, the kernel picks.
pub fn upstream_socket(v6: bool, fixed: Option<u16>, range: Option<(u16, u16)>) -> Result<Socket> {
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    // Non-blocking from the start (no fcntl): pool sockets are renewed every few queries.
    let s = Socket::new(domain, Type::DGRAM.nonblocking(), Some(Protocol::UDP))?;
    if fixed.is_some() {
        // One port carries every query of the worker: room for bursts of answers. A pool
        // socket carries a handful of queries, well within the default buffer.
        let _ = s.set_recv_buffer_size(2 << 20);
    }
    if v6 {
        s.set_only_v6(true)?;
    }
    let any = |port| -> SocketAddr {
        if v6 {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
        } else {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
        }
    };
    if let Some(port) = fixed {
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        s.bind(&SockAddr::from(any(port)))
            .with_context(|| format!("binding query port {port}"))?;
        return Ok(s);
    }
    if let Some((lo, hi)) = range {
        for _ in 0..64 {
            let port = rand::random_range(lo..=hi);
            if reserved(port) {
                continue;
            }
            if s.bind(&SockAddr::from(any(port))).is_ok() {
                return Ok(s);
            }
        }
        anyhow::bail!("no free port between {lo} and {hi} for upstream queries");
    }
    s.bind(&SockAddr::from(any(0)))?;
    Ok(s)
}

/// Ports ringmasq binds later (the DNS port on addresses that appear, the PXE boot server's
/// 4011, the TFTP transfer ports): the random draw for upstream sockets keeps off them, or a
/// pool socket holding the wildcard could block them.
static RESERVED_PORTS: std::sync::OnceLock<Vec<(u16, u16)>> = std::sync::OnceLock::new();

/// Sets the port ranges the upstream sockets' random draw avoids (first call wins).
pub fn reserve_ports(ranges: Vec<(u16, u16)>) {
    let _ = RESERVED_PORTS.set(ranges);
}

fn reserved(port: u16) -> bool {
    RESERVED_PORTS
        .get()
        .is_some_and(|r| r.iter().any(|&(lo, hi)| (lo..=hi).contains(&port)))
}

/// A UDP socket for the queries of servers with a source binding (`--server=ADDR@SRC#PORT`,
/// `--server=ADDR@IF`): bound to the source address and port (port 0: the kernel picks one) and,
/// with an interface, to that device. A fixed port is shared by every worker (SO_REUSEPORT);
/// [`steer_by_query_id`] then hands each answer to the worker that sent the query.
pub fn bound_upstream_socket(b: &crate::upstreams::SourceBinding) -> Result<Socket> {
    let domain = if b.v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    let _ = s.set_recv_buffer_size(2 << 20);
    if b.v6 {
        s.set_only_v6(true)?;
    }
    if let Some(dev) = &b.interface {
        s.bind_device(Some(dev.as_bytes()))
            .with_context(|| format!("binding an upstream socket to interface {dev}"))?;
    }
    let source = match b.source {
        Some(src) if src.is_ipv6() != b.v6 => {
            anyhow::bail!("source address {src} is not of the server's address family")
        }
        Some(src) => src,
        None if b.v6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
        None => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
    };
    if source.port() != 0 {
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
    }
    s.bind(&SockAddr::from(source))
        .with_context(|| format!("binding an upstream socket to {source}"))?;
    Ok(s)
}

/// Makes the kernel hand each datagram arriving on a SO_REUSEPORT group to socket
/// `query ID % lanes`, the sockets numbered in the order they were bound (one per worker, in
/// worker order). Used for upstream ports every worker shares (`--query-port`,
/// `--server=ADDR@SRC#PORT`); each worker sends only IDs of its own lane.
pub fn steer_by_query_id(s: &Socket, lanes: u32) -> Result<()> {
    // Classic BPF run on the UDP payload (the kernel pulls the UDP header first):
    //   A = payload[0..2] (the DNS ID, RFC 1035 §4.1.1); A %= lanes; return A.
    // A datagram shorter than two bytes makes the load fail and the program return 0.
    const BPF_LD_H_ABS: u16 = 0x08 | 0x20; // BPF_LD | BPF_H | BPF_ABS
    const BPF_ALU_MOD_K: u16 = 0x04 | 0x90;
    const BPF_RET_A: u16 = 0x06 | 0x10;
    let code = [
        libc::sock_filter {
            code: BPF_LD_H_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: BPF_ALU_MOD_K,
            jt: 0,
            jf: 0,
            k: lanes.max(1),
        },
        libc::sock_filter {
            code: BPF_RET_A,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    attach_classic_bpf(s, libc::SO_ATTACH_REUSEPORT_CBPF, &code)
        .context("attaching the answer-steering filter")
}

/// The address a socket is bound to.
pub fn local_addr(s: &Socket) -> Option<SocketAddr> {
    s.local_addr().ok().and_then(|a| a.as_socket())
}

/// Converts a kernel socket address of `len` bytes to a [`SocketAddr`].
pub fn from_sockaddr(storage: &libc::sockaddr_storage, len: usize) -> Option<SocketAddr> {
    let len = len.min(size_of::<libc::sockaddr_storage>());
    // SAFETY: sockaddr_storage is a plain C struct; we read at most its size in bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts((storage as *const libc::sockaddr_storage).cast::<u8>(), len)
    };
    sockaddr_from_bytes(bytes)
}

/// Reads a kernel socket address from the bytes the kernel wrote (a received message's name),
/// without copying them into a `sockaddr_storage` first.
pub fn sockaddr_from_bytes(name: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(name.get(..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(name.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET if name.len() >= size_of::<libc::sockaddr_in>() => {
            let ip: [u8; 4] = name[4..8].try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 if name.len() >= size_of::<libc::sockaddr_in6>() => {
            let flowinfo = u32::from_ne_bytes(name[4..8].try_into().ok()?);
            let ip: [u8; 16] = name[8..24].try_into().ok()?;
            let scope = u32::from_ne_bytes(name[24..28].try_into().ok()?);
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                flowinfo,
                scope,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` as a kernel socket address; returns its length.
///
/// Only the returned length is written (the kernel reads no further), not the whole 128-byte
/// storage.
pub fn to_sockaddr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: an all-zero sockaddr_in is valid (sin_zero stays zero).
            let mut s: libc::sockaddr_in = unsafe { zeroed() };
            s.sin_family = libc::AF_INET as libc::sa_family_t;
            s.sin_port = a.port().to_be();
            s.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), s) };
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: an all-zero sockaddr_in6 is valid.
            let mut s: libc::sockaddr_in6 = unsafe { zeroed() };
            s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            s.sin6_port = a.port().to_be();
            s.sin6_addr.s6_addr = a.ip().octets();
            s.sin6_flowinfo = a.flowinfo();
            s.sin6_scope_id = a.scope_id();
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((storage as *mut libc::sockaddr_storage).cast(), s) };
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// Reads the destination address and interface from a received message's control data.
pub fn parse_pktinfo(control: &[u8]) -> (Option<IpAddr>, u32) {
    // SAFETY: a msghdr that points at `control` only so the CMSG_* macros can walk it; the
    // macros never read past msg_controllen.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = control.as_ptr() as *mut _;
        msg.msg_controllen = control.len() as _;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return (
                    Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                        info.ipi_addr.s_addr,
                    )))),
                    info.ipi_ifindex as u32,
                );
            }
            if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return (
                    Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr))),
                    info.ipi6_ifindex,
                );
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    (None, 0)
}

/// Writes a control message that makes the kernel send from `local` (and out of `ifindex`);
/// returns the control length, 0 when none is needed.
pub fn write_pktinfo(local: Option<IpAddr>, ifindex: u32, control: &mut [u8; CMSG_SPACE]) -> usize {
    let Some(local) = local else { return 0 };
    control.fill(0);
    // SAFETY: as in parse_pktinfo; the buffer is large enough for one pktinfo cmsg of either
    // family (CMSG_SPACE(sizeof in6_pktinfo) = 40 <= 64) and we write within CMSG_LEN.
    unsafe {
        let mut msg: libc::msghdr = zeroed();
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = CMSG_SPACE as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        match local {
            IpAddr::V4(a) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IP;
                (*cmsg).cmsg_type = libc::IP_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in_pktinfo>() as u32) as _;
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(a).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let _ = ifindex;
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                libc::CMSG_SPACE(size_of::<libc::in_pktinfo>() as u32) as usize
            }
            IpAddr::V6(a) => {
                (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
                (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
                (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::in6_pktinfo>() as u32) as _;
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: a.octets(),
                    },
                    // Link-local answers must leave through the interface they came in on.
                    ipi6_ifindex: if a.segments()[0] & 0xffc0 == 0xfe80 {
                        ifindex
                    } else {
                        0
                    },
                };
                std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast(), info);
                libc::CMSG_SPACE(size_of::<libc::in6_pktinfo>() as u32) as usize
            }
        }
    }
}

/// Creates a non-blocking eventfd used as a worker's doorbell.
pub fn eventfd() -> Result<RawFd> {
    // SAFETY: plain syscall; the returned fd is owned by the caller.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("eventfd");
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The bytes the kernel would write for `addr` (what `to_sockaddr` writes, `len` of them).
    fn wire(addr: &SocketAddr) -> Vec<u8> {
        // SAFETY: an all-zero sockaddr_storage is valid.
        let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
        let len = to_sockaddr(addr, &mut ss) as usize;
        // SAFETY: ss is a plain C struct at least `len` bytes long.
        unsafe {
            std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), len)
        }
        .to_vec()
    }

    /// One integer socket option, as the kernel reports it.
    fn option(s: &Socket, level: i32, name: i32) -> i32 {
        let mut v: i32 = -1;
        let mut len = size_of::<i32>() as libc::socklen_t;
        // SAFETY: `v` and `len` are live and sized for one i32.
        let rc = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                level,
                name,
                (&mut v as *mut i32).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        v
    }

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

    #[test]
    fn socket_addresses_read_back_from_kernel_bytes() {
        for a in ["127.0.0.1:53", "[::1]:5353", "[fe80::1%2]:547"] {
            let a: SocketAddr = a.parse().unwrap();
            assert_eq!(sockaddr_from_bytes(&wire(&a)), Some(a));
        }
        let v4 = wire(&"10.0.0.1:67".parse().unwrap());
        // Too short for the family, empty, or an unknown family: no address.
        assert_eq!(sockaddr_from_bytes(&v4[..15]), None);
        assert_eq!(sockaddr_from_bytes(&[]), None);
        let mut unix = v4.clone();
        unix[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(sockaddr_from_bytes(&unix), None);
    }

    proptest! {
        #[test]
        fn sockaddr_round_trip(ip in any::<[u8; 16]>(), port: u16, flow: u32, scope: u32, v4: bool) {
            let a = if v4 {
                SocketAddr::from(([ip[0], ip[1], ip[2], ip[3]], port))
            } else {
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope))
            };
            prop_assert_eq!(sockaddr_from_bytes(&wire(&a)), Some(a));
        }

        #[test]
        fn sockaddr_from_any_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = sockaddr_from_bytes(&b);
        }
    }
}
