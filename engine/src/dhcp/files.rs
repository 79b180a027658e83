//! The DHCP hosts and options that come from files: `--dhcp-hostsfile`/`--dhcp-optsfile`
//! and `/etc/ethers` with `--read-ethers` (read at start and on SIGHUP) and `--dhcp-hostsdir`/`--dhcp-optsdir` (read at start and on
//! SIGHUP as well, and besides, when the control thread's inotify watch sees a directory
//! change, the new and changed files are read and their lines added; lines removed from a file
//! stay in force until SIGHUP, as with dnsmasq). Every file goes through the same line parsers
//! ([`ringmasq_config::dhcp_file`]); a bad line is logged with file and line and the good ones
//! kept.

use anyhow::{Result, bail};
use ringmasq_config::Config;
use ringmasq_config::dhcp::DhcpHost;
use ringmasq_config::dhcp_file::{self, DhcpFileError, DirFiles, add_new};
use ringmasq_config::dhcp_option::DhcpOption;

/// Entries read from the DHCP files and directories, and what the directories held.
#[derive(Debug, Default)]
pub struct DhcpFiles {
    file_hosts: Vec<DhcpHost>,
    file_opts: Vec<DhcpOption>,
    dir_hosts: Vec<DhcpHost>,
    dir_opts: Vec<DhcpOption>,
    hosts_seen: DirFiles,
    opts_seen: DirFiles,
}

fn log_errors(errors: &[DhcpFileError]) {
    for e in errors {
        tracing::error!("{e}; skipped");
    }
}

impl DhcpFiles {
    /// At start: every `--dhcp-hostsdir`/`--dhcp-optsdir` must be a directory (dnsmasq's rule).
    pub fn check_dirs(cfg: &Config) -> Result<()> {
        for (opt, dirs) in [
            ("dhcp-hostsdir", &cfg.dhcp.hosts_dirs),
            ("dhcp-optsdir", &cfg.dhcp.opts_dirs),
        ] {
            for d in dirs {
                match std::fs::metadata(d) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => bail!("{opt}={}: not a directory", d.display()),
                    Err(e) => bail!("{opt}={}: {e}", d.display()),
                }
            }
        }
        Ok(())
    }

    /// Reads every file and directory (start, SIGHUP).
    pub fn load(cfg: &Config) -> Self {
        let d = &cfg.dhcp;
        let hosts = dhcp_file::load_hosts(&d.hosts_files);
        let opts = dhcp_file::load_options(&d.opts_files);
        log_errors(&hosts.errors);
        log_errors(&opts.errors);
        for p in d.hosts_files.iter().chain(&d.opts_files) {
            tracing::info!("read {}", p.display());
        }
        let mut file_hosts = hosts.entries;
        if d.read_ethers {
            let path = std::path::Path::new(ringmasq_config::ethers::ETHERS);
            let ethers = ringmasq_config::ethers::load_ethers(path);
            log_errors(&ethers.errors);
            tracing::info!(
                "read {} - {} addresses",
                path.display(),
                ethers.entries.len()
            );
            file_hosts.extend(ethers.entries);
        }
        let mut files = DhcpFiles {
            file_hosts,
            file_opts: opts.entries,
            ..DhcpFiles::default()
        };
        files.read_dirs(cfg);
        for p in d.hosts_dirs.iter().chain(&d.opts_dirs) {
            tracing::info!("read {}", p.display());
        }
        files
    }

    /// Reads the new and changed files of the directories and adds the lines not held yet;
    /// true when something was added (and logged).
    pub fn add_changed(&mut self, cfg: &Config) -> bool {
        let (h, o) = self.read_dirs(cfg);
        if h + o > 0 {
            tracing::info!("DHCP: {h} host(s) and {o} option(s) added from directories");
        }
        h + o > 0
    }

    /// Adds the lines of the new and changed directory files; how many hosts and options.
    fn read_dirs(&mut self, cfg: &Config) -> (usize, usize) {
        let d = &cfg.dhcp;
        if d.hosts_dirs.is_empty() && d.opts_dirs.is_empty() {
            return (0, 0);
        }
        let hosts = self.hosts_seen.read_hosts(&d.hosts_dirs);
        let opts = self.opts_seen.read_options(&d.opts_dirs);
        log_errors(&hosts.errors);
        log_errors(&opts.errors);
        (
            add_new(&mut self.dir_hosts, hosts.entries),
            add_new(&mut self.dir_opts, opts.entries),
        )
    }

    /// The hosts from files, then those from directories (newest first).
    pub fn hosts(&self) -> Vec<DhcpHost> {
        self.file_hosts
            .iter()
            .chain(&self.dir_hosts)
            .cloned()
            .collect()
    }

    /// The options from files, then those from directories (newest first).
    pub fn options(&self) -> Vec<DhcpOption> {
        self.file_opts
            .iter()
            .chain(&self.dir_opts)
            .cloned()
            .collect()
    }
}
