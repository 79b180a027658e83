//! `ra-names`: DNS names for the SLAAC addresses of dual-stack hosts. A host with a named
//! DHCPv4 lease on a link where an `ra-names` range advertises a prefix is assumed to have
//! built its SLAAC address from its MAC (modified EUI-64, RFC 4291 appendix A, RFC 2464 §4);
//! that address is pinged (ICMPv6 echo, RFC 4443 §4.1) with a growing interval, and once it
//! answers, the lease's name also answers AAAA and PTR for it. Sans-IO: the engine sends the
//! echo requests this returns and hands back the replies it receives.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;
use std::time::Duration;

use crate::time::Instant;

/// ICMPv6 Echo Request type (RFC 4443 §4.1).
pub const ECHO_REQUEST: u8 = 128;
/// ICMPv6 Echo Reply type (RFC 4443 §4.2).
pub const ECHO_REPLY: u8 = 129;
/// Echo requests sent to one guessed address before it is given up (until its lease or
/// prefix changes).
pub const MAX_PINGS: u32 = 10;

/// The SLAAC address a host with Ethernet address `mac` forms in the /64 `prefix`: the
/// interface identifier is the MAC with ff:fe in its middle and the universal/local bit
/// inverted (RFC 4291 appendix A, RFC 2464 §4).
pub fn eui64_address(prefix: Ipv6Addr, mac: [u8; 6]) -> Ipv6Addr {
    let mut o = prefix.octets();
    o[8] = mac[0] ^ 0x02;
    o[9] = mac[1];
    o[10] = mac[2];
    o[11] = 0xff;
    o[12] = 0xfe;
    o[13] = mac[3];
    o[14] = mac[4];
    o[15] = mac[5];
    Ipv6Addr::from(o)
}

/// An ICMPv6 Echo Request with identifier `id` and sequence `seq`; the checksum is left zero
/// for the kernel to fill in (raw ICMPv6 sockets always do, RFC 3542 §3.1).
pub fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut b = vec![ECHO_REQUEST, 0, 0, 0];
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(b"ringmasq");
    b
}

/// `(identifier, sequence)` of an ICMPv6 Echo Reply (RFC 4443 §4.2); `None` for anything else.
pub fn decode_echo_reply(bytes: &[u8]) -> Option<(u16, u16)> {
    match bytes {
        [ECHO_REPLY, 0, _, _, i0, i1, s0, s1, ..] => Some((
            u16::from_be_bytes([*i0, *i1]),
            u16::from_be_bytes([*s0, *s1]),
        )),
        _ => None,
    }
}

/// A host worth probing: a named DHCPv4 lease with an Ethernet address, on a link where an
/// `ra-names` range advertises `prefix` (a /64).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The lease's name.
    pub name: String,
    /// The lease's Ethernet address.
    pub mac: [u8; 6],
    /// The advertised prefix (masked to /64).
    pub prefix: Ipv6Addr,
    /// The link's interface index (where echo requests leave).
    pub ifindex: u32,
}

#[derive(Clone, Debug)]
struct Probe {
    name: String,
    ifindex: u32,
    confirmed: bool,
    sent: u32,
    due: Instant,
}

/// One echo request to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    /// The guessed SLAAC address.
    pub to: Ipv6Addr,
    /// Interface to send on.
    pub ifindex: u32,
    /// Sequence number (the count of requests sent to this address so far).
    pub seq: u16,
}

/// The guessed addresses, their probes and which have answered.
#[derive(Clone, Debug, Default)]
pub struct SlaacNames {
    probes: BTreeMap<Ipv6Addr, Probe>,
}

impl SlaacNames {
    /// An empty table.
    pub fn new() -> SlaacNames {
        SlaacNames::default()
    }

    /// Replaces the set of candidates: new guesses are probed at once, guesses whose lease,
    /// name or prefix went are forgotten (and lose their name). Returns whether a confirmed
    /// name changed.
    pub fn sync(&mut self, candidates: &[Candidate], now: Instant) -> bool {
        let mut changed = false;
        let mut wanted: BTreeMap<Ipv6Addr, &Candidate> = BTreeMap::new();
        for c in candidates {
            wanted.insert(eui64_address(c.prefix, c.mac), c);
        }
        self.probes.retain(|addr, p| {
            let keep = wanted
                .get(addr)
                .is_some_and(|c| c.name == p.name && c.ifindex == p.ifindex);
            changed |= !keep && p.confirmed;
            keep
        });
        for (addr, c) in wanted {
            self.probes.entry(addr).or_insert_with(|| Probe {
                name: c.name.clone(),
                ifindex: c.ifindex,
                confirmed: false,
                sent: 0,
                due: now,
            });
        }
        changed
    }

