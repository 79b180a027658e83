//! `-Z/--read-ethers`: `/etc/ethers` (ethers(5)) as static DHCP hosts, read as dnsmasq reads
//! it: each line a hardware address (`8:0:20:1:2:3` or `08:00:20:01:02:03`) and a host name or
//! dotted-quad IPv4 address, with the effect of a `--dhcp-host` holding the same two things.
//! IPv6 addresses are not read (dnsmasq's rule); `#` starts a comment. Re-read on SIGHUP. A bad
//! line is reported with file and line and the good lines kept.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::dhcp::{DhcpHost, parse_mac, valid_name};
use crate::dhcp_file::{DhcpFileError, DhcpFileLoad};
use crate::value::ValueError;

/// Where dnsmasq (and ringmasq) read the ethers file.
pub const ETHERS: &str = "/etc/ethers";

/// One line's host; `Ok(None)` for blank and comment lines and IPv6 entries.
fn line_host(line: &str) -> Result<Option<DhcpHost>, ValueError> {
    let line = line.split('#').next().unwrap_or("");
    let mut f = line.split_whitespace();
    let Some(hw) = f.next() else {
        return Ok(None);
    };
    let what = f
        .next()
        .ok_or_else(|| ValueError::expected("a host name or IPv4 address after the MAC"))?;
    // ethers(5) writes bytes with one or two hex digits.
    let groups: Vec<&str> = hw.split(':').collect();
    let ok = groups.len() == 6
        && groups
            .iter()
            .all(|g| (1..=2).contains(&g.len()) && g.bytes().all(|c| c.is_ascii_hexdigit()));
    let mac = ok
        .then(|| {
            let full: Vec<String> = groups.iter().map(|g| format!("{g:0>2}")).collect();
            parse_mac(&full.join(":"))
        })
        .flatten()
        .ok_or_else(|| ValueError::expected("an Ethernet address (six hex bytes)"))?;
    let mut h = DhcpHost {
        macs: vec![mac],
        ..DhcpHost::default()
    };
    if let Ok(a) = what.parse::<Ipv4Addr>() {
        h.addr = Some(a);
    } else if what.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(None);
    } else if valid_name(what) {
        h.name = Some(what.to_ascii_lowercase());
    } else {
        return Err(ValueError::expected("a host name or IPv4 address"));
    }
    Ok(Some(h))
}

/// The hosts of an ethers file's text (`path` names it in errors).
pub fn parse_ethers(text: &str, path: &Path) -> DhcpFileLoad<DhcpHost> {
    let mut out = DhcpFileLoad {
        entries: Vec::new(),
        errors: Vec::new(),
    };
    for (i, line) in text.lines().enumerate() {
        match line_host(line) {
            Ok(Some(h)) => out.entries.push(h),
            Ok(None) => {}
            Err(source) => out.errors.push(DhcpFileError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            }),
        }
    }
    out
}

/// Reads the ethers file at `path` (an unreadable file is one error).
pub fn load_ethers(path: &Path) -> DhcpFileLoad<DhcpHost> {
    match std::fs::read(path) {
        Ok(t) => parse_ethers(&String::from_utf8_lossy(&t), path),
        Err(source) => DhcpFileLoad {
            entries: Vec::new(),
            errors: vec![DhcpFileError::Unreadable {
                path: path.to_path_buf(),
                source,
            }],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_addresses_comments_and_errors() {
        let text = "# ethers\n\
                    8:0:20:1:2:3\tsun1\n\
                    52:54:00:AA:bb:01 10.0.0.5   # a comment\n\
                    52:54:00:aa:bb:02 fe80::1\n\
                    \n\
                    52:54:00:aa:bb:03\n\
                    zz:54:00:aa:bb:04 host\n\
                    52:54:00:aa:bb:05 ignore\n\
                    52:54:00:aa:bb:06 bad_name!\n";
        let l = parse_ethers(text, Path::new("/etc/ethers"));
        assert_eq!(l.entries.len(), 3, "{:?}", l.entries);
        let first = DhcpHost::parse("08:00:20:01:02:03,sun1").unwrap();
        assert_eq!(l.entries[0], first);
        assert_eq!(
            l.entries[1],
            DhcpHost::parse("52:54:00:aa:bb:01,10.0.0.5").unwrap()
        );
        // `ignore` in ethers is a host called ignore, not dhcp-host's keyword.
        assert_eq!(l.entries[2].name.as_deref(), Some("ignore"));
        assert!(!l.entries[2].ignore);
        let lines: Vec<String> = l.errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with("/etc/ethers:6: "), "{lines:?}");
        assert!(lines[1].starts_with("/etc/ethers:7: "), "{lines:?}");
        assert!(lines[2].starts_with("/etc/ethers:9: "), "{lines:?}");
        assert!(matches!(
            load_ethers(Path::new("/nonexistent/ethers")).errors[..],
            [DhcpFileError::Unreadable { .. }]
        ));
    }

    proptest::proptest! {
        /// Any text: no panic; each entry has one MAC and a name or an address.
        #[test]
        fn never_panics(s in "[0-9a-fA-F:. #\\n\\tA-Za-z_-]{0,300}") {
            for h in parse_ethers(&s, Path::new("e")).entries {
                proptest::prop_assert_eq!(h.macs.len(), 1);
                proptest::prop_assert!(h.name.is_some() != h.addr.is_some());
            }
        }
    }
}
