//! No allocation per query: a run of 40 000 queries allocates (almost) exactly as often
//! as a run of 2 000, counted by a global allocator wrapper in this process.

mod common;
use common::echo;
use ringmasq_load::name::encode_name;
use ringmasq_load::run::{Backend, RunConfig, run};
use ringmasq_load::workload::Workload;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(addr: &str, backend: Backend, count: u64) -> (u64, u64) {
    let mut b = [0u8; 255];
    let n = encode_name("a.test", &mut b).unwrap();
    let cfg = RunConfig {
        server: addr.parse().unwrap(),
        backend,
        workload: Workload::Mix {
            count: 100,
            hit_suffix: b[..n].to_vec(),
            miss_suffix: b[..n].to_vec(),
            hit_ratio: 0.5,
        },
        threads: 1,
        max_outstanding: Some(64),
        rate: None,
        count: Some(count),
        duration: Duration::from_secs(30),
        timeout: Duration::from_secs(2),
        cpus: vec![],
        sockets: 1,
        batch_wait: true,
        gso: true,
    };
    let before = ALLOCS.load(Ordering::Relaxed);
    let r = run(&cfg, false).unwrap();
    let after = ALLOCS.load(Ordering::Relaxed);
    (after - before, r.stats.answered)
}

#[test]
fn steady_state_does_not_allocate() {
    let (_e, addr) = echo(&["--tcp"]);
    for backend in [Backend::Auto, Backend::Mmsg, Backend::Tcp] {
        let (small, a1) = allocations(&addr, backend, 2_000);
        let (large, a2) = allocations(&addr, backend, 40_000);
        assert_eq!((a1, a2), (2_000, 40_000), "{backend:?}");
        eprintln!("{backend:?}: {small} allocations for 2k queries, {large} for 40k");
        // 38 000 more queries; allow a handful of incidental allocations.
        assert!(
            large <= small + 16,
            "{backend:?}: {small} allocations for 2k queries, {large} for 40k"
        );
    }
}
