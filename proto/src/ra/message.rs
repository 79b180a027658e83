//! Router Solicitation and Router Advertisement messages (RFC 4861 4.1, 4.2) with the options a
//! router sends: source link-layer address, MTU, prefix information (RFC 4861 4.6), RDNSS and
//! DNSSL (RFC 8106 5). Encoding and decoding both ways; the ICMPv6 checksum is left at zero
//! (the kernel fills it in for raw ICMPv6 sockets, RFC 3542 3.1).

use std::net::Ipv6Addr;

use thiserror::Error;

/// ICMPv6 type of a Router Solicitation (RFC 4861 4.1).
pub const ROUTER_SOLICITATION: u8 = 133;
/// ICMPv6 type of a Router Advertisement (RFC 4861 4.2).
pub const ROUTER_ADVERTISEMENT: u8 = 134;

const OPT_SOURCE_LLA: u8 = 1;
const OPT_PREFIX: u8 = 3;
const OPT_MTU: u8 = 5;
const OPT_RDNSS: u8 = 25;
const OPT_DNSSL: u8 = 31;

/// Why a received message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Shorter than its fixed part.
    #[error("message too short")]
    Short,
    /// Not the ICMPv6 type expected, or a non-zero code (RFC 4861 6.1.1).
    #[error("wrong ICMPv6 type or code")]
    WrongType,
    /// An option with length zero or running past the end (RFC 4861 4.6: such a packet is
    /// silently discarded).
    #[error("malformed option")]
    BadOption,
    /// An option's body does not have the shape its type requires.
    #[error("malformed {0} option")]
    BadOptionBody(&'static str),
}

/// A received Router Solicitation (RFC 4861 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Solicitation {
    /// The sender's link-layer address option, if present.
    pub source_lla: Option<Vec<u8>>,
}

/// Router preference bits (RFC 4191 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Preference {
    /// 01.
    High,
    /// 00.
    #[default]
    Medium,
    /// 11.
    Low,
}

impl Preference {
    fn bits(self) -> u8 {
        match self {
            Preference::High => 0b01,
            Preference::Medium => 0b00,
            Preference::Low => 0b11,
        }
    }

    fn from_bits(b: u8) -> Preference {
        match b & 0b11 {
            0b01 => Preference::High,
            0b11 => Preference::Low,
            // 10 is reserved and read as medium (RFC 4191 2.2).
            _ => Preference::Medium,
        }
    }
}

/// One Prefix Information option (RFC 4861 4.6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixInfo {
    /// The prefix (bits past `len` are zero), or with the R flag the router's address in it.
    pub prefix: Ipv6Addr,
    /// Prefix length.
    pub len: u8,
    /// L: on-link.
    pub on_link: bool,
    /// A: usable for stateless address autoconfiguration (RFC 4862).
    pub autonomous: bool,
    /// R: `prefix` holds the router's full address (RFC 6275 7.2).
    pub router_address: bool,
    /// Valid lifetime, seconds (u32::MAX = infinity).
    pub valid: u32,
    /// Preferred lifetime, seconds.
    pub preferred: u32,
}

/// A Router Advertisement (RFC 4861 4.2) with its options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Advert {
    /// Cur Hop Limit (0 = unspecified).
    pub hop_limit: u8,
    /// M: addresses from DHCPv6.
    pub managed: bool,
    /// O: other configuration from DHCPv6.
    pub other: bool,
    /// Default router preference.
    pub preference: Preference,
    /// Router lifetime, seconds (0 = not a default router).
    pub router_lifetime: u16,
    /// Reachable time, ms (0 = unspecified).
    pub reachable_ms: u32,
    /// Retrans timer, ms (0 = unspecified).
    pub retrans_ms: u32,
    /// Source link-layer address option.
    pub source_lla: Option<Vec<u8>>,
    /// MTU option.
    pub mtu: Option<u32>,
    /// Prefix information options.
    pub prefixes: Vec<PrefixInfo>,
    /// RDNSS option (RFC 8106 5.1): lifetime and servers.
    pub rdnss: Option<(u32, Vec<Ipv6Addr>)>,
    /// DNSSL option (RFC 8106 5.2): lifetime and domains.
    pub dnssl: Option<(u32, Vec<String>)>,
}

