//! Validating one answer (RFC 4035 §5): every RRset of the ANSWER section, then the denial of
//! existence for negative answers, each against the keys of its signer, whose chain of trust
//! is built from the trust anchors down through DS and DNSKEY answers held in the [`KeyStore`].

use super::denial::DenialRecords;
use super::keys::{KeyStore, ZoneStatus};
use super::rrset::{Budget, RrSet, dnskeys, group, verify};
use super::{Bogus, Security, ValidatorConfig, ede_code};
use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use std::sync::Arc;

/// The result of one validation run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Validation finished.
    Done(Security),
    /// The store lacks this DS or DNSKEY answer: fetch it, store it, and run again.
    Need(Name, RecordType),
}

/// Why a step stopped.
enum Halt {
    Need(Name, RecordType),
    Bogus(Bogus),
}

impl From<Bogus> for Halt {
    fn from(b: Bogus) -> Self {
        Halt::Bogus(b)
    }
}

type Step<T> = Result<T, Halt>;

/// Secure keys or insecure, for a zone.
enum Keys {
    Secure(Arc<Vec<hickory_proto::dnssec::rdata::DNSKEY>>),
    Insecure,
}

struct Run<'a> {
    cfg: &'a ValidatorConfig,
    store: &'a mut KeyStore,
    now: u32,
    budget: Budget,
    depth: u32,
}

/// Deepest nesting of zone lookups (a name has at most 127 labels).
const MAX_DEPTH: u32 = 130;

/// Validates `msg`, the answer to `qname`/`qtype`, at `now` (Unix seconds). The work budget
/// is per run; a run that needs a sub-query ends early and is repeated once it is stored.
pub fn validate(
    msg: &Message,
    qname: &Name,
    qtype: RecordType,
    cfg: &ValidatorConfig,
    store: &mut KeyStore,
    now: u32,
) -> Outcome {
    let mut run = Run {
        cfg,
        store,
        now,
        budget: Budget {
            work_left: cfg.limits.work_per_answer,
            fails_per_rrset: cfg.limits.sig_fails_per_rrset.max(1),
            checks: 0,
        },
        depth: 0,
    };
    match run.answer(msg, qname, qtype) {
        Ok(s) => Outcome::Done(s),
        Err(Halt::Bogus(b)) => Outcome::Done(Security::Bogus(b)),
        Err(Halt::Need(n, t)) => Outcome::Need(n, t),
    }
}

fn rrsigs_missing() -> Bogus {
    Bogus::new(
        ede_code::RRSIGS_MISSING,
        "unsigned answer from a signed zone",
    )
}

