//! Replays every file under `fuzz/corpus/*/*` through the config-crate fuzz checks on stable
//! Rust (the `conf_file` and `dhcp_optsfile` cargo-fuzz targets run the same checks).

use std::path::Path;

use ringmasq_config::fuzzing::{check_conf_file, check_dhcp_files};

#[test]
fn replay_fuzz_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("fuzz/corpus").flatten() {
        if let Ok(entries) = std::fs::read_dir(dir.path()) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    assert!(
        files.iter().any(|f| f.starts_with(root.join("conf_file"))),
        "no conf_file corpus"
    );
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let r = std::panic::catch_unwind(|| {
            check_conf_file(&data);
            check_dhcp_files(&data);
        });
        assert!(r.is_ok(), "corpus file {} failed", f.display());
    }
    eprintln!("replayed {} corpus files", files.len());
}