    /// The echo requests due at `now`; each probe's next one is scheduled after 1, 2, 4, ...
    /// seconds (at most 64), and a probe stops after [`MAX_PINGS`] or once answered.
    pub fn due(&mut self, now: Instant) -> Vec<Ping> {
        let mut out = Vec::new();
        for (addr, p) in &mut self.probes {
            if p.confirmed || p.sent >= MAX_PINGS || p.due > now {
                continue;
            }
            out.push(Ping {
                to: *addr,
                ifindex: p.ifindex,
                seq: p.sent as u16,
            });
            p.sent += 1;
            let wait = Duration::from_secs(1 << (p.sent - 1).min(6));
            p.due = now.saturating_add(wait);
        }
        out
    }

    /// When the next echo request is due, if any is.
    pub fn next_due(&self) -> Option<Instant> {
        self.probes
            .values()
            .filter(|p| !p.confirmed && p.sent < MAX_PINGS)
            .map(|p| p.due)
            .min()
    }

    /// An echo reply from `from`: the guess is confirmed. Returns whether that added a name.
    pub fn answered(&mut self, from: Ipv6Addr) -> bool {
        match self.probes.get_mut(&from) {
            Some(p) if !p.confirmed => {
                p.confirmed = true;
                true
            }
            _ => false,
        }
    }

    /// `(address, name)` of every confirmed guess.
    pub fn names(&self) -> impl Iterator<Item = (Ipv6Addr, &str)> {
        self.probes
            .iter()
            .filter(|(_, p)| p.confirmed)
            .map(|(a, p)| (*a, p.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: [u8; 6] = [0x02, 0x66, 0x00, 0x00, 0x00, 0x02];

    fn cand(name: &str) -> Candidate {
        Candidate {
            name: name.into(),
            mac: MAC,
            prefix: "2001:db8:5::".parse().unwrap(),
            ifindex: 7,
        }
    }

    #[test]
    fn eui64_matches_the_kernel() {
        // The address Linux formed for this MAC in the ra_slaac end-to-end test.
        let a = eui64_address("2001:db8:5::".parse().unwrap(), MAC);
        assert_eq!(a, "2001:db8:5:0:66:ff:fe00:2".parse::<Ipv6Addr>().unwrap());
        let b = eui64_address("fd00::".parse().unwrap(), [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(b, "fd00::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn echo_reply_captured() {
        // An echo reply as a raw ICMPv6 socket delivers it (no IPv6 header; identifier 0x1c2b,
        // sequence 1, two bytes of data).
        let bytes = [0x81, 0x00, 0x5b, 0x3a, 0x1c, 0x2b, 0x00, 0x01, 0xde, 0xad];
        assert_eq!(decode_echo_reply(&bytes), Some((0x1c2b, 1)));
        assert_eq!(decode_echo_reply(&bytes[..7]), None);
        let mut req = bytes;
        req[0] = ECHO_REQUEST;
        assert_eq!(decode_echo_reply(&req), None);
    }

    #[test]
    fn named_only_after_an_answer() {
        let mut t = SlaacNames::new();
        let t0 = Instant::from_secs(100);
        assert!(!t.sync(&[cand("dual")], t0));
        let pings = t.due(t0);
        assert_eq!(pings.len(), 1);
        let addr = pings[0].to;
        assert_eq!((pings[0].ifindex, pings[0].seq), (7, 0));
        assert_eq!(t.names().count(), 0, "no name before an echo reply");
        // Not due again before a second has passed, then backing off.
        assert!(t.due(Instant::from_millis(100_500)).is_empty());
        assert_eq!(t.due(Instant::from_secs(101))[0].seq, 1);
        assert!(t.due(Instant::from_secs(102)).is_empty());
        assert_eq!(t.due(Instant::from_secs(103)).len(), 1);
        assert!(!t.answered("2001:db8::1".parse().unwrap()), "a stranger");
        assert!(t.answered(addr));
        assert!(!t.answered(addr));
        assert_eq!(t.names().collect::<Vec<_>>(), vec![(addr, "dual")]);
        assert_eq!(t.next_due(), None);
        assert!(t.due(Instant::from_secs(500)).is_empty());
        // Same candidate again: kept; a new name: forgotten and probed afresh.
        assert!(!t.sync(&[cand("dual")], Instant::from_secs(600)));
        assert!(t.sync(&[cand("other")], Instant::from_secs(601)));
        assert_eq!(t.names().count(), 0);
        assert_eq!(t.due(Instant::from_secs(601)).len(), 1);
        // The lease went: nothing left to probe.
        t.sync(&[], Instant::from_secs(602));
        assert_eq!(t.next_due(), None);
    }

    #[test]
    fn gives_up_after_max_pings() {
        let mut t = SlaacNames::new();
        t.sync(&[cand("quiet")], Instant::from_secs(0));
        let mut sent = 0;
        for s in 0..2000 {
            sent += t.due(Instant::from_secs(s)).len();
        }
        assert_eq!(sent as u32, MAX_PINGS);
        assert_eq!(t.next_due(), None);
    }

    proptest! {
        #[test]
        fn echo_round_trip(id: u16, seq: u16) {
            let mut b = echo_request(id, seq);
            prop_assert_eq!(decode_echo_reply(&b), None);
            b[0] = ECHO_REPLY;
            prop_assert_eq!(decode_echo_reply(&b), Some((id, seq)));
        }
    }
}
