//! Questions sent upstream: a new in-flight entry per question (merged with the same
//! question in flight), the server chosen as dnsmasq does, each attempt from a random pool
//! socket with a random ID (RFC 5452 §9.2), and the retry timers.

use super::*;

impl Forwarder {
    /// Sends `q` upstream, or merges it onto the same question in flight here or on another
    /// worker.
    pub(super) fn forward(
        &mut self,
        now: Instant,
        q: &Query<'_>,
        asker: Asker,
        do_bit: bool,
        cd_bit: bool,
        out: &mut Outbox,
    ) {
        let client = match asker {
            Asker::Client(c) => Some(c),
            Asker::Refresh | Asker::Validator => None,
        };
        let mkey = MergeKey {
            key: q.key.clone(),
            do_bit,
            cd_bit,
        };
        if let Some(&idx) = self.by_question.get(&mkey) {
            let Some(client) = client else { return };
            let entry = &mut self.slab[idx as usize];
            let retry = entry.waiters.iter().any(|w| {
                w.client.peer == client.peer && w.id == q.id && w.client.tcp == client.tcp
            });
            if retry {
                // A client retry of a query in flight: dnsmasq resends it, to the next server
                // (of the current server list, if it changed meanwhile).
                let last = entry.attempts.iter().flatten().map(|a| a.sent_at).max();
                if last.is_none_or(|t| now.as_millis().saturating_sub(t.as_millis()) >= 500) {
                    self.adopt_current_table(idx);
                    self.send_next(now, idx, false, out);
                }
                return;
            }
            if entry.waiters.len() >= MAX_WAITERS {
                self.counters.drop_packet(DropReason::InFlightFull);
                return;
            }
            entry.waiters.push(Waiter::new(client, q));
            self.counters.bump(Counter::Merged);
            return;
        }
        let group = match self.table.route_for(q.key.name_wire(), q.key.qtype()) {
            Route::Group(g) => g,
            // Answered in handle_query before the cache; a background refresh has nothing to do.
            Route::Address(_) => return,
            Route::LocalOnly => {
                if let Some(c) = client {
                    self.counters.bump(Counter::LocalAnswers);
                    self.reply_error(q, rcode::NXDOMAIN, c, out);
                }
                return;
            }
            Route::NoServers => {
                if let Some(c) = client {
                    self.reply_error(q, rcode::REFUSED, c, out);
                }
                return;
            }
        };
        if self.by_question.len() >= self.cfg.max_in_flight {
            self.counters.drop_packet(DropReason::InFlightFull);
            if let Some(c) = client {
                self.reply_error(q, rcode::REFUSED, c, out);
            }
            return;
        }
        let mut claimed = false;
        if let Some(shared) = &self.shared.in_flight {
            // A UDP client can be answered by whichever worker owns the question; a TCP client,
            // and a validation sub-query, which needs a local entry to wake its dependents, cannot.
            let joiner = client
                .filter(|c| c.tcp.is_none())
                .map(|c| Waiter::new(c, q));
            match shared.claim(&mkey, self.cfg.id_lane.0, joiner) {
                Claim::Owner => claimed = true,
                Claim::Joined => {
                    self.counters.bump(Counter::Merged);
                    return;
                }
                Claim::Full => {
                    self.counters.drop_packet(DropReason::InFlightFull);
                    return;
                }
                // Another worker is refreshing the same entry.
                Claim::Busy if matches!(asker, Asker::Refresh) => return,
                Claim::Busy => {}
            }
        }
        let first = self.choose_server(now, group);
        let server_idx = self.table.group(group)[first];
        // dnsmasq: over --dns-forward-max the query is refused.
        if !self.table.servers()[server_idx].try_reserve(self.cfg.dns_forward_max) {
            self.counters.drop_packet(DropReason::ForwardLimit);
            if let Some(c) = client {
                self.reply_error(q, rcode::REFUSED, c, out);
            }
            if claimed {
                self.refuse_joiners(&mkey, out);
            }
            return;
        }
        let idx = self.alloc();
        let probe = self.is_probe_time(now, group);
        let entry = &mut self.slab[idx as usize];
        entry.live = true;
        entry.key = q.key.clone();
        entry.do_bit = do_bit;
        entry.cd_bit = cd_bit;
        entry.table = Arc::clone(&self.table);
        entry.group = group;
        entry.tried = 0;
        entry.attempts = [None; MAX_ATTEMPTS];
        entry.next_attempt = 0;
        entry.waiters.clear();
        entry.dependents.clear();
        entry.parked = None;
        if let Some(c) = client {
            entry.waiters.push(Waiter::new(c, q));
        }
        // With --dnssec every upstream query asks for DNSSEC records (RFC 4035 §3.2.1), and
        // with --dnssec-debug it sets CD.
        let validating = self.cfg.dnssec.as_ref();
        build_upstream_query(
            &mut entry.query,
            q,
            do_bit || validating.is_some(),
            self.cfg.edns_packet_max,
        );
        if validating.is_some_and(|d| d.validator.debug) {
            entry.query[3] |= FLAG_CD as u8;
        }
        entry.reserved = Some(server_idx);
        entry.final_deadline = Instant(now.as_millis() + self.cfg.total_timeout_ms);
        entry.attempt_wait_ms = self.cfg.attempt_timeout_ms;
        entry.probe = probe;
        entry.claimed = claimed;
        self.by_question.insert(mkey, idx);
        if probe || self.cfg.all_servers {
            let n = self.table.group(group).len();
            for i in 0..n.min(64) {
                self.send_attempt(now, idx, i, out);
            }
        } else {
            self.send_attempt(now, idx, first, out);
        }
        self.arm(now, idx);
    }

