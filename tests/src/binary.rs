//! Locating the `ringmasq` binary under test.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// Finds the server binary: `$RINGMASQ_BIN` if set, else `target/<profile>/ringmasq` next to the
/// running test executable (its own profile first, then the other one).
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
    let candidates = candidates_for(&exe);
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

/// Candidate paths for a test executable at `<target>/<profile>/deps/<test>`.
fn candidates_for(exe: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // <target>/<profile>/deps/<exe>
    let profile_dir = exe.parent().and_then(Path::parent);
    if let Some(profile_dir) = profile_dir {
        out.push(profile_dir.join("ringmasq"));
        if let Some(target) = profile_dir.parent() {
            for other in ["release", "debug"] {
                let p = target.join(other).join("ringmasq");
                if !out.contains(&p) {
                    out.push(p);
                }
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
        let c = candidates_for(Path::new("/w/target/debug/deps/scenario-abc"));
        assert_eq!(
            c,
            vec![
                PathBuf::from("/w/target/debug/ringmasq"),
                PathBuf::from("/w/target/release/ringmasq"),
            ]
        );
    }
}
