//! Collecting local records from the configuration and encoding them once into a
//! [`LocalData`] (at start and on SIGHUP; see the parent module for the answer rules).

use super::*;

/// One record to add: type, RDATA, TTL override.
#[derive(Clone, Debug)]
struct Pending {
    rtype: u16,
    rdata: Vec<u8>,
    ttl: Option<u32>,
    /// The record makes its name (and the names above it) "local" for the NXDOMAIN rewrite.
    claims: bool,
}

/// Collects local records; [`LocalDataBuilder::build`] encodes them.
#[derive(Clone, Debug, Default)]
pub struct LocalDataBuilder {
    /// Records per wire name, in the order given.
    records: Vec<(Vec<u8>, Pending)>,
    /// CNAMEs: alias wire name, target wire name, TTL override.
    cnames: Vec<(Vec<u8>, Vec<u8>, Option<u32>)>,
    /// Host-record addresses (name, address, ttl), for their PTR records.
    host_addrs: Vec<(Vec<u8>, IpAddr, Option<u32>)>,
    /// Names that are local even without records (`--interface-name` of an interface with
    /// no address).
    extra_claims: Vec<Vec<u8>>,
    /// `--synth-domain` rules, in the order given.
    synth: Vec<synth::SynthRule>,
}

fn push_string(out: &mut Vec<u8>, s: &[u8]) {
    // RFC 1035 §3.3: <character-string> is a length octet and at most 255 octets.
    let s = &s[..s.len().min(255)];
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

impl LocalDataBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(
        &mut self,
        name: &str,
        rtype: u16,
        rdata: Vec<u8>,
        ttl: Option<u32>,
    ) -> Result<(), LocalError> {
        if rdata.len() > usize::from(u16::MAX) {
            return Err(LocalError::TooLong(name.to_string()));
        }
        // dnsmasq 2.90 counts every local record except `--dns-rr` and `--caa-record` (which it
        // stores as a `--dns-rr`) when it decides whether a name is its own.
        let claims = rtype != rtype::CAA;
        self.records.push((
            wire_name(name)?,
            Pending {
                rtype,
                rdata,
                ttl,
                claims,
            },
        ));
        Ok(())
    }

    /// `--mx-host`: an MX record (RFC 1035 §3.3.9).
    pub fn mx(&mut self, name: &str, preference: u16, target: &str) -> Result<(), LocalError> {
        let mut r = preference.to_be_bytes().to_vec();
        r.extend(wire_name(target)?);
        self.add(name, rtype::MX, r, None)
    }

    /// `--srv-host`: an SRV record (RFC 2782).
    pub fn srv(
        &mut self,
        name: &str,
        priority: u16,
        weight: u16,
        port: u16,
        target: &str,
    ) -> Result<(), LocalError> {
        let mut r = Vec::with_capacity(8 + target.len());
        r.extend(priority.to_be_bytes());
        r.extend(weight.to_be_bytes());
        r.extend(port.to_be_bytes());
        r.extend(wire_name(target)?);
        self.add(name, rtype::SRV, r, None)
    }

    /// `--txt-record`: one TXT record of these strings (RFC 1035 §3.3.14).
    pub fn txt(&mut self, name: &str, strings: &[Vec<u8>]) -> Result<(), LocalError> {
        let mut r = Vec::new();
        for s in strings {
            push_string(&mut r, s);
        }
        self.add(name, rtype::TXT, r, None)
    }

    /// `--ptr-record`: a PTR record (RFC 1035 §3.3.12).
    pub fn ptr(&mut self, name: &str, target: &str) -> Result<(), LocalError> {
        let r = wire_name(target)?;
        self.add(name, rtype::PTR, r, None)
    }

    /// `--naptr-record`: a NAPTR record (RFC 3403 §4.1).
    #[allow(clippy::too_many_arguments)]
    pub fn naptr(
        &mut self,
        name: &str,
        order: u16,
        preference: u16,
        flags: &str,
        service: &str,
        regexp: &str,
        replacement: &str,
    ) -> Result<(), LocalError> {
        let mut r = Vec::new();
        r.extend(order.to_be_bytes());
        r.extend(preference.to_be_bytes());
        push_string(&mut r, flags.as_bytes());
        push_string(&mut r, service.as_bytes());
        push_string(&mut r, regexp.as_bytes());
        r.extend(wire_name(replacement)?);
        self.add(name, rtype::NAPTR, r, None)
    }

    /// `--caa-record`: a CAA record (RFC 8659 §4.1).
    pub fn caa(&mut self, name: &str, flags: u8, tag: &str, value: &str) -> Result<(), LocalError> {
        let mut r = vec![flags, tag.len().min(255) as u8];
        r.extend_from_slice(&tag.as_bytes()[..tag.len().min(255)]);
        r.extend_from_slice(value.as_bytes());
        self.add(name, rtype::CAA, r, None)
    }

    /// `--dns-rr`: any record type with raw RDATA.
    pub fn raw(&mut self, name: &str, rtype: u16, rdata: &[u8]) -> Result<(), LocalError> {
        self.add(name, rtype, rdata.to_vec(), None)?;
        if let Some((_, p)) = self.records.last_mut() {
            p.claims = false;
        }
        Ok(())
    }

    /// `--host-record`: an A or AAAA record for `name`, and (for the record's first name) the
    /// PTR record for `addr`.
    pub fn host(
        &mut self,
        names: &[&str],
        addr: IpAddr,
        ttl: Option<u32>,
    ) -> Result<(), LocalError> {
        let (t, r) = match addr {
            IpAddr::V4(a) => (rtype::A, a.octets().to_vec()),
            IpAddr::V6(a) => (rtype::AAAA, a.octets().to_vec()),
        };
        for n in names {
            self.add(n, t, r.clone(), ttl)?;
        }
        if let Some(first) = names.first() {
            self.host_addrs.push((wire_name(first)?, addr, ttl));
        }
        Ok(())
    }

    /// `--interface-name`: A/AAAA records of `name` for `addrs` (the interface's current
    /// addresses, already filtered), and PTR records for them unless the reverse names have one
    /// already (the first `--interface-name` or `--host-record` for an address wins). The name
    /// is local even with no address: other questions for it are forwarded, and an upstream
    /// NXDOMAIN becomes NOERROR (dnsmasq 2.90).
    pub fn interface_name(&mut self, name: &str, addrs: &[IpAddr]) -> Result<(), LocalError> {
        let wire = wire_name(name)?;
        for &a in addrs {
            self.host(&[name], a, None)?;
        }
        self.extra_claims.push(wire);
        Ok(())
    }

    /// `--synth-domain`: names and reverse names for an address range, answered after the
    /// other local records (see [`synth`]).
    pub fn synth_domain(&mut self, rule: synth::SynthRule) {
        self.synth.push(rule);
    }

    /// `--cname`: `alias` is `target`.
    pub fn cname(&mut self, alias: &str, target: &str, ttl: Option<u32>) -> Result<(), LocalError> {
        self.cnames
            .push((wire_name(alias)?, wire_name(target)?, ttl));
        Ok(())
    }

    /// Encodes every record with TTL `local_ttl` (unless overridden), resolving CNAME chains
    /// against these records and `hosts`.
    pub fn build(mut self, local_ttl: u32, hosts: Option<&HostsTable>) -> LocalData {
        let mut d = LocalData {
            synth: std::mem::take(&mut self.synth),
            local_ttl,
            ..LocalData::default()
        };
        // Host-record PTRs, unless the reverse name already has one.
        for (name, addr, ttl) in std::mem::take(&mut self.host_addrs) {
            let rev = reverse_name(addr);
            let has = self
                .records
                .iter()
                .any(|(n, p)| *n == rev && p.rtype == rtype::PTR);
            if !has {
                self.records.push((
                    rev,
                    Pending {
                        rtype: rtype::PTR,
                        rdata: name,
                        ttl,
                        // dnsmasq does not count the reverse names of `--host-record`s.
                        claims: false,
                    },
                ));
            }
        }
        for name in self
            .records
            .iter()
            .filter(|(_, p)| p.claims)
            .map(|(n, _)| n)
            .chain(self.cnames.iter().map(|(a, _, _)| a))
            .chain(self.extra_claims.iter())
        {
            d.claim(name);
        }
        for (name, p) in &self.records {
            if self.cnames.iter().any(|(a, _, _)| a == name) {
                continue;
            }
            let e = d.entry(name);
            let at = d.bytes.len();
            encode_rr(
                &mut d.bytes,
                None,
                p.rtype,
                p.ttl.unwrap_or(local_ttl),
                &p.rdata,
            );
            d.entries[e].recs.push(Rr {
                rtype: p.rtype,
                start: at as u32,
                len: (d.bytes.len() - at) as u32,
            });
        }
        for (alias, _, _) in &self.cnames {
            let e = d.entry(alias);
            if d.entries[e].chain.is_some() {
                continue; // the first --cname for an alias wins
            }
            let mut chain = Chain::default();
            let mut owner: Option<&[u8]> = None;
            let mut cur: &[u8] = alias;
            let mut hops = 0;
            // Follow alias -> target -> ... while the names are our own CNAMEs.
            while let Some((_, target, ttl)) =
                self.cnames.iter().find(|(a, _, _)| a.as_slice() == cur)
            {
                if hops == MAX_CHAIN {
                    break;
                }
                let at = d.bytes.len();
                encode_rr(
                    &mut d.bytes,
                    owner,
                    rtype::CNAME,
                    ttl.unwrap_or(local_ttl),
                    target,
                );
                let rr = Rr {
                    rtype: rtype::CNAME,
                    start: at as u32,
                    len: (d.bytes.len() - at) as u32,
                };
                if owner.is_none() {
                    chain.first = rr;
                } else {
                    chain.rest.push(rr);
                }
                owner = Some(target);
                cur = target;
                hops += 1;
            }
            if hops < MAX_CHAIN {
                // The final target's local records, with its full name as owner.
                for (n, p) in &self.records {
                    if n.as_slice() == cur {
                        let at = d.bytes.len();
                        encode_rr(
                            &mut d.bytes,
                            Some(cur),
                            p.rtype,
                            p.ttl.unwrap_or(local_ttl),
                            &p.rdata,
                        );
                        chain.tail.push(Rr {
                            rtype: p.rtype,
                            start: at as u32,
                            len: (d.bytes.len() - at) as u32,
                        });
                    }
                }
                if chain.tail.is_empty()
                    && let Some(h) = hosts
                {
                    let text = crate::dns::name::name_to_string(cur);
                    for a in h.lookup(&text) {
                        let (t, r): (u16, Vec<u8>) = match a {
                            IpAddr::V4(v) => (rtype::A, v.octets().to_vec()),
                            IpAddr::V6(v) => (rtype::AAAA, v.octets().to_vec()),
                        };
                        let at = d.bytes.len();
                        encode_rr(&mut d.bytes, Some(cur), t, local_ttl, &r);
                        chain.tail.push(Rr {
                            rtype: t,
                            start: at as u32,
                            len: (d.bytes.len() - at) as u32,
                        });
                    }
                }
            }
            d.entries[e].recs.clear();
            d.entries[e].chain = Some(chain);
        }
        d
    }
}

/// Writes one RR: owner (`None` = pointer to the question name), type, class IN, TTL, RDATA.
fn encode_rr(out: &mut Vec<u8>, owner: Option<&[u8]>, rtype: u16, ttl: u32, rdata: &[u8]) {
    match owner {
        None => out.extend_from_slice(&PTR_TO_QNAME),
        Some(o) => out.extend_from_slice(o),
    }
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
}
