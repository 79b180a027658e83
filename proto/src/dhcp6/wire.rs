//! DHCPv6 wire format (RFC 8415 §8, §9, §21): client/server message header, relay header and
//! option TLVs. Decoding borrows from the datagram; encoding appends to a buffer.

use std::net::Ipv6Addr;

/// Message types (RFC 8415 §7.3).
pub mod msg {
    /// SOLICIT.
    pub const SOLICIT: u8 = 1;
    /// ADVERTISE.
    pub const ADVERTISE: u8 = 2;
    /// REQUEST.
    pub const REQUEST: u8 = 3;
    /// CONFIRM.
    pub const CONFIRM: u8 = 4;
    /// RENEW.
    pub const RENEW: u8 = 5;
    /// REBIND.
    pub const REBIND: u8 = 6;
    /// REPLY.
    pub const REPLY: u8 = 7;
    /// RELEASE.
    pub const RELEASE: u8 = 8;
    /// DECLINE.
    pub const DECLINE: u8 = 9;
    /// RECONFIGURE.
    pub const RECONFIGURE: u8 = 10;
    /// INFORMATION-REQUEST.
    pub const INFORMATION_REQUEST: u8 = 11;
    /// RELAY-FORW.
    pub const RELAY_FORW: u8 = 12;
    /// RELAY-REPL.
    pub const RELAY_REPL: u8 = 13;
}

/// Option codes used by the server (RFC 8415 §21, RFC 3646, RFC 4704, RFC 5908).
pub mod opt {
    /// Client Identifier.
    pub const CLIENTID: u16 = 1;
    /// Server Identifier.
    pub const SERVERID: u16 = 2;
    /// Identity Association for Non-temporary Addresses.
    pub const IA_NA: u16 = 3;
    /// Identity Association for Temporary Addresses.
    pub const IA_TA: u16 = 4;
    /// IA Address.
    pub const IAADDR: u16 = 5;
    /// Option Request.
    pub const ORO: u16 = 6;
    /// Preference.
    pub const PREFERENCE: u16 = 7;
    /// Relay Message.
    pub const RELAY_MSG: u16 = 9;
    /// Status Code.
    pub const STATUS_CODE: u16 = 13;
    /// Rapid Commit.
    pub const RAPID_COMMIT: u16 = 14;
    /// Interface-Id.
    pub const INTERFACE_ID: u16 = 18;
    /// DNS Recursive Name Server (RFC 3646).
    pub const DNS_SERVERS: u16 = 23;
    /// Domain Search List (RFC 3646).
    pub const DOMAIN_LIST: u16 = 24;
    /// User Class (RFC 8415 §21.15).
    pub const USER_CLASS: u16 = 15;
    /// Vendor Class (RFC 8415 §21.16).
    pub const VENDOR_CLASS: u16 = 16;
    /// Relay Agent Remote-ID (RFC 4649).
    pub const REMOTE_ID: u16 = 37;
    /// Relay Agent Subscriber-ID (RFC 4580).
    pub const SUBSCRIBER_ID: u16 = 38;
    /// Client FQDN (RFC 4704).
    pub const CLIENT_FQDN: u16 = 39;
}

/// Status codes (RFC 8415 §21.13).
pub mod status {
    /// Success.
    pub const SUCCESS: u16 = 0;
    /// Failure, reason unspecified.
    pub const UNSPEC_FAIL: u16 = 1;
    /// No addresses available for the IA.
    pub const NO_ADDRS_AVAIL: u16 = 2;
    /// The client's binding is unknown.
    pub const NO_BINDING: u16 = 3;
    /// The addresses are not appropriate for the link.
    pub const NOT_ON_LINK: u16 = 4;
}

/// Highest hop count a relay agent passes on (RFC 8415 §7.6 HOP_COUNT_LIMIT = 8; it was 32 in
/// RFC 3315 §5.5).
pub const HOP_COUNT_LIMIT: u8 = 8;

/// Most RELAY-FORW layers a conforming chain of relays can build: the first relay sets
/// hop-count 0 (RFC 8415 §19.1.1); each next one discards a message whose hop-count is
/// already at least HOP_COUNT_LIMIT and otherwise adds 1 (§19.1.2), so the outermost hop-count
/// is at most HOP_COUNT_LIMIT and there are at most HOP_COUNT_LIMIT + 1 layers.
pub const MAX_RELAY_LAYERS: usize = HOP_COUNT_LIMIT as usize + 1;

/// Why a datagram could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its header.
    #[error("short header")]
    Short,
    /// An option runs past the end of its container.
    #[error("option overruns its container")]
    Overrun,
    /// A relay message without a Relay Message option, or nested too deep.
    #[error("bad relay message")]
    Relay,
}

