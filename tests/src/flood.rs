//! Helpers for the flood scenarios: a bounded UDP query flood, a latency probe that measures
//! good clients while the flood runs, and process figures (RSS, fds) from /proc.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::hostile_dns::header;

/// A query for `name` (dotted, no final dot), QTYPE A, RD set.
pub fn query(id: u16, name: &str) -> Vec<u8> {
    let mut m = header(id, 0x0100, [1, 0, 0, 0]);
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Sends `count` queries named by `name(i)` from `sockets` client sockets, in bursts of 100
/// with a 1 ms pause (bounded: `count` sends). Answers are not read.
pub fn flood(
    server: SocketAddr,
    sockets: usize,
    count: usize,
    name: impl Fn(usize) -> String,
) -> std::io::Result<()> {
    let socks: Vec<UdpSocket> = (0..sockets.max(1))
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    for i in 0..count {
        let _ = socks[i % socks.len()].send_to(&query(i as u16, &name(i)), server);
        if i % 100 == 99 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

/// Latencies of `rounds` sequential queries for `names` (cycled), each waited for up to 5 s (a
/// stub resolver would have retried by then; a machine busy with other work can stall a server
/// for a second or two):
/// (sorted latencies of the answered ones, unanswered count).
pub fn probe(
    server: SocketAddr,
    names: &[&str],
    rounds: usize,
    gap: Duration,
) -> (Vec<Duration>, usize) {
    let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
        return (Vec::new(), rounds);
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    let mut lat = Vec::with_capacity(rounds);
    let mut lost = 0;
    let mut buf = [0u8; 1500];
    for i in 0..rounds {
        let id = 0x7000u16.wrapping_add(i as u16);
        let t = Instant::now();
        if sock
            .send_to(&query(id, names[i % names.len()]), server)
            .is_err()
        {
            lost += 1;
            continue;
        }
        let got = loop {
            match sock.recv_from(&mut buf) {
                Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() => break buf[3] & 0x0f == 0,
                Ok(_) => {}
                Err(_) => break false,
            }
        };
        if got {
            lat.push(t.elapsed());
        } else {
            lost += 1;
        }
        std::thread::sleep(gap);
    }
    lat.sort();
    (lat, lost)
}

/// The `p`-th percentile (0-100) of sorted latencies.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) * p.min(100)) / 100]
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Open file descriptors of `pid`.
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Raises this process's soft RLIMIT_NOFILE to `want` (or the hard limit); children inherit it.
pub fn raise_nofile(want: u64) -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a pointer to a live rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 0;
        }
        if r.rlim_cur < want {
            r.rlim_cur = want.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
    r.rlim_cur
}

/// Datagrams the kernel dropped on the UDP sockets bound to 127.0.0.1:`port` or the wildcard
/// with that port (receive queue full), from /proc/net/udp's `drops` column. A flood can fill a
/// server's queue on a machine busy with other work; a query lost there was never seen by
/// the server, which is not what the flood tests judge.
pub fn udp_drops(port: u16) -> u64 {
    let Ok(table) = std::fs::read_to_string("/proc/net/udp") else {
        return 0;
    };
    let ours = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            ours.iter()
                .any(|o| o == local)
                .then(|| cols.last()?.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_drops_counts_a_full_receive_queue() {
        let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = sink.local_addr().expect("addr").port();
        assert_eq!(udp_drops(port), 0);
        let src = UdpSocket::bind("127.0.0.1:0").expect("bind");
        // Never read: the queue (the default receive buffer) fills and the rest is dropped.
        let payload = [0u8; 1000];
        for _ in 0..5000 {
            let _ = src.send_to(&payload, ("127.0.0.1", port));
        }
        assert!(udp_drops(port) > 0, "no drops counted for port {port}");
    }
}
