//! The DHCPv4 exchanges (RFC 2131 §4.3): DISCOVER, REQUEST in its states, DECLINE, RELEASE,
//! INFORM and BOOTP, with address choice and lease commit.

use std::net::Ipv4Addr;

use super::allocator::{AllocError, Claim, Pool, sdbm};
use super::config::{LeaseTime, RangeMode};
use super::journal;
use super::lease::LeaseRef;
use super::packet::{OptionTable, code, msg};
use super::server::{Ctx, Net, Out, ReplyTo, Server, alloc_drop};
use super::stats::DropReason;

impl Server {
    /// The client's `dhcp-host` address when it is on this network and not leased to another
    /// client (then, as dnsmasq does, the client is served from the range instead).
    pub(super) fn static_addr(&self, ctx: &Ctx<'_>, net: &Net<'_>, wall: u64) -> Option<Ipv4Addr> {
        ctx.host
            .and_then(|h| self.hosts[h].addr)
            .filter(|a| net.contains(*a) && self.alloc.available(&ctx.key, *a, wall))
    }

    pub(super) fn lease_time(&self, ctx: &Ctx<'_>, net: &Net<'_>) -> LeaseTime {
        ctx.host
            .and_then(|h| self.hosts[h].lease)
            .unwrap_or(net.range.lease)
    }

