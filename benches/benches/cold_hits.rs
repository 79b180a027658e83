//! Cache hits on cold memory, as the server meets them (see `ringmasq_benches::cold`), one
//! query after another and prepared as a batch. Reported per batch of five.
//!
//! The two run one after the other, so a drift of the machine between them lands in their
//! difference; `cold_hits_ab` alternates them batch by batch for the ratio.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringmasq_benches::cold::{BATCH, ColdHits};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("cold_hits");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, prepared) in [("one_by_one", false), ("prepared", true)] {
        let mut hits = ColdHits::new();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| (0..iters).map(|_| hits.batch(prepared)).sum::<Duration>())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
