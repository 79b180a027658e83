//! The TFTP part of the typed configuration: `--enable-tftp` and the `--tftp-*` options, with
//! dnsmasq's syntax and defaults.

use std::path::PathBuf;

use crate::value::{ValueError, parse_port, parse_uint, split_list};

/// dnsmasq's default `--tftp-max` (concurrent transfers).
pub const DEFAULT_TFTP_MAX: u32 = 50;

/// Default `--tftp-ack-gather` (ringmasq): microseconds the io_uring TFTP loop may gather ACKs
/// of concurrent transfers before answering them.
pub const DEFAULT_TFTP_ACK_GATHER_USEC: u32 = 100;

/// `--tftp-unique-root`: which client identity becomes a directory under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueRoot {
    /// The client's IP address (dotted quad or IPv6 text).
    Ip,
    /// The client's MAC address as `01-02-03-04-aa-bb` (known from a DHCP lease).
    Mac,
}

/// A `--tftp-root=DIR[,interface]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpRoot {
    /// The directory.
    pub dir: PathBuf,
    /// Only for requests arriving on this interface.
    pub interface: Option<String>,
}

/// TFTP settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TftpSettings {
    /// `--enable-tftp` given.
    pub enabled: bool,
    /// `--enable-tftp=IF[,IF]`: only on these interfaces (empty = everywhere DNS/DHCP listen).
    pub interfaces: Vec<String>,
    /// `--tftp-root` lines, in order.
    pub roots: Vec<TftpRoot>,
    /// `--tftp-unique-root`.
    pub unique_root: Option<UniqueRoot>,
    /// `--tftp-secure`.
    pub secure: bool,
    /// `--tftp-lowercase`.
    pub lowercase: bool,
    /// `--tftp-max`.
    pub max: u32,
    /// `--tftp-mtu`.
    pub mtu: Option<u32>,
    /// `--tftp-no-blocksize`.
    pub no_blocksize: bool,
    /// `--tftp-port-range=START,END`.
    pub port_range: Option<(u16, u16)>,
    /// `--tftp-single-port`.
    pub single_port: bool,
    /// `--tftp-no-fail`.
    pub no_fail: bool,
    /// `--quiet-tftp`: no log line per transfer sent, nor per request for a missing file
    /// (problems are still logged).
    pub quiet: bool,
    /// `--tftp-ack-gather` (ringmasq): bound in microseconds on how long the io_uring loop
    /// gathers ACKs of concurrent transfers per wake-up; 0 answers every ACK at once.
    pub ack_gather_usec: u32,
}

impl Default for TftpSettings {
    fn default() -> Self {
        TftpSettings {
            enabled: false,
            interfaces: Vec::new(),
            roots: Vec::new(),
            unique_root: None,
            secure: false,
            lowercase: false,
            quiet: false,
            max: DEFAULT_TFTP_MAX,
            mtu: None,
            no_blocksize: false,
            port_range: None,
            single_port: false,
            no_fail: false,
            ack_gather_usec: DEFAULT_TFTP_ACK_GATHER_USEC,
        }
    }
}

