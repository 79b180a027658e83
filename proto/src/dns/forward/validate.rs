//! DNSSEC in the forwarder: an answer that needs validation is parked while the DS and DNSKEY
//! RRsets its chain of trust needs are fetched as sub-queries through the normal upstream path
//! (merged, retried and timed out like any query); each sub-query answer goes to the worker's
//! [`KeyStore`] and wakes the parked answers waiting for it. The verdict decides what the
//! clients get: AD for secure answers (when asked with AD or DO), SERVFAIL with an Extended DNS
//! Error for bogus ones (RFC 8914), the plain answer for insecure ones.

use super::*;
use crate::dns::answer::StoredAnswer;
use crate::dns::dnssec::ede::write_bogus_reply;
use crate::dns::dnssec::{Bogus, KeyStore, Outcome, Security, ValidatorConfig, ede_code, validate};
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

/// DNSSEC settings of the forwarder (`--dnssec` and friends).
#[derive(Clone, Debug)]
pub struct DnssecForwarding {
    /// Validation policy and trust anchors.
    pub validator: Arc<ValidatorConfig>,
    /// Unix time in seconds at [`Instant`] 0 (signature validity periods are in Unix time).
    pub unix_at_zero: u64,
}

/// An answer waiting for its validation to finish.
pub(super) struct Parked {
    stored: StoredAnswer,
    rewrite: bool,
    msg: Message,
    qname: Name,
    qtype: RecordType,
    subqueries: u32,
}

/// The key store of one worker (a field of [`Forwarder`]).
pub(super) type Keys = KeyStore;

impl Forwarder {
    fn unix_now(&self, now: Instant) -> u32 {
        let base = self.cfg.dnssec.as_ref().map_or(0, |d| d.unix_at_zero);
        (base + now.secs()) as u32
    }

    /// True when answers to this entry are validated before they are passed on.
    pub(super) fn needs_validation(&self, idx: u32, stored: &StoredAnswer) -> bool {
        self.cfg.dnssec.is_some()
            && !self.slab[idx as usize].cd_bit
            && matches!(stored.rcode(), rcode::NOERROR | rcode::NXDOMAIN)
            && !stored.is_truncated()
    }

    /// Parks an answer for validation and starts it.
    pub(super) fn park(
        &mut self,
        now: Instant,
        idx: u32,
        stored: StoredAnswer,
        rewrite: bool,
        out: &mut Outbox,
    ) {
        let entry = &mut self.slab[idx as usize];
        let key = entry.key.clone();
        let parsed = Message::from_vec(stored.bytes()).ok().and_then(|m| {
            let q = m.queries.first()?;
            Some((q.name().clone(), q.query_type(), m.clone()))
        });
        let Some((qname, qtype, msg)) = parsed else {
            self.finish_validated(
                now,
                idx,
                Security::Bogus(Bogus::new(ede_code::DNSSEC_BOGUS, "answer does not parse")),
                Some((stored, rewrite)),
                out,
            );
            return;
        };
        debug_assert_eq!(key.qtype(), u16::from(qtype));
        // The answer is here: stop listening for others, keep merging clients onto it.
        let attempts = std::mem::take(&mut entry.attempts);
        for a in attempts.iter().flatten() {
            self.forget_attempt(a);
        }
        let entry = &mut self.slab[idx as usize];
        entry.parked = Some(Box::new(Parked {
            stored,
            rewrite,
            msg,
            qname,
            qtype,
            subqueries: 0,
        }));
        entry.deadline = entry.final_deadline;
        self.timers
            .push(std::cmp::Reverse((entry.deadline, idx, entry.generation)));
        self.resume(now, idx, out);
    }

    /// Runs the validator for a parked answer until it needs a sub-query in flight or ends.
    pub(super) fn resume(&mut self, now: Instant, idx: u32, out: &mut Outbox) {
        let Some(d) = self.cfg.dnssec.clone() else {
            return;
        };
        let unix = self.unix_now(now);
        // Keys validated before a cache clear or without time checks are not trusted after.
        let epoch = (
            self.shared.cache.as_ref().map_or(0, |c| c.generation()),
            d.validator.check_time(unix).is_some(),
        );
        if epoch != self.keys_epoch {
            self.keys.clear();
            self.keys_epoch = epoch;
        }
        loop {
            let entry = &mut self.slab[idx as usize];
            let Some(p) = entry.parked.as_mut() else {
                return;
            };
            match validate(
                &p.msg,
                &p.qname,
                p.qtype,
                &d.validator,
                &mut self.keys,
                unix,
            ) {
                Outcome::Done(s) => {
                    self.finish_validated(now, idx, s, None, out);
                    return;
                }
                Outcome::Need(name, rtype) => {
                    p.subqueries += 1;
                    if p.subqueries > d.validator.limits.subqueries_per_answer {
                        let b = Bogus::new(
                            ede_code::OTHER,
                            "too many DS/DNSKEY sub-queries (--dnssec-limits)",
                        );
                        self.finish_validated(now, idx, Security::Bogus(b), None, out);
                        return;
                    }
                    if self.sub_query(now, idx, &name, rtype, out) {
                        return;
                    }
                    // Could not be sent (no server, limits): a failed fetch.
                    self.keys.insert_answer(&name, rtype, None, unix);
                }
            }
        }
    }

