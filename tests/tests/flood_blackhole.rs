//! A black-holed upstream under a flood of 10,000 distinct names: at most `--dns-forward-max`
//! (100) of them are in flight to it at once, the rest are refused and counted
//! (`forward-limit`); memory stays bounded; local (`--address`) and cached answers keep coming throughout; and once one query
//! timeout (`--fast-dns-retry=200,1500`: 1.5 s) has passed, the upstream is used again.

use std::time::Duration;

use anyhow::ensure;
use hickory_proto::rr::RecordType;
use ringmasq_tests::drops::{delta, stats};
use ringmasq_tests::flood::{flood, percentile, probe, rss_kib, udp_drops};
use ringmasq_tests::wait::poll_until;
use ringmasq_tests::{Backend, BlackHole, Knot, Ringmasq, backend_tests};

const NAMES: usize = 10_000;
const FORWARD_MAX: usize = 100;

fn flood_blackhole(backend: Backend) -> anyhow::Result<()> {
    let knot = Knot::start_lab()?;
    let hole = BlackHole::new()?;
    let rm = Ringmasq::builder(backend)
        .server(hole.server_spec())
        .server(format!("/lab.test/{}", knot.server_spec()))
        .arg(format!("--dns-forward-max={FORWARD_MAX}"))
        .arg("--fast-dns-retry=200,1500")
        .arg("--address=/local.test/192.0.2.1")
        .spawn()?;
    rm.client().query_retry("www.lab.test.", RecordType::A, 3)?;
    let rss0 = rss_kib(rm.pid());
    let before = stats(&rm)?;
    let server = rm.addr();
    let drops_before = udp_drops(server.port());
    let prober = std::thread::spawn(move || {
        probe(
            server,
            &["www.lab.test", "x.local.test"],
            400,
            Duration::from_millis(2),
        )
    });
    flood(server, 4, NAMES, |i| format!("n{i}.flood.test"))?;
    let (lat, lost) = prober
        .join()
        .map_err(|_| anyhow::anyhow!("probe thread panicked"))?;
    let kernel_drops = udp_drops(server.port()).saturating_sub(drops_before);
    let rss1 = rss_kib(rm.pid());
    let after = stats(&rm)?;
    let seen = hole.names().len();
    let refused = delta(&before, &after, "forward-limit");
    eprintln!(
        "{NAMES} names: {seen} reached the black hole, {refused} refused (forward-limit); \
         good clients: {} answered, {lost} lost, p50 {:?}, p99 {:?}, max {:?}; RSS {rss0} -> \
         {rss1} KiB; {kernel_drops} datagrams dropped by the kernel (queue full)",
        lat.len(),
        percentile(&lat, 50),
        percentile(&lat, 99),
        percentile(&lat, 100)
    );
    // In flight at once: names first seen within one second (the server gives a query up after
    // 1.5 s, so a slot cannot be used twice within a second). On a quiet machine the whole
    // flood lands within that second; on a loaded one it may take longer, and slots freed
    // by the timeout are then rightly used again.
    let peak = hole.most_new_names_within(Duration::from_secs(1));
    ensure!(
        peak <= FORWARD_MAX,
        "{peak} distinct names reached the upstream within one second"
    );
    // Flood datagrams the kernel dropped before the server read them (a full queue on a busy
    // machine) were neither forwarded nor refused.
    ensure!(
        refused as usize + kernel_drops as usize >= (NAMES * 9 / 10).saturating_sub(seen),
        "only {refused} refused ({kernel_drops} dropped by the kernel)"
    );
    // A good client's query may only go unanswered if the kernel dropped datagrams before the
    // server saw them (a machine busy with other work); the server must answer every one.
    ensure!(
        lost == 0 || kernel_drops > 0,
        "{lost} local/cached queries unanswered during the flood (none dropped by the kernel)"
    );
    ensure!(
        rss1 < rss0 + 64 * 1024,
        "RSS grew from {rss0} to {rss1} KiB"
    );
    // Within one timeout (1.5 s) plus slack, the in-flight queries are over and a new name
    // goes upstream again.
    let back = poll_until(
        Duration::from_secs(4),
        Duration::from_millis(100),
        40,
        || {
            let _ = rm
                .client()
                .timeout(Duration::from_millis(100))
                .query("recovered.flood.test.", RecordType::A);
            hole.names().contains("recovered.flood.test.").then_some(())
        },
    );
    ensure!(
        back.is_some(),
        "the upstream was not used again after the flood"
    );
    Ok(())
}

backend_tests!(flood_blackhole);
