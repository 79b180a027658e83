//! The Client FQDN option (RFC 4704) in DHCPv6 replies: a client that sent one gets one back
//! with the name it is known by, as dnsmasq does. ringmasq puts lease names into its own DNS,
//! so it tells the client no update is done on its behalf elsewhere (N), unless
//! `--dhcp-client-update` lets the client's wish stand.

use super::wire;

/// The flag bits of the option's first byte (RFC 4704 §4.1).
pub mod flag {
    /// S: the server should perform (or performed) the AAAA update.
    pub const S: u8 = 0x01;
    /// O: the server overrode the client's S bit.
    pub const O: u8 = 0x02;
    /// N: the server performs no DNS update.
    pub const N: u8 = 0x04;
}

/// The option value to send to a client whose option value was `sent`: flags per RFC 4704
/// §5.2 (without `client_update`: N set, O set when the client asked with S; with it: the
/// client's S as sent), then `name` qualified with `domain` in DNS wire format (§4.2). `None`
/// when the client's option is empty (no flags byte).
pub fn reply_value(
    sent: &[u8],
    name: Option<&str>,
    domain: Option<&str>,
    client_update: bool,
) -> Option<Vec<u8>> {
    let asked = *sent.first()?;
    let flags = if client_update {
        asked & flag::S
    } else if asked & flag::S != 0 {
        flag::N | flag::O
    } else {
        flag::N
    };
    let mut v = vec![flags];
    if let Some(n) = name {
        let full = match domain.filter(|d| !d.is_empty()) {
            Some(d) => format!("{n}.{d}"),
            None => n.to_string(),
        };
        wire::put_names(&mut v, &[full]);
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_the_name_with_our_flags() {
        // dhclient -6 with `send fqdn.fqdn "client6"; send fqdn.server-update on;`: S set.
        let sent = b"\x01\x07client6";
        let v = reply_value(sent, Some("client6"), Some("lab6"), false).unwrap();
        assert_eq!(v, b"\x06\x07client6\x04lab6\x00");
        assert_eq!(wire::fqdn_host(&v).as_deref(), Some("client6"));
        // server-update off: N only; with --dhcp-client-update the client's S stands.
        assert_eq!(
            reply_value(b"\x00\x01a", Some("a"), None, false).unwrap()[0],
            flag::N
        );
        assert_eq!(
            reply_value(sent, Some("client6"), None, true).unwrap()[0],
            flag::S
        );
        assert_eq!(reply_value(b"\x00", None, None, false).unwrap(), [flag::N]);
        assert_eq!(reply_value(b"", Some("x"), None, false), None);
    }
}
