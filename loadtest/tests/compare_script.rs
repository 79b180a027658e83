//! `benches/compare --quick` runs end to end with the echo peer (and dnsmasq when it is
//! installed) and writes one markdown table; an unknown peer is skipped with a note.

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
        ])
        .arg("--out")
        .arg(&out)
        .env("COMPARE_LOAD_BIN", env!("CARGO_BIN_EXE_ringmasq-load"))
        .env("COMPARE_ECHO_BIN", env!("CARGO_BIN_EXE_ringmasq-echo"))
        .status()
        .unwrap();
    assert!(status.success());
    let table = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(out.with_extension("jsonl"));
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