impl Run<'_> {
    fn time(&self) -> Option<u32> {
        self.cfg.check_time(self.now)
    }

    fn answer(&mut self, msg: &Message, qname: &Name, qtype: RecordType) -> Step<Security> {
        let rcode = msg.metadata.response_code;
        if rcode != ResponseCode::NoError && rcode != ResponseCode::NXDomain {
            // Errors carry nothing to validate (dnsmasq passes them on).
            return Ok(Security::Insecure);
        }
        let answers = group(&msg.answers);
        let authority = group(&msg.authorities);
        let mut status = Security::Secure;
        // Follow the CNAME chain from the question (RFC 1034 §3.6.2); DNAME-synthesised
        // CNAMEs are unsigned by design (RFC 6672 §5.3.3) and covered by the DNAME's signature.
        let mut name = qname.clone();
        let mut positive = false;
        for _ in 0..super::super::answer::MAX_CHAIN {
            let here: Vec<&RrSet> = answers.iter().filter(|s| s.name == name).collect();
            if here.is_empty() {
                break;
            }
            let mut next = None;
            for set in here {
                let synthesised = set.rtype == RecordType::CNAME
                    && set.sigs.is_empty()
                    && answers
                        .iter()
                        .any(|d| d.rtype == RecordType::DNAME && d.name.zone_of(&set.name));
                if !synthesised {
                    status = status.min(self.rrset(set, &authority)?);
                }
                if set.rtype == qtype || qtype == RecordType::ANY {
                    positive = true;
                }
                if set.rtype == RecordType::CNAME
                    && let Some(RData::CNAME(c)) = set.records.first().map(|r| &r.data)
                {
                    next = Some(c.0.clone());
                }
            }
            for d in answers.iter().filter(|d| d.rtype == RecordType::DNAME) {
                status = status.min(self.rrset(d, &authority)?);
            }
            match next {
                Some(n) if !positive && qtype != RecordType::CNAME => name = n,
                _ => break,
            }
        }
        if positive {
            return Ok(status);
        }
        let nxdomain = rcode == ResponseCode::NXDomain;
        // A chain that leaves the server's zones ends without the target's records and
        // without a negative answer for it: what is there has been checked.
        if name != *qname && !nxdomain && !authority.iter().any(|s| s.rtype == RecordType::SOA) {
            return Ok(status);
        }
        Ok(status.min(self.denial(&authority, &name, qtype, nxdomain)?))
    }

    /// One RRset of the answer: signed by a secure zone, or provably insecure.
    fn rrset(&mut self, set: &RrSet, authority: &[RrSet]) -> Step<Security> {
        let Some(signer) = set.signer().cloned() else {
            if !self.cfg.check_unsigned {
                return Ok(Security::Insecure);
            }
            return self.prove_insecure(&set.name);
        };
        match self.zone(&signer)? {
            Keys::Insecure => Ok(Security::Insecure),
            Keys::Secure(keys) => {
                verify(set, &signer, &keys, self.time(), &mut self.budget)?;
                // RFC 4035 §5.3.4: a wildcard expansion needs proof that the name itself
                // does not exist.
                if let Some(labels) = set.expanded_from_wildcard() {
                    let proofs = self.verified_denials(authority, &signer, &keys)?;
                    return Ok(proofs.proves_wildcard_expansion(
                        &signer,
                        &set.name,
                        labels,
                        self.cfg.limits.nsec3_iterations,
                        &mut self.budget,
                    )?);
                }
                Ok(Security::Secure)
            }
        }
    }

    /// The NSEC/NSEC3 RRsets of the AUTHORITY section signed by `zone`, each verified.
    fn verified_denials(
        &mut self,
        authority: &[RrSet],
        zone: &Name,
        keys: &[hickory_proto::dnssec::rdata::DNSKEY],
    ) -> Step<DenialRecords> {
        let mut ok = Vec::new();
        for s in authority
            .iter()
            .filter(|s| matches!(s.rtype, RecordType::NSEC | RecordType::NSEC3))
            .filter(|s| s.signer() == Some(zone))
        {
            verify(s, zone, keys, self.time(), &mut self.budget)?;
            ok.push(s);
        }
        Ok(DenialRecords::from_sets(ok.into_iter()))
    }

    /// A negative answer for `name`: the SOA and NSEC/NSEC3 records must be signed by a secure
    /// zone and prove it (RFC 4035 §5.4), or the zone must be provably insecure.
    fn denial(
        &mut self,
        authority: &[RrSet],
        name: &Name,
        qtype: RecordType,
        nxdomain: bool,
    ) -> Step<Security> {
        let signer = authority
            .iter()
            .filter(|s| {
                matches!(
                    s.rtype,
                    RecordType::SOA | RecordType::NSEC | RecordType::NSEC3
                )
            })
            .find_map(|s| s.signer().cloned());
        let Some(zone) = signer else {
            if !self.cfg.check_unsigned {
                return Ok(Security::Insecure);
            }
            return self.prove_insecure(name);
        };
        if !zone.zone_of(name) {
            return Err(Bogus::new(ede_code::DNSSEC_BOGUS, "denial signed by another zone").into());
        }
        let keys = match self.zone(&zone)? {
            Keys::Insecure => return Ok(Security::Insecure),
            Keys::Secure(k) => k,
        };
        if let Some(soa) = authority.iter().find(|s| s.rtype == RecordType::SOA) {
            verify(soa, &zone, &keys, self.time(), &mut self.budget)?;
        }
        let proofs = self.verified_denials(authority, &zone, &keys)?;
        Ok(proofs.prove(
            &zone,
            name,
            qtype,
            nxdomain,
            self.cfg.limits.nsec3_iterations,
            &mut self.budget,
        )?)
    }

    /// A fetched answer, or a request to fetch it.
    fn fetch(&mut self, name: &Name, rtype: RecordType) -> Step<Arc<Message>> {
        match self.store.answer(name, rtype, self.now) {
            None => Err(Halt::Need(name.to_lowercase(), rtype)),
            Some(None) => Err(Bogus::new(
                ede_code::NO_REACHABLE_AUTHORITY,
                "DS or DNSKEY query failed",
            )
            .into()),
            Some(Some(m)) => Ok(m),
        }
    }

    /// The keys of zone `zone` (the signer of some data), from the trust anchors down.
    fn zone(&mut self, zone: &Name) -> Step<Keys> {
        // Each nested call is for a strictly shorter name; the guard is a second line of defence.
        if self.depth > MAX_DEPTH {
            return Err(Bogus::new(ede_code::DNSSEC_BOGUS, "chain of trust too deep").into());
        }
        self.depth += 1;
        let r = self.zone_memo(zone);
        self.depth -= 1;
        r
    }

    fn zone_memo(&mut self, zone: &Name) -> Step<Keys> {
        if let Some(s) = self.store.zone(zone, self.now) {
            return match s {
                ZoneStatus::Secure(k) => Ok(Keys::Secure(k)),
                ZoneStatus::Insecure => Ok(Keys::Insecure),
                ZoneStatus::Bogus(b) => Err(b.into()),
            };
        }
        match self.zone_uncached(zone) {
            Ok((keys, ttl)) => {
                let status = match &keys {
                    Keys::Secure(k) => ZoneStatus::Secure(Arc::clone(k)),
                    Keys::Insecure => ZoneStatus::Insecure,
                };
                self.store.set_zone(zone, status, ttl, self.now);
                Ok(keys)
            }
            Err(Halt::Bogus(b)) => {
                self.store.set_zone(zone, ZoneStatus::Bogus(b), 0, self.now);
                Err(b.into())
            }
            Err(need) => Err(need),
        }
    }

    fn zone_uncached(&mut self, zone: &Name) -> Step<(Keys, u32)> {
        let anchored: Vec<DS> = self
            .cfg
            .anchors
            .iter()
            .filter(|a| a.owner == *zone)
            .map(|a| a.ds.clone())
            .collect();
        let (ds, ds_ttl) = if !anchored.is_empty() {
            (anchored, u32::MAX)
        } else {
            match self.secure_ds(zone)? {
                None => return Ok((Keys::Insecure, 300)),
                Some(x) => x,
            }
        };
        // RFC 4035 §5.2: DS records with unsupported algorithms or digests are ignored; with
        // none left, the zone is treated as insecure.
        let usable: Vec<&DS> = ds
            .iter()
            .filter(|d| d.algorithm().is_supported() && d.digest_type().is_supported())
            .collect();
        if usable.is_empty() {
            return Ok((Keys::Insecure, ds_ttl.min(3600)));
        }
        let msg = self.fetch(zone, RecordType::DNSKEY)?;
        let sets = group(&msg.answers);
        let Some(set) = sets
            .iter()
            .find(|s| s.rtype == RecordType::DNSKEY && s.name == *zone)
        else {
            return Err(Bogus::new(ede_code::DNSKEY_MISSING, "no DNSKEY for a signed zone").into());
        };
        let keys = dnskeys(set);
        // Keys the DS set vouches for (RFC 4035 §5.2), each digest costing one unit of work.
        let mut entry = Vec::new();
        for k in &keys {
            if k.revoke() || !k.zone_key() {
                continue;
            }
            for d in &usable {
                if d.algorithm() != hickory_proto::dnssec::Verifier::algorithm(k)
                    || k.calculate_key_tag().ok() != Some(d.key_tag())
                {
                    continue;
                }
                self.budget.spend()?;
                if d.covers(zone, k).unwrap_or(false) {
                    entry.push(k.clone());
                }
            }
        }
        if entry.is_empty() {
            return Err(Bogus::new(ede_code::DNSKEY_MISSING, "no DNSKEY matches the DS").into());
        }
        verify(set, zone, &entry, self.time(), &mut self.budget)?;
        let mut ttl = set
            .records
            .iter()
            .map(|r| r.ttl)
            .min()
            .unwrap_or(0)
            .min(ds_ttl);
        // RFC 4035 §5.3.3: validated keys are not kept past their signatures' expiration.
        if let Some(now) = self.time() {
            let left = set
                .sigs
                .iter()
                .map(|s| s.input().sig_expiration.get().wrapping_sub(now))
                .filter(|l| (*l as i32) >= 0)
                .min();
            if let Some(left) = left {
                ttl = ttl.min(left);
            }
        }
        let zone_keys: Vec<_> = keys.into_iter().filter(|k| !k.revoke()).collect();
        Ok((Keys::Secure(Arc::new(zone_keys)), ttl))
    }

    /// The DS RRset of `zone`, validated in its parent; None when the delegation is proven
    /// insecure (no DS, or an insecure parent).
    fn secure_ds(&mut self, zone: &Name) -> Step<Option<(Vec<DS>, u32)>> {
        if zone.is_root() {
            return Err(
                Bogus::new(ede_code::DNSKEY_MISSING, "no trust anchor for the root").into(),
            );
        }
        let msg = self.fetch(zone, RecordType::DS)?;
        let answers = group(&msg.answers);
        if let Some(set) = answers
            .iter()
            .find(|s| s.rtype == RecordType::DS && s.name == *zone)
        {
            let Some(parent) = set.signer().cloned() else {
                return match self.insecure_above(zone, &msg)? {
                    true => Ok(None),
                    false => Err(rrsigs_missing().into()),
                };
            };
            if parent == *zone || !parent.zone_of(zone) {
                return Err(
                    Bogus::new(ede_code::DNSSEC_BOGUS, "DS signed by the wrong zone").into(),
                );
            }
            return match self.zone(&parent)? {
                Keys::Insecure => Ok(None),
                Keys::Secure(keys) => {
                    verify(set, &parent, &keys, self.time(), &mut self.budget)?;
                    let ds = set
                        .records
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::DNSSEC(DNSSECRData::DS(d)) => Some(d.clone()),
                            _ => None,
                        })
                        .collect();
                    let ttl = set.records.iter().map(|r| r.ttl).min().unwrap_or(0);
                    Ok(Some((ds, ttl)))
                }
            };
        }
        // No DS: it must be proven absent at a delegation of a secure parent.
        if self.no_ds_proven(zone, &msg)? {
            Ok(None)
        } else {
            Err(Bogus::new(ede_code::NSEC_MISSING, "no proof that the DS is absent").into())
        }
    }

    /// True when the negative DS answer `msg` for `name` proves an insecure delegation at
    /// `name` (or that the zone holding `name` is insecure); false when it proves `name` is
    /// inside a signed zone.
    fn no_ds_proven(&mut self, name: &Name, msg: &Message) -> Step<bool> {
        let authority = group(&msg.authorities);
        let signer = authority.iter().find_map(|s| s.signer().cloned());
        let Some(parent) = signer else {
            return self.insecure_above(name, msg);
        };
        // The parent side answers for a DS: its signer is a proper ancestor (this also bounds
        // the recursion, one label per step).
        if parent == *name || !parent.zone_of(name) {
            return Err(
                Bogus::new(ede_code::DNSSEC_BOGUS, "DS denial signed by the wrong zone").into(),
            );
        }
        let keys = match self.zone(&parent)? {
            Keys::Insecure => return Ok(true),
            Keys::Secure(k) => k,
        };
        let proofs = self.verified_denials(&authority, &parent, &keys)?;
        Ok(proofs.proves_insecure_delegation(
            &parent,
            name,
            self.cfg.limits.nsec3_iterations,
            &mut self.budget,
        )?)
    }

    /// An unsigned DS answer for `name`: acceptable only if the zone it came from (its SOA
    /// owner, a proper ancestor of `name`) is itself insecure.
    fn insecure_above(&mut self, name: &Name, msg: &Message) -> Step<bool> {
        let soa_owner = msg
            .authorities
            .iter()
            .find(|r| r.record_type() == RecordType::SOA)
            .map(|r| r.name.clone());
        match soa_owner {
            Some(z) if z != *name && z.zone_of(name) => match self.zone(&z)? {
                Keys::Insecure => Ok(true),
                Keys::Secure(_) => Ok(false),
            },
            _ => Ok(false),
        }
    }

    /// RFC 4035 §5.2 / dnsmasq's check-unsigned rule: unsigned data at `name` is acceptable
    /// only when `name` is at or below an insecure delegation.
    fn prove_insecure(&mut self, name: &Name) -> Step<Security> {
        let msg = self.fetch(name, RecordType::DS)?;
        let has_ds = msg
            .answers
            .iter()
            .any(|r| r.record_type() == RecordType::DS && r.name == *name);
        let insecure = if has_ds {
            // A DS here: `name` is a zone cut, and its zone decides.
            matches!(self.zone(name)?, Keys::Insecure)
        } else {
            self.no_ds_proven(name, &msg)?
        };
        if insecure {
            Ok(Security::Insecure)
        } else {
            Err(rrsigs_missing().into())
        }
    }
}
