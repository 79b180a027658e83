//! Loading: the command line, the configuration files it names (or the
//! default one), conf-dir and servers-file includes, then applying everything
//! to a [`Config`] while collecting every error.
//!
//! Precedence: file directives are applied first, in reading order, then the
//! command line, so for single-valued options the command line wins and list
//! options (servers, addresses, ...) accumulate with the files' entries first.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::apply::{ApplyState, apply};
use crate::argv::parse_args;
use crate::conf_line::parse_line;
use crate::config::{Config, DEFAULT_CONF_FILE};
use crate::directive::Directive;
use crate::error::{ConfigError, ConfigErrors};
use crate::option::{Status, find_long};
use crate::origin::Origin;
use crate::server::ServerRule;

/// Deepest nesting of conf-file includes.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Loads the configuration from the arguments (without argv\[0\]), reading
/// [`DEFAULT_CONF_FILE`] unless `-C/--conf-file` is given. A missing default
/// file is not an error; a missing named file is.
pub fn load(args: &[OsString]) -> Result<Config, ConfigErrors> {
    load_with_default(args, Some(Path::new(DEFAULT_CONF_FILE)))
}

/// As [`load`], with another default configuration file, or none.
pub fn load_with_default(
    args: &[OsString],
    default_conf: Option<&Path>,
) -> Result<Config, ConfigErrors> {
    let (cmdline, arg_errors) = parse_args(args);
    let mut loader = Loader::default();
    loader.errors.extend(arg_errors);

    let wants_info = cmdline
        .iter()
        .any(|d| matches!(d.name(), "help" | "version"));
    if !wants_info {
        let explicit = cmdline.iter().any(|d| d.name() == "conf-file");
        if !explicit && let Some(path) = default_conf {
            match std::fs::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                _ => loader.include_file(path, &Origin::CommandLine, "conf-file", false, 0),
            }
        }
        for d in &cmdline {
            loader.include(d, 0);
        }
    }

    let mut config = Config::default();
    let mut state = ApplyState::default();
    let mut unimplemented = Vec::new();
    let file_directives = std::mem::take(&mut loader.directives);
    for d in file_directives.iter().chain(&cmdline) {
        if d.spec.status == Status::NotYetImplemented {
            unimplemented.push((d.name().to_string(), d.origin.clone()));
        } else if let Err(e) = apply(&mut config, d, &mut state) {
            loader.errors.push(e);
        }
    }
    check_ports(&config, &file_directives, &cmdline, &mut loader.errors);
    sort_by_position(&mut loader.errors, &loader.files_read);
    config.conf_files_read = loader.files_read;
    config.servers_files = loader.servers_files;

    let mut errors = ConfigErrors(loader.errors);
    if !unimplemented.is_empty() {
        errors.push(ConfigError::NotImplemented(unimplemented));
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Reads a servers-file again (as on SIGHUP): its `server=`/`rev-server=`
/// rules in order, or every problem found.
pub fn load_servers_file(path: &Path) -> Result<Vec<ServerRule>, ConfigErrors> {
    let mut loader = Loader::default();
    loader.include_file(path, &Origin::CommandLine, "servers-file", true, 0);
    let mut config = Config::default();
    let mut state = ApplyState::default();
    for d in &loader.directives {
        if let Err(e) = apply(&mut config, d, &mut state) {
            loader.errors.push(e);
        }
    }
    if loader.errors.is_empty() {
        Ok(config.servers)
    } else {
        Err(ConfigErrors(loader.errors))
    }
}

/// Orders errors as their sources were read: files in reading order by line,
/// then the command line (a stable sort, so same-place errors keep their order).
fn sort_by_position(errors: &mut [ConfigError], files: &[PathBuf]) {
    errors.sort_by_key(|e| match e.origin() {
        Some(Origin::File { path, line }) => (
            files
                .iter()
                .position(|f| f == path)
                .unwrap_or(usize::MAX - 1),
            *line,
        ),
        _ => (usize::MAX, 0),
    });
}

/// `--min-port` must not exceed `--max-port`.
fn check_ports(
    c: &Config,
    files: &[Directive],
    cmdline: &[Directive],
    errors: &mut Vec<ConfigError>,
) {
    if let (Some(min), Some(max)) = (c.min_port, c.max_port)
        && min > max
    {
        let origin = files
            .iter()
            .chain(cmdline)
            .rev()
            .find(|d| matches!(d.name(), "min-port" | "max-port"))
            .map_or(Origin::CommandLine, |d| d.origin.clone());
        errors.push(ConfigError::Conflict {
            origin,
            option: "max-port".into(),
            problem: format!("max-port {max} is smaller than min-port {min}"),
        });
    }
}

#[derive(Debug, Default)]
struct Loader {
    directives: Vec<Directive>,
    errors: Vec<ConfigError>,
    files_read: Vec<PathBuf>,
    servers_files: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
}

/// One configuration-file line as a checked directive; None for blank lines and comments.
/// `servers_only`: a `--servers-file` line, where only `server` and `rev-server` may appear.
pub(crate) fn line_directive(
    line: &str,
    here: Origin,
    servers_only: bool,
) -> Option<Result<Directive, ConfigError>> {
    let parsed = match parse_line(line) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(e) => {
            return Some(Err(ConfigError::Syntax {
                origin: here,
                expected: e.expected(),
            }));
        }
    };
    let Some(spec) = find_long(&parsed.key) else {
        return Some(Err(ConfigError::UnknownOption {
            origin: here,
            option: parsed.key,
        }));
    };
    if servers_only && !matches!(spec.long, "server" | "rev-server") {
        return Some(Err(ConfigError::NotAllowedInServersFile {
            origin: here,
            option: parsed.key,
        }));
    }
    Some(Directive::checked(spec, spec.arg, parsed.value, here))
}