fn push_option(out: &mut Vec<u8>, kind: u8, body: &[u8]) {
    // Length is in units of 8 octets including type and length (RFC 4861 4.6); pad with zeros.
    let total = (body.len() + 2).div_ceil(8) * 8;
    out.push(kind);
    out.push((total / 8) as u8);
    out.extend_from_slice(body);
    out.resize(out.len() + total - 2 - body.len(), 0);
}

/// Encodes a domain name in DNS wire form (RFC 1035 3.1) for DNSSL; `None` if a label is empty
/// or longer than 63 octets.
fn encode_name(name: &str, out: &mut Vec<u8>) -> Option<()> {
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    Some(())
}

impl Advert {
    /// The ICMPv6 message (checksum zero).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&[ROUTER_ADVERTISEMENT, 0, 0, 0, self.hop_limit]);
        let flags = (u8::from(self.managed) << 7)
            | (u8::from(self.other) << 6)
            | (self.preference.bits() << 3);
        out.push(flags);
        out.extend_from_slice(&self.router_lifetime.to_be_bytes());
        out.extend_from_slice(&self.reachable_ms.to_be_bytes());
        out.extend_from_slice(&self.retrans_ms.to_be_bytes());
        if let Some(lla) = &self.source_lla {
            push_option(&mut out, OPT_SOURCE_LLA, lla);
        }
        if let Some(mtu) = self.mtu {
            let mut body = vec![0, 0];
            body.extend_from_slice(&mtu.to_be_bytes());
            push_option(&mut out, OPT_MTU, &body);
        }
        for p in &self.prefixes {
            let mut body = vec![p.len];
            body.push(
                (u8::from(p.on_link) << 7)
                    | (u8::from(p.autonomous) << 6)
                    | (u8::from(p.router_address) << 5),
            );
            body.extend_from_slice(&p.valid.to_be_bytes());
            body.extend_from_slice(&p.preferred.to_be_bytes());
            body.extend_from_slice(&[0; 4]);
            body.extend_from_slice(&p.prefix.octets());
            push_option(&mut out, OPT_PREFIX, &body);
        }
        if let Some((lifetime, servers)) = &self.rdnss
            && !servers.is_empty()
        {
            let mut body = vec![0, 0];
            body.extend_from_slice(&lifetime.to_be_bytes());
            for s in servers {
                body.extend_from_slice(&s.octets());
            }
            push_option(&mut out, OPT_RDNSS, &body);
        }
        if let Some((lifetime, domains)) = &self.dnssl {
            let mut names = Vec::new();
            for d in domains {
                let mark = names.len();
                if encode_name(d, &mut names).is_none() {
                    names.truncate(mark);
                }
            }
            if !names.is_empty() {
                let mut body = vec![0, 0];
                body.extend_from_slice(&lifetime.to_be_bytes());
                body.extend_from_slice(&names);
                push_option(&mut out, OPT_DNSSL, &body);
            }
        }
        out
    }

    /// Decodes a Router Advertisement (used by tests, the fuzz target and to read what other
    /// routers on a link send).
    pub fn decode(b: &[u8]) -> Result<Advert, MessageError> {
        if b.len() < 16 {
            return Err(MessageError::Short);
        }
        if b[0] != ROUTER_ADVERTISEMENT || b[1] != 0 {
            return Err(MessageError::WrongType);
        }
        let mut a = Advert {
            hop_limit: b[4],
            managed: b[5] & 0x80 != 0,
            other: b[5] & 0x40 != 0,
            preference: Preference::from_bits(b[5] >> 3),
            router_lifetime: u16::from_be_bytes([b[6], b[7]]),
            reachable_ms: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            retrans_ms: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            ..Advert::default()
        };
        for (kind, body) in options(&b[16..])? {
            let be32 =
                |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
            match kind {
                OPT_SOURCE_LLA => a.source_lla = Some(trim_lla(body)),
                OPT_MTU => a.mtu = Some(be32(2)),
                OPT_PREFIX => {
                    if body.len() != 30 || body[0] > 128 {
                        return Err(MessageError::BadOptionBody("prefix information"));
                    }
                    let mut p = [0u8; 16];
                    p.copy_from_slice(&body[14..30]);
                    a.prefixes.push(PrefixInfo {
                        prefix: Ipv6Addr::from(p),
                        len: body[0],
                        on_link: body[1] & 0x80 != 0,
                        autonomous: body[1] & 0x40 != 0,
                        router_address: body[1] & 0x20 != 0,
                        valid: be32(2),
                        preferred: be32(6),
                    });
                }
                OPT_RDNSS => {
                    // RFC 8106 5.1: length 3 + 2n with n >= 1.
                    if body.len() < 22 || (body.len() - 6) % 16 != 0 {
                        return Err(MessageError::BadOptionBody("RDNSS"));
                    }
                    let servers = body[6..]
                        .chunks_exact(16)
                        .map(|c| {
                            let mut o = [0u8; 16];
                            o.copy_from_slice(c);
                            Ipv6Addr::from(o)
                        })
                        .collect();
                    a.rdnss = Some((be32(2), servers));
                }
                OPT_DNSSL => {
                    let names =
                        decode_names(&body[6..]).ok_or(MessageError::BadOptionBody("DNSSL"))?;
                    a.dnssl = Some((be32(2), names));
                }
                _ => {}
            }
        }
        Ok(a)
    }
}