/// Iterates the options in `b` as `(code, value)`; stops with an error on an overrun.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    /// The options in `b` (a whole options area).
    pub fn new(b: &'a [u8]) -> Self {
        Options { rest: b }
    }

    /// Checks the whole area parses.
    pub fn validate(b: &[u8]) -> Result<(), WireError> {
        Options::new(b).try_for_each(|o| o.map(|_| ()))
    }

    /// The first option with `code`, if the area is well formed up to it.
    pub fn find(b: &'a [u8], code: u16) -> Option<&'a [u8]> {
        Options::new(b)
            .map_while(Result::ok)
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v)
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<(u16, &'a [u8]), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        if self.rest.len() < 4 {
            self.rest = &[];
            return Some(Err(WireError::Overrun));
        }
        let code = u16::from_be_bytes([self.rest[0], self.rest[1]]);
        let len = usize::from(u16::from_be_bytes([self.rest[2], self.rest[3]]));
        if self.rest.len() < 4 + len {
            self.rest = &[];
            return Some(Err(WireError::Overrun));
        }
        let v = &self.rest[4..4 + len];
        self.rest = &self.rest[4 + len..];
        Some(Ok((code, v)))
    }
}

/// One relay agent's header around the client message (RFC 8415 §9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayHop {
    /// Hop count as received.
    pub hop_count: u8,
    /// Link address (identifies the client's link; may be unspecified).
    pub link: Ipv6Addr,
    /// Peer address (where the relay got the message from).
    pub peer: Ipv6Addr,
    /// Interface-Id option to echo, if any (RFC 8415 §21.18).
    pub interface_id: Option<Vec<u8>>,
    /// Remote-ID option the relay added, if any (RFC 4649 §3: enterprise number, then the id).
    pub remote_id: Option<Vec<u8>>,
    /// Subscriber-ID option the relay added, if any (RFC 4580 §2).
    pub subscriber_id: Option<Vec<u8>>,
}

/// A decoded client message, with the relay hops it came through (outermost first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound<'a> {
    /// Relay hops, outermost first; empty when the client is on-link.
    pub relays: Vec<RelayHop>,
    /// Message type.
    pub msg_type: u8,
    /// Transaction id.
    pub xid: [u8; 3],
    /// The message's options area (validated).
    pub options: &'a [u8],
}

/// Decodes a datagram received on port 547: unwraps RELAY-FORW layers down to the client
/// message (RFC 8415 §9, §19), checking every options area.
pub fn decode(b: &[u8]) -> Result<Inbound<'_>, WireError> {
    decode_layers(b, msg::RELAY_FORW)
}

/// Decodes a server's answer the same way, unwrapping RELAY-REPL layers (tests, fuzzing).
pub fn decode_reply(b: &[u8]) -> Result<Inbound<'_>, WireError> {
    decode_layers(b, msg::RELAY_REPL)
}

fn decode_layers(mut b: &[u8], relay_type: u8) -> Result<Inbound<'_>, WireError> {
    let mut relays = Vec::new();
    loop {
        let t = *b.first().ok_or(WireError::Short)?;
        if t == relay_type {
            if b.len() < 34 {
                return Err(WireError::Short);
            }
            // RFC 8415 §19.1.2: no conforming relay chain is deeper than MAX_RELAY_LAYERS or
            // carries a hop-count above HOP_COUNT_LIMIT; such a message is dropped.
            if relays.len() >= MAX_RELAY_LAYERS || b[1] > HOP_COUNT_LIMIT {
                return Err(WireError::Relay);
            }
            let link =
                Ipv6Addr::from(<[u8; 16]>::try_from(&b[2..18]).map_err(|_| WireError::Short)?);
            let peer =
                Ipv6Addr::from(<[u8; 16]>::try_from(&b[18..34]).map_err(|_| WireError::Short)?);
            let opts = &b[34..];
            Options::validate(opts)?;
            let inner = Options::find(opts, opt::RELAY_MSG).ok_or(WireError::Relay)?;
            relays.push(RelayHop {
                hop_count: b[1],
                link,
                peer,
                interface_id: Options::find(opts, opt::INTERFACE_ID).map(<[u8]>::to_vec),
                remote_id: Options::find(opts, opt::REMOTE_ID).map(<[u8]>::to_vec),
                subscriber_id: Options::find(opts, opt::SUBSCRIBER_ID).map(<[u8]>::to_vec),
            });
            b = inner;
            continue;
        }
        if b.len() < 4 {
            return Err(WireError::Short);
        }
        let options = &b[4..];
        Options::validate(options)?;
        return Ok(Inbound {
            relays,
            msg_type: t,
            xid: [b[1], b[2], b[3]],
            options,
        });
    }
}

