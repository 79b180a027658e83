//! dnsmasq's lease file: parse (damaged lines reported by number, good lines kept) and emit.
//!
//! One IPv4 lease per line: `EXPIRY MAC IP HOSTNAME CLIENTID`, where EXPIRY is seconds since the
//! epoch (0 = infinite), MAC is colon-separated hex prefixed by `TYPE-` when the hardware type
//! is not Ethernet, and `*` stands for an unknown host name or client id. A `duid …` line and the
//! IPv6 lease lines after it are kept verbatim so a file shared with DHCPv6 survives a rewrite.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::lease::Lease;

/// Why a lease-file line was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineErrorKind {
    /// Fewer than five fields.
    #[error("expected 5 fields")]
    Fields,
    /// Expiry is not a number.
    #[error("bad expiry time")]
    Expiry,
    /// Hardware address is not hex bytes.
    #[error("bad hardware address")]
    HwAddr,
    /// Address is not an IPv4 or IPv6 address.
    #[error("bad address")]
    Addr,
    /// Client id is not hex bytes or `*`.
    #[error("bad client id")]
    ClientId,
}

/// A rejected line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lease file line {line}: {kind}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: LineErrorKind,
}

/// A parsed lease file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseFile {
    /// IPv4 leases, in file order.
    pub leases: Vec<Lease>,
    /// The `duid` line and IPv6 lease lines, verbatim.
    pub v6_lines: Vec<String>,
    /// Damaged lines (skipped).
    pub errors: Vec<LineError>,
}

fn parse_hex(s: &str, sep: char) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(sep)
        .map(|b| {
            if (1..=2).contains(&b.len()) {
                u8::from_str_radix(b, 16).ok()
            } else {
                None
            }
        })
        .collect()
}

/// Field separators: C's `isspace` (dnsmasq reads the file with `scanf`), which unlike
/// `char::is_ascii_whitespace` includes vertical tab. The writer uses the same set, so a name
/// that reads as one field writes as one field.
fn is_separator(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\x0b'
}

fn parse_line(line: &str) -> Result<Option<Lease>, LineErrorKind> {
    let f: Vec<&str> = line.split(is_separator).filter(|s| !s.is_empty()).collect();
    if f.len() < 5 {
        return Err(LineErrorKind::Fields);
    }
    let expires: u64 = f[0].parse().map_err(|_| LineErrorKind::Expiry)?;
    if f[2].contains(':') {
        // IPv6 lease line: validated, kept verbatim by the caller.
        f[2].parse::<std::net::Ipv6Addr>()
            .map_err(|_| LineErrorKind::Addr)?;
        return Ok(None);
    }
    let addr: Ipv4Addr = f[2].parse().map_err(|_| LineErrorKind::Addr)?;
    let (htype, mac) = match f[1].split_once('-') {
        Some((t, m)) => (
            u8::from_str_radix(t, 16).map_err(|_| LineErrorKind::HwAddr)?,
            m,
        ),
        None => (1, f[1]),
    };
    let hwaddr = parse_hex(mac, ':')
        .filter(|h| h.len() <= 16)
        .ok_or(LineErrorKind::HwAddr)?;
    let hostname = (f[3] != "*").then(|| f[3].to_owned());
    let client_id = match f[4] {
        "*" => None,
        s => Some(
            parse_hex(s, ':')
                .filter(|v| !v.is_empty())
                .ok_or(LineErrorKind::ClientId)?,
        ),
    };
    Ok(Some(Lease {
        expires,
        htype,
        hwaddr,
        addr,
        hostname,
        client_id,
    }))
}

/// Parse a lease file; damaged lines are reported and skipped, good lines kept.
pub fn parse(text: &str) -> LeaseFile {
    let mut out = LeaseFile::default();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("duid ") {
            out.v6_lines.push(t.to_owned());
            continue;
        }
        match parse_line(t) {
            Ok(Some(l)) => out.leases.push(l),
            Ok(_) => out.v6_lines.push(t.to_owned()),
            Err(kind) => out.errors.push(LineError { line: i + 1, kind }),
        }
    }
    out
}