    pub(super) fn is_probe_time(&mut self, now: Instant, group: usize) -> bool {
        if self.cfg.strict_order || self.table.group(group).len() < 2 {
            return false;
        }
        let st = &mut self.group_state[group];
        st.since_probe += 1;
        if st.since_probe >= PROBE_EVERY_QUERIES
            || now.as_millis().saturating_sub(st.last_probe.as_millis()) >= PROBE_EVERY_MS
        {
            st.since_probe = 0;
            st.last_probe = now;
            return true;
        }
        false
    }

    pub(super) fn choose_server(&self, _now: Instant, group: usize) -> usize {
        if self.cfg.strict_order {
            0
        } else {
            let n = self.table.group(group).len().max(1);
            self.group_state[group].preferred % n
        }
    }

    pub(super) fn alloc(&mut self) -> u32 {
        if let Some(i) = self.free.pop() {
            let e = &mut self.slab[i as usize];
            e.generation = e.generation.wrapping_add(1);
            return i;
        }
        self.slab.push(InFlight {
            generation: 0,
            live: false,
            key: QuestionKey::new(b"\0", 0, 0),
            do_bit: false,
            cd_bit: false,
            table: Arc::clone(&self.table),
            group: 0,
            tried: 0,
            attempts: [None; MAX_ATTEMPTS],
            next_attempt: 0,
            waiters: Vec::with_capacity(4),
            query: Vec::with_capacity(512),
            reserved: None,
            deadline: Instant(0),
            final_deadline: Instant(0),
            attempt_wait_ms: 0,
            probe: false,
            claimed: false,
            dependents: Vec::new(),
            parked: None,
        });
        (self.slab.len() - 1) as u32
    }

