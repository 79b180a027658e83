//! Authenticated denial of existence: NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8), over
//! RRsets whose signatures have already been checked.

use super::rrset::{Budget, RrSet};
use super::{Bogus, Security, ede_code};
use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC, NSEC3};
use hickory_proto::rr::{Name, RData, RecordType};

const NOT_PROVEN: Bogus = Bogus::new(ede_code::NSEC_MISSING, "denial of existence not proven");

/// The verified NSEC and NSEC3 records of one answer's AUTHORITY section.
#[derive(Debug, Default)]
pub struct DenialRecords {
    nsec: Vec<(Name, NSEC)>,
    nsec3: Vec<(Vec<u8>, Name, NSEC3)>,
}

impl DenialRecords {
    /// Collects the NSEC/NSEC3 records of verified RRsets.
    pub fn from_sets<'a>(sets: impl Iterator<Item = &'a RrSet>) -> Self {
        let mut d = DenialRecords::default();
        for s in sets {
            for r in &s.records {
                match &r.data {
                    RData::DNSSEC(DNSSECRData::NSEC(n)) => d.nsec.push((r.name.clone(), n.clone())),
                    RData::DNSSEC(DNSSECRData::NSEC3(n)) => {
                        // The owner's first label is the base32hex hash (RFC 5155 §3).
                        let Some(first) = r.name.iter().next() else {
                            continue;
                        };
                        let label = first.to_ascii_lowercase();
                        if let Ok(h) = BASE32_DNSSEC.decode(&label) {
                            d.nsec3.push((h, r.name.clone(), n.clone()));
                        }
                    }
                    _ => {}
                }
            }
        }
        d
    }

    /// True when there is nothing to prove with.
    pub fn is_empty(&self) -> bool {
        self.nsec.is_empty() && self.nsec3.is_empty()
    }

    /// Proves that `name` has no `qtype` records (NODATA) or does not exist (`nxdomain`).
    pub fn prove(
        &self,
        zone: &Name,
        name: &Name,
        qtype: RecordType,
        nxdomain: bool,
        max_iterations: u16,
        budget: &mut Budget,
    ) -> Result<Security, Bogus> {
        if !self.nsec.is_empty() {
            let ok = if nxdomain {
                self.nsec_nxdomain(zone, name)
            } else {
                self.nsec_nodata(zone, name, qtype)
            };
            return if ok {
                Ok(Security::Secure)
            } else {
                Err(NOT_PROVEN)
            };
        }
        if self.nsec3.is_empty() {
            return Err(NOT_PROVEN);
        }
        // RFC 9276 §3.2: above the iteration limit, the answer is treated as insecure.
        if self
            .nsec3
            .iter()
            .any(|(_, _, n)| n.iterations() > max_iterations)
        {
            return Ok(Security::Insecure);
        }
        if nxdomain {
            self.nsec3_nxdomain(zone, name, budget)
        } else {
            self.nsec3_nodata(zone, name, qtype, budget)
        }
    }

    /// RFC 4035 §5.2: `name` is a delegation without DS (an insecure delegation): an NSEC at
    /// `name` with NS and neither DS nor SOA, or (RFC 5155 §8.9) the NSEC3 equivalent, or an
    /// opt-out NSEC3 covering its next closer name.
    pub fn proves_insecure_delegation(
        &self,
        zone: &Name,
        name: &Name,
        max_iterations: u16,
        budget: &mut Budget,
    ) -> Result<bool, Bogus> {
        let unsigned_cut = |types: &hickory_proto::rr::RecordTypeSet| {
            types.contains(RecordType::NS)
                && !types.contains(RecordType::DS)
                && !types.contains(RecordType::SOA)
        };
        if self
            .nsec
            .iter()
            .any(|(o, n)| o == name && unsigned_cut(n.type_set()))
        {
            return Ok(true);
        }
        if self.nsec3.is_empty() {
            return Ok(false);
        }
        if self
            .nsec3
            .iter()
            .any(|(_, _, n)| n.iterations() > max_iterations)
        {
            return Ok(true);
        }
        let h = self.hash(name, budget)?;
        if let Some(n) = self.nsec3_match(&h) {
            return Ok(unsigned_cut(n.type_set()));
        }
        // RFC 5155 §8.6: an opt-out NSEC3 covering the next closer name proves no signed
        // delegation exists there.
        if let Some((_, nc)) = self.closest_encloser(zone, name, budget)? {
            let hnc = self.hash(&nc, budget)?;
            return Ok(self.nsec3_cover(&hnc).is_some_and(|n| n.opt_out()));
        }
        Ok(false)
    }

    fn nsec_covers(owner: &Name, next: &Name, zone: &Name, name: &Name) -> bool {
        if owner < next {
            owner < name && name < next
        } else {
            // The last NSEC of the zone points back to the apex.
            owner < name && zone.zone_of(name)
        }
    }

    fn covering_nsec(&self, zone: &Name, name: &Name) -> Option<&(Name, NSEC)> {
        self.nsec
            .iter()
            .find(|(o, n)| Self::nsec_covers(o, n.next_domain_name(), zone, name))
    }

    /// The closest encloser of a non-existent `name` from the NSEC covering it: the longer of
    /// its common ancestors with the NSEC owner and next name (RFC 4035 §5.4).
    fn nsec_closest_encloser(owner: &Name, next: &Name, name: &Name) -> Name {
        let common = |a: &Name| {
            let mut n = name.base_name();
            while !n.zone_of(a) && !n.is_root() {
                n = n.base_name();
            }
            n
        };
        let a = common(owner);
        let b = common(next);
        if a.num_labels() >= b.num_labels() {
            a
        } else {
            b
        }
    }

    fn nsec_nxdomain(&self, zone: &Name, name: &Name) -> bool {
        let Some((owner, n)) = self.covering_nsec(zone, name) else {
            return false;
        };
        let ce = Self::nsec_closest_encloser(owner, n.next_domain_name(), name);
        let Ok(wild) = ce.prepend_label("*") else {
            return false;
        };
        // No wildcard could have answered instead (RFC 4035 §5.4 second bullet).
        self.covering_nsec(zone, &wild).is_some()
    }

    fn nsec_nodata(&self, zone: &Name, name: &Name, qtype: RecordType) -> bool {
        let absent =
            |n: &NSEC| !n.type_set().contains(qtype) && !n.type_set().contains(RecordType::CNAME);
        if let Some((_, n)) = self.nsec.iter().find(|(o, _)| o == name) {
            // RFC 4035 §5.4 / RFC 6840 §4.4: a DS NODATA must come from the parent side (no
            // SOA); other types must not come from the parent side of a cut.
            if qtype == RecordType::DS {
                return absent(n) && !n.type_set().contains(RecordType::SOA);
            }
            let parent_side =
                n.type_set().contains(RecordType::NS) && !n.type_set().contains(RecordType::SOA);
            return absent(n) && !parent_side;
        }
        // Empty non-terminal: the name sorts between an owner and a next name below it.
        if self.nsec.iter().any(|(o, n)| {
            o < name && name.zone_of(n.next_domain_name()) && n.next_domain_name() != name
        }) {
            return true;
        }
        // Wildcard NODATA (RFC 4035 §3.1.3.4): name covered, *.CE exists without the type.
        if let Some((owner, n)) = self.covering_nsec(zone, name) {
            let ce = Self::nsec_closest_encloser(owner, n.next_domain_name(), name);
            if let Ok(wild) = ce.prepend_label("*") {
                return self.nsec.iter().any(|(o, n)| *o == wild && absent(n));
            }
        }
        false
    }

    /// Proves that the wildcard expansion that produced an answer for `name` was legitimate:
    /// `name` itself does not exist (RFC 4035 §5.3.4, RFC 5155 §8.8). `labels` is the RRSIG
    /// labels field (the wildcard's parent's label count).
    pub fn proves_wildcard_expansion(
        &self,
        zone: &Name,
        name: &Name,
        labels: u8,
        max_iterations: u16,
        budget: &mut Budget,
    ) -> Result<Security, Bogus> {
        if !self.nsec.is_empty() {
            return if self.covering_nsec(zone, name).is_some() {
                Ok(Security::Secure)
            } else {
                Err(NOT_PROVEN)
            };
        }
        if self.nsec3.is_empty() {
            return Err(NOT_PROVEN);
        }
        if self
            .nsec3
            .iter()
            .any(|(_, _, n)| n.iterations() > max_iterations)
        {
            return Ok(Security::Insecure);
        }
        let nc = name.trim_to(usize::from(labels) + 1);
        let h = self.hash(&nc, budget)?;
        match self.nsec3_cover(&h) {
            Some(n) if n.opt_out() => Ok(Security::Insecure),
            Some(_) => Ok(Security::Secure),
            None => Err(NOT_PROVEN),
        }
    }

    fn hash(&self, name: &Name, budget: &mut Budget) -> Result<Vec<u8>, Bogus> {
        let Some((_, _, n)) = self.nsec3.first() else {
            return Err(NOT_PROVEN);
        };
        budget.spend()?;
        n.hash_algorithm()
            .hash(n.salt(), &name.to_lowercase(), n.iterations())
            .map(|d| d.as_ref().to_vec())
            .map_err(|_| NOT_PROVEN)
    }

    fn nsec3_match(&self, h: &[u8]) -> Option<&NSEC3> {
        self.nsec3
            .iter()
            .find(|(o, _, _)| o.as_slice() == h)
            .map(|(_, _, n)| n)
    }

    fn nsec3_cover(&self, h: &[u8]) -> Option<&NSEC3> {
        self.nsec3
            .iter()
            .find(|(o, _, n)| {
                let next = n.next_hashed_owner_name();
                if o.as_slice() < next {
                    o.as_slice() < h && h < next
                } else {
                    h > o.as_slice() || h < next
                }
            })
            .map(|(_, _, n)| n)
    }

    /// RFC 5155 §8.3: the closest encloser (an ancestor of `name` with a matching NSEC3) and
    /// the next closer name (one label longer, on the way to `name`).
    fn closest_encloser(
        &self,
        zone: &Name,
        name: &Name,
        budget: &mut Budget,
    ) -> Result<Option<(Name, Name)>, Bogus> {
        let mut child = name.clone();
        let mut candidate = name.base_name();
        loop {
            if !zone.zone_of(&candidate) {
                return Ok(None);
            }
            let h = self.hash(&candidate, budget)?;
            if self.nsec3_match(&h).is_some() {
                return Ok(Some((candidate, child)));
            }
            if candidate.is_root() || candidate == *zone {
                return Ok(None);
            }
            child = candidate.clone();
            candidate = candidate.base_name();
        }
    }

    fn nsec3_nxdomain(
        &self,
        zone: &Name,
        name: &Name,
        budget: &mut Budget,
    ) -> Result<Security, Bogus> {
        let Some((ce, nc)) = self.closest_encloser(zone, name, budget)? else {
            return Err(NOT_PROVEN);
        };
        let hnc = self.hash(&nc, budget)?;
        let Some(cover) = self.nsec3_cover(&hnc) else {
            return Err(NOT_PROVEN);
        };
        let opt_out = cover.opt_out();
        let wild = ce.prepend_label("*").map_err(|_| NOT_PROVEN)?;
        let hw = self.hash(&wild, budget)?;
        if self.nsec3_cover(&hw).is_none() {
            return Err(NOT_PROVEN);
        }
        // RFC 5155 §8.3: with opt-out, an unsigned delegation may exist: not secure.
        Ok(if opt_out {
            Security::Insecure
        } else {
            Security::Secure
        })
    }

    fn nsec3_nodata(
        &self,
        zone: &Name,
        name: &Name,
        qtype: RecordType,
        budget: &mut Budget,
    ) -> Result<Security, Bogus> {
        let h = self.hash(name, budget)?;
        if let Some(n) = self.nsec3_match(&h) {
            // RFC 5155 §8.5/8.6.
            let t = n.type_set();
            return if !t.contains(qtype) && !t.contains(RecordType::CNAME) {
                Ok(Security::Secure)
            } else {
                Err(NOT_PROVEN)
            };
        }
        // RFC 5155 §8.6: DS NODATA through an opt-out span; §8.7: wildcard NODATA.
        let Some((ce, nc)) = self.closest_encloser(zone, name, budget)? else {
            return Err(NOT_PROVEN);
        };
        let hnc = self.hash(&nc, budget)?;
        let Some(cover) = self.nsec3_cover(&hnc) else {
            return Err(NOT_PROVEN);
        };
        if qtype == RecordType::DS && cover.opt_out() {
            return Ok(Security::Insecure);
        }
        let wild = ce.prepend_label("*").map_err(|_| NOT_PROVEN)?;
        let hw = self.hash(&wild, budget)?;
        match self.nsec3_match(&hw) {
            Some(n)
                if !n.type_set().contains(qtype) && !n.type_set().contains(RecordType::CNAME) =>
            {
                Ok(Security::Secure)
            }
            _ => Err(NOT_PROVEN),
        }
    }
}
