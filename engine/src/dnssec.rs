//! DNSSEC settings for the workers: trust anchors, limits, the time-check switches
//! (`--dnssec-no-timecheck` until SIGINT, `--dnssec-timestamp`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use ringmasq_config::Config;
use ringmasq_proto::dns::dnssec::{Limits, TrustAnchor, ValidatorConfig};
use ringmasq_proto::dns::forward::DnssecForwarding;

/// The `--dnssec-no-timecheck` switch shared by every worker, cleared by SIGINT.
static NO_TIMECHECK: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// dnsmasq creates a missing `--dnssec-timestamp` file dated 2015-01-01.
const TIMESTAMP_DEFAULT: u64 = 1_420_070_400;

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
    let timecheck_from = match &d.timestamp {
        Some(p) => timestamp(p)?,
        None => 0,
    };
    let [fails, work, subqueries, iterations] = d.limits;
    let validator = ValidatorConfig {
        anchors,
        check_unsigned: d.check_unsigned,
        no_timecheck,
        timecheck_from,
        debug: d.debug,
        limits: Limits {
            sig_fails_per_rrset: fails,
            work_per_answer: work,
            subqueries_per_answer: subqueries,
            nsec3_iterations: iterations.min(u32::from(u16::MAX)) as u16,
        },
    };
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mono = crate::clock::now().secs();
    Ok(Some(DnssecForwarding {
        validator: Arc::new(validator),
        unix_at_zero: unix.saturating_sub(mono),
    }))
}

/// `--dnssec-timestamp`: the file's modification time (Unix seconds); a missing file is
/// created dated 2015-01-01, as dnsmasq does.
fn timestamp(path: &Path) -> Result<u32> {
    match std::fs::metadata(path) {
        Ok(m) => {
            let t = m.modified()?.duration_since(UNIX_EPOCH).unwrap_or_default();
            Ok(t.as_secs().min(u64::from(u32::MAX)) as u32)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            f.set_modified(UNIX_EPOCH + Duration::from_secs(TIMESTAMP_DEFAULT))?;
            Ok(TIMESTAMP_DEFAULT as u32)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
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
