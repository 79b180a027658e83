//! The DHCPRELEASE that `ringmasq-release` (dnsmasq's `dhcp_release`) forges for a client, as
//! the client would send it (RFC 2131 §4.4.6): `ciaddr` the released address, `chaddr` the
//! client's hardware address, option 54 the server's address and, when known, option 61 the
//! client identifier. The tool sends it to the server's address on the client's interface.

use std::net::Ipv4Addr;

use super::packet::{HEADER_LEN, MAGIC, code, msg};

/// Why an argument of the tool is unusable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseArgError {
    /// The hardware address is not `[TT-]hex:hex:...` of at most 16 bytes.
    #[error("bad MAC address {0:?}")]
    Mac(String),
    /// The client id is not colon-separated hex.
    #[error("bad client id {0:?}")]
    ClientId(String),
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    s.split(':')
        .map(|b| {
            (1..=2)
                .contains(&b.len())
                .then(|| u8::from_str_radix(b, 16).ok())
                .flatten()
        })
        .collect()
}

/// Parses a hardware address as the lease file writes it: `aa:bb:...`, optionally with an ARP
/// type prefix `TT-`. Returns (type, bytes).
pub fn parse_mac(s: &str) -> Result<(u8, Vec<u8>), ReleaseArgError> {
    let bad = || ReleaseArgError::Mac(s.to_owned());
    let (htype, rest) = match s.split_once('-') {
        Some((t, r)) => (u8::from_str_radix(t, 16).map_err(|_| bad())?, r),
        None => (1, s),
    };
    let bytes = if rest.is_empty() {
        Vec::new()
    } else {
        hex_bytes(rest).ok_or_else(bad)?
    };
    if bytes.len() > 16 {
        return Err(bad());
    }
    Ok((htype, bytes))
}

/// Parses the optional client id argument (`*` or empty: none).
pub fn parse_client_id(s: Option<&str>) -> Result<Option<Vec<u8>>, ReleaseArgError> {
    match s {
        None | Some("*") | Some("") => Ok(None),
        Some(c) => hex_bytes(c)
            .filter(|v| !v.is_empty() && v.len() <= 255)
            .map(Some)
            .ok_or_else(|| ReleaseArgError::ClientId(c.to_owned())),
    }
}

/// The DHCPRELEASE of `addr` by the client (`htype`, `mac`, `client_id`) to `server`.
pub fn packet(
    addr: Ipv4Addr,
    htype: u8,
    mac: &[u8],
    client_id: Option<&[u8]>,
    server: Ipv4Addr,
    xid: u32,
) -> Vec<u8> {
    let mac = &mac[..mac.len().min(16)];
    let mut p = vec![0u8; HEADER_LEN];
    p[0] = 1;
    p[1] = htype;
    p[2] = mac.len() as u8;
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[12..16].copy_from_slice(&addr.octets());
    p[28..28 + mac.len()].copy_from_slice(mac);
    p.extend_from_slice(&MAGIC);
    p.extend_from_slice(&[code::MESSAGE_TYPE, 1, msg::RELEASE, code::SERVER_ID, 4]);
    p.extend_from_slice(&server.octets());
    if let Some(id) = client_id {
        p.extend_from_slice(&[code::CLIENT_ID, id.len() as u8]);
        p.extend_from_slice(id);
    }
    p.push(code::END);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dhcp::packet::{OptionTable, parse};

    #[test]
    fn arguments_as_dnsmasq_takes_them() {
        assert_eq!(
            parse_mac("52:5d:7e:cc:65:76").unwrap(),
            (1, vec![0x52, 0x5d, 0x7e, 0xcc, 0x65, 0x76])
        );
        assert_eq!(parse_mac("06-01:23").unwrap(), (6, vec![1, 0x23]));
        assert!(parse_mac("zz:00").is_err());
        assert_eq!(parse_client_id(Some("*")).unwrap(), None);
        assert_eq!(parse_client_id(Some("01:aa")).unwrap(), Some(vec![1, 0xaa]));
        assert!(parse_client_id(Some("01::aa")).is_err());
    }

    #[test]
    fn packet_parses_as_a_release() {
        let p = packet(
            Ipv4Addr::new(10, 0, 0, 5),
            1,
            &[2, 0, 0, 0, 0, 5],
            Some(&[1, 2, 0, 0, 0, 0, 5]),
            Ipv4Addr::new(10, 0, 0, 1),
            7,
        );
        let mut opts = OptionTable::default();
        let r = parse(&p, &mut opts).unwrap();
        assert_eq!(r.msg_type, Some(msg::RELEASE));
        assert_eq!(r.chaddr, [2, 0, 0, 0, 0, 5]);
        assert_eq!(opts.addr(code::SERVER_ID), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(opts.get(code::CLIENT_ID), Some(&[1, 2, 0, 0, 0, 0, 5][..]));
    }
}
