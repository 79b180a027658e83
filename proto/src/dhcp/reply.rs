//! Reply building: where a reply goes (RFC 2131 §4.1), its header (RFC 2131 §4.3.1 table 3)
//! and its options (configured, defaulted, requested, forced, encapsulated).

use std::net::Ipv4Addr;

use super::config::LeaseTime;
use super::packet::{OptionTable, code, msg};
use super::pxe::{CLIENT_UUID, PXE_CLIENT, Pxe};
use super::server::{COpt, Ctx, HwAddr, Net, Out, ReplyTo, Server};
use super::stats::DropReason;
use super::tags::TagSet;
use super::writer::{ReplyHeader, ReplyWriter};

impl Server {
    /// Where a reply goes (RFC 2131 §4.1).
    pub(super) fn reply_to(&self, ctx: &Ctx<'_>, kind: u8, yiaddr: Ipv4Addr) -> ReplyTo {
        let req = &ctx.req;
        if req.giaddr != Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Relay(req.giaddr);
        }
        if kind == msg::NAK {
            return ReplyTo::Broadcast;
        }
        if req.ciaddr != Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Unicast(req.ciaddr);
        }
        let forced = self.bcast.iter().any(|c| c.holds(&ctx.tags));
        if req.broadcast || forced || yiaddr == Ipv4Addr::UNSPECIFIED {
            return ReplyTo::Broadcast;
        }
        let mut mac = HwAddr {
            htype: req.htype,
            len: req.chaddr.len() as u8,
            bytes: [0; 16],
        };
        mac.bytes[..req.chaddr.len()].copy_from_slice(req.chaddr);
        ReplyTo::UnicastToClientHw { ip: yiaddr, mac }
    }

    /// Build a reply of DHCP type `kind` (0 = BOOTREPLY without option 53).
    pub(super) fn build(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
        kind: u8,
        yiaddr: Ipv4Addr,
        lease: Option<LeaseTime>,
    ) -> Result<(ReplyTo, usize), DropReason> {
        let req = &ctx.req;
        let to = self.reply_to(ctx, kind, yiaddr);
        let opts: &OptionTable = out.opts;
        let max = opts.get(code::MAX_SIZE).map_or(0, |v| {
            usize::from(u16::from_be_bytes([v[0], v[1]])).saturating_sub(28)
        });
        let nak = kind == msg::NAK;
        let boot = if nak { None } else { self.pxe.boot(&ctx.tags) };
        let h = ReplyHeader {
            htype: req.htype,
            chaddr: req.chaddr,
            xid: req.xid,
            // RFC 2131 §4.3.2: a NAK through a relay asks it to broadcast.
            broadcast: req.broadcast || (nak && net.relayed),
            ciaddr: if kind == msg::ACK || kind == 0 {
                req.ciaddr
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            yiaddr,
            siaddr: match boot {
                _ if nak => Ipv4Addr::UNSPECIFIED,
                Some(b) => b.addr.unwrap_or(net.server_id),
                None => net.server_id,
            },
            giaddr: req.giaddr,
        };
        let mut w = ReplyWriter::new(out.reply, max, &h).ok_or(DropReason::ReplyTooBig)?;
        if self.cfg.no_override {
            w.keep_header_fields(true, true);
        }
        if let Some(b) = boot {
            // --dhcp-boot: the BOOTP header fields, kept out of option overload.
            w.boot_file(&b.file);
            if let Some(n) = &b.sname {
                w.server_name(n);
            }
        }
        let agent = opts.get(code::RELAY_AGENT);
        if let Some(a) = agent {
            w.reserve(ReplyWriter::encoded_len(a.len()));
        }
        if kind != 0 {
            w.option(code::MESSAGE_TYPE, &[kind]);
        }
        w.addr(code::SERVER_ID, net.server_id);
        if nak {
            // RFC 2131 §4.3.1 table 3: a NAK carries only type, server id, message, client id.
            w.option(code::MESSAGE, b"wrong address");
        } else {
            self.write_options(ctx, net, opts, out.sub, &mut w, kind, lease);
        }
        if let Some(a) = agent {
            // RFC 3046 §2.2: echo the relay agent option, last before END.
            w.option_reserved(code::RELAY_AGENT, a);
        }
        if kind == msg::ACK
            && self.cfg.rapid_commit
            && opts.has(code::RAPID_COMMIT)
            && req.msg_type == Some(msg::DISCOVER)
        {
            w.option(code::RAPID_COMMIT, &[]);
        }
        let len = w.finish();
        self.stats.reply(kind);
        Ok((to, len))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_options(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        opts: &OptionTable,
        sub: &mut Vec<u8>,
        w: &mut ReplyWriter<'_>,
        kind: u8,
        lease: Option<LeaseTime>,
    ) {
        if let Some(l) = lease
            && kind != 0
        {
            let t = l.wire();
            w.u32(code::LEASE_TIME, t);
            if l != LeaseTime::Infinite {
                // RFC 2131 §4.4.5: T1 = 0.5, T2 = 0.875 of the lease.
                w.u32(code::T1, t / 2);
                w.u32(code::T2, (u64::from(t) * 7 / 8) as u32);
            }
        }
        let prl = opts.get(code::PARAM_REQUEST);
        let requested = |c: u8| prl.is_none_or(|p| p.contains(&c));
        let mask = net.mask;
        w.addr(code::SUBNET_MASK, mask);
        let configured = |c: u8| self.best_option(c, &ctx.tags);
        if configured(code::BROADCAST).is_none() {
            let b = net.range.broadcast.unwrap_or_else(|| {
                Ipv4Addr::from(u32::from(net.range.pool.start) | !u32::from(mask))
            });
            w.addr(code::BROADCAST, b);
        }
        if configured(code::ROUTER).is_none() && !net.relayed {
            w.addr(code::ROUTER, net.server_id);
        }
        if configured(code::DNS).is_none() && self.dns_self && requested(code::DNS) {
            w.addr(code::DNS, net.server_id);
        }
        if configured(code::DOMAIN).is_none()
            && let Some(d) = &self.cfg.domain
            && requested(code::DOMAIN)
        {
            w.option(code::DOMAIN, d.as_bytes());
        }
        if let Some(n) = ctx.host.and_then(|h| self.hosts[h].name.as_deref())
            && configured(code::HOSTNAME).is_none()
        {
            w.option(code::HOSTNAME, n);
        }
        if lease.is_some() && kind != 0 {
            self.write_fqdn(ctx, opts, sub, w);
        }
        // Requested options in the client's order (RFC 2131 §4.3.1 leaves the order to the
        // server; clients with short buffers get what they asked for first).
        let vendor = opts.get(code::VENDOR_CLASS);
        // A PXE menu for a PXE client: options 60, 97 and 43 are written last, below.
        let pxe_menu = self.pxe.has_menu() && self.pxe.is_client(opts);
        let emit = |c: u8, w: &mut ReplyWriter<'_>, sub: &mut Vec<u8>| {
            if pxe_menu && matches!(c, code::VENDOR | code::VENDOR_CLASS | CLIENT_UUID) {
                return;
            }
            if matches!(
                c,
                code::SUBNET_MASK
                    | code::LEASE_TIME
                    | code::T1
                    | code::T2
                    | code::SERVER_ID
                    | code::MESSAGE_TYPE
                    | code::PAD
                    | code::END
                    | code::RELAY_AGENT
                    | code::CLIENT_FQDN
                    | code::OVERLOAD
            ) {
                return;
            }
            if self.encapsulated(c, &ctx.tags, vendor, sub) {
                w.option(c, sub);
            } else if let Some(o) = configured(c) {
                w.option(c, &o.value);
            }
        };
        match prl {
            Some(p) => {
                for &c in p {
                    emit(c, w, sub);
                }
                // Forced options the client did not ask for, in configuration order.
                for o in &self.opts {
                    if o.force
                        && o.encap.is_none()
                        && o.vendor_class.is_none()
                        && !p.contains(&o.code)
                        && o.applies(&ctx.tags)
                        && configured(o.code).is_some_and(|b| core::ptr::eq(b, o))
                    {
                        emit(o.code, w, sub);
                    }
                }
            }
            None => {
                for o in &self.opts {
                    if o.encap.is_none()
                        && o.vendor_class.is_none()
                        && configured(o.code).is_some_and(|b| core::ptr::eq(b, o))
                    {
                        emit(o.code, w, sub);
                    }
                }
                if vendor.is_some() {
                    emit(code::VENDOR, w, sub);
                }
            }
        }
        if pxe_menu {
            self.write_pxe_menu(ctx, net, opts, sub, w, requested(code::VENDOR));
        }
    }

    /// Options 60 (`PXEClient`), 97 (the client's UUID, RFC 4578 §2.3) and 43 (the PXE menu
    /// sub-options, then any `vendor:` sub-options, then END) for a PXE client.
    fn write_pxe_menu(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        opts: &OptionTable,
        sub: &mut Vec<u8>,
        w: &mut ReplyWriter<'_>,
        want_43: bool,
    ) {
        w.option(code::VENDOR_CLASS, PXE_CLIENT);
        if let Some(u) = opts.get(CLIENT_UUID) {
            w.option(CLIENT_UUID, u);
        }
        if !want_43 {
            return;
        }
        let mut v = [0u8; 255];
        let csa = Pxe::client_arch(opts);
        self.pxe
            .menu_options(&ctx.tags, csa, net.server_id, false, sub);
        let mut n = sub.len().min(254);
        v[..n].copy_from_slice(&sub[..n]);
        if self.encapsulated(code::VENDOR, &ctx.tags, opts.get(code::VENDOR_CLASS), sub)
            && n + sub.len() < 255
        {
            v[n..n + sub.len()].copy_from_slice(sub);
            n += sub.len();
        }
        if n > 0 {
            v[n] = code::END;
            w.option(code::VENDOR, &v[..=n]);
        }
    }

    /// The option for `code` whose tags hold, preferring the one with most positive tags.
    pub(super) fn best_option(&self, code: u8, tags: &TagSet) -> Option<&COpt> {
        let mut best: Option<&COpt> = None;
        for o in &self.opts {
            if o.code == code
                && o.encap.is_none()
                && o.vendor_class.is_none()
                && o.applies(tags)
                && best.is_none_or(|b| o.weight > b.weight)
            {
                best = Some(o);
            }
        }
        best
    }

    /// Gather `vendor:` sub-options (into option 43, when option 60 contains the class) or
    /// `encap:` sub-options of option `code` into `sub`. True if any were found.
    pub(super) fn encapsulated(
        &self,
        code: u8,
        tags: &TagSet,
        vendor: Option<&[u8]>,
        sub: &mut Vec<u8>,
    ) -> bool {
        sub.clear();
        for o in &self.opts {
            if !o.applies(tags) {
                continue;
            }
            let hit = match (&o.vendor_class, o.encap) {
                (Some(class), _) => {
                    code == code::VENDOR
                        && vendor.is_some_and(|v| {
                            v.windows(class.len().max(1)).any(|w| w == class.as_slice())
                        })
                }
                (None, Some(e)) => e == code,
                (None, None) => false,
            };
            if hit && sub.len() + 2 + o.value.len() <= 255 && o.value.len() <= 255 {
                sub.push(o.code);
                sub.push(o.value.len() as u8);
                sub.extend_from_slice(&o.value);
            }
        }
        !sub.is_empty()
    }
}
