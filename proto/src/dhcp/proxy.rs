//! Proxy-DHCP and the PXE boot server (PXE 2.1 §2.2): replies that carry only the boot part.
//!
//! On a `proxy` range another server hands out addresses; a PXE client's DHCPDISCOVER is
//! answered with a DHCPOFFER without an address (`yiaddr` 0) carrying option 60 `PXEClient`,
//! the client's UUID (option 97) and the PXE menu or boot file (PXE 2.1 §2.2.3, "proxyDHCP
//! offer"). The client then asks the boot server, port 4011, with a DHCPREQUEST naming the
//! boot item it chose (option 43 sub-option 71); the DHCPACK names the file to fetch by TFTP
//! and the server to fetch it from (PXE 2.1 §2.2.5).

use std::net::{Ipv4Addr, SocketAddrV4};

use super::packet::{code, msg};
use super::pxe::{CLIENT_UUID, PXE_CLIENT, Pxe};
use super::server::{Ctx, Net, Out, ReplyTo, Server};
use super::stats::DropReason;
use super::writer::{ReplyHeader, ReplyWriter};

/// The header and option-43 contents of a PXE-only reply.
struct PxeReply<'a> {
    kind: u8,
    ciaddr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    siaddr: Ipv4Addr,
    file: &'a [u8],
    sname: Option<&'a [u8]>,
    to: ReplyTo,
}

impl Server {
    /// A DHCPDISCOVER on a proxy range: the PXE offer, or a counted drop for anything else
    /// (non-PXE clients, other message types, nothing to offer).
    pub(super) fn proxy_offer(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        if ctx.req.msg_type != Some(msg::DISCOVER) || !self.pxe.is_client(out.opts) {
            return Err(DropReason::ProxyRange);
        }
        let boot = self.pxe.boot(&ctx.tags);
        if !self.pxe.has_menu() && boot.is_none() {
            return Err(DropReason::ProxyRange);
        }
        let mut sub = std::mem::take(out.sub);
        let csa = Pxe::client_arch(out.opts);
        self.pxe
            .menu_options(&ctx.tags, csa, net.server_id, boot.is_some(), &mut sub);
        let mut item_file = Vec::new();
        let (siaddr, file, sname) = match boot {
            Some(b) => (
                b.addr.unwrap_or(net.server_id),
                b.file.as_slice(),
                b.sname.as_deref(),
            ),
            None => match self.pxe.single_efi_item(&ctx.tags, csa) {
                // An EFI client with one item gets no menu: the offer names its file (PXE 2.1
                // discovery control bit 3, set by `menu_options`).
                Some(s) => {
                    s.file(0, &mut item_file);
                    (s.server.unwrap_or(net.server_id), &item_file[..], None)
                }
                None => (Ipv4Addr::UNSPECIFIED, &[][..], None),
            },
        };
        let to = if ctx.req.giaddr != Ipv4Addr::UNSPECIFIED {
            ReplyTo::Relay(ctx.req.giaddr)
        } else {
            ReplyTo::Broadcast
        };
        let r = PxeReply {
            kind: msg::OFFER,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr,
            file,
            sname,
            to,
        };
        let res = self.pxe_reply(ctx, net, out, &r, &sub);
        *out.sub = sub;
        res.map(Some)
    }

    /// A DHCPREQUEST (or DHCPINFORM) to the boot server port: the DHCPACK with the boot file
    /// of the item asked for, sent back where the request came from.
    pub(super) fn boot_server_ack(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
        src: SocketAddrV4,
    ) -> Result<Option<(ReplyTo, usize)>, DropReason> {
        if !matches!(ctx.req.msg_type, Some(msg::REQUEST | msg::INFORM)) {
            return Err(DropReason::UnexpectedType);
        }
        if !self.pxe.is_client(out.opts) {
            return Err(DropReason::NotPxeClient);
        }
        let (typ, layer) = Pxe::boot_item(out.opts).ok_or(DropReason::NoBootService)?;
        let service = self
            .pxe
            .service_of_type(&ctx.tags, typ)
            .ok_or(DropReason::NoBootService)?;
        let mut file = Vec::with_capacity(128);
        service.file(layer, &mut file);
        let mut sub = std::mem::take(out.sub);
        self.pxe.ack_options(&ctx.tags, typ, layer, &mut sub);
        let to = if src.ip().is_unspecified() {
            ReplyTo::Broadcast
        } else {
            ReplyTo::Sender(src)
        };
        let r = PxeReply {
            kind: msg::ACK,
            ciaddr: ctx.req.ciaddr,
            yiaddr: ctx.req.ciaddr,
            siaddr: service.server.unwrap_or(net.server_id),
            file: &file,
            sname: None,
            to,
        };
        let res = self.pxe_reply(ctx, net, out, &r, &sub);
        *out.sub = sub;
        res.map(Some)
    }

    /// Writes a PXE-only reply: message type, server id, `PXEClient`, the UUID echo and option
    /// 43 (`sub` plus END) when it has anything.
    fn pxe_reply(
        &self,
        ctx: &Ctx<'_>,
        net: &Net<'_>,
        out: &mut Out<'_>,
        r: &PxeReply<'_>,
        sub: &[u8],
    ) -> Result<(ReplyTo, usize), DropReason> {
        let req = &ctx.req;
        let max = out.opts.get(code::MAX_SIZE).map_or(0, |v| {
            usize::from(u16::from_be_bytes([v[0], v[1]])).saturating_sub(28)
        });
        let h = ReplyHeader {
            htype: req.htype,
            chaddr: req.chaddr,
            xid: req.xid,
            broadcast: req.broadcast,
            ciaddr: r.ciaddr,
            yiaddr: r.yiaddr,
            siaddr: r.siaddr,
            giaddr: req.giaddr,
        };
        let mut w = ReplyWriter::new(out.reply, max, &h).ok_or(DropReason::ReplyTooBig)?;
        if self.cfg.no_override {
            w.keep_header_fields(true, true);
        }
        if !r.file.is_empty() {
            w.boot_file(r.file);
        }
        if let Some(s) = r.sname {
            w.server_name(s);
        }
        let agent = out.opts.get(code::RELAY_AGENT);
        if let Some(a) = agent {
            w.reserve(ReplyWriter::encoded_len(a.len()));
        }
        // What makes the reply a PXE reply (PXE 2.1 §2.2.2-§2.2.5: type, server id,
        // `PXEClient` and the option 43 menu or boot item echo) goes first and must fit: a
        // reply without it would send the client on with a broken answer, so it is dropped
        // instead. The client's own UUID echo is written after it and may be left out.
        let mut fits = w.option(code::MESSAGE_TYPE, &[r.kind])
            && w.addr(code::SERVER_ID, net.server_id)
            && w.option(code::VENDOR_CLASS, PXE_CLIENT);
        if fits && !sub.is_empty() {
            let mut v = [0u8; 255];
            let n = sub.len().min(254);
            v[..n].copy_from_slice(&sub[..n]);
            v[n] = code::END;
            fits = w.option(code::VENDOR, &v[..=n]);
        }
        if !fits {
            return Err(DropReason::ReplyTooBig);
        }
        if let Some(uuid) = out.opts.get(CLIENT_UUID) {
            w.option(CLIENT_UUID, uuid);
        }
        if let Some(a) = agent {
            // RFC 3046 §2.2: echo the relay agent option, last before END.
            w.option_reserved(code::RELAY_AGENT, a);
        }
        let len = w.finish();
        self.stats.reply(r.kind);
        Ok((r.to, len))
    }
}
