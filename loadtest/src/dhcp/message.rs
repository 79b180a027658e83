//! The DHCPv4 messages a simulated client sends (RFC 2131 §4.4) and the parts of a server's
//! reply it needs, built and read straight from bytes.

use std::net::Ipv4Addr;

/// RFC 2131 §3: the magic cookie that starts the options field.
pub const COOKIE: [u8; 4] = [99, 130, 83, 99];
/// Fixed BOOTP header length before the cookie (RFC 2131 §2, figure 1).
const HEADER: usize = 236;
/// Messages are padded to the 300-byte BOOTP minimum (RFC 1542 §2.1), as real clients do.
const MIN_LEN: usize = 300;

/// DHCP message types (RFC 2132 §9.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// DHCPDISCOVER.
    Discover = 1,
    /// DHCPOFFER.
    Offer = 2,
    /// DHCPREQUEST.
    Request = 3,
    /// DHCPDECLINE.
    Decline = 4,
    /// DHCPACK.
    Ack = 5,
    /// DHCPNAK.
    Nak = 6,
    /// DHCPRELEASE.
    Release = 7,
    /// DHCPINFORM.
    Inform = 8,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Discover,
            2 => Kind::Offer,
            3 => Kind::Request,
            4 => Kind::Decline,
            5 => Kind::Ack,
            6 => Kind::Nak,
            7 => Kind::Release,
            8 => Kind::Inform,
            _ => return None,
        })
    }
}

/// What a client puts in one message.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing {
    /// Message type.
    pub kind: Kind,
    /// Transaction ID.
    pub xid: u32,
    /// Client hardware address (Ethernet).
    pub mac: [u8; 6],
    /// `ciaddr`: the client's address when renewing or releasing (RFC 2131 table 5).
    pub ciaddr: Ipv4Addr,
    /// `giaddr` when the tool acts as relay agent (RFC 2131 §4.1), else 0.0.0.0.
    pub giaddr: Ipv4Addr,
    /// Option 50, requested address (REQUEST in SELECTING state).
    pub requested: Option<Ipv4Addr>,
    /// Option 54, server identifier (REQUEST in SELECTING state, RELEASE).
    pub server_id: Option<Ipv4Addr>,
    /// Set the BROADCAST flag (RFC 2131 §4.1), asking for broadcast replies.
    pub broadcast: bool,
    /// Seconds since the client began this exchange (`secs`).
    pub secs: u16,
}

impl Outgoing {
    /// Writes the message into `out` (cleared first).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.clear();
        out.resize(HEADER, 0);
        out[0] = 1; // BOOTREQUEST
        out[1] = 1; // Ethernet
        out[2] = 6;
        out[3] = u8::from(!self.giaddr.is_unspecified()); // hops: one relay passed
        out[4..8].copy_from_slice(&self.xid.to_be_bytes());
        out[8..10].copy_from_slice(&self.secs.to_be_bytes());
        if self.broadcast {
            out[10] = 0x80;
        }
        out[12..16].copy_from_slice(&self.ciaddr.octets());
        out[24..28].copy_from_slice(&self.giaddr.octets());
        out[28..34].copy_from_slice(&self.mac);
        out.extend_from_slice(&COOKIE);
        out.extend_from_slice(&[53, 1, self.kind as u8]);
        // Option 61: type 1 (Ethernet) + MAC, as udhcpc and dhclient send it.
        out.extend_from_slice(&[61, 7, 1]);
        out.extend_from_slice(&self.mac);
        if let Some(a) = self.requested {
            out.extend_from_slice(&[50, 4]);
            out.extend_from_slice(&a.octets());
        }
        if let Some(a) = self.server_id {
            out.extend_from_slice(&[54, 4]);
            out.extend_from_slice(&a.octets());
        }
        if self.kind != Kind::Release {
            // Option 57 (max message size) and 55 (parameter list: mask, router, DNS,
            // domain, lease time, server id).
            out.extend_from_slice(&[57, 2, 0x05, 0xdc, 55, 6, 1, 3, 6, 15, 51, 54]);
        }
        out.push(255);
        if out.len() < MIN_LEN {
            out.resize(MIN_LEN, 0);
        }
    }
}

/// The fields of a server's reply the client acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Message type (option 53).
    pub kind: Kind,
    /// Transaction ID.
    pub xid: u32,
    /// Client hardware address.
    pub mac: [u8; 6],
    /// `yiaddr`: the address offered or acknowledged.
    pub yiaddr: Ipv4Addr,
    /// Option 54, server identifier.
    pub server_id: Option<Ipv4Addr>,
    /// Option 51, lease time in seconds.
    pub lease_secs: Option<u32>,
}

