//! Invariants the `neighbours` fuzz target checks, shared with the stable corpus replay
//! (`proto/tests/fuzz_corpus.rs`): the `/proc/net/arp` reader behind `--script-arp` and
//! `--tftp-unique-root=mac` never panics on any text, keeps only well-formed complete entries,
//! agrees with the single-address lookup, and what it read is written back and read the same.

use std::net::IpAddr;

use super::neighbours::{format_proc_arp, mac_of, parse_proc_arp};

/// Runs every check on `data` (read as text, invalid UTF-8 replaced).
pub fn check_neighbours(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let table = parse_proc_arp(&text);
    for (ip, hw) in &table {
        assert!(
            hw.split(':')
                .all(|b| b.len() == 2 && b.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))),
            "{hw:?}"
        );
        assert!(hw.bytes().any(|b| b != b'0' && b != b':'), "{hw:?}");
        let mac = mac_of(&text, IpAddr::V4(*ip)).expect("a listed address has a MAC");
        let hex: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert!(table.contains(&(*ip, hex.join(":"))), "{ip} {hex:?}");
    }
    assert_eq!(parse_proc_arp(&format_proc_arp(&table)), table);
}
