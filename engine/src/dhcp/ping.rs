//! The ping check before an OFFER on the DHCP thread: the ICMP echo socket and the held OFFERs
//! ([`ringmasq_proto::dhcp::ping`] decides what to probe and when). Nothing here blocks: echo
//! requests go out and replies are read as the DHCP loop turns; `poll` tells the loop which
//! held OFFERs are now free to send and which must be handled again for another address.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::RawFd;
use std::time::Instant as StdInstant;

use ringmasq_proto::dhcp::ReplyTo;
use ringmasq_proto::dhcp::ping::{Decision, Echo, PingCheck, decode_echo_reply, echo_request};
use ringmasq_proto::time::Instant;

use crate::icmp4::Icmp4Socket;

/// An OFFER held until its address has been probed.
#[derive(Debug)]
pub struct HeldOffer {
    /// The request that led to it, handled again if the address is in use.
    pub request: Vec<u8>,
    /// Where the request came from.
    pub src: SocketAddrV4,
    /// The interface it arrived on.
    pub ifindex: u32,
    /// The OFFER and where it goes.
    pub reply: Vec<u8>,
    /// Destination of the OFFER.
    pub to: ReplyTo,
    /// `--dhcp-reply-delay` seconds still owed from `since`.
    pub delay: u32,
    /// When the request was first handled.
    pub since: StdInstant,
    /// Addresses of this exchange already found in use.
    pub tries: u8,
}

/// What a [`Ping::poll`] found.
#[derive(Debug, Default)]
pub struct Settled {
    /// Addresses that answered, with the OFFER held for them.
    pub in_use: Vec<(Ipv4Addr, HeldOffer)>,
    /// Addresses that stayed silent, with their OFFER to send.
    pub free: Vec<(Ipv4Addr, HeldOffer)>,
}

/// The echo socket and the probes under way.
pub struct Ping {
    socket: Icmp4Socket,
    check: PingCheck<HeldOffer>,
    /// Echo identifier (a ping socket replaces it with its own).
    id: u16,
    epoch: StdInstant,
    echoes: Vec<Echo>,
}

impl Ping {
    /// Opens the echo socket.
    pub fn new() -> std::io::Result<Ping> {
        Ok(Ping {
            socket: Icmp4Socket::open()?,
            check: PingCheck::new(),
            id: (std::process::id() as u16) ^ 0xd4c9,
            epoch: StdInstant::now(),
            echoes: Vec::new(),
        })
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// The echo socket (for poll).
    pub fn fd(&self) -> RawFd {
        self.socket.fd()
    }

    /// Counters of the ping check.
    pub fn stats(&self) -> ringmasq_proto::dhcp::ping::PingStats {
        self.check.stats
    }

    /// Milliseconds until something is due, if a probe is under way.
    pub fn wait_ms(&self) -> Option<i32> {
        let now = self.now();
        self.check
            .next_due()
            .map(|d| d.as_millis().saturating_sub(now.as_millis()).min(1000) as i32)
    }

    /// Whether the OFFER of `addr` must wait for a probe (see [`PingCheck::check`]).
    pub fn check(&mut self, addr: Ipv4Addr, client: u32, tries: u8) -> Decision {
        let now = self.now();
        self.check.check(now, addr, client, tries)
    }

    /// Holds `offer` until `addr` has been probed.
    pub fn start(&mut self, addr: Ipv4Addr, client: u32, offer: HeldOffer) {
        let now = self.now();
        self.check.start(now, addr, client, offer);
        tracing::debug!("DHCP: pinging {addr} before offering it");
    }

    /// The OFFER held for `addr`.
    pub fn held_mut(&mut self, addr: Ipv4Addr) -> Option<&mut HeldOffer> {
        self.check.pending_mut(addr)
    }

    /// Reads the echo replies waiting: an address being probed that answers is in use.
    fn read_replies(&mut self, out: &mut Settled) {
        let mut buf = [0u8; 1500];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(Some((n, from))) => {
                    let Some((id, _)) = decode_echo_reply(&buf[..n], self.socket.raw()) else {
                        continue;
                    };
                    // A raw socket sees every echo reply of the host; ours carry our id.
                    if self.socket.raw() && id != self.id {
                        continue;
                    }
                    if let Some(o) = self.check.answered(from) {
                        out.in_use.push((from, o));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("DHCP ping: receive: {e}");
                    break;
                }
            }
        }
    }

    /// Whether no probe is under way.
    pub fn idle(&self) -> bool {
        self.check.is_empty()
    }

    /// Reads the echo replies waiting (when the socket is `readable`), sends the echo requests
    /// due and returns the probes that ended.
    pub fn poll(&mut self, readable: bool) -> Settled {
        let mut out = Settled::default();
        if readable {
            self.read_replies(&mut out);
        }
        if self.check.is_empty() {
            return out;
        }
        let now = self.now();
        self.echoes.clear();
        self.check.due(now, &mut self.echoes);
        for e in &self.echoes {
            if let Err(err) = self.socket.send_to(&echo_request(self.id, e.seq), e.addr) {
                // Unreachable or not routable: nothing can answer, the wait decides.
                tracing::debug!("DHCP ping: echo request to {}: {err}", e.addr);
            }
        }
        self.check.expired(now, &mut out.free);
        out
    }
}
