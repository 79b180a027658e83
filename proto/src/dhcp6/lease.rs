//! One DHCPv6 lease and its line in dnsmasq's lease file: after the `duid SERVER-DUID` line,
//! `EXPIRY IAID ADDRESS HOSTNAME CLIENT-DUID`, where EXPIRY is seconds since the epoch (0 =
//! infinite), IAID is decimal (prefixed `T` for a temporary address, IA_TA), `*` stands for an
//! unknown name, and the DUIDs are colon-separated hex.

use std::fmt::Write as _;
use std::net::Ipv6Addr;

/// A DHCPv6 lease: one address of one IA of one client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease6 {
    /// Expiry in seconds since the epoch; 0 means never.
    pub expires: u64,
    /// IAID of the IA the address belongs to.
    pub iaid: u32,
    /// IA_TA (temporary address) rather than IA_NA.
    pub temporary: bool,
    /// The leased address.
    pub addr: Ipv6Addr,
    /// Host name, if known.
    pub hostname: Option<String>,
    /// The client's DUID.
    pub duid: Vec<u8>,
}

impl Lease6 {
    /// Whether the lease has expired at `wall` (seconds since the epoch).
    pub fn expired(&self, wall: u64) -> bool {
        self.expires != 0 && self.expires <= wall
    }

    /// The lease-file line (without the newline).
    pub fn line(&self) -> String {
        let mut s = String::with_capacity(96);
        let _ = write!(
            s,
            "{} {}{} {} {} ",
            self.expires,
            if self.temporary { "T" } else { "" },
            self.iaid,
            self.addr,
            self.hostname.as_deref().unwrap_or("*")
        );
        if self.duid.is_empty() {
            s.push('*');
        } else {
            s.push_str(&hex(&self.duid));
        }
        s
    }

    /// Parses a lease-file line; `None` if it is not a well-formed IPv6 lease line.
    pub fn parse_line(line: &str) -> Option<Lease6> {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 5 {
            return None;
        }
        let expires = f[0].parse().ok()?;
        let (temporary, iaid) = match f[1].strip_prefix('T') {
            Some(n) => (true, n),
            None => (false, f[1]),
        };
        let iaid = iaid.parse().ok()?;
        let addr = f[2].parse().ok()?;
        let hostname = (f[3] != "*").then(|| f[3].to_string());
        let duid = match f[4] {
            "*" => Vec::new(),
            d => unhex(d)?,
        };
        Some(Lease6 {
            expires,
            iaid,
            temporary,
            addr,
            hostname,
            duid,
        })
    }
}

pub use crate::dhcp::script_env::hex;

/// Parses colon-separated hex (one or two digits per byte).
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    s.split(':')
        .map(|p| {
            if (1..=2).contains(&p.len()) {
                u8::from_str_radix(p, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// The `duid` line's DUID, if `line` is one.
pub fn parse_duid_line(line: &str) -> Option<Vec<u8>> {
    let rest = line.trim().strip_prefix("duid ")?;
    unhex(rest.trim()).filter(|d| !d.is_empty())
}

/// The IPv6 part of the lease file: the `duid` line, then every lease.
pub fn emit_lines(server_duid: &[u8], leases: &[Lease6]) -> Vec<String> {
    let mut out = Vec::with_capacity(leases.len() + 1);
    out.push(format!("duid {}", hex(server_duid)));
    out.extend(leases.iter().map(Lease6::line));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dnsmasq_line() {
        // As dnsmasq 2.90 writes a DHCPv6 lease.
        let line = "1764115200 887326 fd00:6::1a9 host6 00:01:00:01:2c:9a:5e:11:02:00:00:00:00:01";
        let l = Lease6::parse_line(line).unwrap();
        assert_eq!(l.iaid, 887326);
        assert_eq!(l.addr, "fd00:6::1a9".parse::<Ipv6Addr>().unwrap());
        assert_eq!(l.hostname.as_deref(), Some("host6"));
        assert_eq!(l.duid.len(), 14);
        assert_eq!(l.line(), line);
        let t = Lease6::parse_line("0 T5 fd00::9 * *").unwrap();
        assert!(t.temporary && t.duid.is_empty() && t.hostname.is_none());
        assert_eq!(t.line(), "0 T5 fd00::9 * *");
        assert_eq!(
            parse_duid_line("duid 00:03:00:01:02:00:00:00:00:01")
                .unwrap()
                .len(),
            10
        );
        assert!(Lease6::parse_line("1 x fd00::1 a b").is_none());
    }

    proptest! {
        #[test]
        fn line_round_trip(expires in any::<u64>(), iaid in any::<u32>(), t in any::<bool>(),
                           a in any::<u128>(), name in proptest::option::of("[a-z][a-z0-9-]{0,20}"),
                           duid in proptest::collection::vec(any::<u8>(), 0..40)) {
            let l = Lease6 { expires, iaid, temporary: t, addr: Ipv6Addr::from(a), hostname: name, duid };
            prop_assert_eq!(Lease6::parse_line(&l.line()), Some(l));
        }
    }
}
