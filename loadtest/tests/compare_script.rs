//! `benches/compare --quick` runs end to end with the echo peer (and dnsmasq when it is
//! installed) and writes one markdown table; an unknown peer is skipped with a note. With
//! `--rates` and `--fixed-rate` it adds the latency-versus-load and fixed-rate CPU tables
//! and the SVG curves.

use std::process::Command;

#[test]
fn compare_quick_writes_table() {
    if Command::new("knotd").arg("--version").output().is_err() {
        eprintln!("knotd not installed; skipped");
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let out = std::env::temp_dir().join(format!("ringmasq-compare-{}.md", std::process::id()));
    let status = Command::new("timeout")
        .arg("120")
        .arg(root.join("benches/compare"))
        .args([
            "--quick",
            "--no-install",
            "--peers",
            "echo dnsmasq nosuchpeer",
            "--rates",
            "2000",
            "--fixed-rate",
            "3000",
        ])
        .arg("--out")
        .arg(&out)
        .env("COMPARE_LOAD_BIN", env!("CARGO_BIN_EXE_ringmasq-load"))
        .env("COMPARE_ECHO_BIN", env!("CARGO_BIN_EXE_ringmasq-echo"))
        .env("COMPARE_PLOT_BIN", env!("CARGO_BIN_EXE_ringmasq-plot"))
        .status()
        .unwrap();
    assert!(status.success());
    let table = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("jsonl"));
    let svg = std::fs::read_to_string(out.with_extension("svg")).unwrap_or_default();
    let _ = std::fs::remove_file(out.with_extension("svg"));
    assert!(svg.starts_with("<svg"), "no SVG written:\n{table}");
    assert!(
        table.contains(
            "| peer | workload | offered/s | answered/s | lost % | NOERROR % | CPU us/query |"
        ),
        "{table}"
    );
    assert!(table.contains("| echo | hits | 3000 |"), "{table}");
    assert!(table.contains("| echo | misses | 3000 |"), "{table}");
    assert!(table.contains("| peer | 2k/s |"), "{table}");
    assert!(
        table.contains("| peer | workload | QPS | p50 us | p99 us | CPU us/query | RSS MiB |"),
        "{table}"
    );
    assert!(
        table.contains("nosuchpeer skipped: unknown peer"),
        "{table}"
    );
    for w in ["hits", "misses", "mix"] {
        assert!(table.contains(&format!("| echo | {w} |")), "{table}");
    }
}
