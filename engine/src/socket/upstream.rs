//! Upstream sockets: the per-worker pool on random ports, sockets bound for servers with a
//! source address or interface, and the filter that steers their answers to the asking worker.

use anyhow::{Context, Result};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::attach_classic_bpf;

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