/// Link-layer address options are padded to 8 octets; Ethernet's six are what matter.
fn trim_lla(body: &[u8]) -> Vec<u8> {
    if body.len() == 6 {
        body.to_vec()
    } else {
        let end = body.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        body[..end.max(6.min(body.len()))].to_vec()
    }
}

fn decode_names(mut b: &[u8]) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    while let Some((&len, rest)) = b.split_first() {
        if len == 0 {
            if labels.is_empty() {
                // Trailing padding (RFC 8106 5.2).
                if rest.iter().all(|x| *x == 0) {
                    break;
                }
                return None;
            }
            names.push(labels.join("."));
            labels.clear();
            b = rest;
            continue;
        }
        let len = usize::from(len);
        if len > 63 || rest.len() < len {
            return None;
        }
        labels.push(String::from_utf8_lossy(&rest[..len]).into_owned());
        b = &rest[len..];
    }
    labels.is_empty().then_some(names)
}

/// The options after a message's fixed part, as (type, body) pairs; any zero-length or
/// overrunning option rejects the whole message (RFC 4861 6.1.1, 6.1.2).
fn options(mut b: &[u8]) -> Result<Vec<(u8, &[u8])>, MessageError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        if b.len() < 2 {
            return Err(MessageError::BadOption);
        }
        let len = usize::from(b[1]) * 8;
        if len == 0 || len > b.len() {
            return Err(MessageError::BadOption);
        }
        let body = &b[2..len];
        let min = match b[0] {
            OPT_MTU => 6,
            OPT_RDNSS | OPT_DNSSL => 6,
            _ => 0,
        };
        if body.len() < min {
            return Err(MessageError::BadOptionBody("fixed part of an"));
        }
        out.push((b[0], body));
        b = &b[len..];
    }
    Ok(out)
}

impl Solicitation {
    /// Decodes a Router Solicitation; the hop limit (255) and source checks of RFC 4861 6.1.1
    /// are the caller's, who sees the IPv6 header.
    pub fn decode(b: &[u8]) -> Result<Solicitation, MessageError> {
        if b.len() < 8 {
            return Err(MessageError::Short);
        }
        if b[0] != ROUTER_SOLICITATION || b[1] != 0 {
            return Err(MessageError::WrongType);
        }
        let mut s = Solicitation::default();
        for (kind, body) in options(&b[8..])? {
            if kind == OPT_SOURCE_LLA {
                s.source_lla = Some(trim_lla(body));
            }
        }
        Ok(s)
    }

    /// Encodes a Router Solicitation (tests and the fuzz target's round trip).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
        if let Some(lla) = &self.source_lla {
            push_option(&mut out, OPT_SOURCE_LLA, lla);
        }
        out
    }
}