fn hex(out: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// Append one lease line to `out`.
pub fn emit_line(l: &Lease, out: &mut String) {
    let _ = write!(out, "{} ", l.expires);
    if l.htype != 1 || l.hwaddr.is_empty() {
        let _ = write!(out, "{:02x}-", l.htype);
    }
    hex(out, &l.hwaddr);
    let _ = write!(out, " {} ", l.addr);
    match l
        .hostname
        .as_deref()
        .filter(|h| !h.is_empty() && !h.contains(is_separator))
    {
        Some(h) => out.push_str(h),
        None => out.push('*'),
    }
    out.push(' ');
    match l.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => hex(out, c),
        None => out.push('*'),
    }
    out.push('\n');
}

/// The full lease file: IPv4 leases, then the kept `duid` and IPv6 lines.
pub fn emit(leases: &[Lease], v6_lines: &[String]) -> String {
    let mut out = String::with_capacity(leases.len() * 64);
    for l in leases {
        emit_line(l, &mut out);
    }
    for l in v6_lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn vertical_tab_separates_fields_both_ways() {
        // Found by the lease_file fuzz target: a host name of vertical tabs was read as a name
        // but written as `*`.
        let data = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/lease_file/crash-vertical-tab"
        ))
        .unwrap();
        crate::dhcp::store_fuzzing::check_lease_file(&data);
        let f = super::parse("0 52:54:00:00:00:01 10.0.0.9\x0bhost *\n");
        assert_eq!(f.leases[0].hostname.as_deref(), Some("host"));
        let named = super::parse("0 52:54:00:00:00:01 10.0.0.9 h\u{a0}st *\n");
        let out = super::emit(&named.leases, &[]);
        assert_eq!(super::parse(&out).leases, named.leases);
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_dnsmasq_file() {
        // Written by dnsmasq 2.90 for a dhclient and a udhcpc client.
        let text = include_str!("testdata/dnsmasq.leases");
        let f = parse(text);
        assert!(f.errors.is_empty());
        assert_eq!(f.leases.len(), 2);
        assert_eq!(f.leases[0].hostname.as_deref(), Some("udhost"));
        assert_eq!(
            f.leases[0].client_id,
            Some(vec![1, 0x52, 0x54, 0, 0xab, 0xcd, 0xef])
        );
        assert_eq!(f.leases[1].client_id, None);
        assert_eq!(f.leases[1].addr, Ipv4Addr::new(10, 77, 0, 107));
        // Our output of it is byte-identical.
        assert_eq!(emit(&f.leases, &f.v6_lines), text);
    }

    #[test]
    fn damaged_lines_reported_good_kept() {
        let text = "100 52:54:00:00:00:01 10.0.0.1 a *\n\
                    garbage\n\
                    100 zz:54 10.0.0.2 b *\n\
                    100 52:54:00:00:00:03 10.0.0.3 c 01:52\n\
                    100 52:54:00:00:00:04 10.0.0\n\
                    duid 00:01:00:01:2c:5e:11:22:52:54:00:00:00:01\n\
                    1700000000 1234 fd00::5 v6host 00:01:00:01\n\
                    100 06-aa:bb 10.0.0.9 * *\n";
        let f = parse(text);
        assert_eq!(f.leases.len(), 3);
        assert_eq!(f.leases[2].htype, 6);
        assert_eq!(f.v6_lines.len(), 2);
        let lines: Vec<usize> = f.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5]);
        assert_eq!(f.errors[1].kind, LineErrorKind::HwAddr);
    }

    proptest! {
        #[test]
        fn round_trip(leases in proptest::collection::vec(
            (any::<u64>(), prop_oneof![Just(1u8), any::<u8>()], proptest::collection::vec(any::<u8>(), 1..=16),
             any::<u32>(), proptest::option::of("[a-zA-Z0-9-]{1,20}"),
             proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=20))), 0..10)) {
            let leases: Vec<Lease> = leases.into_iter().map(|(e, t, hw, a, h, c)| Lease {
                expires: e, htype: t, hwaddr: hw, addr: Ipv4Addr::from(a), hostname: h, client_id: c,
            }).collect();
            let f = parse(&emit(&leases, &[]));
            prop_assert!(f.errors.is_empty());
            prop_assert_eq!(f.leases, leases);
        }
    }
}
