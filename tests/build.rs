//! Collects every scenario file in `tests/` (except the `e2e.rs` crate root) into one generated
//! module list, so all scenarios link into a single `e2e` test binary (one LTO link instead of
//! one per file) while each scenario still lives in its own file and new files are picked up
//! without editing a list.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("tests");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "rs") && p.file_name().is_some_and(|n| n != "e2e.rs")
        })
        .collect();
    files.sort();
    let mut out = String::new();
    for f in files {
        let stem = f
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name")
            .replace('-', "_");
        writeln!(out, "#[path = {:?}]\nmod {stem};", f.display().to_string())
            .expect("write to String");
    }
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("scenarios.rs");
    std::fs::write(dest, out).expect("write scenarios.rs");
}
