//! Prepared batches against one-by-one hits on cold memory (see `ringmasq_benches::cold`),
//! alternating batch by batch, so that the machine's drift falls on both alike; prints each
//! way's median and mean time per batch and their ratio.
//!
//! `cargo bench -p ringmasq-benches --bench cold_hits_ab [-- BATCHES]` (default 200,000 each).

use ringmasq_benches::cold::{BATCH, ColdHits};

fn main() {
    let batches: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut hits = ColdHits::new();
    let mut times = [Vec::with_capacity(batches), Vec::with_capacity(batches)];
    for i in 0..batches * 2 {
        let prepared = i % 2 == 1;
        times[usize::from(prepared)].push(hits.batch(prepared).as_nanos() as u64);
    }
    let mut medians = [0u64; 2];
    for (k, name) in ["one_by_one", "prepared"].iter().enumerate() {
        let t = &mut times[k];
        t.sort_unstable();
        medians[k] = t[t.len() / 2];
        let mean = t.iter().sum::<u64>() as f64 / t.len() as f64;
        println!(
            "{name}: median {} ns, mean {mean:.0} ns per batch of {BATCH} ({} batches)",
            medians[k],
            t.len()
        );
    }
    println!(
        "prepared / one_by_one (medians): {:.3}",
        medians[1] as f64 / medians[0] as f64
    );
}
