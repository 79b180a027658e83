//! Locating the `ringmasq` binary under test.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// Finds the server binary: `$RINGMASQ_BIN` if set, else `<target>/<profile>/ringmasq` in
/// `$CARGO_TARGET_DIR` when that is set, then next to the running test executable (its own
/// profile first, then the other one).
pub fn ringmasq_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("RINGMASQ_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(HarnessError::BinaryNotFound { looked: vec![p] })
        };
    }
    let exe = std::env::current_exe().map_err(|e| HarnessError::io("current_exe", e))?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    let candidates = candidates_for(&exe, target_dir.as_deref());
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(HarnessError::BinaryNotFound { looked: candidates })
}

/// Finds another workspace binary (e.g. `ringmasq-load`) next to the server binary.
pub fn workspace_bin(name: &str) -> Result<PathBuf> {
    let server = ringmasq_bin()?;
    let p = server.with_file_name(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(HarnessError::BinaryNotFound { looked: vec![p] })
    }
}

/// Candidate paths for a test executable at `<target>/<profile>/deps/<test>`: under
/// `target_dir` (`$CARGO_TARGET_DIR`; a relative one is taken from the workspace root, where
/// cargo is run) first, then under the executable's own target directory; in each, the
/// executable's own profile first, then the other one.
fn candidates_for(exe: &Path, target_dir: Option<&Path>) -> Vec<PathBuf> {
    fn push(out: &mut Vec<PathBuf>, p: PathBuf) {
        if !out.contains(&p) {
            out.push(p);
        }
    }
    let mut out = Vec::new();
    // <target>/<profile>/deps/<exe>
    let profile_dir = exe.parent().and_then(Path::parent);
    if let Some(t) = target_dir.filter(|t| !t.as_os_str().is_empty()) {
        // Joining an absolute path replaces the base.
        let t = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(t);
        if let Some(own) = profile_dir.and_then(Path::file_name) {
            push(&mut out, t.join(own).join("ringmasq"));
        }
        for other in ["release", "debug"] {
            push(&mut out, t.join(other).join("ringmasq"));
        }
    }
    if let Some(profile_dir) = profile_dir {
        push(&mut out, profile_dir.join("ringmasq"));
        if let Some(target) = profile_dir.parent() {
            for other in ["release", "debug"] {
                push(&mut out, target.join(other).join("ringmasq"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_own_profile() {
        let c = candidates_for(Path::new("/w/target/debug/deps/scenario-abc"), None);
        assert_eq!(
            c,
            vec![
                PathBuf::from("/w/target/debug/ringmasq"),
                PathBuf::from("/w/target/release/ringmasq"),
            ]
        );
    }

    #[test]
    fn cargo_target_dir_comes_first() {
        let exe = Path::new("/w/target/release/deps/scenario-abc");
        let c = candidates_for(exe, Some(Path::new("/t/mine")));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/t/mine/release/ringmasq"),
                PathBuf::from("/t/mine/debug/ringmasq"),
                PathBuf::from("/w/target/release/ringmasq"),
                PathBuf::from("/w/target/debug/ringmasq"),
            ]
        );
        // A relative one is taken from the workspace root; an empty one is ignored.
        let rel = candidates_for(exe, Some(Path::new("tgt")));
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        assert_eq!(rel[0], root.join("tgt/release/ringmasq"));
        assert_eq!(candidates_for(exe, Some(Path::new(""))).len(), 2);
    }
}
