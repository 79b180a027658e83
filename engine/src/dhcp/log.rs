//! `--log-dhcp` lines and the message type of replies, read from the raw datagrams.

use std::net::Ipv4Addr;

const MESSAGE_NAMES: [&str; 9] = [
    "BOOTREPLY",
    "DHCPDISCOVER",
    "DHCPOFFER",
    "DHCPREQUEST",
    "DHCPDECLINE",
    "DHCPACK",
    "DHCPNAK",
    "DHCPRELEASE",
    "DHCPINFORM",
];

/// The options of a DHCP message (after the 240-byte header and magic cookie), as
/// `(code, value)` pairs; stops at END or at a malformed length.
fn options(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = 240;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            match bytes[i] {
                0 => i += 1,
                255 => return None,
                code => {
                    let len = *bytes.get(i + 1)? as usize;
                    let value = bytes.get(i + 2..i + 2 + len)?;
                    i += 2 + len;
                    return Some((code, value));
                }
            }
        }
        None
    })
}

/// `--log-dhcp`: one line per request with its type, client and what it asked for.
pub fn log_request(bytes: &[u8], iface: &str) {
    if bytes.len() < 240 {
        return;
    }
    let hlen = (bytes[2] as usize).min(16);
    let mac: Vec<String> = bytes[28..28 + hlen]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut kind = "BOOTREQUEST";
    let mut requested = String::new();
    let mut host = String::new();
    let mut wanted = String::new();
    for (code, v) in options(bytes) {
        match code {
            53 => {
                kind = v
                    .first()
                    .and_then(|t| MESSAGE_NAMES.get(*t as usize))
                    .copied()
                    .unwrap_or("DHCP?")
            }
            50 if v.len() == 4 => requested = format!(" {}", Ipv4Addr::new(v[0], v[1], v[2], v[3])),
            12 => host = format!(" {}", String::from_utf8_lossy(v)),
            55 => {
                let codes: Vec<String> = v.iter().map(u8::to_string).collect();
                wanted = format!(", requested options: {}", codes.join(","));
            }
            _ => {}
        }
    }
    tracing::info!("{kind}({iface}){requested} {}{host}{wanted}", mac.join(":"));
}

/// `--log-dhcp`: the options a reply carries, code and length, as dnsmasq lists them.
pub fn log_reply_options(reply: &[u8]) {
    for (code, v) in options(reply) {
        tracing::info!("sent size: {:3} option: {code:3}", v.len());
    }
}

/// The message type (option 53) of a reply we built, for the log.
pub fn reply_kind(bytes: &[u8]) -> &'static str {
    let mut i = 240;
    while i + 1 < bytes.len() {
        match bytes[i] {
            0 => i += 1,
            255 => break,
            53 if i + 2 < bytes.len() => {
                return MESSAGE_NAMES
                    .get(bytes[i + 2] as usize)
                    .copied()
                    .unwrap_or("DHCP?");
            }
            _ => i += 2 + bytes[i + 1] as usize,
        }
    }
    "BOOTREPLY"
}

/// The routine log line of one sent reply (`DHCPACK(eth0) 10.0.0.5`), kept as a compact record
/// so the logger thread, not the DHCP thread, formats it.
#[derive(Clone, Copy, Debug)]
pub struct SentLine {
    kind: &'static str,
    iface: [u8; 16],
    iface_len: u8,
    yiaddr: Ipv4Addr,
}

impl SentLine {
    /// The line for a `kind` reply (from [`reply_kind`]) on interface `iface` giving `yiaddr`.
    pub fn new(kind: &'static str, iface: &str, yiaddr: Ipv4Addr) -> Self {
        let mut buf = [0u8; 16];
        // Interface names are at most 15 bytes (IFNAMSIZ); cut on a character boundary.
        let mut n = iface.len().min(16);
        while !iface.is_char_boundary(n) {
            n -= 1;
        }
        buf[..n].copy_from_slice(&iface.as_bytes()[..n]);
        SentLine {
            kind,
            iface: buf,
            iface_len: n as u8,
            yiaddr,
        }
    }
}

impl std::fmt::Display for SentLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let iface = std::str::from_utf8(&self.iface[..self.iface_len as usize]).unwrap_or("?");
        write!(f, "{}({iface}) {}", self.kind, self.yiaddr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_line_reads_as_the_direct_one() {
        let l = SentLine::new("DHCPACK", "veth-dhcp-long0", Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(l.to_string(), "DHCPACK(veth-dhcp-long0) 10.0.0.5");
        let l = SentLine::new("DHCPOFFER", "ééééééééé", Ipv4Addr::new(10, 0, 0, 6));
        assert_eq!(l.to_string(), "DHCPOFFER(éééééééé) 10.0.0.6");
    }
}
