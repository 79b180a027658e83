//! The kernel's IPv4 neighbour (ARP) table as `/proc/net/arp` shows it, and what changed
//! between two readings: the `arp-add` / `arp-del` events of `--script-arp`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// One complete neighbour entry: address and lower-case `xx:xx:..` hardware address.
pub type Neighbour = (Ipv4Addr, String);

/// `ATF_COM` (linux/if_arp.h): the entry has a hardware address.
const ATF_COM: u32 = 0x02;

/// The complete entries of a `/proc/net/arp` text (header line skipped; incomplete entries,
/// all-zero addresses and lines that do not parse are left out).
pub fn parse_proc_arp(text: &str) -> BTreeSet<Neighbour> {
    let mut out = BTreeSet::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(ip), Some(flags), Some(hw)) = (f.first(), f.get(2), f.get(3)) else {
            continue;
        };
        let Ok(ip) = ip.parse::<Ipv4Addr>() else {
            continue;
        };
        let Ok(flags) = u32::from_str_radix(flags.trim_start_matches("0x"), 16) else {
            continue;
        };
        let hw = hw.to_ascii_lowercase();
        let valid = hw
            .split(':')
            .all(|b| b.len() == 2 && u8::from_str_radix(b, 16).is_ok());
        if flags & ATF_COM == 0 || !valid || hw.bytes().all(|b| b == b'0' || b == b':') {
            continue;
        }
        out.insert((ip, hw));
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

    proptest::proptest! {
        /// Any text: no panic, and every entry kept has a well-formed hardware address.
        #[test]
        fn never_panics(s in "[0-9a-fx:. \\n*A-Za-z]{0,300}") {
            for (_, hw) in parse_proc_arp(&s) {
                proptest::prop_assert!(hw.split(':').all(|b| b.len() == 2));
            }
        }
    }
}