    /// Sends (or joins) the sub-query `name`/`rtype` for the parked entry `idx`. False when it
    /// could not be sent.
    fn sub_query(
        &mut self,
        now: Instant,
        idx: u32,
        name: &Name,
        rtype: RecordType,
        out: &mut Outbox,
    ) -> bool {
        let Ok(wire) = name.to_lowercase().to_bytes() else {
            return false;
        };
        let key = QuestionKey::new(&wire, u16::from(rtype), 1);
        let mkey = MergeKey {
            key,
            do_bit: true,
            cd_bit: true,
        };
        let waiter = (idx, self.slab[idx as usize].generation);
        if !self.by_question.contains_key(&mkey) {
            // RD and CD (we validate ourselves), one question, no OPT: forward adds DO.
            let mut pkt = Vec::with_capacity(12 + wire.len() + 4);
            pkt.extend_from_slice(&[0, 0, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0]);
            pkt.extend_from_slice(&wire);
            pkt.extend_from_slice(&u16::from(rtype).to_be_bytes());
            pkt.extend_from_slice(&1u16.to_be_bytes());
            let Ok(q) = parse_query(&pkt) else {
                return false;
            };
            self.counters.bump(Counter::DnssecSubqueries);
            self.forward(now, &q, super::Asker::Validator, true, true, out);
        }
        match self.by_question.get(&mkey) {
            Some(&sub) => {
                self.slab[sub as usize].dependents.push(waiter);
                true
            }
            None => false,
        }
    }

    /// Gives a finished sub-query's answer (None: it failed) to the key store and wakes the
    /// answers waiting for it. `dependents` were taken from the released entry.
    pub(super) fn wake_dependents(
        &mut self,
        now: Instant,
        key: &QuestionKey,
        answer: Option<&StoredAnswer>,
        dependents: Vec<(u32, u32)>,
        out: &mut Outbox,
    ) {
        if dependents.is_empty() {
            return;
        }
        let unix = self.unix_now(now);
        if let Ok(name) = Name::from_bytes(key.name_wire()) {
            let rtype = RecordType::from(key.qtype());
            let msg = answer
                .and_then(|a| Message::from_vec(a.bytes()).ok())
                .map(Arc::new);
            self.keys.insert_answer(&name, rtype, msg, unix);
        }
        for (idx, generation) in dependents {
            let e = &self.slab[idx as usize];
            if e.live && e.generation == generation && e.parked.is_some() {
                self.resume(now, idx, out);
            }
        }
    }

    /// Answers the clients of a validated (or failed) entry. `direct` is the answer when it was
    /// never parked.
    pub(super) fn finish_validated(
        &mut self,
        now: Instant,
        idx: u32,
        security: Security,
        direct: Option<(StoredAnswer, bool)>,
        out: &mut Outbox,
    ) {
        let entry = &mut self.slab[idx as usize];
        let Some((mut stored, rewrite)) =
            direct.or_else(|| entry.parked.take().map(|p| (p.stored, p.rewrite)))
        else {
            return;
        };
        let debug = self.cfg.dnssec.as_ref().is_some_and(|d| d.validator.debug);
        match security {
            Security::Secure => {
                self.counters.bump(Counter::DnssecSecure);
                stored.set_secure(true);
                self.deliver(now, idx, stored, rewrite, true, out);
            }
            Security::Insecure => {
                self.counters.bump(Counter::DnssecInsecure);
                self.deliver(now, idx, stored, rewrite, true, out);
            }
            Security::Bogus(_) if debug => {
                // --dnssec-debug: passed on unvalidated, and not cached.
                self.counters.bump(Counter::DnssecBogus);
                self.deliver(now, idx, stored, rewrite, false, out);
            }
            Security::Bogus(b) => {
                self.counters.bump(Counter::DnssecBogus);
                self.gather_joiners(idx);
                let entry = &mut self.slab[idx as usize];
                for w in entry.waiters.drain(..) {
                    let q = w.query(&entry.key);
                    let mut buf = out.buffer();
                    let len = write_bogus_reply(&q, b, &mut buf, self.cfg.edns_packet_max);
                    if len > 0 {
                        out.push(Destination::Client(w.client), buf, len);
                    } else {
                        out.recycle(buf);
                    }
                }
                self.counters.bump(Counter::ServfailSent);
                self.end(now, idx, None, out);
            }
        }
    }
}
