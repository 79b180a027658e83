//! Client queries: parsed, checked, answered from local data or the cache, or handed to
//! [`Forwarder::forward`](super::Forwarder) to go upstream.

use super::*;

impl Forwarder {
    /// Handles one client query (UDP datagram or TCP message payload).
    pub fn handle_query(
        &mut self,
        now: Instant,
        client: ClientEndpoint,
        bytes: &[u8],
        out: &mut Outbox,
    ) {
        let udp = client.tcp.is_none();
        let mut q = Query::unparsed(bytes);
        match parse_query_into(&mut q) {
            Ok(()) => {}
            Err(e) => {
                // RFC 1035 §4.1.1: a message with QR=1 is a response; never answer one
                // (that is how reflection loops start).
                let reason = if bytes.len() >= 12 && bytes[2] & 0x80 != 0 {
                    DropReason::ResponseFromClient
                } else {
                    DropReason::MalformedQuery
                };
                // RFC 6891 §6.1.1: a query with more than one OPT RR (or one out of place)
                // MUST get FORMERR; other malformed queries are dropped and counted.
                if matches!(e, PacketError::BadOpt) && reason == DropReason::MalformedQuery {
                    let mut buf = out.buffer();
                    if let Some(len) = write_header_only_reply(bytes, RCODE_FORMERR, &mut buf) {
                        out.push(Destination::Client(client), buf, len);
                        return;
                    }
                    out.recycle(buf);
                }
                self.counters.drop_packet(reason);
                return;
            }
        };
        // RFC 1035 §4.1.1: a message with QR=1 is a response; never answer one (reflection loops).
        if q.flags & FLAG_QR != 0 {
            self.counters.drop_packet(DropReason::ResponseFromClient);
            return;
        }
        self.counters.bump(Counter::Queries);
        let our_size = self.cfg.edns_packet_max;
        // RFC 1035 §4.1.1: only standard queries (opcode 0) are implemented.
        if q.flags & OPCODE_MASK != 0 {
            self.reply_error(&q, rcode::NOTIMP, client, out);
            return;
        }
        // RFC 6891 §6.1.3: an EDNS version we do not implement gets BADVERS (extended rcode 16).
        if let Some(e) = q.edns
            && e.version > 0
        {
            self.reply_error(&q, rcode::NOERROR, client, out);
            return;
        }
        if is_chaos_local(&q) {
            let name = ChaosName::from_query(&q).filter(|_| !self.cfg.no_ident);
            let Some(name) = name else {
                // dnsmasq: other names in `bind`/`server`, and all of them under --no-ident.
                self.reply_error(&q, rcode::NOTIMP, client, out);
                return;
            };
            let mut buf = out.buffer();
            let view = StatsView {
                cache: self
                    .shared
                    .cache
                    .as_ref()
                    .map(|c| c.stats())
                    .unwrap_or_default(),
                registry: &self.shared.registry,
                servers: &self.table,
                local_ttl: self.cfg.local_ttl,
            };
            match write_chaos_reply(&q, name, &view, &mut buf) {
                Some(len) => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                }
                None => out.recycle(buf),
            }
            return;
        }
        // Names in hosts files shadow upstream data (dnsmasq); other types of those names and
        // every other name go on to the local records, the cache and the servers.
        if let Some(hosts) = &self.hosts {
            let mut buf = out.buffer_for(!udp);
            match hosts.answer(&q, self.cfg.local_ttl, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        // DHCP lease names come after the hosts files, as in dnsmasq.
        if let Some(names) = &self.dhcp_names {
            let mut buf = out.buffer_for(!udp);
            match names.table.answer(&q, names.ttl, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        if let Some(local) = &self.local {
            let mut buf = out.buffer_for(!udp);
            match local.answer(&q, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        // `--selfmx`/`--localmx`: an MX for a local machine, after any `--mx-host` record.
        if let Some(mx) = &self.cfg.local_mx
            && q.key.qtype() == TYPE_MX
            && q.key.qclass() == CLASS_IN
            && (self
                .hosts
                .as_ref()
                .is_some_and(|h| h.has_name(q.key.name_wire()))
                || self
                    .dhcp_names
                    .as_ref()
                    .is_some_and(|n| n.table.has_name(q.key.name_wire())))
        {
            let mut buf = out.buffer_for(!udp);
            match mx.write_reply(&q, self.cfg.local_ttl, our_size, udp, &mut buf) {
                Some(len) if len > 0 => {
                    self.counters.bump(Counter::LocalAnswers);
                    out.push(Destination::Client(client), buf, len);
                    return;
                }
                _ => out.recycle(buf),
            }
        }
        // `--address` and `--local` rules answer before the cache (they share the domain
        // table, and its precedence, with `--server`).
        if self.table.answers_locally() {
            match self.table.route_for(q.key.name_wire(), q.key.qtype()) {
                Route::Address(a) => {
                    let mut buf = out.buffer_for(!udp);
                    let len = write_address_reply(
                        &q,
                        &self.table,
                        a,
                        self.cfg.local_ttl,
                        our_size,
                        udp,
                        &mut buf,
                    );
                    if len > 0 {
                        self.counters.bump(Counter::LocalAnswers);
                        out.push(Destination::Client(client), buf, len);
                    } else {
                        out.recycle(buf);
                    }
                    return;
                }
                Route::LocalOnly => {
                    self.counters.bump(Counter::LocalAnswers);
                    self.reply_error(&q, rcode::NXDOMAIN, client, out);
                    return;
                }
                Route::Group(_) | Route::NoServers => {}
            }
        }
        // Guards on the query (-D, -b, -f), after local data and before the cache. A name with a
        // more specific --server/--rev-server rule than the root's is forwarded, as dnsmasq does.
        if !self.cfg.guards.query_guards_off()
            && let QueryVerdict::Answer(reply) = self.cfg.guards.check_query(&q.key)
            && (reply == GuardReply::FILTERWIN2K
                || self.table.route(q.key.name_wire()) == self.table.route(&[0]))
        {
            let mut buf = out.buffer();
            let len = write_guard_reply(&q, reply, our_size, &mut buf);
            self.counters.bump(reply.counter);
            if len > 0 {
                out.push(Destination::Client(client), buf, len);
            } else {
                out.recycle(buf);
            }
            return;
        }
        let do_bit = q.edns.is_some_and(|e| e.do_bit);
        let cd_bit = q.flags & FLAG_CD != 0;
        // dnsmasq: queries with RD=0 are forwarded and never answered from the cache (anti-snooping).
        if q.flags & FLAG_RD != 0
            && let Some(cache) = &self.shared.cache
        {
            // The worker's own front first: a hot name's hit writes no shared cache line.
            match self.local_cache.lookup(cache, &q.key, do_bit, now) {
                LocalLookup::Fresh(entry) => {
                    answer_from_cache(entry, &q, now, &self.cfg, &self.counters, client, out);
                    return;
                }
                LocalLookup::Stale(entry) => {
                    answer_from_cache(&entry, &q, now, &self.cfg, &self.counters, client, out);
                    // Served stale (RFC 8767 §4): refresh it in the background.
                    self.forward(now, &q, Asker::Refresh, do_bit, cd_bit, out);
                    return;
                }
                LocalLookup::Miss => {}
            }
        }
        self.forward(now, &q, Asker::Client(client), do_bit, cd_bit, out);
    }

    pub(super) fn reply_error(
        &self,
        q: &Query<'_>,
        rc: u8,
        client: ClientEndpoint,
        out: &mut Outbox,
    ) {
        let mut buf = out.buffer();
        let len = write_error_reply(q, rc, &mut buf, self.cfg.edns_packet_max);
        if len == 0 {
            out.recycle(buf);
            return;
        }
        if q.edns.is_some_and(|e| e.version > 0) {
            set_badvers(&mut buf[..len]);
        }
        out.push(Destination::Client(client), buf, len);
    }
}

/// Writes the answer to `q` from a cache entry, TTLs aged by the time since it was stored.
pub(super) fn answer_from_cache(
    entry: &CacheEntry,
    q: &Query<'_>,
    now: Instant,
    cfg: &ForwarderConfig,
    counters: &WorkerCounters,
    client: ClientEndpoint,
    out: &mut Outbox,
) {
    let udp = client.tcp.is_none();
    let mut buf = out.buffer_for(!udp);
    let elapsed = (now.as_millis().saturating_sub(entry.inserted.as_millis()) / 1000) as u32;
    let len = entry
        .answer
        .write_reply(q, elapsed, cfg.max_ttl, cfg.edns_packet_max, udp, &mut buf);
    counters.bump(Counter::CacheAnswers);
    out.push(Destination::Client(client), buf, len);
}

/// Sets the extended rcode BADVERS (16, RFC 6891 §6.1.3) in a reply that ends with an OPT record.
pub(super) fn set_badvers(reply: &mut [u8]) {
    // The OPT record is the last 11 bytes: name(1) type(2) class(2) ttl(4) rdlen(2).
    if reply.len() >= 12 + 11 && reply[reply.len() - 11] == 0 {
        let ttl_at = reply.len() - 11 + 5;
        reply[ttl_at] = 1; // upper 8 bits of the 12-bit rcode: 16 >> 4 = 1
        reply[3] &= 0xf0;
    }
}
