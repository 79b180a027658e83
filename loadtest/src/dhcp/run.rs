//! The `ringmasq-load dhcp` loop: starts clients on schedule (all at once, or open loop at a
//! rate), sends their messages, reads replies and runs retransmissions, until every client
//! has finished or the time bound is reached.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::clients::{Clients, Plan, Send};
use super::message::parse_reply;
use super::net::ClientNet;
use super::report::DhcpStats;

/// How the clients reach the server.
#[derive(Debug, Clone)]
pub enum Path {
    /// On the server's link: broadcast on this interface (needs root for the packet socket).
    Broadcast {
        /// The clients' interface.
        interface: String,
    },
    /// Through a relay agent whose address is `giaddr` (the tool binds `giaddr:67`).
    Relay {
        /// The relay's address.
        giaddr: Ipv4Addr,
    },
}

/// One run.
#[derive(Debug, Clone)]
pub struct DhcpRun {
    /// Server address (renewals and RELEASEs; every request in relay mode).
    pub server: Ipv4Addr,
    /// How requests travel.
    pub path: Path,
    /// Clients to simulate.
    pub clients: u32,
    /// Open loop: clients started per second; `None` starts all at once.
    pub rate: Option<f64>,
    /// Renew after DORA.
    pub renew: bool,
    /// Release at the end.
    pub release: bool,
    /// First retransmission timeout.
    pub retransmit: Duration,
    /// Transmissions per message before a client gives up.
    pub tries: u32,
    /// Hard bound on the run.
    pub max_duration: Duration,
    /// Varies MACs (third byte) between runs.
    pub seed: u8,
}

/// A finished run: counters and the leases won.
#[derive(Debug)]
pub struct DhcpOutcome {
    /// Counters and latencies.
    pub stats: DhcpStats,
    /// `(MAC, address)` of every client that got a lease.
    pub leases: Vec<([u8; 6], Ipv4Addr)>,
}

/// Most messages sent before replies are read again, so a burst does not starve receiving.
const SEND_SLICE: usize = 256;

/// Runs the clients; returns when all have finished or `max_duration` has passed.
pub fn run_dhcp(cfg: &DhcpRun) -> Result<DhcpOutcome> {
    let (mut net, giaddr, broadcast) = match &cfg.path {
        Path::Broadcast { interface } => (
            ClientNet::broadcast(interface, cfg.server)
                .with_context(|| format!("sockets on {interface} (needs root)"))?,
            Ipv4Addr::UNSPECIFIED,
            true,
        ),
        Path::Relay { giaddr } => (
            ClientNet::relay(*giaddr, cfg.server)
                .with_context(|| format!("bind {giaddr}:67 (needs root and that address)"))?,
            *giaddr,
            false,
        ),
    };
    let plan = Plan {
        renew: cfg.renew,
        release: cfg.release,
        retransmit: cfg.retransmit,
        tries: cfg.tries.max(1),
        broadcast,
        giaddr,
    };
    let t0 = Instant::now();
    let mut clients = Clients::new(cfg.clients, plan, cfg.seed, t0);
    let n = clients.len() as u32;
    let end = t0 + cfg.max_duration;
    let interval = cfg.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut next_client = 0u32;
    let mut out: Vec<Send> = Vec::with_capacity(SEND_SLICE * 2);
    let mut wire = Vec::with_capacity(600);
    let mut buf = vec![0u8; 2048];
    let mut send_errors = 0u64;
    let mut malformed = 0u64;
    while clients.finished < n as usize {
        let now = Instant::now();
        if now >= end {
            break;
        }
        // Start the clients that are due (all of them, a slice at a time, in a burst).
        while next_client < n && out.len() < SEND_SLICE {
            let due = interval.map_or(t0, |iv| t0 + iv * next_client);
            if due > now {
                break;
            }
            clients.start(next_client, now, &mut out);
            next_client += 1;
        }
        clients.expire(now, &mut out);
        for s in out.drain(..) {
            s.msg.write(&mut wire);
            if net.send(&wire, s.to_server).is_err() {
                send_errors += 1;
            }
        }
        // Read every reply queued.
        let mut got = 0;
        while let Some(range) = net.recv(&mut buf).context("receive")? {
            got += 1;
            let now = Instant::now();
            match parse_reply(&buf[range]) {
                Ok(r) => clients.on_reply(&r, now, &mut out),
                Err(_) => malformed += 1,
            }
            for (ip, mac) in clients.new_leases.drain(..) {
                net.arp.insert(ip, mac);
            }
            if out.len() >= SEND_SLICE {
                break;
            }
        }
        if got > 0 || !out.is_empty() {
            continue;
        }
        // Idle: sleep until a start or retransmission is due, or a reply arrives.
        let mut wake = end;
        if next_client < n {
            wake = wake.min(interval.map_or(t0, |iv| t0 + iv * next_client));
        }
        if let Some(t) = clients.next_timer() {
            wake = wake.min(t);
        }
        let wait = wake.saturating_duration_since(Instant::now());
        if wait.is_zero() && next_client < n {
            continue;
        }
        poll_in(net.rx_fd(), wait.max(Duration::from_micros(50)));
    }
    // The last replies may have queued messages (RELEASEs) after the final client finished.
    for s in out.drain(..) {
        s.msg.write(&mut wire);
        if net.send(&wire, s.to_server).is_err() {
            send_errors += 1;
        }
    }
    let mut stats = clients.stats.clone();
    stats.elapsed_s = t0.elapsed().as_secs_f64();
    stats.lease_window_s = clients
        .last_lease
        .map_or(0.0, |t| t.duration_since(t0).as_secs_f64());
    stats.send_errors = send_errors;
    stats.malformed = malformed;
    stats.arp_answered = net.arp_answered;
    let seed = clients.seed();
    let leases = clients
        .leased()
        .map(|(i, a)| (super::clients::mac_of(seed, i), a))
        .collect();
    Ok(DhcpOutcome { stats, leases })
}

/// Waits until `fd` is readable or `wait` has passed.
fn poll_in(fd: std::os::fd::RawFd, wait: Duration) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: wait.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(wait.subsec_nanos() as i32),
    };
    // SAFETY: one pollfd and one timespec we own; no signal mask.
    unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
}