    /// Sends the entry's query to the `pos`-th server of its group, from a random socket with a random ID.
    pub(super) fn send_attempt(&mut self, now: Instant, idx: u32, pos: usize, out: &mut Outbox) {
        let entry = &self.slab[idx as usize];
        let Some(&server) = entry.table.group(entry.group).get(pos) else {
            return;
        };
        let egress = entry.table.servers()[server].egress;
        let pool = self.cfg.upstream_slots.max(1);
        let (slots, shared) = match egress {
            Egress::Pool => (0..pool, self.cfg.pool_port_shared),
            Egress::Bound {
                socket,
                shared_port,
            } => {
                let s = pool.saturating_add(socket);
                (s..s + 1, shared_port)
            }
        };
        let (lane, lanes) = self.cfg.id_lane;
        let lanes = lanes.max(1);
        let from_pool = matches!(egress, Egress::Pool);
        let (slot, id) = loop {
            let slot = if from_pool {
                self.ports.pick(&mut self.rng)
            } else {
                slots.start
            };
            let id = if shared && lanes > 1 {
                // RFC 5452 §9.2: still random, within this worker's lane.
                let per_lane = (u32::from(u16::MAX - lane) / u32::from(lanes)) as u16;
                lane + lanes * self.rng.random_range(0..=per_lane)
            } else {
                self.rng.random()
            };
            if !self.by_attempt.contains_key(&(slot, id)) {
                break (slot, id);
            }
        };
        let entry = &mut self.slab[idx as usize];
        let srv = &entry.table.servers()[server];
        let addr = srv.addr;
        srv.queries_sent.fetch_add(1, Ordering::Relaxed);
        if pos < 64 {
            entry.tried |= 1 << pos;
        }
        let a = entry.next_attempt % MAX_ATTEMPTS;
        let old = entry.attempts[a].take();
        entry.attempts[a] = Some(Attempt {
            server,
            addr,
            slot,
            id,
            tcp: false,
            sent_at: now,
        });
        entry.next_attempt += 1;
        if let Some(old) = old {
            self.forget_attempt(&old);
        }
        self.by_attempt.insert((slot, id), idx);
        if from_pool {
            self.ports.sent(slot, addr.is_ipv6());
        }
        let entry = &self.slab[idx as usize];
        let mut buf = out.buffer();
        let len = entry.query.len();
        buf[..len].copy_from_slice(&entry.query);
        buf[..2].copy_from_slice(&id.to_be_bytes());
        self.counters.bump(Counter::Forwarded);
        out.push(Destination::Upstream { slot, server: addr }, buf, len);
    }

    /// Stops listening for an attempt's answer (answered, abandoned or superseded).
    pub(super) fn forget_attempt(&mut self, a: &Attempt) {
        // TCP attempts are not in the UDP index; their (slot, ID) may belong to another query.
        if a.tcp {
            return;
        }
        if self.by_attempt.remove(&(a.slot, a.id)).is_some() && a.slot < self.ports.slots() {
            self.ports.finished(a.slot);
        }
    }

    /// Sends to the next untried server of the group; false when every server has been tried.
    pub(super) fn send_next(
        &mut self,
        now: Instant,
        idx: u32,
        must_be_untried: bool,
        out: &mut Outbox,
    ) -> bool {
        let entry = &self.slab[idx as usize];
        let n = entry.table.group(entry.group).len();
        if n == 0 {
            return false;
        }
        let start = entry
            .attempts
            .iter()
            .flatten()
            .max_by_key(|a| a.sent_at)
            .and_then(|a| {
                entry
                    .table
                    .group(entry.group)
                    .iter()
                    .position(|&s| s == a.server)
            })
            .map_or(0, |p| p + 1);
        for k in 0..n {
            let pos = (start + k) % n;
            if pos >= 64 || entry.tried & (1 << pos) == 0 {
                self.send_attempt(now, idx, pos, out);
                return true;
            }
        }
        if must_be_untried {
            return false;
        }
        self.send_attempt(now, idx, start % n, out);
        true
    }

    pub(super) fn arm(&mut self, now: Instant, idx: u32) {
        let entry = &mut self.slab[idx as usize];
        let at = Instant(
            (now.as_millis() + entry.attempt_wait_ms).min(entry.final_deadline.as_millis()),
        );
        entry.deadline = at;
        self.timers
            .push(std::cmp::Reverse((at, idx, entry.generation)));
    }
}

/// Builds the upstream form of a client query: header (ID set per attempt), the question as the
/// client wrote it, and an OPT record advertising our payload size (RFC 6891 §6.2.5), with DO
/// copied from the client (RFC 3225 §3).
pub(super) fn build_upstream_query(buf: &mut Vec<u8>, q: &Query<'_>, do_bit: bool, udp_size: u16) {
    buf.clear();
    buf.extend_from_slice(&[0, 0]);
    let flags = q.flags & (FLAG_RD | FLAG_CD | 0x0020);
    buf.extend_from_slice(&flags.to_be_bytes());
    buf.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    buf.extend_from_slice(&q.bytes[q.question.clone()]);
    buf.push(0); // root owner
    buf.extend_from_slice(&41u16.to_be_bytes()); // OPT
    buf.extend_from_slice(&udp_size.max(512).to_be_bytes());
    buf.extend_from_slice(&[0, 0]); // extended rcode, version 0
    buf.extend_from_slice(&(if do_bit { 0x8000u16 } else { 0 }).to_be_bytes());
    buf.extend_from_slice(&[0, 0]); // RDLENGTH
}
