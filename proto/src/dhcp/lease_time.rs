//! The local lease-time query of `ringmasq-lease-time` (dnsmasq's `dhcp_lease_time`): a
//! DHCPINFORM sent from this host to 127.0.0.1:67 whose `ciaddr` names a leased address and whose
//! parameter list asks for option 51. The server answers, to the sender's own address and port,
//! a DHCPACK carrying the time left on that lease in option 51 (`0xffffffff` when infinite), or
//! no option 51 when the address has no lease.
//!
//! Both halves live here: [`query`] and [`parse_answer`] for the tool, [`local_query`] and
//! [`answer`] for the server.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::packet::{HEADER_LEN, MAGIC, code, msg};

/// Builds the query for `addr` with transaction id `xid`.
pub fn query(addr: Ipv4Addr, xid: u32) -> Vec<u8> {
    let mut p = vec![0u8; HEADER_LEN];
    p[0] = 1; // BOOTREQUEST
    p[4..8].copy_from_slice(&xid.to_be_bytes());
    p[12..16].copy_from_slice(&addr.octets());
    p.extend_from_slice(&MAGIC);
    p.extend_from_slice(&[
        code::MESSAGE_TYPE,
        1,
        msg::INFORM,
        code::PARAM_REQUEST,
        1,
        code::LEASE_TIME,
        code::END,
    ]);
    p
}

/// The options of a message after the cookie, as `(code, value)`; stops at END or a bad length.
fn options(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut i = HEADER_LEN + 4;
    let ok = bytes.len() >= i && bytes[HEADER_LEN..i] == MAGIC;
    std::iter::from_fn(move || {
        while ok && i < bytes.len() {
            match bytes[i] {
                code::PAD => i += 1,
                code::END => return None,
                c => {
                    let n = usize::from(*bytes.get(i + 1)?);
                    let v = bytes.get(i + 2..i + 2 + n)?;
                    i += 2 + n;
                    return Some((c, v));
                }
            }
        }
        None
    })
}

/// What the server said about the address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseTime {
    /// Seconds left.
    Remaining(u32),
    /// An infinite lease.
    Infinite,
    /// The address has no lease.
    NoLease,
}

/// Reads the server's answer to the query with `xid`; `None` when `bytes` is not that answer.
pub fn parse_answer(bytes: &[u8], xid: u32) -> Option<LeaseTime> {
    if bytes.len() < HEADER_LEN + 4 || bytes[0] != 2 || bytes[4..8] != xid.to_be_bytes() {
        return None;
    }
    let mut ack = false;
    let mut time = LeaseTime::NoLease;
    for (c, v) in options(bytes) {
        match (c, v) {
            (code::MESSAGE_TYPE, [t]) => ack = *t == msg::ACK,
            (code::LEASE_TIME, [a, b, c, d]) => {
                time = match u32::from_be_bytes([*a, *b, *c, *d]) {
                    u32::MAX => LeaseTime::Infinite,
                    n => LeaseTime::Remaining(n),
                }
            }
            _ => {}
        }
    }
    ack.then_some(time)
}

/// `1d2h3m4s` as dnsmasq's tool prints it (zero parts left out; `0s` for nothing left).
pub fn format_remaining(secs: u32) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, n) in [
        ('d', secs / 86_400),
        ('h', secs / 3600 % 24),
        ('m', secs / 60 % 60),
        ('s', secs % 60),
    ] {
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
        }
    }
    out
}

/// Whether a request is this host's lease-time query: a DHCPINFORM from a loopback address
/// with `ciaddr` set (dnsmasq's tool sends it with hardware length 0, which would otherwise be
/// dropped as malformed). Returns the queried address.
pub fn local_query(src: SocketAddrV4, bytes: &[u8]) -> Option<Ipv4Addr> {
    if !src.ip().is_loopback() || bytes.len() < HEADER_LEN + 4 || bytes[0] != 1 {
        return None;
    }
    let ciaddr = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
    let inform = options(bytes).any(|(c, v)| c == code::MESSAGE_TYPE && v == [msg::INFORM]);
    (inform && !ciaddr.is_unspecified()).then_some(ciaddr)
}

/// Writes the DHCPACK answering `request` into `out` (at least 300 bytes): the lease's expiry
/// `expires` (0 = infinite) at `wall`, or `None` for no lease. Returns its length.
pub fn answer(request: &[u8], expires: Option<u64>, wall: u64, out: &mut [u8]) -> usize {
    let len = 300.min(out.len());
    out[..len].fill(0);
    out[0] = 2; // BOOTREPLY
    out[1..8].copy_from_slice(&request[1..8]);
    out[12..16].copy_from_slice(&request[12..16]);
    out[28..44].copy_from_slice(&request[28..44]);
    out[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&MAGIC);
    let mut i = HEADER_LEN + 4;
    out[i..i + 3].copy_from_slice(&[code::MESSAGE_TYPE, 1, msg::ACK]);
    i += 3;
    if let Some(e) = expires {
        let left = if e == 0 {
            u32::MAX
        } else {
            u32::try_from(e.saturating_sub(wall)).unwrap_or(u32::MAX - 1)
        };
        out[i..i + 2].copy_from_slice(&[code::LEASE_TIME, 4]);
        out[i + 2..i + 6].copy_from_slice(&left.to_be_bytes());
        i += 6;
    }
    out[i] = code::END;
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The query dnsmasq 2.90's dhcp_lease_time sent (captured with strace): htype and hlen
    /// 0, ciaddr 10.88.0.50, INFORM asking for option 51; its answer parsed back.
    #[test]
    fn query_answer_round_trip_and_dnsmasq_form() {
        let mut dnsmasq = vec![0u8; 548];
        dnsmasq[0] = 1;
        dnsmasq[12..16].copy_from_slice(&[10, 88, 0, 50]);
        dnsmasq[236..240].copy_from_slice(&MAGIC);
        dnsmasq[240..247].copy_from_slice(&[53, 1, 8, 55, 1, 51, 255]);
        let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000);
        assert_eq!(
            local_query(lo, &dnsmasq),
            Some(Ipv4Addr::new(10, 88, 0, 50))
        );
        let far = SocketAddrV4::new(Ipv4Addr::new(10, 88, 0, 9), 68);
        assert_eq!(local_query(far, &dnsmasq), None);
        let q = query(Ipv4Addr::new(10, 88, 0, 50), 0x1234);
        assert_eq!(local_query(lo, &q), Some(Ipv4Addr::new(10, 88, 0, 50)));
        let mut out = [0u8; 600];
        let n = answer(&q, Some(5000), 1400, &mut out);
        assert_eq!(
            parse_answer(&out[..n], 0x1234),
            Some(LeaseTime::Remaining(3600))
        );
        assert_eq!(parse_answer(&out[..n], 0x9999), None);
        let n = answer(&q, Some(0), 1400, &mut out);
        assert_eq!(parse_answer(&out[..n], 0x1234), Some(LeaseTime::Infinite));
        let n = answer(&q, None, 1400, &mut out);
        assert_eq!(parse_answer(&out[..n], 0x1234), Some(LeaseTime::NoLease));
    }

    #[test]
    fn remaining_as_dnsmasq_prints_it() {
        assert_eq!(format_remaining(3600), "1h");
        assert_eq!(format_remaining(3599), "59m59s");
        assert_eq!(format_remaining(90_061), "1d1h1m1s");
        assert_eq!(format_remaining(0), "0s");
    }
}
