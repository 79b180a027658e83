//! Storage faults injected at every step of journal appends and compactions (ENOSPC, EIO, and
//! EACCES, which sends compaction down the in-place path): after each, a copy of the files as a
//! crash would leave them reopens with every lease whose append or compaction succeeded and
//! no damaged line; the records of a failed append stay pending and are written by the next
//! successful one.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use ringmasq_proto::dhcp::{Lease, journal, lease_file};

use super::store::{LeaseStore, Step};

fn lease(n: u8) -> Lease {
    Lease {
        expires: 4_000_000_000 + u64::from(n),
        htype: 1,
        hwaddr: vec![2, 0, 0, 0, 1, n],
        addr: Ipv4Addr::new(10, 0, 1, n),
        hostname: Some(format!("h{n}")),
        client_id: None,
    }
}

enum Op {
    Grant(u8),
    Compact,
}

/// Grants, a compaction, more grants and a second compaction.
const SCRIPT: [Op; 7] = [
    Op::Grant(1),
    Op::Grant(2),
    Op::Compact,
    Op::Grant(3),
    Op::Grant(4),
    Op::Compact,
    Op::Grant(5),
];

/// Copies the lease file and journal to `to` and opens them there, as a restart after a crash
/// at this moment would; asserts that no lease-file line is damaged.
fn crash_copy(from: &Path, to: &Path) -> BTreeMap<Ipv4Addr, Lease> {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for name in ["leases", "leases.journal"] {
        if let Ok(b) = std::fs::read(from.join(name)) {
            std::fs::write(to.join(name), b).unwrap();
        }
    }
    let text = std::fs::read_to_string(to.join("leases")).unwrap_or_default();
    let parsed = lease_file::parse(&text);
    assert!(parsed.errors.is_empty(), "damaged lease file:\n{text}");
    let (_, leases) = LeaseStore::open(&to.join("leases")).unwrap();
    leases.into_iter().map(|l| (l.addr, l)).collect()
}

/// Runs [`SCRIPT`] with step `fail_at` failing with `errno`; returns how many steps ran.
fn run(dir: &Path, fail_at: Option<(usize, i32)>) -> usize {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("leases");
    let (mut store, _) = LeaseStore::open(&path).unwrap();
    store.faults.fail_at = fail_at;
    let mut state = BTreeMap::new();
    let mut durable = BTreeMap::new();
    let mut failed = false;
    for op in SCRIPT {
        let r = match op {
            Op::Grant(n) => {
                let l = lease(n);
                let mut rec = Vec::new();
                journal::encode_upsert(&l.as_ref(), &mut rec);
                state.insert(l.addr, l);
                store.append(&rec)
            }
            Op::Compact => store.compact(&state.values().cloned().collect::<Vec<_>>()),
        };
        match r {
            // Everything handed over so far is durable: its ACKs may leave.
            Ok(()) => durable.clone_from(&state),
            Err(e) => {
                assert!(!failed, "only one fault is injected, second error: {e}");
                failed = true;
                assert_eq!(e.raw_os_error(), fail_at.map(|(_, errno)| errno));
            }
        }
        let after = crash_copy(dir, &dir.with_extension("crash"));
        for (addr, l) in &durable {
            assert_eq!(
                after.get(addr),
                Some(l),
                "acknowledged lease lost after fault {fail_at:?} ({:?})",
                store.faults.steps
            );
        }
    }
    if let Some((at, errno)) = fail_at
        && at < store.faults.steps.len()
    {
        // EACCES while replacing the file is not an error: compaction rewrites it in place.
        let replacing = matches!(
            store.faults.steps[at],
            Step::TmpCreate | Step::TmpWrite | Step::TmpSync | Step::Rename | Step::DirSync
        );
        let in_place = errno == libc::EACCES && replacing;
        assert_eq!(failed, !in_place, "{fail_at:?} {:?}", store.faults.steps);
    } else {
        assert!(!failed);
    }
    // Storage is back: the next flush writes whatever is still pending.
    store.flush().unwrap();
    let after = crash_copy(dir, &dir.with_extension("crash"));
    assert_eq!(after, state, "after recovery, fault {fail_at:?}");
    store.faults.steps.len()
}

#[test]
fn every_step_fails_without_losing_or_damaging_anything() {
    let dir = std::env::temp_dir().join(format!("ringmasq-faults-{}", std::process::id()));
    let steps = run(&dir, None);
    assert!(steps >= 20, "{steps} steps");
    for errno in [libc::ENOSPC, libc::EIO, libc::EACCES] {
        for at in 0..steps + 4 {
            run(&dir, Some((at, errno)));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(dir.with_extension("crash"));
}

#[test]
fn a_failed_compaction_rename_keeps_the_old_file_and_journal() {
    let dir = std::env::temp_dir().join(format!("ringmasq-faults-rn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("leases");
    let (mut store, _) = LeaseStore::open(&path).unwrap();
    let mut rec = Vec::new();
    journal::encode_upsert(&lease(7).as_ref(), &mut rec);
    store.append(&rec).unwrap();
    let journal_before = std::fs::read(store.journal_path()).unwrap();
    let at = store.faults.steps.len() + 3;
    store.faults.fail_at = Some((at, libc::EIO));
    assert!(store.compact(&[lease(7)]).is_err());
    assert_eq!(store.faults.steps[at], Step::Rename);
    assert!(
        !dir.join("leases.tmp").exists(),
        "temporary file left behind"
    );
    assert_eq!(std::fs::read(store.journal_path()).unwrap(), journal_before);
    drop(store);
    let (_, leases) = LeaseStore::open(&path).unwrap();
    assert_eq!(leases, [lease(7)]);
    let _ = std::fs::remove_dir_all(&dir);
}