    pub(super) fn claim<'a>(
        &self,
        ctx: &'a Ctx<'_>,
        opts: &'a OptionTable,
        wall: u64,
    ) -> Claim<'a> {
        Claim {
            key: &ctx.key,
            htype: ctx.req.htype,
            hw: ctx.req.chaddr,
            client_id: opts.get(code::CLIENT_ID),
            wall,
        }
    }

    /// Pick an address for a DISCOVER (or dynamic BOOTP): the static one, or from the pool.
    pub(super) fn pick(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &Out<'_>,
    ) -> Result<Ipv4Addr, DropReason> {
        let c = self.claim(ctx, out.opts, out.wall);
        let (pool, requested) = match self.static_addr(ctx, net, out.wall) {
            Some(a) => (Pool { start: a, end: a }, None),
            None if net.range.mode == RangeMode::Static => return Err(DropReason::NoRange),
            None => (net.range.pool, out.opts.addr(code::REQUESTED_IP)),
        };
        let reserved = |a: Ipv4Addr| {
            pool.start != pool.end
                && (self.reserved.binary_search(&a).is_ok() || a == net.server_id)
        };
        self.alloc
            .offer(
                &c,
                pool,
                requested,
                self.cfg.sequential_ip,
                self.cfg.offer_hold_secs,
                &reserved,
            )
            .map_err(alloc_drop)
    }

    /// Bind `addr` and write its journal record.
    pub(super) fn commit(
        &self,
        ctx: &Ctx<'_>,
        addr: Ipv4Addr,
        lease: LeaseTime,
        out: &mut Out<'_>,
    ) -> Result<(), AllocError> {
        let expires = lease.expiry(out.wall);
        let name = self.hostname(ctx, out.opts);
        let name = name.as_deref();
        self.alloc
            .bind(&self.claim(ctx, out.opts, out.wall), addr, expires, name)?;
        let rec = LeaseRef {
            expires,
            htype: ctx.req.htype,
            hwaddr: ctx.req.chaddr,
            addr,
            hostname: name,
            client_id: out.opts.get(code::CLIENT_ID),
        };
        journal::encode_upsert(&rec, out.journal);
        Ok(())
    }

    pub(super) fn discover(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let rapid = self.cfg.rapid_commit && out.opts.has(code::RAPID_COMMIT);
        // The client's own lease (even expired) is not probed, as with dnsmasq.
        let own = (self.cfg.ping && !rapid)
            .then(|| self.alloc.lookup(&ctx.key))
            .flatten()
            .filter(|b| b.bound)
            .map(|b| b.addr);
        let addr = self.pick(ctx, net, out)?;
        let lease = self.lease_time(ctx, net);
        // RFC 4039 §4: with rapid commit on both sides, answer DISCOVER with an ACK.
        if rapid {
            self.commit(ctx, addr, lease, out).map_err(alloc_drop)?;
            return self
                .build(ctx, net, out, msg::ACK, addr, Some(lease))
                .map(Some);
        }
        // RFC 2131 §3.1 step 2: probe an address picked from the pool before offering it —
        // not a static host's, not the client's lease, not the one it asked for (dnsmasq's rule).
        if self.cfg.ping
            && own != Some(addr)
            && out.opts.addr(code::REQUESTED_IP) != Some(addr)
            && self.static_addr(ctx, net, out.wall) != Some(addr)
        {
            *out.probe = Some((addr, sdbm(ctx.key.as_bytes())));
        }
        self.build(ctx, net, out, msg::OFFER, addr, Some(lease))
            .map(Some)
    }

    /// DHCPREQUEST in its four states (RFC 2131 §4.3.2).
    pub(super) fn request(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let sid = out.opts.addr(code::SERVER_ID);
        let requested = out.opts.addr(code::REQUESTED_IP);
        let ciaddr = ctx.req.ciaddr;
        let selecting = sid.is_some();
        if let Some(s) = sid
            && s != net.server_id
        {
            // SELECTING another server's offer: our offer's hold simply lapses.
            return Err(DropReason::OtherServer);
        }
        let addr = match (requested, ciaddr) {
            (Some(r), _) => r,
            (None, c) if c != Ipv4Addr::UNSPECIFIED => c,
            _ => return Err(DropReason::NotHeld),
        };
        // RENEWING/REBINDING (ciaddr set, no option 50) vs INIT-REBOOT/SELECTING.
        let renewing = requested.is_none();
        let nak =
            |this: &Self, out: &mut Out<'_>| -> Result<Option<(ReplyTo, usize)>, DropReason> {
                this.build(ctx, net, out, msg::NAK, Ipv4Addr::UNSPECIFIED, None)
                    .map(Some)
            };
        if !net.contains(addr) {
            // INIT-REBOOT on the wrong network MUST be NAKed; a renewing client we cannot know.
            if renewing && !self.cfg.authoritative {
                return Err(DropReason::NotAuthoritative);
            }
            return nak(self, out);
        }
        let fixed = self.static_addr(ctx, net, out.wall);
        if fixed.is_some_and(|f| f != addr) {
            return nak(self, out);
        }
        let known = self.alloc.lookup(&ctx.key);
        let ours = known.is_some_and(|b| b.addr == addr);
        if !ours {
            if known.is_some() && selecting {
                return nak(self, out);
            }
            let allowed = fixed == Some(addr)
                || (net.range.mode == RangeMode::Dynamic
                    && net.range.pool.contains(addr)
                    && self.reserved.binary_search(&addr).is_err());
            if !(self.cfg.authoritative || selecting) {
                return Err(DropReason::NotAuthoritative);
            }
            if !allowed || !self.alloc.available(&ctx.key, addr, out.wall) {
                return nak(self, out);
            }
        }
        let lease = self.lease_time(ctx, net);
        match self.commit(ctx, addr, lease, out) {
            Ok(()) => self
                .build(ctx, net, out, msg::ACK, addr, Some(lease))
                .map(Some),
            Err(AllocError::Taken) => nak(self, out),
            Err(e) => Err(alloc_drop(e)),
        }
    }

    /// DHCPDECLINE: the address is in use elsewhere; quarantine it (RFC 2131 §4.3.3).
    pub(super) fn decline(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        if out
            .opts
            .addr(code::SERVER_ID)
            .is_some_and(|s| s != net.server_id)
        {
            return Err(DropReason::OtherServer);
        }
        let addr = out
            .opts
            .addr(code::REQUESTED_IP)
            .ok_or(DropReason::NotHeld)?;
        let until = out
            .wall
            .saturating_add(u64::from(self.cfg.decline_quarantine_secs));
        if !self.alloc.decline(&ctx.key, addr, until) {
            return Err(DropReason::NotHeld);
        }
        journal::encode_remove(addr, out.journal);
        Ok(None)
    }

    /// DHCPRELEASE (RFC 2131 §4.3.4).
    pub(super) fn release(
        &self,
        ctx: &Ctx<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let addr = ctx.req.ciaddr;
        if !self.alloc.release(&ctx.key, addr) {
            return Err(DropReason::NotHeld);
        }
        journal::encode_remove(addr, out.journal);
        Ok(None)
    }

    /// DHCPINFORM: configuration only, no lease (RFC 2131 §4.3.5).
    pub(super) fn inform(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        self.build(ctx, net, out, msg::ACK, Ipv4Addr::UNSPECIFIED, None)
            .map(Some)
    }

    /// BOOTP (RFC 951, RFC 1542): static hosts, or dynamic with `--bootp-dynamic`; infinite lease.
    pub(super) fn bootp(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        let dynamic = self.cfg.bootp_dynamic && ctx.tags.contains_all(&self.bootp_dynamic);
        if self.static_addr(ctx, net, out.wall).is_none() && !dynamic {
            return Err(DropReason::BootpNoAddress);
        }
        let addr = self.pick(ctx, net, out)?;
        self.commit(ctx, addr, LeaseTime::Infinite, out)
            .map_err(alloc_drop)?;
        self.build(ctx, net, out, 0, addr, None).map(Some)
    }
}
