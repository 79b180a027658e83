//! A `--dhcp-script` that records every run: its arguments and its `DNSMASQ_*` variables,
//! appended to a log file the test reads back (runs still being written are not counted).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One finished run of the script: its arguments (`add DUID ADDR NAME`) and its sorted
/// `DNSMASQ_*=value` lines.
pub type Run = (String, Vec<String>);

/// The recording script and its log, in a test's directory.
#[derive(Debug)]
pub struct ScriptLog {
    /// The script (`script.sh`), executable.
    pub script: PathBuf,
    /// The log it appends to (`script.log`).
    pub log: PathBuf,
}

impl ScriptLog {
    /// Writes `dir/script.sh`, which appends `ARGS ...`, the `DNSMASQ_*` variables and `END`
    /// per run to `dir/script.log`.
    pub fn new(dir: &Path) -> ScriptLog {
        let script = dir.join("script.sh");
        let log = dir.join("script.log");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ echo \"ARGS $*\"; env | grep '^DNSMASQ_' | sort; echo END; }} >> {}\n",
                log.display()
            ),
        )
        .expect("write script");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod script");
        ScriptLog { script, log }
    }

    /// The `--dhcp-script=...` argument naming the script.
    pub fn arg(&self) -> String {
        format!("--dhcp-script={}", self.script.display())
    }

    /// The finished runs so far, oldest first.
    pub fn runs(&self) -> Vec<Run> {
        parse_runs(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Waits (up to 10 s) for the first run whose arguments `matches`; panics with the runs
    /// so far and `context` (the server's log) when none comes.
    pub fn wait_run(&self, matches: impl Fn(&str) -> bool, context: impl Fn() -> String) -> Run {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(r) = self.runs().into_iter().find(|(a, _)| matches(a)) {
                return r;
            }
            assert!(
                Instant::now() < end,
                "no such script run: {:?}\n{}",
                self.runs(),
                context()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The finished runs in a script log's text.
fn parse_runs(text: &str) -> Vec<Run> {
    let mut parts: Vec<&str> = text.split("END\n").collect();
    // The last part is a run still being written (or empty): only finished runs count.
    parts.pop();
    parts
        .into_iter()
        .filter_map(|r| {
            let mut lines = r.lines();
            let args = lines.next()?.strip_prefix("ARGS ")?.to_string();
            Some((args, lines.map(str::to_string).collect()))
        })
        .collect()
}

/// The value of `name` among a run's `NAME=value` lines.
pub fn var<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_runs_only() {
        let text = "ARGS add 1 fd00::5 pc\nDNSMASQ_IAID=7\nEND\nARGS del 1 fd00::5\nDNSMASQ_";
        let runs = parse_runs(text);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].0, "add 1 fd00::5 pc");
        assert_eq!(var(&runs[0].1, "DNSMASQ_IAID"), Some("7"));
        assert_eq!(var(&runs[0].1, "DNSMASQ_IA"), None);
    }
}