impl TftpSettings {
    /// Applies one TFTP directive (`name` without dashes, `value` as given). Returns `false`
    /// when `name` is not a TFTP option.
    pub(crate) fn apply(&mut self, name: &str, value: Option<&str>) -> Result<bool, ValueError> {
        let req = || value.ok_or_else(|| ValueError::expected("a value"));
        match name {
            "enable-tftp" => {
                self.enabled = true;
                if let Some(v) = value {
                    self.interfaces.extend(split_list(v).map(str::to_string));
                }
            }
            "tftp-root" => {
                let v = req()?;
                let mut parts = v.splitn(2, ',');
                let dir = parts.next().unwrap_or_default();
                if dir.is_empty() {
                    return Err(ValueError::expected("a directory"));
                }
                let interface = parts
                    .next()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
                self.roots.push(TftpRoot {
                    dir: PathBuf::from(dir),
                    interface,
                });
            }
            "tftp-unique-root" => {
                self.unique_root = Some(match value.map(str::trim) {
                    None | Some("") | Some("ip") => UniqueRoot::Ip,
                    Some("mac") => UniqueRoot::Mac,
                    Some(_) => return Err(ValueError::expected("ip or mac")),
                });
            }
            "tftp-secure" => self.secure = true,
            "tftp-lowercase" => self.lowercase = true,
            "quiet-tftp" => self.quiet = true,
            "tftp-no-blocksize" => self.no_blocksize = true,
            "tftp-single-port" => self.single_port = true,
            "tftp-no-fail" => self.no_fail = true,
            "tftp-max" => self.max = parse_uint(req()?, u64::from(u32::MAX))? as u32,
            "tftp-mtu" => self.mtu = Some(parse_uint(req()?, 65535)? as u32),
            "tftp-ack-gather" => self.ack_gather_usec = parse_uint(req()?, 10_000)? as u32,
            "tftp-port-range" => {
                let v = req()?;
                let (a, b) = v
                    .split_once(',')
                    .ok_or_else(|| ValueError::expected("START,END"))?;
                let (a, b) = (parse_port(a.trim())?, parse_port(b.trim())?);
                if a == 0 || b < a {
                    return Err(ValueError::expected("START,END with 0 < START <= END"));
                }
                self.port_range = Some((a, b));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The root for a request that arrived on `interface`: the first `--tftp-root` naming that
    /// interface, else the first without an interface.
    pub fn root_for(&self, interface: Option<&str>) -> Option<&TftpRoot> {
        self.roots
            .iter()
            .find(|r| r.interface.is_some() && r.interface.as_deref() == interface)
            .or_else(|| self.roots.iter().find(|r| r.interface.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_option() {
        let mut t = TftpSettings::default();
        for (n, v) in [
            ("enable-tftp", Some("eth0,eth1")),
            ("tftp-root", Some("/srv/tftp")),
            ("tftp-root", Some("/srv/lab,eth1")),
            ("tftp-unique-root", Some("mac")),
            ("tftp-secure", None),
            ("tftp-lowercase", None),
            ("tftp-max", Some("500")),
            ("tftp-mtu", Some("1400")),
            ("tftp-no-blocksize", None),
            ("tftp-port-range", Some("7000,7100")),
            ("tftp-single-port", None),
            ("tftp-no-fail", None),
            ("tftp-ack-gather", Some("250")),
            ("quiet-tftp", None),
        ] {
            assert_eq!(t.apply(n, v), Ok(true), "{n}");
        }
        assert!(t.enabled && t.secure && t.lowercase && t.no_blocksize);
        assert!(t.single_port && t.no_fail && t.quiet);
        assert_eq!(t.ack_gather_usec, 250);
        assert_eq!(t.interfaces, ["eth0", "eth1"]);
        assert_eq!(t.unique_root, Some(UniqueRoot::Mac));
        assert_eq!(
            (t.max, t.mtu, t.port_range),
            (500, Some(1400), Some((7000, 7100)))
        );
        assert_eq!(
            t.root_for(Some("eth1")).unwrap().dir,
            PathBuf::from("/srv/lab")
        );
        assert_eq!(
            t.root_for(Some("eth0")).unwrap().dir,
            PathBuf::from("/srv/tftp")
        );
        assert_eq!(t.root_for(None).unwrap().dir, PathBuf::from("/srv/tftp"));
        assert_eq!(t.apply("port", Some("1")), Ok(false));
    }

    #[test]
    fn bad_values() {
        let mut t = TftpSettings::default();
        assert!(t.apply("tftp-port-range", Some("7100,7000")).is_err());
        assert!(t.apply("tftp-port-range", Some("7000")).is_err());
        assert!(t.apply("tftp-max", Some("x")).is_err());
        assert!(t.apply("tftp-ack-gather", Some("10001")).is_err());
        assert!(t.apply("tftp-ack-gather", None).is_err());
        assert!(t.apply("tftp-unique-root", Some("name")).is_err());
        assert!(t.apply("tftp-root", Some(",eth0")).is_err());
        assert!(t.apply("tftp-root", None).is_err());
        assert_eq!(t.apply("enable-tftp", None), Ok(true));
        assert!(t.enabled && t.interfaces.is_empty());
        assert_eq!(t.apply("tftp-unique-root", None), Ok(true));
        assert_eq!(t.unique_root, Some(UniqueRoot::Ip));
    }
}
