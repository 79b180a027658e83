//! The upstream half of the forwarder: answers and failures coming back from servers, TCP
//! retries, timers, and finishing a question (answering every waiting client).

use super::*;
use crate::dns::answer::StoredAnswer;

impl Forwarder {
    /// Handles a datagram that arrived on upstream socket `slot` from `from`.
    pub fn handle_upstream(
        &mut self,
        now: Instant,
        slot: u16,
        from: SocketAddr,
        bytes: &[u8],
        out: &mut Outbox,
    ) {
        let head = match parse_response_head(bytes) {
            Ok(h) => h,
            Err(_) => {
                self.counters.drop_packet(DropReason::MalformedAnswer);
                return;
            }
        };
        let Some(&idx) = self.by_attempt.get(&(slot, head.id)) else {
            self.counters.drop_packet(DropReason::RejectedAnswer);
            return;
        };
        let entry = &self.slab[idx as usize];
        let attempt = entry
            .attempts
            .iter()
            .flatten()
            .find(|a| a.slot == slot && a.id == head.id && !a.tcp)
            .copied();
        let Some(attempt) = attempt else {
            self.counters.drop_packet(DropReason::RejectedAnswer);
            return;
        };
        // RFC 5452 §9.1: the answer must come from the address and port queried, and repeat the question.
        let same_question = head.key.as_ref() == Some(&entry.key);
        if attempt.addr != from || head.flags & FLAG_QR == 0 || !same_question {
            self.counters.drop_packet(DropReason::RejectedAnswer);
            return;
        }
        self.accept_answer(now, idx, attempt, bytes, head.flags, head.rcode, out);
    }

    /// Handles the outcome of an upstream TCP exchange started by a [`Destination::UpstreamTcp`].
    /// `answer` is None when the connection failed.
    pub fn handle_upstream_tcp(
        &mut self,
        now: Instant,
        token_value: u64,
        answer: Option<&[u8]>,
        out: &mut Outbox,
    ) {
        let idx = (token_value & 0xffff_ffff) as u32;
        let generation = (token_value >> 32) as u32;
        let Some(entry) = self.slab.get(idx as usize) else {
            return;
        };
        if !entry.live || entry.generation != generation {
            return;
        }
        let Some(attempt) = entry.attempts.iter().flatten().find(|a| a.tcp).copied() else {
            return;
        };
        let Some(bytes) = answer else {
            self.fail_attempt(now, idx, attempt, out);
            return;
        };
        let head = match parse_response_head(bytes) {
            Ok(h) => h,
            Err(_) => {
                self.counters.drop_packet(DropReason::MalformedAnswer);
                self.fail_attempt(now, idx, attempt, out);
                return;
            }
        };
        if head.id != attempt.id
            || head.key.as_ref() != Some(&entry.key)
            || head.flags & FLAG_QR == 0
        {
            self.counters.drop_packet(DropReason::RejectedAnswer);
            self.fail_attempt(now, idx, attempt, out);
            return;
        }
        // A truncated TCP answer cannot be improved on; pass it on as it is.
        self.accept_answer(
            now,
            idx,
            attempt,
            bytes,
            head.flags & !FLAG_TC,
            head.rcode,
            out,
        );
    }

    /// True when the name is one dnsmasq calls its own (local records, `--address` domains).
    pub(super) fn local_claims(&self, name_wire: &[u8]) -> bool {
        self.local.as_ref().is_some_and(|l| l.claims(name_wire))
            || self.table.under_address(name_wire)
    }

