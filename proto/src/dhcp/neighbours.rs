//! The kernel's IPv4 neighbour (ARP) table as `/proc/net/arp` shows it, and what changed
//! between two readings: the `arp-add` / `arp-del` events of `--script-arp`.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// One complete neighbour entry: address and lower-case `xx:xx:..` hardware address.
pub type Neighbour = (Ipv4Addr, String);

/// `ATF_COM` (linux/if_arp.h): the entry has a hardware address.
const ATF_COM: u32 = 0x02;

/// The complete entry on one `/proc/net/arp` line: `IP HWTYPE FLAGS HWADDR MASK DEVICE`, the
/// flags hexadecimal with `ATF_COM` set, the hardware address colon-separated hex bytes, not
/// all zero. None for the header, incomplete entries and lines that do not parse.
fn entry(line: &str) -> Option<Neighbour> {
    let mut f = line.split_whitespace();
    let ip = f.next()?.parse::<Ipv4Addr>().ok()?;
    let flags = f.nth(1)?;
    let hw = f.next()?;
    let flags = u32::from_str_radix(flags.strip_prefix("0x").unwrap_or(flags), 16).ok()?;
    let hw = hw.to_ascii_lowercase();
    let valid = hw
        .split(':')
        .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()));
    if flags & ATF_COM == 0 || !valid || hw.bytes().all(|b| b == b'0' || b == b':') {
        return None;
    }
    Some((ip, hw))
}

/// The complete entries of a `/proc/net/arp` text (header line skipped; incomplete entries,
/// all-zero addresses and lines that do not parse are left out).
pub fn parse_proc_arp(text: &str) -> BTreeSet<Neighbour> {
    text.lines().skip(1).filter_map(entry).collect()
}

/// The hardware address of `ip` in a `/proc/net/arp` text: the first complete entry for it
/// (`--tftp-unique-root=mac`). None for IPv6 peers, which that table does not hold.
pub fn mac_of(text: &str, ip: IpAddr) -> Option<Vec<u8>> {
    let IpAddr::V4(ip) = ip else { return None };
    let (_, hw) = text
        .lines()
        .skip(1)
        .filter_map(entry)
        .find(|(a, _)| *a == ip)?;
    hw.split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// `entries` laid out as the kernel writes `/proc/net/arp` (header, then one reachable Ethernet
/// entry per line), for tests and the fuzz round trip.
pub fn format_proc_arp<'a>(entries: impl IntoIterator<Item = &'a Neighbour>) -> String {
    let mut out = String::from(
        "IP address       HW type     Flags       HW address            Mask     Device\n",
    );
    for (ip, hw) in entries {
        out.push_str(&format!(
            "{:<16} 0x1         0x2         {:<21} *        eth0\n",
            ip.to_string(),
            hw
        ));
    }
    out
}

/// Entries in `new` and not in `old` (arp-add), then those in `old` and not in `new` (arp-del).
pub fn changes<'a>(
    old: &'a BTreeSet<Neighbour>,
    new: &'a BTreeSet<Neighbour>,
) -> (Vec<&'a Neighbour>, Vec<&'a Neighbour>) {
    (new.difference(old).collect(), old.difference(new).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/net/arp` of the lab's server namespace: a permanent entry, a reachable one and
    /// an incomplete one (flags 0x0, no address yet).
    const TABLE: &str = "\
IP address       HW type     Flags       HW address            Mask     Device
10.77.0.60       0x1         0x6         02:77:00:00:00:60     *        rmqv0
10.77.0.2        0x1         0x2         02:77:00:00:00:02     *        rmqv0
10.77.0.9        0x1         0x0         00:00:00:00:00:00     *        rmqv0
";

    #[test]
    fn complete_entries_only() {
        let t = parse_proc_arp(TABLE);
        let v: Vec<_> = t.iter().map(|(a, h)| format!("{a} {h}")).collect();
        assert_eq!(
            v,
            [
                "10.77.0.2 02:77:00:00:00:02",
                "10.77.0.60 02:77:00:00:00:60"
            ]
        );
        assert!(parse_proc_arp("").is_empty());
        assert!(parse_proc_arp("h\nnot an entry\n1.2.3.4 0x1 zz 02:00\n").is_empty());
    }

    #[test]
    fn added_and_removed() {
        let a = parse_proc_arp(TABLE);
        let b = parse_proc_arp(&TABLE.replace("0x6 ", "0x0 "));
        let (add, del) = changes(&a, &b);
        assert!(add.is_empty());
        assert_eq!(del.len(), 1);
        assert_eq!(del[0].0, Ipv4Addr::new(10, 77, 0, 60));
        let (add, del) = changes(&b, &a);
        assert_eq!((add.len(), del.len()), (1, 0));
    }

    #[test]
    fn mac_of_a_peer() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            mac_of(TABLE, ip("10.77.0.60")),
            Some(vec![2, 0x77, 0, 0, 0, 0x60])
        );
        // Incomplete, absent, IPv6: nothing.
        assert_eq!(mac_of(TABLE, ip("10.77.0.9")), None);
        assert_eq!(mac_of(TABLE, ip("10.77.0.10")), None);
        assert_eq!(mac_of(TABLE, ip("fe80::1")), None);
        // An InfiniBand entry (20 bytes) comes back whole.
        let ib = "h\n10.0.0.1 0x20 0x2 80:00:00:48:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:bb:01 * ib0\n";
        assert_eq!(mac_of(ib, ip("10.0.0.1")).map(|m| m.len()), Some(20));
    }

    #[test]
    fn format_parses_back() {
        let t = parse_proc_arp(TABLE);
        assert_eq!(parse_proc_arp(&format_proc_arp(&t)), t);
    }

    proptest::proptest! {
        /// Any text: no panic, and every entry kept has a well-formed hardware address.
        #[test]
        fn never_panics(s in "[0-9a-fx:. \\n*A-Za-z]{0,300}") {
            for (_, hw) in parse_proc_arp(&s) {
                proptest::prop_assert!(hw.split(':').all(|b| b.len() == 2));
            }
        }

        /// Any bytes through the fuzz target's checks.
        #[test]
        fn fuzz_checks_hold(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            crate::dhcp::neighbour_fuzzing::check_neighbours(&data);
        }

        /// Entries written as the kernel writes them parse back to the same set, and each
        /// address finds its hardware address.
        #[test]
        fn round_trip(entries in proptest::collection::btree_set(
            (proptest::prelude::any::<u32>(), proptest::collection::vec(1u8..=255, 1..21)),
            0..20,
        )) {
            let table: BTreeSet<Neighbour> = entries
                .iter()
                .map(|(ip, hw)| {
                    let hex: Vec<String> = hw.iter().map(|b| format!("{b:02x}")).collect();
                    (Ipv4Addr::from(*ip), hex.join(":"))
                })
                .collect();
            let text = format_proc_arp(&table);
            proptest::prop_assert_eq!(&parse_proc_arp(&text), &table);
            for (ip, hw) in &table {
                let mac = mac_of(&text, IpAddr::V4(*ip)).unwrap();
                let hex: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
                // Two entries for one address: the first line's wins.
                let first = table.iter().find(|(a, _)| a == ip).unwrap();
                proptest::prop_assert_eq!(&hex.join(":"), &first.1);
                let _ = hw;
            }
        }
    }
}
