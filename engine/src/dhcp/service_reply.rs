//! Replies leaving the DHCP thread: the end of a turn (records to the journal writer, replies
//! that need no durable record sent in one batch), held-back replies (`--dhcp-reply-delay`),
//! the destination of each reply (RFC 2131 §4.1) and its log line.

use super::*;

impl DhcpService {
    /// Sends the held-back replies that are due.
    pub(super) fn send_due(&mut self) {
        let now = StdInstant::now();
        while self.delayed.front().is_some_and(|d| d.due <= now) {
            if let Some(d) = self.delayed.pop_front() {
                self.send_bytes(d.to, &d.bytes, d.ifindex, d.pxe);
            }
        }
    }

    /// Holds a reply back until its `due` time; the queue stays in due order (a reply due at
    /// the same time as others goes after them).
    pub(super) fn delay_reply(&mut self, d: Delayed) {
        let at = self.delayed.partition_point(|q| q.due <= d.due);
        self.delayed.insert(at, d);
    }

    /// Adds a reply to this turn's batch: its bytes copied into the turn's reply buffer, its
    /// destination into `outgoing`.
    pub(super) fn queue_reply(&mut self, to: ReplyTo, ifindex: u32, bytes: &[u8], pxe: bool) {
        let start = self.replies.len();
        self.replies.extend_from_slice(bytes);
        self.outgoing.push(Outgoing {
            to,
            ifindex,
            start,
            end: self.replies.len(),
            pxe,
        });
    }

    /// Ends a turn: its records to the journal writer with its ACKs and script events held,
    /// then every reply ready to go.
    pub(super) fn commit(&mut self, sb: &mut SendBatch) {
        self.commit_journal();
        self.send_outgoing(sb);
    }

    /// Sends the replies gathered in `outgoing` (one `sendmmsg` for those of the DHCP socket).
    pub(super) fn send_outgoing(&mut self, sb: &mut SendBatch) {
        let outgoing = std::mem::take(&mut self.outgoing);
        let mut batch: Vec<(Datagram<'_>, &Outgoing)> = Vec::with_capacity(outgoing.len());
        for o in &outgoing {
            if !o.pxe && self.socket.is_some() {
                let (dst, ifindex) = self.route(o.to, o.ifindex);
                let bytes = &self.replies[o.start..o.end];
                batch.push((
                    Datagram {
                        bytes,
                        dst,
                        ifindex,
                    },
                    o,
                ));
            }
        }
        if let Some(socket) = &self.socket
            && !batch.is_empty()
        {
            let datagrams: Vec<Datagram<'_>> = batch.iter().map(|(d, _)| *d).collect();
            let mut lines = std::mem::take(&mut self.sent_lines);
            sb.send(socket.fd(), &datagrams, |i, r| {
                let (d, o) = &batch[i];
                self.log_sent(d.bytes, o.ifindex, false, r, &mut lines);
            });
            self.sent_lines = lines;
        }
        drop(batch);
        for o in &outgoing {
            if o.pxe || self.socket.is_none() {
                self.send(o);
            }
        }
        self.flush_log();
        self.outgoing = outgoing;
        self.outgoing.clear();
        self.replies.clear();
    }

    /// Hands the DHCPv6 lease events gathered so far (expiry, reload) to the script.
    pub(super) fn submit_v6_events(&mut self) {
        let wall = self.wall();
        if let (Some(s), Some(v6)) = (&mut self.script, &mut self.v6) {
            let events = v6.take_events();
            if !events.is_empty() {
                s.runner.submit6(&events, v6.server_duid(), wall);
            }
        }
    }

    pub(super) fn send(&mut self, o: &Outgoing) {
        let bytes = self.replies[o.start..o.end].to_vec();
        self.send_bytes(o.to, &bytes, o.ifindex, o.pxe);
    }

    /// Where a reply from the DHCP socket goes (RFC 2131 §4.1) and the interface it must leave
    /// by, after setting the neighbour entry a unicast to a client without an address needs.
    pub(super) fn route(&self, to: ReplyTo, ifindex: u32) -> (SocketAddrV4, Option<u32>) {
        let broadcast = (
            SocketAddrV4::new(Ipv4Addr::BROADCAST, self.client_port),
            Some(ifindex),
        );
        match to {
            ReplyTo::Broadcast => broadcast,
            ReplyTo::UnicastToClientHw { ip, mac } => {
                let name = self.ifaces.get(&ifindex).map_or("?", |(n, _)| n.as_str());
                let set = self
                    .socket
                    .as_ref()
                    .map(|s| s.set_neighbour(name, ip, mac.htype, mac.as_bytes()));
                match set {
                    Some(Ok(())) => (SocketAddrV4::new(ip, self.client_port), Some(ifindex)),
                    Some(Err(e)) => {
                        tracing::debug!("DHCP: cannot set neighbour entry ({e}); broadcasting");
                        broadcast
                    }
                    None => broadcast,
                }
            }
            ReplyTo::Unicast(ip) => (SocketAddrV4::new(ip, self.client_port), None),
            ReplyTo::Relay(ip) => (SocketAddrV4::new(ip, self.server_port), None),
            ReplyTo::Sender(to) => (to, None),
        }
    }

    /// Sends one `reply` where the core said, out of `ifindex`, and logs it.
    pub(super) fn send_bytes(&mut self, to: ReplyTo, reply: &[u8], ifindex: u32, pxe: bool) {
        let Some(socket) = &self.socket else {
            return;
        };
        let sent = match to {
            ReplyTo::Sender(to) if pxe => match &self.pxe_socket {
                Some(s) => s.send(reply, to, None),
                None => socket.send(reply, to, None),
            },
            _ => {
                let (dst, via) = self.route(to, ifindex);
                socket.send(reply, dst, via)
            }
        };
        let mut lines = std::mem::take(&mut self.sent_lines);
        self.log_sent(reply, ifindex, pxe, sent, &mut lines);
        self.sent_lines = lines;
        self.flush_log();
    }

    /// Logs a reply that was sent (or failed): PXE, `--log-dhcp` and failure lines at once,
    /// the routine line per reply as a record in `lines` for the logger thread.
    pub(super) fn log_sent(
        &self,
        reply: &[u8],
        ifindex: u32,
        pxe: bool,
        sent: std::io::Result<()>,
        lines: &mut Vec<SentLine>,
    ) {
        let name = self.ifaces.get(&ifindex).map_or("?", |(n, _)| n.as_str());
        let kind = reply_kind(reply);
        let yiaddr = reply.get(16..20).map_or(Ipv4Addr::UNSPECIFIED, |b| {
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        });
        match sent {
            Ok(()) if self.quiet => {}
            Ok(()) if pxe || yiaddr.is_unspecified() && reply.get(108).is_some_and(|b| *b != 0) => {
                tracing::info!("PXE({name}) {yiaddr} {}", boot_file(reply))
            }
            Ok(()) => lines.push(SentLine::new(reply, name)),
            Err(e) => tracing::warn!("{kind}({name}) {yiaddr}: send failed: {e}"),
        }
        if self.cfg.log_dhcp {
            log_reply_options(reply);
        }
    }

    /// Hands the routine lines gathered so far to the logger thread.
    pub(super) fn flush_log(&mut self) {
        if self.sent_lines.is_empty() {
            return;
        }
        let lines = std::mem::take(&mut self.sent_lines);
        crate::logging::defer(Box::new(move || {
            for l in &lines {
                tracing::info!("{l}");
            }
        }));
    }
}