    pub(super) fn fail_attempt(
        &mut self,
        now: Instant,
        idx: u32,
        attempt: Attempt,
        out: &mut Outbox,
    ) {
        let entry = &self.slab[idx as usize];
        if let Some(srv) = entry.table.servers().get(attempt.server) {
            srv.queries_failed.fetch_add(1, Ordering::Relaxed);
        }
        if !self.send_next(now, idx, true, out) {
            self.finish_servfail(now, idx, out);
        } else {
            self.arm(now, idx);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn accept_answer(
        &mut self,
        now: Instant,
        idx: u32,
        attempt: Attempt,
        bytes: &[u8],
        flags: u16,
        rc: u8,
        out: &mut Outbox,
    ) {
        // Answer guards (--ignore-address, -B, --stop-dns-rebind) look at the reply as sent.
        let verdict = if self.cfg.guards.answer_guards_off() {
            AnswerVerdict::Accept
        } else {
            self.cfg
                .guards
                .check_answer(&self.slab[idx as usize].key, bytes)
        };
        if verdict == AnswerVerdict::Ignore {
            // As if it never came: the attempt stays registered for the real answer.
            self.counters.drop_packet(DropReason::IgnoredAddress);
            return;
        }
        let entry = &self.slab[idx as usize];
        let group = entry.group;
        let table = Arc::clone(&entry.table);
        let pos = table.group(group).iter().position(|&s| s == attempt.server);
        // The first server to answer usefully becomes the preferred one (dnsmasq's fastest-server rule).
        if matches!(rc, rcode::REFUSED | rcode::SERVFAIL) {
            if let Some(srv) = table.servers().get(attempt.server) {
                srv.queries_failed.fetch_add(1, Ordering::Relaxed);
            }
            if Arc::ptr_eq(&table, &self.table)
                && let (Some(p), Some(st)) = (pos, self.group_state.get_mut(group))
                && st.preferred == p
            {
                st.preferred = p + 1;
            }
            let tried_all = {
                let n = table.group(group).len().min(64);
                let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
                entry.tried & mask == mask
            };
            if !tried_all && now < entry.final_deadline && self.send_next(now, idx, true, out) {
                self.arm(now, idx);
                return;
            }
        } else if Arc::ptr_eq(&table, &self.table)
            && let (Some(p), Some(st)) = (pos, self.group_state.get_mut(group))
        {
            st.preferred = p;
        }
        self.counters.bump(Counter::UpstreamAnswers);
        // RFC 7766 §5 / RFC 1035 §4.2.1: a truncated UDP answer is retried over TCP.
        if flags & FLAG_TC != 0 && !attempt.tcp {
            self.retry_tcp(now, idx, attempt, out);
            return;
        }
        if let AnswerVerdict::Replace(reply) = verdict {
            self.finish_guard(now, idx, reply, out);
            return;
        }
        let (mut stored, report) =
            match normalize_response(bytes, &self.slab[idx as usize].key, &self.cfg.normalize) {
                Ok(x) => x,
                Err(_) => {
                    self.counters.drop_packet(DropReason::MalformedAnswer);
                    self.fail_attempt(now, idx, attempt, out);
                    return;
                }
            };
        self.counters
            .add(Counter::OutOfBailiwick, u64::from(report.dropped_records));
        // --filter-A/--filter-AAAA/--filter-rr: the filtered answer is what is cached and sent.
        let qtype = self.slab[idx as usize].key.qtype();
        if let Some((filtered, removed)) = self.cfg.guards.filter_answer(qtype, &stored) {
            stored = filtered;
            self.counters
                .add(Counter::FilteredRecords, u64::from(removed));
        }
        // dnsmasq: an upstream NXDOMAIN for a name we have local data for (asked upstream for
        // another type) becomes NOERROR with AA set, since the name does exist; the rest of the
        // reply is kept. Not cached, so the cache never holds the rewritten form.
        let rewrite =
            rc == rcode::NXDOMAIN && self.local_claims(self.slab[idx as usize].key.name_wire());
        if self.needs_validation(idx, &stored) {
            self.park(now, idx, stored, rewrite, out);
            return;
        }
        // --proxy-dnssec: the upstream's AD bit is trusted and passed on.
        if self.cfg.proxy_dnssec && self.cfg.dnssec.is_none() {
            stored.set_secure(flags & 0x0020 != 0);
        }
        self.deliver(now, idx, stored, rewrite, true, out);
    }

    /// Answers every waiting client with `stored`, caches it (when `cacheable`, not CD and not
    /// rewritten) and ends the query.
    pub(super) fn deliver(
        &mut self,
        now: Instant,
        idx: u32,
        mut stored: StoredAnswer,
        rewrite: bool,
        cacheable: bool,
        out: &mut Outbox,
    ) {
        // --alias: what is cached and sent carries the new addresses; an answer DNSSEC proved
        // secure is left as signed.
        if !self.cfg.alias.is_empty() && !stored.is_secure() {
            let rules = &self.cfg.alias;
            stored.rewrite_answer_a(|a| alias(rules, a));
        }
        // RFC 4035 §3.2.1: without DO, no RRSIG/NSEC/NSEC3 (asked for only because we validate).
        if self.cfg.dnssec.is_some()
            && !self.slab[idx as usize].do_bit
            && let Some(s) = stored.without_dnssec_records()
        {
            stored = s;
        }
        let entry = &self.slab[idx as usize];
        // Stored before the claim ends, so a client of another worker asking after that finds
        // the answer in the cache rather than starting a new query.
        // Answers to CD=1 queries are unvalidated by definition; keep them out of the shared cache.
        if cacheable
            && !entry.cd_bit
            && !rewrite
            && let Some(cache) = &self.shared.cache
        {
            cache.insert(entry.key.clone(), entry.do_bit, stored.clone(), now);
        }
        self.gather_joiners(idx);
        let entry = &mut self.slab[idx as usize];
        for w in entry.waiters.drain(..) {
            let q = w.query(&entry.key);
            let mut buf = out.buffer_for(w.client.tcp.is_some());
            let len = stored.write_reply(
                &q,
                0,
                self.cfg.max_ttl,
                self.cfg.edns_packet_max,
                w.client.tcp.is_none(),
                &mut buf,
            );
            if rewrite && len >= 4 {
                set_rcode(&mut buf[..len], rcode::NOERROR);
                buf[2] |= (FLAG_AA >> 8) as u8;
            }
            out.push(Destination::Client(w.client), buf, len);
        }
        self.end(now, idx, Some(&stored), out);
    }

    /// Releases a finished entry and hands its answer to the validations waiting for it.
    pub(super) fn end(
        &mut self,
        now: Instant,
        idx: u32,
        answer: Option<&StoredAnswer>,
        out: &mut Outbox,
    ) {
        let entry = &mut self.slab[idx as usize];
        let dependents = std::mem::take(&mut entry.dependents);
        let key = entry.key.clone();
        self.release(idx);
        self.wake_dependents(now, &key, answer, dependents, out);
    }

    pub(super) fn retry_tcp(&mut self, now: Instant, idx: u32, attempt: Attempt, out: &mut Outbox) {
        let entry = &mut self.slab[idx as usize];
        let a = entry.next_attempt % MAX_ATTEMPTS;
        if let Some(old) = entry.attempts[a].take() {
            self.forget_attempt(&old);
        }
        let id: u16 = self.rng.random();
        let entry = &mut self.slab[idx as usize];
        entry.attempts[a] = Some(Attempt {
            tcp: true,
            id,
            sent_at: now,
            ..attempt
        });
        entry.next_attempt += 1;
        let mut buf = out.buffer();
        let len = entry.query.len();
        // RFC 1035 §4.2.2: two-byte length prefix on TCP.
        buf[..2].copy_from_slice(&(len as u16).to_be_bytes());
        buf[2..2 + len].copy_from_slice(&entry.query);
        buf[2..4].copy_from_slice(&id.to_be_bytes());
        self.counters.bump(Counter::TcpRetries);
        out.push(
            Destination::UpstreamTcp {
                server: attempt.addr,
                token: token(idx, entry.generation),
            },
            buf,
            len + 2,
        );
        entry.attempt_wait_ms = entry.attempt_wait_ms.max(self.cfg.attempt_timeout_ms * 2);
        self.arm(now, idx);
    }

    /// Answers every waiting client with a guard's reply (not cached) and ends the query.
    pub(super) fn finish_guard(
        &mut self,
        now: Instant,
        idx: u32,
        reply: GuardReply,
        out: &mut Outbox,
    ) {
        self.gather_joiners(idx);
        let entry = &mut self.slab[idx as usize];
        for w in entry.waiters.drain(..) {
            let q = w.query(&entry.key);
            let mut buf = out.buffer();
            let len = write_guard_reply(&q, reply, self.cfg.edns_packet_max, &mut buf);
            if len > 0 {
                out.push(Destination::Client(w.client), buf, len);
            } else {
                out.recycle(buf);
            }
        }
        self.counters.bump(reply.counter);
        self.end(now, idx, None, out);
    }

    pub(super) fn finish_servfail(&mut self, now: Instant, idx: u32, out: &mut Outbox) {
        self.gather_joiners(idx);
        let entry = &mut self.slab[idx as usize];
        for w in entry.waiters.drain(..) {
            let q = w.query(&entry.key);
            let mut buf = out.buffer();
            let len = write_error_reply(&q, rcode::SERVFAIL, &mut buf, self.cfg.edns_packet_max);
            if len > 0 {
                out.push(Destination::Client(w.client), buf, len);
            } else {
                out.recycle(buf);
            }
        }
        self.counters.bump(Counter::ServfailSent);
        self.end(now, idx, None, out);
    }

    pub(super) fn release(&mut self, idx: u32) {
        let entry = &mut self.slab[idx as usize];
        if !entry.live {
            return;
        }
        entry.live = false;
        // Every path that answers gathered the joiners already; this only ends the claim.
        self.gather_joiners(idx);
        let entry = &mut self.slab[idx as usize];
        let attempts = std::mem::take(&mut entry.attempts);
        for a in attempts.iter().flatten() {
            self.forget_attempt(a);
        }
        let entry = &mut self.slab[idx as usize];
        if let Some(s) = entry.reserved.take() {
            entry.table.servers()[s].release();
        }
        let mkey = MergeKey {
            key: entry.key.clone(),
            do_bit: entry.do_bit,
            cd_bit: entry.cd_bit,
        };
        self.by_question.remove(&mkey);
        entry.waiters.clear();
        entry.parked = None;
        entry.dependents.clear();
        self.free.push(idx);
    }

    /// Moves a query in flight onto the current server table when the table was replaced
    /// (resolv-file edit, SIGHUP): its next attempts go to the new servers. Answers to attempts
    /// already sent are still accepted.
    pub(super) fn adopt_current_table(&mut self, idx: u32) {
        let entry = &mut self.slab[idx as usize];
        if Arc::ptr_eq(&entry.table, &self.table) {
            return;
        }
        let Route::Group(group) = self
            .table
            .route_for(entry.key.name_wire(), entry.key.qtype())
        else {
            return;
        };
        if let Some(s) = entry.reserved.take() {
            entry.table.servers()[s].release();
        }
        entry.table = Arc::clone(&self.table);
        entry.group = group;
        entry.tried = 0;
        // Attempts keep their addresses for matching answers, but their server indices belong
        // to the old table: forget them for the choice of the next server.
        for a in entry.attempts.iter_mut().flatten() {
            a.server = usize::MAX;
        }
    }

    /// Handles expired timers: retries on the next server, or gives up with SERVFAIL.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbox) {
        while let Some(&std::cmp::Reverse((at, idx, generation))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let entry = &self.slab[idx as usize];
            if !entry.live || entry.generation != generation || entry.deadline != at {
                continue;
            }
            self.counters.bump(Counter::UpstreamTimeouts);
            if let Some(last) = entry.attempts.iter().flatten().max_by_key(|a| a.sent_at) {
                if let Some(srv) = entry.table.servers().get(last.server) {
                    srv.queries_failed.fetch_add(1, Ordering::Relaxed);
                }
                let group = entry.group;
                if Arc::ptr_eq(&entry.table, &self.table)
                    && let Some(p) = self
                        .table
                        .group(group)
                        .iter()
                        .position(|&s| s == last.server)
                    && let Some(st) = self.group_state.get_mut(group)
                    && st.preferred == p
                {
                    st.preferred = p + 1;
                }
            }
            let entry = &mut self.slab[idx as usize];
            if now >= entry.final_deadline {
                self.finish_servfail(now, idx, out);
                continue;
            }
            let fast_retry = self.cfg.backoff;
            if fast_retry {
                entry.attempt_wait_ms = entry.attempt_wait_ms.saturating_mul(2);
            }
            self.adopt_current_table(idx);
            // Move to a server not tried yet. Without --fast-dns-retry, that is all: as
            // dnsmasq, a server already asked is not asked again on our own initiative (the
            // client's retry will do that). With it, keep cycling with back-off.
            if !self.send_next(now, idx, true, out) && fast_retry {
                self.send_next(now, idx, false, out);
            }
            self.arm(now, idx);
        }
    }
}
