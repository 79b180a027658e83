//! Free loopback ports and addresses, found by binding port 0 (or a candidate) and releasing it.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{HarnessError, Result};

/// The loopback address ringmasq listens on in every scenario.
pub const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

static NEXT_ADDR: AtomicU32 = AtomicU32::new(0);

/// Ports already handed out in this process: a released port 0 binding is often handed out
/// again by the kernel, so parallel tests in one binary would otherwise collide.
static HANDED_OUT: Mutex<Option<HashSet<(Ipv4Addr, u16)>>> = Mutex::new(None);

fn claim(ip: Ipv4Addr, port: u16) -> bool {
    let mut g = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashSet::new).insert((ip, port))
}

fn udp_and_tcp_free(addr: SocketAddr) -> bool {
    let udp = UdpSocket::bind(addr);
    let tcp = TcpListener::bind(addr);
    udp.is_ok() && tcp.is_ok()
}

/// The kernel's ephemeral port range (`ip_local_port_range`), default 32768-60999.
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|x| x.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// A port on `ip` that is currently free for both UDP and TCP.
///
/// Ports are drawn from below the kernel's ephemeral range, so the many short-lived client
/// sockets of parallel tests (dig, the Rust client) cannot grab the port between this check and
/// the server's bind. Falls back to a kernel-chosen port if that range is unusable.
pub fn free_port_on(ip: Ipv4Addr) -> Result<u16> {
    let (eph_lo, _) = ephemeral_range();
    let lo: u32 = 10_000;
    let hi: u32 = u32::from(eph_lo).saturating_sub(1);
    if hi > lo + 1000 {
        let seed = std::process::id().wrapping_mul(2_246_822_519);
        for _ in 0..256 {
            let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
            let v = seed.wrapping_add(n.wrapping_mul(2_654_435_761)) >> 7;
            let port = (lo + v % (hi - lo)) as u16;
            if udp_and_tcp_free(SocketAddr::from((ip, port))) && claim(ip, port) {
                return Ok(port);
            }
        }
    }
    for _ in 0..64 {
        let sock = UdpSocket::bind(SocketAddr::from((ip, 0)))
            .map_err(|e| HarnessError::io(format!("bind {ip}:0"), e))?;
        let port = sock
            .local_addr()
            .map_err(|e| HarnessError::io("local_addr", e))?
            .port();
        drop(sock);
        if udp_and_tcp_free(SocketAddr::from((ip, port))) && claim(ip, port) {
            return Ok(port);
        }
    }
    Err(HarnessError::NoFreePort(format!("{ip}: no free port")))
}

/// A port on 127.0.0.1 that is currently free for both UDP and TCP.
pub fn free_port() -> Result<u16> {
    free_port_on(LOCALHOST)
}

/// A 127.a.b.c address (never 127.0.0.1) whose `port` is free for UDP and TCP, so a server can
/// listen there on a fixed port such as 53 without colliding with parallel tests.
pub fn free_loopback_addr(port: u16) -> Result<Ipv4Addr> {
    let seed = std::process::id().wrapping_mul(2_654_435_761);
    for _ in 0..128 {
        let n = NEXT_ADDR.fetch_add(1, Ordering::Relaxed);
        let v = seed.wrapping_add(n.wrapping_mul(40_503));
        let ip = Ipv4Addr::new(
            127,
            100 + (v % 100) as u8,
            (v >> 8) as u8,
            2 + ((v >> 16) % 250) as u8,
        );
        if udp_and_tcp_free(SocketAddr::from((ip, port))) && claim(ip, port) {
            return Ok(ip);
        }
    }
    Err(HarnessError::NoFreePort(format!(
        "no 127.x address with port {port} free"
    )))
}

/// An address on which nothing listens for UDP or TCP (a probed free port on 127.0.0.1):
/// queries sent there are answered with ICMP port unreachable.
pub fn dead_server() -> Result<SocketAddr> {
    Ok(SocketAddr::from((LOCALHOST, free_port()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let p = free_port().unwrap();
        assert!(udp_and_tcp_free(SocketAddr::from((LOCALHOST, p))));
    }

    #[test]
    fn ports_are_distinct_and_below_ephemeral_range() {
        let (lo, _) = ephemeral_range();
        let a = free_port().unwrap();
        let b = free_port().unwrap();
        assert_ne!(a, b);
        assert!(a < lo && b < lo, "{a} {b} not below {lo}");
    }

    #[test]
    fn loopback_addr_is_not_localhost() {
        let ip = free_loopback_addr(free_port().unwrap()).unwrap();
        assert_ne!(ip, LOCALHOST);
        assert_eq!(ip.octets()[0], 127);
    }
}
