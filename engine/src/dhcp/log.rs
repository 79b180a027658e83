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

/// Longest host name a [`SentLine`] keeps (a DNS label's limit; longer ones are cut).
const NAME_MAX: usize = 63;

/// Copies `src` into `buf`, cut to its length on a character boundary; returns the length.
fn copy_cut(buf: &mut [u8], src: &str) -> u8 {
    let mut n = src.len().min(buf.len());
    while !src.is_char_boundary(n) {
        n -= 1;
    }
    buf[..n].copy_from_slice(&src.as_bytes()[..n]);
    n as u8
}

/// The host name a reply carries: option 12, else the name in a Client FQDN option 81
/// (RFC 4702 §2: flags, two RCODE bytes, then the name, wire-encoded when the E flag is set);
/// its first label only, as dnsmasq logs it.
fn reply_host_name(reply: &[u8]) -> Option<&[u8]> {
    let mut fqdn = None;
    for (code, v) in options(reply) {
        match code {
            12 => fqdn = Some((false, v)),
            81 if v.len() > 3 && fqdn.is_none() => fqdn = Some((v[0] & 0x04 != 0, &v[3..])),
            _ => {}
        }
        if code == 12 {
            break;
        }
    }
    let (wire, name) = fqdn?;
    let label = if wire {
        let len = usize::from(*name.first()?);
        name.get(1..1 + len)?
    } else {
        name.split(|b| *b == b'.').next()?
    };
    (!label.is_empty()).then_some(label)
}

/// The routine log line of one sent reply, as dnsmasq prints it
/// (`DHCPACK(eth0) 10.0.0.5 52:54:00:12:34:56 host`), kept as a compact record so the logger
/// thread, not the DHCP thread, formats it.
#[derive(Clone, Copy, Debug)]
pub struct SentLine {
    kind: &'static str,
    iface: [u8; 16],
    iface_len: u8,
    yiaddr: Ipv4Addr,
    chaddr: [u8; 16],
    hlen: u8,
    name: [u8; NAME_MAX],
    name_len: u8,
}

impl SentLine {
    /// The line for `reply`, sent on interface `iface`: its kind (option 53), `yiaddr`, the
    /// client's hardware address and the host name the reply carries (option 12 or 81).
    pub fn new(reply: &[u8], iface: &str) -> Self {
        let mut iface_buf = [0u8; 16];
        // Interface names are at most 15 bytes (IFNAMSIZ).
        let iface_len = copy_cut(&mut iface_buf, iface);
        let yiaddr = reply.get(16..20).map_or(Ipv4Addr::UNSPECIFIED, |b| {
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        });
        let mut chaddr = [0u8; 16];
        let hlen = reply.get(2).map_or(0, |h| usize::from(*h).min(16));
        let hlen = match reply.get(28..28 + hlen) {
            Some(hw) => {
                chaddr[..hlen].copy_from_slice(hw);
                hlen as u8
            }
            None => 0,
        };
        let mut name = [0u8; NAME_MAX];
        let label = reply_host_name(reply).unwrap_or_default();
        let name_len = label.len().min(NAME_MAX);
        name[..name_len].copy_from_slice(&label[..name_len]);
        SentLine {
            kind: reply_kind(reply),
            iface: iface_buf,
            iface_len,
            yiaddr,
            chaddr,
            hlen,
            name,
            name_len: name_len as u8,
        }
    }
}

impl std::fmt::Display for SentLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let iface = std::str::from_utf8(&self.iface[..self.iface_len as usize]).unwrap_or("?");
        write!(f, "{}({iface}) {}", self.kind, self.yiaddr)?;
        for (i, b) in self.chaddr[..usize::from(self.hlen)].iter().enumerate() {
            let sep = if i == 0 { ' ' } else { ':' };
            write!(f, "{sep}{b:02x}")?;
        }
        let name = String::from_utf8_lossy(&self.name[..usize::from(self.name_len)]);
        if !name.is_empty() {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BOOTREPLY header for `mac` giving `yiaddr`, then `opts` (after the magic cookie).
    fn reply(mac: &[u8], yiaddr: [u8; 4], opts: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = 2;
        b[1] = 1;
        b[2] = mac.len() as u8;
        b[16..20].copy_from_slice(&yiaddr);
        b[28..28 + mac.len()].copy_from_slice(mac);
        b[236..240].copy_from_slice(&[99, 130, 83, 99]);
        b.extend_from_slice(opts);
        b.push(255);
        b
    }

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    #[test]
    fn sent_line_reads_as_dnsmasq_prints_it() {
        let r = reply(
            &MAC,
            [10, 0, 0, 5],
            &[53, 1, 5, 12, 4, b'h', b'o', b's', b't'],
        );
        let l = SentLine::new(&r, "veth-dhcp-long0");
        assert_eq!(
            l.to_string(),
            "DHCPACK(veth-dhcp-long0) 10.0.0.5 52:54:00:12:34:56 host"
        );
        // No name in the reply: address and MAC only; a long interface name cut whole.
        let r = reply(&MAC, [10, 0, 0, 6], &[53, 1, 2]);
        let l = SentLine::new(&r, "ééééééééé");
        assert_eq!(
            l.to_string(),
            "DHCPOFFER(éééééééé) 10.0.0.6 52:54:00:12:34:56"
        );
    }

    #[test]
    fn sent_line_name_from_fqdn() {
        // Option 81, E flag: wire-encoded "pc7.lan."; the first label is logged.
        let fqdn = [
            81, 12, 0x05, 255, 255, 3, b'p', b'c', b'7', 3, b'l', b'a', b'n', 0,
        ];
        let r = reply(&MAC, [10, 0, 0, 7], &[&[53, 1, 5][..], &fqdn].concat());
        assert!(SentLine::new(&r, "eth0").to_string().ends_with(":56 pc7"));
        // Without the E flag, ASCII.
        let fqdn = [81, 10, 0x01, 0, 0, b'p', b'c', b'8', b'.', b'l', b'a', b'n'];
        let r = reply(&MAC, [10, 0, 0, 8], &[&[53, 1, 5][..], &fqdn].concat());
        assert!(SentLine::new(&r, "eth0").to_string().ends_with(":56 pc8"));
    }

    #[test]
    fn sent_line_of_a_truncated_reply() {
        // Whatever the bytes, a line and no panic.
        let r = reply(&MAC, [10, 0, 0, 9], &[53, 1, 5, 12, 40, b'x']);
        for n in 0..r.len() {
            let _ = SentLine::new(&r[..n], "eth0").to_string();
        }
        let mut r = reply(&[0xaa; 16], [10, 0, 0, 9], &[53, 1, 5]);
        r[2] = 200;
        assert!(SentLine::new(&r, "eth0").to_string().ends_with(":aa"));
    }
}