impl Loader {
    /// Follows an include directive (`conf-file`, `conf-dir`, `servers-file`).
    fn include(&mut self, d: &Directive, depth: usize) {
        let value = d.value.as_deref().unwrap_or("");
        match d.name() {
            "conf-file" if !value.is_empty() => {
                self.include_file(Path::new(value), &d.origin, "conf-file", false, depth)
            }
            "conf-dir" if !value.is_empty() => self.include_dir(value, &d.origin, depth),
            "servers-file" if !value.is_empty() => {
                self.servers_files.push(PathBuf::from(value));
                self.include_file(Path::new(value), &d.origin, "servers-file", true, depth);
            }
            "conf-dir" | "servers-file" => self.errors.push(ConfigError::MissingValue {
                origin: d.origin.clone(),
                option: d.name().to_string(),
                expected: crate::help::metavar(d.name()).to_string(),
            }),
            _ => {}
        }
    }

    fn io_error(&mut self, origin: &Origin, option: &str, path: &Path, source: std::io::Error) {
        self.errors.push(ConfigError::Io {
            origin: origin.clone(),
            option: option.to_string(),
            path: path.to_path_buf(),
            source,
        });
    }

    /// Reads one file (`-` = standard input) and its includes, depth first.
    fn include_file(
        &mut self,
        path: &Path,
        origin: &Origin,
        option: &str,
        servers_only: bool,
        depth: usize,
    ) {
        if depth > MAX_INCLUDE_DEPTH {
            self.errors.push(ConfigError::InvalidValue {
                origin: origin.clone(),
                option: option.to_string(),
                value: path.display().to_string(),
                expected: format!("includes nested at most {MAX_INCLUDE_DEPTH} deep"),
            });
            return;
        }
        let (shown, text) = if path == Path::new("-") {
            let mut text = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut text) {
                self.io_error(origin, option, path, e);
                return;
            }
            (PathBuf::from("<stdin>"), text)
        } else {
            // A file already read is skipped, which also stops include loops.
            match std::fs::canonicalize(path) {
                Ok(real) => {
                    if !self.seen.insert(real) {
                        return;
                    }
                }
                Err(e) => return self.io_error(origin, option, path, e),
            }
            match std::fs::read(path) {
                Ok(bytes) => (
                    path.to_path_buf(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ),
                Err(e) => return self.io_error(origin, option, path, e),
            }
        };
        self.files_read.push(shown.clone());
        for (index, line) in text.lines().enumerate() {
            let here = Origin::file(&shown, index + 1);
            match line_directive(line, here, servers_only) {
                None => {}
                Some(Ok(d)) if matches!(d.name(), "conf-file" | "conf-dir" | "servers-file") => {
                    self.include(&d, depth + 1)
                }
                Some(Ok(d)) => self.directives.push(d),
                Some(Err(e)) => self.errors.push(e),
            }
        }
    }

    /// `conf-dir=DIR[,ext...]`: reads the directory's files in name order,
    /// skipping names ending in `~`, starting with `.`, or starting and ending
    /// with `#`; skipping names ending in a given extension; and, when an
    /// extension is given as `*ext`, loading only names ending in one of those.
    fn include_dir(&mut self, value: &str, origin: &Origin, depth: usize) {
        let mut parts = value.split(',').map(str::trim);
        let dir = Path::new(parts.next().unwrap_or(""));
        let (only, skip): (Vec<&str>, Vec<&str>) = parts
            .filter(|p| !p.is_empty())
            .partition(|p| p.starts_with('*'));
        let only: Vec<&str> = only.iter().map(|p| &p[1..]).collect();
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return self.io_error(origin, "conf-dir", dir, e),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| {
                !(n.ends_with('~')
                    || n.starts_with('.')
                    || (n.len() > 1 && n.starts_with('#') && n.ends_with('#')))
            })
            .filter(|n| only.is_empty() || only.iter().any(|ext| n.ends_with(ext)))
            .filter(|n| !skip.iter().any(|ext| n.ends_with(ext)))
            .collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                self.include_file(&path, origin, "conf-dir", false, depth + 1);
            }
        }
    }
}
