//! The ping check on the DHCP thread: OFFERs of newly picked addresses held while their
//! address is probed ([`super::super::ping`]), sent once it stayed silent, or the request
//! handled again for another address when it answered (the address quarantined).

use ringmasq_proto::dhcp::ping::Decision;

use super::super::ping::{HeldOffer, Ping};
use super::*;

/// An [`Action::Probe`] as the DHCP thread got it.
pub(super) struct Probe {
    pub(super) addr: Ipv4Addr,
    pub(super) client: u32,
    pub(super) to: ReplyTo,
    pub(super) src: SocketAddrV4,
    pub(super) ifindex: u32,
    pub(super) tries: u8,
}

/// The ping check's socket, unless `--no-ping` (or no DHCPv4 range). Without the socket (no
/// CAP_NET_RAW and no ping-socket permission) offers go unprobed, with a warning.
pub(super) fn open_ping(cfg: &ringmasq_config::Config) -> Option<Ping> {
    if cfg.dhcp.no_ping || !cfg.dhcp.enabled() {
        return None;
    }
    match Ping::new() {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(
                "DHCP: cannot open an ICMP echo socket ({e}); addresses are offered without \
                 the ping check"
            );
            None
        }
    }
}

/// An OFFER that wants its address probed: held (true), or to be sent now (false: no ping
/// check, or [`Decision::Offer`]). A DISCOVER sent again while its address is probed refreshes
/// the held OFFER and is otherwise dropped.
pub(super) fn hold_offer(
    ping: &mut Option<Ping>,
    scratch: &Scratch,
    request: &[u8],
    p: Probe,
) -> bool {
    let Some(ping) = ping else {
        return false;
    };
    match ping.check(p.addr, p.client, p.tries) {
        Decision::Offer(why) => {
            tracing::debug!("DHCP: {} offered without ping ({why:?})", p.addr);
            false
        }
        Decision::Duplicate => {
            if let Some(h) = ping.held_mut(p.addr) {
                h.reply.clear();
                h.reply.extend_from_slice(scratch.last_reply());
                h.to = p.to;
            }
            true
        }
        Decision::Probe => {
            let held = HeldOffer {
                request: request.to_vec(),
                src: p.src,
                ifindex: p.ifindex,
                reply: scratch.last_reply().to_vec(),
                to: p.to,
                delay: scratch.reply_delay(),
                since: StdInstant::now(),
                tries: p.tries,
            };
            ping.start(p.addr, p.client, held);
            true
        }
    }
}

impl DhcpService {
    /// Echo replies read, echo requests sent; the OFFERs of silent addresses go out (after what
    /// is left of a `--dhcp-reply-delay`), the requests whose address answered are handled
    /// again for another address.
    pub(super) fn poll_ping(&mut self, scratch: &mut Scratch, sb: &mut SendBatch, readable: bool) {
        let Some(ping) = &mut self.ping else {
            return;
        };
        if !readable && ping.idle() {
            return;
        }
        let settled = ping.poll(readable);
        if settled.in_use.is_empty() && settled.free.is_empty() {
            return;
        }
        let wall = self.wall();
        for (addr, h) in settled.in_use {
            if self.server.ping_answered(addr, wall) {
                tracing::warn!(
                    "DHCP: {addr} answers a ping: in use by another host, not offered; \
                     quarantined for {} s",
                    self.server.config().decline_quarantine_secs
                );
            }
            self.handle(scratch, &h.request, h.src, h.ifindex, false, h.tries + 1);
        }
        let now = StdInstant::now();
        for (_, h) in settled.free {
            let due = h.since + Duration::from_secs(u64::from(h.delay));
            if due > now {
                self.delay_reply(Delayed {
                    due,
                    to: h.to,
                    bytes: h.reply,
                    ifindex: h.ifindex,
                    pxe: false,
                });
                continue;
            }
            self.queue_reply(h.to, h.ifindex, &h.reply, false);
        }
        self.commit(sb);
    }
}