/// Appends one option.
pub fn put(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(value.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
    out.extend_from_slice(&value[..value.len().min(usize::from(u16::MAX))]);
}

/// Starts an option whose value is built in place; finish it with [`end`].
pub fn begin(out: &mut Vec<u8>, code: u16) -> usize {
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.len()
}

/// Ends an option started with [`begin`], writing its length.
pub fn end(out: &mut [u8], start: usize) {
    let len = (out.len() - start).min(usize::from(u16::MAX)) as u16;
    out[start - 2..start].copy_from_slice(&len.to_be_bytes());
}

/// Appends a Status Code option (RFC 8415 §21.13).
pub fn put_status(out: &mut Vec<u8>, code: u16, text: &str) {
    let s = begin(out, opt::STATUS_CODE);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    end(out, s);
}

/// Wraps a reply in RELAY-REPL layers mirroring `relays` (RFC 8415 §19.3: same hop count,
/// link and peer addresses; Interface-Id echoed).
pub fn wrap_relays(relays: &[RelayHop], reply: Vec<u8>) -> Vec<u8> {
    let mut inner = reply;
    for r in relays.iter().rev() {
        let mut out = Vec::with_capacity(inner.len() + 64);
        out.push(msg::RELAY_REPL);
        out.push(r.hop_count);
        out.extend_from_slice(&r.link.octets());
        out.extend_from_slice(&r.peer.octets());
        if let Some(id) = &r.interface_id {
            put(&mut out, opt::INTERFACE_ID, id);
        }
        put(&mut out, opt::RELAY_MSG, &inner);
        inner = out;
    }
    inner
}

/// Encodes domain names in DNS wire format without compression (RFC 8415 §10), as the
/// Domain Search List carries them; names with bad labels are skipped.
pub fn put_names(out: &mut Vec<u8>, names: &[String]) {
    for n in names {
        let labels: Vec<&str> = n.trim_end_matches('.').split('.').collect();
        if labels.iter().any(|l| l.is_empty() || l.len() > 63) {
            continue;
        }
        for l in labels {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
    }
}

/// The first label of a Client FQDN option (RFC 4704 §4: flags, then a wire-format name,
/// possibly partial), lowercased; `None` if absent or not a valid host label.
pub fn fqdn_host(v: &[u8]) -> Option<String> {
    let name = v.get(1..)?;
    let len = usize::from(*name.first()?);
    let label = name.get(1..1 + len)?;
    let ok = !label.is_empty()
        && label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && label[0] != b'-';
    ok.then(|| String::from_utf8_lossy(label).to_ascii_lowercase())
}

/// The items of a list of 16-bit-length-prefixed opaque fields, as in the User Class and
/// Vendor Class options (RFC 8415 §21.15, §21.16). A truncated last item ends the list.
pub fn opaque_items(mut v: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_be_bytes([*v.first()?, *v.get(1)?]));
        let item = v.get(2..2 + len)?;
        v = &v[2 + len..];
        Some(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SOLICIT (elapsed time only) inside `layers` RELAY-FORW layers, the innermost with
    /// hop-count 0 and each outer one 1 more, as a conforming chain of relays builds it.
    fn chain(layers: u8) -> Vec<u8> {
        let mut m = vec![msg::SOLICIT, 0, 0, 7, 0, 8, 0, 2, 0, 0];
        for hop in 0..layers {
            let mut r = vec![msg::RELAY_FORW, hop];
            r.extend_from_slice(&Ipv6Addr::UNSPECIFIED.octets());
            r.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
            put(&mut r, opt::RELAY_MSG, &m);
            m = r;
        }
        m
    }

    #[test]
    fn relay_chain_up_to_the_hop_count_limit() {
        // Nine relays: the last got hop-count 7 (< 8) and sent 8 (RFC 8415 §19.1.2).
        let nine = chain(HOP_COUNT_LIMIT + 1);
        let d = decode(&nine).unwrap();
        assert_eq!(d.relays.len(), MAX_RELAY_LAYERS);
        assert_eq!(d.relays[0].hop_count, HOP_COUNT_LIMIT);
        assert_eq!(d.msg_type, msg::SOLICIT);
        // A tenth relay would have discarded it.
        assert_eq!(decode(&chain(HOP_COUNT_LIMIT + 2)), Err(WireError::Relay));
    }

    #[test]
    fn relay_hop_count_above_the_limit_dropped() {
        let mut one = chain(1);
        one[1] = HOP_COUNT_LIMIT;
        assert!(decode(&one).is_ok());
        one[1] = HOP_COUNT_LIMIT + 1;
        assert_eq!(decode(&one), Err(WireError::Relay));
    }
}
