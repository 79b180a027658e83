//! DNSSEC settings for the workers: trust anchors, limits, the time-check switches
//! (`--dnssec-no-timecheck` until SIGINT, `--dnssec-timestamp`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use ringmasq_config::Config;
use ringmasq_proto::dns::dnssec::{Limits, TrustAnchor, ValidatorConfig};
use ringmasq_proto::dns::forward::DnssecForwarding;

/// The `--dnssec-no-timecheck` switch shared by every worker, cleared by SIGINT.
static NO_TIMECHECK: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// dnsmasq creates a missing `--dnssec-timestamp` file dated 2015-01-01.
const TIMESTAMP_DEFAULT: u64 = 1_420_070_400;

/// `--dnssec-timestamp` while the system time is not yet past the file's mtime: the file and
/// that mtime, at the file system's full precision (a whole-second comparison would start
/// checks up to a second before the mtime). None once the time is valid.
static PENDING_TIMESTAMP: Mutex<Option<(PathBuf, SystemTime)>> = Mutex::new(None);

/// The forwarder's DNSSEC settings, or None without `--dnssec`.
pub fn forwarding(cfg: &Config) -> Result<Option<DnssecForwarding>> {
    let d = &cfg.dnssec;
    if !d.enabled {
        return Ok(None);
    }
    let mut anchors = Vec::new();
    for a in &d.trust_anchors {
        anchors.push(TrustAnchor::from_parts(
            &a.domain,
            a.key_tag,
            a.algorithm,
            a.digest_type,
            a.digest.clone(),
        )?);
    }
    let no_timecheck = NO_TIMECHECK
        .get_or_init(|| Arc::new(AtomicBool::new(d.no_timecheck)))
        .clone();
    let unix = unix_now();
    // The file is read (or created) here, after privileges were dropped, as dnsmasq does.
    if let Some(p) = &d.timestamp {
        let mtime = timestamp(p)?;
        if SystemTime::now() >= mtime {
            // The clock is already past the last known good time: record it and check.
            touch(p);
        } else {
            tracing::info!(
                "system time not yet valid (before the mtime of {}): DNSSEC signature \
                 timestamps not checked until then",
                p.display()
            );
            no_timecheck.store(true, Ordering::Relaxed);
            *PENDING_TIMESTAMP.lock().unwrap_or_else(|e| e.into_inner()) = Some((p.clone(), mtime));
        }
    }
    let [fails, work, subqueries, iterations] = d.limits;
    let validator = ValidatorConfig {
        anchors,
        check_unsigned: d.check_unsigned,
        no_timecheck,
        // The engine switches time checks on through `no_timecheck` (SIGINT, the timestamp
        // file), so that it can clear the cache at the same moment.
        timecheck_from: 0,
        debug: d.debug,
        limits: Limits {
            sig_fails_per_rrset: fails,
            work_per_answer: work,
            subqueries_per_answer: subqueries,
            nsec3_iterations: iterations.min(u32::from(u16::MAX)) as u16,
        },
    };
    let mono = crate::clock::now().secs();
    Ok(Some(DnssecForwarding {
        validator: Arc::new(validator),
        unix_at_zero: unix.saturating_sub(mono),
    }))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// `--dnssec-timestamp`: the file's modification time; a missing file is created dated
/// 2015-01-01, as dnsmasq does.
fn timestamp(path: &Path) -> Result<SystemTime> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.modified()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create timestamp file {}", path.display()))?;
            let default = UNIX_EPOCH + Duration::from_secs(TIMESTAMP_DEFAULT);
            f.set_modified(default)?;
            Ok(default)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Sets the timestamp file's mtime to now (the newest time known to be valid).
fn touch(path: &Path) {
    let r = std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = r {
        tracing::error!("failed to update mtime on {}: {e}", path.display());
    }
}

/// Called about once a second: once the clock passes the `--dnssec-timestamp` file's mtime,
/// the file is touched and signature time checks start (dnsmasq). True at that moment: the
/// caller then clears the cache, which holds answers validated without time checks.
pub fn poll_timestamp() -> bool {
    let mut pending = PENDING_TIMESTAMP.lock().unwrap_or_else(|e| e.into_inner());
    match pending.as_ref() {
        Some((path, mtime)) if SystemTime::now() >= *mtime => {
            touch(path);
            *pending = None;
            tracing::info!(
                "system time considered valid, now checking DNSSEC signature timestamps"
            );
            if let Some(f) = NO_TIMECHECK.get() {
                f.store(false, Ordering::Relaxed);
            }
            true
        }
        _ => false,
    }
}

/// SIGINT under `--dnssec-no-timecheck`: time checks start (as dnsmasq), and the server keeps
/// running. Returns false when there was nothing to switch on (SIGINT then stops the server).
pub fn enable_timecheck() -> bool {
    match NO_TIMECHECK.get() {
        Some(f) if f.swap(false, Ordering::Relaxed) => {
            tracing::info!("now checking DNSSEC signature timestamps");
            true
        }
        _ => false,
    }
}
