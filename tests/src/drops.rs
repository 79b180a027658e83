//! Every DNS counter and drop counter of a running server, read from the `counters:` and
//! `dropped:` lines it logs on SIGUSR1.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{HarnessError, Result};
use crate::ringmasq::Ringmasq;
use crate::wait::poll_until;

/// Counter name -> value, e.g. `malformed-query`, `rejected-answer`, `forwarded`, `merged`.
pub type Stats = BTreeMap<String, u64>;

/// Sends SIGUSR1 and parses the next `counters:` and `dropped:` lines of the log.
pub fn stats(rm: &Ringmasq) -> Result<Stats> {
    let seen = rm.log().matches("dropped: ").count();
    rm.signal(libc::SIGUSR1)?;
    let log = poll_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        500,
        || {
            let log = rm.log();
            (log.matches("dropped: ").count() > seen).then_some(log)
        },
    )
    .ok_or_else(|| HarnessError::Parse {
        tool: "SIGUSR1 statistics".into(),
        reason: "no new 'dropped:' line in the log".into(),
        output: String::new(),
    })?;
    let mut out = Stats::new();
    for tag in ["counters: ", "dropped: "] {
        let Some(line) = log.lines().rev().find(|l| l.contains(tag)) else {
            continue;
        };
        let list = &line[line.find(tag).map_or(0, |i| i + tag.len())..];
        for item in list.split(", ") {
            if let Some((name, value)) = item.trim().rsplit_once(' ')
                && let Ok(v) = value.parse()
            {
                out.insert(name.to_string(), v);
            }
        }
    }
    Ok(out)
}

/// `after[name] - before[name]` (0 for unknown names).
pub fn delta(before: &Stats, after: &Stats, name: &str) -> u64 {
    after
        .get(name)
        .copied()
        .unwrap_or(0)
        .saturating_sub(before.get(name).copied().unwrap_or(0))
}
