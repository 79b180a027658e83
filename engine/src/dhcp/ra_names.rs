//! `ra-names` on the DHCP thread: for every named DHCPv4 lease with an Ethernet address, on an
//! interface where an `ra-names` range advertises a /64, the host's SLAAC address is guessed
//! and pinged over a raw ICMPv6 socket ([`ringmasq_proto::ra::names`] decides what and when);
//! addresses that answer are named in DNS (AAAA and PTR) with the lease's name, as dnsmasq
//! does. Only directly connected links count (not relayed DHCPv4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::RawFd;
use std::time::Instant as StdInstant;

use anyhow::{Context, Result};
use ringmasq_config::Config;
use ringmasq_proto::dhcp::Lease;
use ringmasq_proto::dhcp6::config::{iface_matches, is_link_local, mask};
use ringmasq_proto::ra::names::{
    Candidate, ECHO_REPLY, SlaacNames, decode_echo_reply, echo_request,
};
use ringmasq_proto::time::Instant;

use crate::access::{InterfaceAddr, interface_addrs};
use crate::icmp6::Icmp6Socket;

/// SLAAC prefixes are /64 (RFC 4862 §5.5.3 with RFC 2464's 64-bit interface identifiers).
const SLAAC_PREFIX: u8 = 64;

/// One `ra-names` range: `constructor:` pattern or explicit prefix.
struct NamesRange {
    constructor: Option<String>,
    prefix: Ipv6Addr,
}

/// The probes, the echo socket and the ranges they follow.
pub struct RaNames {
    table: SlaacNames,
    socket: Icmp6Socket,
    ranges: Vec<NamesRange>,
    /// Echo identifier of our requests; replies with another one are someone else's.
    id: u16,
    epoch: StdInstant,
}

impl RaNames {
    /// The `ra-names` machinery when a range asks for it; `None` otherwise.
    pub fn new(cfg: &Config) -> Result<Option<RaNames>> {
        let ranges: Vec<NamesRange> = cfg
            .ipv6
            .ranges
            .iter()
            .filter(|r| r.modes.ra_names && r.prefix_len == SLAAC_PREFIX)
            .map(|r| NamesRange {
                constructor: r.constructor.clone(),
                prefix: mask(r.start, SLAAC_PREFIX),
            })
            .collect();
        if ranges.is_empty() {
            return Ok(None);
        }
        let socket = Icmp6Socket::open(ECHO_REPLY).context("ra-names: ICMPv6 echo socket")?;
        Ok(Some(RaNames {
            table: SlaacNames::new(),
            socket,
            ranges,
            id: (std::process::id() as u16) ^ 0x5a5a,
            epoch: StdInstant::now(),
        }))
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// The echo socket (for poll).
    pub fn fd(&self) -> RawFd {
        self.socket.fd()
    }

    /// Milliseconds until the next echo request is due, if one is.
    pub fn wait_ms(&self) -> Option<i32> {
        let now = self.now();
        self.table
            .next_due()
            .map(|d| d.as_millis().saturating_sub(now.as_millis()).min(1000) as i32)
    }

    /// The /64 prefixes the `ra-names` ranges advertise on interface `iface` with addresses
    /// `addrs`.
    fn prefixes_on(&self, iface: &str, addrs: &[&InterfaceAddr]) -> Vec<Ipv6Addr> {
        let globals: Vec<Ipv6Addr> = addrs
            .iter()
            .filter_map(|a| match a.addr {
                IpAddr::V6(v6) if !is_link_local(v6) && a.prefix == SLAAC_PREFIX => {
                    Some(mask(v6, SLAAC_PREFIX))
                }
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for r in &self.ranges {
            let found: Vec<Ipv6Addr> = match &r.constructor {
                Some(pat) if iface_matches(pat, iface) => globals.clone(),
                Some(_) => Vec::new(),
                None => globals.iter().copied().filter(|p| *p == r.prefix).collect(),
            };
            for p in found {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Follows the live DHCPv4 leases: each named one with an Ethernet address, on a link an
    /// `ra-names` range advertises, becomes a guess to probe. Returns whether a name went.
    pub fn sync(&mut self, leases: &[Lease]) -> bool {
        let all = interface_addrs();
        let mut candidates = Vec::new();
        for l in leases {
            let (Some(name), 1, Ok(mac)) = (
                l.hostname.as_ref(),
                l.htype,
                <[u8; 6]>::try_from(l.hwaddr.as_slice()),
            ) else {
                continue;
            };
            let Some(link) = all.iter().find(|a| in_subnet(a, l.addr)) else {
                continue;
            };
            let addrs: Vec<&InterfaceAddr> = all.iter().filter(|a| a.index == link.index).collect();
            for prefix in self.prefixes_on(&link.name, &addrs) {
                candidates.push(Candidate {
                    name: name.clone(),
                    mac,
                    prefix,
                    ifindex: link.index,
                });
            }
        }
        let now = self.now();
        self.table.sync(&candidates, now)
    }

    /// Reads the echo replies waiting and sends the requests due. Returns whether a name
    /// was added.
    pub fn poll(&mut self) -> bool {
        let mut buf = [0u8; 1500];
        let mut added = false;
        loop {
            match self.socket.recv(&mut buf) {
                Ok(Some(rx)) => {
                    if decode_echo_reply(&buf[..rx.len]).is_some_and(|(id, _)| id == self.id)
                        && self.table.answered(rx.src)
                    {
                        tracing::info!("ra-names: {} answers, named", rx.src);
                        added = true;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("ra-names: echo receive: {e}");
                    break;
                }
            }
        }
        let now = self.now();
        for ping in self.table.due(now) {
            let to = SocketAddrV6::new(ping.to, 0, 0, ping.ifindex);
            match self.socket.send_to(&echo_request(self.id, ping.seq), to) {
                Ok(()) => tracing::debug!("ra-names: echo request {} to {}", ping.seq, ping.to),
                Err(e) => tracing::debug!("ra-names: echo request to {}: {e}", ping.to),
            }
        }
        added
    }

    /// `(address, name)` of every SLAAC address that answered.
    pub fn names(&self) -> Vec<(Ipv6Addr, String)> {
        self.table
            .names()
            .map(|(a, n)| (a, n.to_string()))
            .collect()
    }
}

/// Whether `addr` lies in `a`'s IPv4 subnet.
fn in_subnet(a: &InterfaceAddr, addr: Ipv4Addr) -> bool {
    let IpAddr::V4(net) = a.addr else {
        return false;
    };
    let m = if a.prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(a.prefix.min(32)))
    };
    u32::from(net) & m == u32::from(addr) & m
}
