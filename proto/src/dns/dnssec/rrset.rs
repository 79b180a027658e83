//! RRsets of a message section with their RRSIGs, and checking those signatures against a
//! zone's keys (RFC 4035 §5.3), within the answer's work budget.

use super::{Bogus, ede_code};
use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// One RRset (same owner, class and type) and the RRSIGs covering it.
#[derive(Clone, Debug)]
pub struct RrSet {
    /// Owner name.
    pub name: Name,
    /// Type of the records.
    pub rtype: RecordType,
    /// Class of the records.
    pub class: DNSClass,
    /// The records.
    pub records: Vec<Record>,
    /// RRSIGs whose type covered is `rtype`, at the same owner.
    pub sigs: Vec<RRSIG>,
}

impl RrSet {
    /// The signer named by the first RRSIG, if any (all must agree for a zone's data).
    pub fn signer(&self) -> Option<&Name> {
        self.sigs.first().map(|s| &s.input().signer_name)
    }

    /// True when the first RRSIG's label count shows a wildcard expansion (RFC 4035 §5.3.4).
    pub fn expanded_from_wildcard(&self) -> Option<u8> {
        let sig = self.sigs.first()?;
        let labels = sig.input().num_labels;
        (labels < self.name.num_labels()).then_some(labels)
    }
}

/// Groups a section into RRsets, attaching RRSIGs to the set they cover. Records are kept in
/// section order of first appearance; RRSIGs covering nothing present are dropped.
pub fn group(records: &[Record]) -> Vec<RrSet> {
    let mut sets: Vec<RrSet> = Vec::new();
    for r in records {
        if r.record_type() == RecordType::RRSIG {
            continue;
        }
        let rtype = r.record_type();
        match sets
            .iter_mut()
            .find(|s| s.rtype == rtype && s.class == r.dns_class && s.name == r.name)
        {
            Some(s) => s.records.push(r.clone()),
            None => sets.push(RrSet {
                name: r.name.clone(),
                rtype,
                class: r.dns_class,
                records: vec![r.clone()],
                sigs: Vec::new(),
            }),
        }
    }
    for r in records {
        if let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data
            && let Some(s) = sets.iter_mut().find(|s| {
                s.rtype == sig.input().type_covered && s.class == r.dns_class && s.name == r.name
            })
        {
            s.sigs.push(sig.clone());
        }
    }
    sets
}

/// The work left for one answer (signature checks and hashes), shared by every step.
#[derive(Debug)]
pub struct Budget {
    /// Signature checks and hashes left.
    pub work_left: u32,
    /// Failed signature checks allowed per RRset.
    pub fails_per_rrset: u32,
    /// Signature checks made (for statistics and tests).
    pub checks: u32,
}

impl Budget {
    /// Takes one unit of work, or says the limit is reached.
    pub fn spend(&mut self) -> Result<(), Bogus> {
        if self.work_left == 0 {
            return Err(Bogus::new(
                ede_code::OTHER,
                "DNSSEC work limit reached (--dnssec-limits)",
            ));
        }
        self.work_left -= 1;
        Ok(())
    }
}

/// RFC 4034 §3.1.5 / RFC 1982: `a` is at or before `b` in serial number arithmetic.
fn serial_le(a: u32, b: u32) -> bool {
    a == b || (b.wrapping_sub(a) as i32) > 0
}

/// Checks `set` against `keys` (the signer zone's DNSKEYs): valid when one RRSIG made by one of
/// the keys verifies and is inside its validity period (unless `now` is None:
/// `--dnssec-no-timecheck`). RFC 4035 §5.3.1: the signer must be the zone whose keys are
/// given and an ancestor of the owner; the labels field must not exceed the owner's labels.
pub fn verify(
    set: &RrSet,
    zone: &Name,
    keys: &[DNSKEY],
    now: Option<u32>,
    budget: &mut Budget,
) -> Result<(), Bogus> {
    let mut reason = Bogus::new(ede_code::RRSIGS_MISSING, "no RRSIG for the RRset");
    let mut fails = 0u32;
    for sig in &set.sigs {
        let input = sig.input();
        if input.signer_name != *zone || !zone.zone_of(&set.name) {
            reason = Bogus::new(ede_code::DNSSEC_BOGUS, "RRSIG signer is not the zone");
            continue;
        }
        if input.num_labels > set.name.num_labels() {
            reason = Bogus::new(ede_code::DNSSEC_BOGUS, "RRSIG labels field too large");
            continue;
        }
        if !input.algorithm.is_supported() {
            reason = Bogus::new(
                ede_code::UNSUPPORTED_DNSKEY_ALGORITHM,
                "RRSIG algorithm not supported",
            );
            continue;
        }
        // RFC 4035 §5.3.1: inception <= now <= expiration, in serial arithmetic.
        if let Some(now) = now {
            if !serial_le(now, input.sig_expiration.get()) {
                reason = Bogus::new(ede_code::SIGNATURE_EXPIRED, "signature expired");
                continue;
            }
            if !serial_le(input.sig_inception.get(), now) {
                reason = Bogus::new(ede_code::SIGNATURE_NOT_YET_VALID, "signature not yet valid");
                continue;
            }
        }
        let mut matched = false;
        for key in keys {
            // RFC 4034 §2.1.1: only zone keys (flag bit 7) sign zone data; a revoked key
            // (RFC 5011 §3) signs nothing but its own DNSKEY RRset.
            if !key.zone_key() || key.algorithm() != input.algorithm {
                continue;
            }
            if key.calculate_key_tag().ok() != Some(input.key_tag) {
                continue;
            }
            matched = true;
            budget.spend()?;
            budget.checks += 1;
            if key
                .verify_rrsig(&set.name, set.class, sig, set.records.iter())
                .is_ok()
            {
                return Ok(());
            }
            fails += 1;
            reason = Bogus::new(ede_code::DNSSEC_BOGUS, "signature does not verify");
            if fails >= budget.fails_per_rrset {
                return Err(Bogus::new(
                    ede_code::DNSSEC_BOGUS,
                    "too many failed signature checks for one RRset (--dnssec-limits)",
                ));
            }
        }
        if !matched && reason.ede == ede_code::RRSIGS_MISSING {
            reason = Bogus::new(ede_code::DNSKEY_MISSING, "no DNSKEY matches the RRSIG");
        }
    }
    Err(reason)
}

/// The DNSKEY records of a section at `owner`.
pub fn dnskeys(set: &RrSet) -> Vec<DNSKEY> {
    set.records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::serial_le;

    #[test]
    fn serial_arithmetic_wraps() {
        assert!(serial_le(1, 2));
        assert!(serial_le(5, 5));
        assert!(!serial_le(2, 1));
        assert!(serial_le(u32::MAX - 1, 3));
        assert!(!serial_le(3, u32::MAX - 1));
    }
}
