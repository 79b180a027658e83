//! `--synth-domain=DOMAIN,RANGE[,PREFIX[*]]`: A/AAAA records for names that spell an address of
//! the range, and PTR records for the range's reverse names, as dnsmasq 2.90 gives them.
//!
//! Observed with dnsmasq 2.90:
//! - Forward: the first label is `PREFIX` + the address with `.` (IPv4) or `:` (IPv6) written as
//!   `-`; the rest of the name is `DOMAIN`. IPv6 may be written compressed (`2001-db8--1-2`) or
//!   not (`2001-db8-0-0-0-0-1-2`); IPv4 octets with leading zeros do not match. With `PREFIX*`
//!   the label is `PREFIX` + the decimal offset from the range's start. Names match whatever
//!   their case. Only A (IPv4 range), AAAA (IPv6 range) and ANY are answered; other types go on.
//! - Reverse: a PTR for any address of the range, to the name dnsmasq would generate: the
//!   compressed IPv6 text (as `inet_ntop` writes it) with `-` for `:`, and `0` put in front when
//!   there is no prefix and the text starts with `-` (`::1` is `0--1`). V4-mapped and
//!   -compatible addresses keep their dotted quad (`0--ffff-1-2-3-4`), a form the forward
//!   side does not read back (neither does dnsmasq: `0--ffff-102-304` is the name that works).
//! - TTL `--local-ttl`, AA set, NOERROR.
//!
//! Matching parses the question name in stack buffers: no allocation per query.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{LocalError, rtype, wire_name};

/// The in-addr.arpa suffix in wire form, RFC 1035 §3.5.
const IN_ADDR_ARPA: &[u8] = b"\x07in-addr\x04arpa\x00";
/// The ip6.arpa suffix in wire form, RFC 3596 §2.5.
const IP6_ARPA: &[u8] = b"\x03ip6\x04arpa\x00";
/// Longest label, RFC 1035 §2.3.4.
const MAX_LABEL: usize = 63;

/// One `--synth-domain` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthRule {
    /// DOMAIN, lowercase wire form with the root byte.
    domain: Box<[u8]>,
    /// PREFIX, lowercase, without the `*`.
    prefix: Box<[u8]>,
    /// `PREFIX*`: names carry the offset from `start`, not the address.
    sequential: bool,
    /// First address of the range (inclusive), as a number; IPv4 when `v4`.
    start: u128,
    /// Last address of the range (inclusive).
    end: u128,
    /// IPv4 range (else IPv6).
    v4: bool,
}

/// What a synthesized answer holds. Kept on the stack (no allocation per query), hence the
/// large PTR variant.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynthAnswer {
    /// An A or AAAA record for the question name.
    Addr(IpAddr),
    /// A PTR record; the target is `target[..len]` in wire form.
    Ptr {
        /// Target name buffer.
        target: [u8; 256],
        /// Length of the target in `target`.
        len: usize,
    },
}