/// Why a datagram was not a usable reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Shorter than header + cookie.
    #[error("too short")]
    Short,
    /// Not BOOTREPLY, not Ethernet, or no magic cookie.
    #[error("not a DHCP reply")]
    NotReply,
    /// An option runs past the end.
    #[error("option overruns the packet")]
    Truncated,
    /// No (or an unknown) option 53.
    #[error("no message type")]
    NoType,
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Reads a reply (RFC 2131 §2). Option overload (RFC 2132 §9.3) is not followed: the fields a
/// simulated client needs are always in the options field of the servers measured.
pub fn parse_reply(b: &[u8]) -> Result<Reply, ParseError> {
    if b.len() < HEADER + 4 {
        return Err(ParseError::Short);
    }
    if b[0] != 2 || b[1] != 1 || b[2] != 6 || b[HEADER..HEADER + 4] != COOKIE {
        return Err(ParseError::NotReply);
    }
    let mut kind = None;
    let mut server_id = None;
    let mut lease_secs = None;
    let mut i = HEADER + 4;
    while i < b.len() {
        let code = b[i];
        if code == 0 {
            i += 1;
            continue;
        }
        if code == 255 {
            break;
        }
        let len = usize::from(*b.get(i + 1).ok_or(ParseError::Truncated)?);
        let v = b.get(i + 2..i + 2 + len).ok_or(ParseError::Truncated)?;
        match (code, len) {
            (53, 1) => kind = Kind::from_u8(v[0]),
            (54, 4) => server_id = Some(addr(v)),
            (51, 4) => lease_secs = Some(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
            _ => {}
        }
        i += 2 + len;
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&b[28..34]);
    Ok(Reply {
        kind: kind.ok_or(ParseError::NoType)?,
        xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        mac,
        yiaddr: addr(&b[16..20]),
        server_id,
        lease_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A DHCPACK from ringmasq to this tool in the lab (tcpdump on the client's veth, UDP
    /// payload; 10.77.0.0/24, `--domain=lab.test`).
    const ACK: &str = "
        020106000d83b3e200008000000000000a4d005e0a4d000100000000025200000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000000000000
        00000000000000000000000000000000000000000000000000000000000000000000000063825363
        35010536040a4d0001330400000e103a04000007083b0400000c4e0104ffffff001c040a4d00ff03
        040a4d000106040a4d00010f086c61622e74657374ff";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_a_captured_ack() {
        let r = parse_reply(&hex(ACK)).unwrap();
        assert_eq!(r.kind, Kind::Ack);
        assert_eq!(r.xid, 0x0d83b3e2);
        assert_eq!(r.yiaddr, Ipv4Addr::new(10, 77, 0, 94));
        assert_eq!(r.server_id, Some(Ipv4Addr::new(10, 77, 0, 1)));
        assert_eq!(r.lease_secs, Some(3600));
        assert_eq!(r.mac, [0x02, 0x52, 0, 0, 0, 0]);
    }

    #[test]
    fn requests_are_not_replies_and_short_input_is_refused() {
        let mut out = Vec::new();
        Outgoing {
            kind: Kind::Discover,
            xid: 7,
            mac: [2, 0, 0, 0, 0, 1],
            ciaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            requested: None,
            server_id: None,
            broadcast: true,
            secs: 0,
        }
        .write(&mut out);
        assert_eq!(out.len(), MIN_LEN);
        assert_eq!(parse_reply(&out), Err(ParseError::NotReply));
        assert_eq!(parse_reply(&out[..100]), Err(ParseError::Short));
        let mut trunc = hex(ACK);
        let n = trunc.len();
        trunc[n - 10] = 200; // option 15's length, past the end
        assert_eq!(parse_reply(&trunc), Err(ParseError::Truncated));
    }

    proptest! {
        /// A request written and turned into a reply (op = 2) reads back with its fields.
        #[test]
        fn round_trip(xid: u32, mac: [u8; 6], ci: u32, gi: u32, req: Option<u32>,
                      sid: Option<u32>, bcast: bool, kind in 1u8..=8) {
            let kind = Kind::from_u8(kind).unwrap();
            let o = Outgoing {
                kind, xid, mac,
                ciaddr: Ipv4Addr::from(ci),
                giaddr: Ipv4Addr::from(gi),
                requested: req.map(Ipv4Addr::from),
                server_id: sid.map(Ipv4Addr::from),
                broadcast: bcast,
                secs: 3,
            };
            let mut b = Vec::new();
            o.write(&mut b);
            b[0] = 2;
            b[16..20].copy_from_slice(&ci.to_be_bytes());
            let r = parse_reply(&b).unwrap();
            prop_assert_eq!(r.kind, kind);
            prop_assert_eq!(r.xid, xid);
            prop_assert_eq!(r.mac, mac);
            prop_assert_eq!(r.yiaddr, Ipv4Addr::from(ci));
            prop_assert_eq!(r.server_id, sid.map(Ipv4Addr::from));
        }

        /// Arbitrary bytes never panic the reader.
        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_reply(&b);
        }
    }
}
