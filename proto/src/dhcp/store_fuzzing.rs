//! Invariants the `lease_file` and `lease_journal` fuzz targets check, shared with the stable
//! corpus replay (`proto/tests/fuzz_corpus.rs`): reading the lease file (dnsmasq's format) and
//! replaying the journal never panic, and what they read writes back to bytes that read the
//! same.

use super::journal::{self, Record};
use super::lease_file;

/// The `lease_file` target: any text parses (bad lines reported and skipped); the leases and
/// IPv6 lines kept are written again with `emit`, which parses without errors to the same
/// leases and lines. Panics on a broken invariant.
pub fn check_lease_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let f = lease_file::parse(&text);
    let out = lease_file::emit(&f.leases, &f.v6_lines);
    let g = lease_file::parse(&out);
    assert!(g.errors.is_empty(), "{:?} in {out:?}", g.errors);
    assert_eq!(g.leases, f.leases, "{out:?}");
    assert_eq!(g.v6_lines, f.v6_lines, "{out:?}");
}

/// The `lease_journal` target: replay stops at the first truncated or corrupt record; the
/// records read, encoded again, replay completely to the same records; applying them to a
/// lease list never panics. Panics on a broken invariant.
pub fn check_journal(data: &[u8]) {
    let r = journal::replay(data);
    assert!(r.valid_len <= data.len());
    assert_eq!(r.stopped.is_none(), r.valid_len == data.len());
    let mut out = Vec::new();
    for rec in &r.records {
        match rec {
            Record::Upsert(l) => journal::encode_upsert(&l.as_ref(), &mut out),
            Record::Remove(a) => journal::encode_remove(*a, &mut out),
            Record::Reset => journal::encode_reset(&mut out),
            Record::Line6(l) => journal::encode_line6(l, &mut out),
            Record::Remove6(a) => journal::encode_remove6(*a, &mut out),
        }
    }
    let again = journal::replay(&out);
    assert!(again.stopped.is_none());
    assert_eq!(again.valid_len, out.len());
    assert_eq!(again.records, r.records);
    let mut leases = Vec::new();
    journal::apply(&mut leases, &r.records);
    let mut lines = Vec::new();
    journal::apply_v6(&mut lines, &r.records);
}