fn to_num(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

impl SynthRule {
    /// A rule for addresses `start..=end` (same family, `start <= end`) named under `domain`.
    /// `prefix` ending in `*` asks for sequential names.
    pub fn new(domain: &str, start: IpAddr, end: IpAddr, prefix: &str) -> Result<Self, LocalError> {
        let bad = || LocalError::BadName(prefix.to_string());
        let (prefix, sequential) = match prefix.strip_suffix('*') {
            Some(p) => (p, true),
            None => (prefix, false),
        };
        if prefix.len() > MAX_LABEL || prefix.contains('.') {
            return Err(bad());
        }
        if start.is_ipv4() != end.is_ipv4() || to_num(start) > to_num(end) {
            return Err(LocalError::BadName(format!("{start},{end}")));
        }
        Ok(Self {
            domain: wire_name(domain)?.into(),
            prefix: prefix.to_ascii_lowercase().into_bytes().into(),
            sequential,
            start: to_num(start),
            end: to_num(end),
            v4: start.is_ipv4(),
        })
    }

    fn addr(&self, n: u128) -> IpAddr {
        if self.v4 {
            IpAddr::V4(Ipv4Addr::from(n as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(n))
        }
    }

    /// The address a forward label (without the domain) spells, if it is in the range.
    fn parse_label(&self, label: &[u8]) -> Option<IpAddr> {
        let text = label.strip_prefix(&*self.prefix)?;
        if text.is_empty() || text.len() > MAX_LABEL {
            return None;
        }
        let n = if self.sequential {
            if !text.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let mut off: u128 = 0;
            for &d in text {
                off = off.checked_mul(10)?.checked_add(u128::from(d - b'0'))?;
            }
            self.start.checked_add(off)?
        } else {
            let mut buf = [0u8; MAX_LABEL];
            let buf = &mut buf[..text.len()];
            let sep = if self.v4 { b'.' } else { b':' };
            for (o, &c) in buf.iter_mut().zip(text) {
                *o = if c == b'-' { sep } else { c };
            }
            if self.v4 {
                u128::from(u32::from(
                    std::str::from_utf8(buf).ok()?.parse::<Ipv4Addr>().ok()?,
                ))
            } else {
                // dnsmasq 2.90 writes v4-mapped addresses with their dotted quad
                // (`0--ffff-1-2-3-4`) but does not read that form back; neither do we.
                u128::from(std::str::from_utf8(buf).ok()?.parse::<Ipv6Addr>().ok()?)
            }
        };
        (self.start..=self.end).contains(&n).then(|| self.addr(n))
    }

    /// Writes the name of address `n` (in the range) in wire form; returns its length.
    fn write_name(&self, n: u128, out: &mut [u8; 256]) -> Option<usize> {
        let mut label = Label::default();
        label.push(&self.prefix);
        if self.sequential {
            write!(label, "{}", n - self.start).ok()?;
        } else if self.v4 {
            write!(label, "{}", Ipv4Addr::from(n as u32)).ok()?;
        } else {
            let a = Ipv6Addr::from(n);
            let s = a.segments();
            // inet_ntop writes `::a.b.c.d` for IPv4-compatible addresses (six zero words,
            // then a non-zero seventh); Rust writes those in hex.
            if s[..6] == [0; 6] && s[6] != 0 {
                let [_, _, _, _, _, _, _, _, _, _, _, _, w, x, y, z] = a.octets();
                if self.prefix.is_empty() {
                    label.push(b"0");
                }
                write!(label, "::{w}.{x}.{y}.{z}").ok()?;
            } else {
                if self.prefix.is_empty() && s[0] == 0 {
                    label.push(b"0"); // text starts with "::"
                }
                write!(label, "{a}").ok()?;
            }
        }
        if label.overflow || label.len == 0 {
            return None;
        }
        for c in &mut label.buf[self.prefix.len()..label.len] {
            if *c == b':' || *c == b'.' {
                *c = b'-';
            }
        }
        let total = 1 + label.len + self.domain.len();
        if total > out.len() {
            return None;
        }
        out[0] = label.len as u8;
        out[1..=label.len].copy_from_slice(&label.buf[..label.len]);
        out[1 + label.len..total].copy_from_slice(&self.domain);
        Some(total)
    }
}

/// One label being written, on the stack.
struct Label {
    buf: [u8; MAX_LABEL],
    len: usize,
    overflow: bool,
}

impl Default for Label {
    fn default() -> Self {
        Self {
            buf: [0; MAX_LABEL],
            len: 0,
            overflow: false,
        }
    }
}

impl Label {
    fn push(&mut self, s: &[u8]) {
        if self.len + s.len() > MAX_LABEL {
            self.overflow = true;
            return;
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }
}

impl std::fmt::Write for Label {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push(s.as_bytes());
        if self.overflow {
            Err(std::fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// The address of a reverse name (lowercase wire form): all four labels under in-addr.arpa
/// (RFC 1035 §3.5) or all 32 nibbles under ip6.arpa (RFC 3596 §2.5).
pub fn parse_reverse(name: &[u8]) -> Option<IpAddr> {
    if let Some(body) = name.strip_suffix(IN_ADDR_ARPA) {
        let mut octets = [0u8; 4];
        let mut pos = 0;
        for i in 0..4 {
            let len = usize::from(*body.get(pos)?);
            let label = body.get(pos + 1..pos + 1 + len)?;
            if label.is_empty() || label.len() > 3 || !label.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let v = label
                .iter()
                .fold(0u16, |v, &d| v * 10 + u16::from(d - b'0'));
            octets[3 - i] = u8::try_from(v).ok()?;
            pos += 1 + len;
        }
        (pos == body.len()).then(|| IpAddr::V4(Ipv4Addr::from(octets)))
    } else if let Some(body) = name.strip_suffix(IP6_ARPA) {
        if body.len() != 64 {
            return None;
        }
        let mut n: u128 = 0;
        for pair in body.chunks_exact(2).rev() {
            if pair[0] != 1 {
                return None;
            }
            let d = char::from(pair[1]).to_digit(16)?;
            n = (n << 4) | u128::from(d);
        }
        Some(IpAddr::V6(Ipv6Addr::from(n)))
    } else {
        None
    }
}

/// Looks the question up in `rules` (the first rule that matches wins). `name` is the question
/// name in lowercase wire form. No allocation.
pub fn lookup(rules: &[SynthRule], name: &[u8], qtype: u16) -> Option<SynthAnswer> {
    if rules.is_empty() {
        return None;
    }
    if matches!(qtype, rtype::PTR | rtype::ANY)
        && let Some(addr) = parse_reverse(name)
    {
        let n = to_num(addr);
        for r in rules {
            if r.v4 == addr.is_ipv4() && (r.start..=r.end).contains(&n) {
                let mut target = [0u8; 256];
                if let Some(len) = r.write_name(n, &mut target) {
                    return Some(SynthAnswer::Ptr { target, len });
                }
            }
        }
        return None;
    }
    let len = usize::from(*name.first()?);
    let label = name.get(1..1 + len)?;
    let rest = name.get(1 + len..)?;
    rules
        .iter()
        .filter(|r| {
            *r.domain == *rest
                && match qtype {
                    rtype::A => r.v4,
                    rtype::AAAA => !r.v4,
                    rtype::ANY => true,
                    _ => false,
                }
        })
        .find_map(|r| r.parse_label(label))
        .map(SynthAnswer::Addr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::local::reverse_name;

    fn rules() -> Vec<SynthRule> {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        vec![
            SynthRule::new(
                "syn.test",
                ip("192.168.0.0"),
                ip("192.168.0.255"),
                "internal-",
            )
            .unwrap(),
            SynthRule::new("seq.test", ip("10.1.0.50"), ip("10.1.0.70"), "host-*").unwrap(),
            SynthRule::new("plain.test", ip("172.16.0.0"), ip("172.16.255.255"), "").unwrap(),
            SynthRule::new(
                "v6.test",
                ip("2001:db8::"),
                ip("2001:db8::ffff:ffff:ffff:ffff"),
                "",
            )
            .unwrap(),
            SynthRule::new("v6s.test", ip("fd01::"), ip("fd01::ffff"), "n-*").unwrap(),
            SynthRule::new("z.test", ip("::"), ip("::ffff:ffff:ffff"), "").unwrap(),
        ]
    }

    fn fwd(name: &str, qtype: u16) -> Option<IpAddr> {
        match lookup(&rules(), &wire_name(name).unwrap(), qtype) {
            Some(SynthAnswer::Addr(a)) => Some(a),
            None => None,
            Some(o) => panic!("{o:?}"),
        }
    }

    fn rev(addr: &str) -> Option<String> {
        let n = reverse_name(addr.parse().unwrap());
        match lookup(&rules(), &n, rtype::PTR) {
            Some(SynthAnswer::Ptr { target, len }) => {
                let t = crate::dns::name::name_to_string(&target[..len]);
                Some(t.trim_end_matches('.').to_string())
            }
            None => None,
            Some(o) => panic!("{o:?}"),
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    /// Every case below is what dnsmasq 2.90 answered for the same rules.
    #[test]
    fn forward_matches_dnsmasq() {
        assert_eq!(
            fwd("internal-192-168-0-56.syn.test", rtype::A),
            ip("192.168.0.56")
        );
        assert_eq!(
            fwd("internal-192-168-0-56.syn.test", rtype::ANY),
            ip("192.168.0.56")
        );
        assert_eq!(
            fwd("INTERNAL-192-168-0-56.SYN.test", rtype::A),
            ip("192.168.0.56")
        );
        assert_eq!(fwd("internal-192-168-0-56.syn.test", rtype::AAAA), None);
        assert_eq!(fwd("internal-192-168-0-56.syn.test", rtype::TXT), None);
        assert_eq!(fwd("192-168-0-56.syn.test", rtype::A), None);
        assert_eq!(fwd("internal-192-168-1-56.syn.test", rtype::A), None);
        assert_eq!(fwd("internal-192-168-0-056.syn.test", rtype::A), None);
        assert_eq!(fwd("internal-192-168-0.syn.test", rtype::A), None);
        assert_eq!(fwd("x.internal-192-168-0-56.syn.test", rtype::A), None);
        assert_eq!(fwd("syn.test", rtype::A), None);
        assert_eq!(fwd("host-3.seq.test", rtype::A), ip("10.1.0.53"));
        assert_eq!(fwd("host-03.seq.test", rtype::A), ip("10.1.0.53"));
        assert_eq!(fwd("host-0.seq.test", rtype::A), ip("10.1.0.50"));
        assert_eq!(fwd("host-20.seq.test", rtype::A), ip("10.1.0.70"));
        assert_eq!(fwd("host-21.seq.test", rtype::A), None);
        assert_eq!(fwd("host--1.seq.test", rtype::A), None);
        assert_eq!(fwd("172-16-5-6.plain.test", rtype::A), ip("172.16.5.6"));
        assert_eq!(fwd("0-0-0-0.plain.test", rtype::A), None);
        assert_eq!(
            fwd("2001-db8--1-2.v6.test", rtype::AAAA),
            ip("2001:db8::1:2")
        );
        assert_eq!(
            fwd("2001-DB8--1-2.v6.test", rtype::AAAA),
            ip("2001:db8::1:2")
        );
        assert_eq!(
            fwd("2001-0db8--1-2.v6.test", rtype::AAAA),
            ip("2001:db8::1:2")
        );
        assert_eq!(
            fwd("2001-db8-0-0-0-0-1-2.v6.test", rtype::AAAA),
            ip("2001:db8::1:2")
        );
        assert_eq!(fwd("2001-db8-0-0-0-0-0-1-2.v6.test", rtype::AAAA), None);
        assert_eq!(fwd("2001-db8--.v6.test", rtype::AAAA), ip("2001:db8::"));
        assert_eq!(fwd("2001-db8--0.v6.test", rtype::AAAA), ip("2001:db8::"));
        assert_eq!(fwd("2001-db8--1-2.v6.test", rtype::A), None);
        assert_eq!(fwd("n-18.v6s.test", rtype::AAAA), ip("fd01::12"));
        assert_eq!(fwd("n-65535.v6s.test", rtype::AAAA), ip("fd01::ffff"));
        assert_eq!(fwd("n-65536.v6s.test", rtype::AAAA), None);
        assert_eq!(fwd("0--ffff-1-2-3-4.z.test", rtype::AAAA), None);
        assert_eq!(
            fwd("0--ffff-102-304.z.test", rtype::AAAA),
            ip("::ffff:1.2.3.4")
        );
        assert_eq!(fwd("0--102-304.z.test", rtype::AAAA), ip("::1.2.3.4"));
        assert_eq!(fwd("0--1.z.test", rtype::AAAA), ip("::1"));
    }

    #[test]
    fn reverse_matches_dnsmasq() {
        assert_eq!(
            rev("192.168.0.56").as_deref(),
            Some("internal-192-168-0-56.syn.test")
        );
        assert_eq!(rev("10.1.0.55").as_deref(), Some("host-5.seq.test"));
        assert_eq!(rev("10.1.0.71"), None);
        assert_eq!(
            rev("172.16.255.255").as_deref(),
            Some("172-16-255-255.plain.test")
        );
        assert_eq!(
            rev("2001:db8::1:2").as_deref(),
            Some("2001-db8--1-2.v6.test")
        );
        assert_eq!(rev("2001:db8::").as_deref(), Some("2001-db8--.v6.test"));
        assert_eq!(
            rev("2001:db8:0:0:1::").as_deref(),
            Some("2001-db8-0-0-1--.v6.test")
        );
        assert_eq!(rev("fd01::12").as_deref(), Some("n-18.v6s.test"));
        assert_eq!(rev("::1").as_deref(), Some("0--1.z.test"));
        assert_eq!(
            rev("::ffff:1.2.3.4").as_deref(),
            Some("0--ffff-1-2-3-4.z.test")
        );
        assert_eq!(rev("::1.2.3.4").as_deref(), Some("0--1-2-3-4.z.test"));
        assert_eq!(rev("2001:db9::1"), None);
    }

    #[test]
    fn reverse_names_parse_only_whole() {
        assert_eq!(
            parse_reverse(&wire_name("0.168.192.in-addr.arpa").unwrap()),
            None
        );
        assert_eq!(
            parse_reverse(&wire_name("256.0.168.192.in-addr.arpa").unwrap()),
            None
        );
        assert_eq!(parse_reverse(&wire_name("1.ip6.arpa").unwrap()), None);
        assert_eq!(
            parse_reverse(&reverse_name("fd00::abcd".parse().unwrap())),
            ip("fd00::abcd")
        );
    }

    #[test]
    fn bad_rules() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(SynthRule::new("d.test", a, b, "").is_err());
        assert!(SynthRule::new("d.test", a, "::1".parse().unwrap(), "").is_err());
        assert!(SynthRule::new("d.test", b, a, "a.b").is_err());
    }

    proptest::proptest! {
        /// Every address of a range names itself: reverse then forward gives it back.
        #[test]
        fn reverse_then_forward(n in 0u128..=0xffff_ffff_ffff_ffffu128, v4 in 0u32..=0xffff) {
            let r = rules();
            for addr in [
                IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | n)),
                IpAddr::V4(Ipv4Addr::from(0xac10_0000 | v4)),
                IpAddr::V6(Ipv6Addr::from(0xfd01u128 << 112 | u128::from(v4))),
            ] {
                let Some(SynthAnswer::Ptr { target, len }) =
                    lookup(&r, &reverse_name(addr), rtype::PTR)
                else {
                    panic!("no PTR for {addr}");
                };
                let back = lookup(&r, &target[..len], rtype::ANY);
                proptest::prop_assert_eq!(back, Some(SynthAnswer::Addr(addr)));
            }
        }
    }
}
