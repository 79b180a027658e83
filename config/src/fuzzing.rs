//! Invariants the config-crate fuzz targets check (`fuzz/fuzz_targets/conf_file.rs`,
//! `dhcp_optsfile.rs`), shared with the stable corpus replay (`config/tests/fuzz_corpus.rs`).

use std::ffi::OsString;
use std::path::Path;

use crate::apply::{ApplyState, apply};
use crate::argv::parse_args;
use crate::config::Config;
use crate::dhcp::{DhcpHost, DhcpRange};
use crate::dhcp_option::DhcpOption;
use crate::directive::Directive;
use crate::error::ConfigError;
use crate::load::line_directive;
use crate::option::Status;
use crate::origin::Origin;
use crate::resolv_conf::parse_resolv_conf;

fn is_include(d: &Directive) -> bool {
    matches!(d.name(), "conf-file" | "conf-dir" | "servers-file")
}

/// Applies one directive as loading does (includes, which name other files, and options
/// refused at start are left out); an error must name where the directive came from.
fn apply_checked(c: &mut Config, st: &mut ApplyState, d: &Directive) {
    if is_include(d) || d.spec.status == Status::NotYetImplemented {
        return;
    }
    if let Err(e) = apply(c, d, st) {
        assert_origin(&e, &d.origin);
    }
}

fn assert_origin(e: &ConfigError, want: &Origin) {
    if let Some(o) = e.origin() {
        assert_eq!(o, want, "{e}");
    }
}

/// The `conf_file` target: every line of an arbitrary configuration file (also read as a
/// servers-file) becomes a directive that applies or an error naming its file and line; the
/// same bytes split at NULs as a command line, and as a resolv.conf, never panic either.
/// Panics on a broken invariant.
pub fn check_conf_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz.conf");
    let mut c = Config::default();
    let mut st = ApplyState::default();
    for (i, line) in text.lines().enumerate() {
        let here = Origin::file(path, i + 1);
        for servers_only in [false, true] {
            match line_directive(line, here.clone(), servers_only) {
                None => {}
                Some(Ok(d)) => {
                    assert!(!servers_only || matches!(d.name(), "server" | "rev-server"));
                    apply_checked(&mut c, &mut st, &d);
                }
                Some(Err(e)) => {
                    assert_origin(&e, &here);
                    assert!(e.to_string().contains("fuzz.conf"), "{e}");
                }
            }
        }
    }
    let args: Vec<OsString> = text.split('\0').take(64).map(OsString::from).collect();
    let (directives, _errors) = parse_args(&args);
    let mut c = Config::default();
    let mut st = ApplyState::default();
    for d in &directives {
        apply_checked(&mut c, &mut st, d);
    }
    let _ = parse_resolv_conf(&text);
}

/// The `dhcp_optsfile` target: every line of an arbitrary `--dhcp-optsfile` (also read as a
/// `--dhcp-hostsfile` and as `--dhcp-range` values) parses or is rejected, never a panic. The
/// whole text is also read as `/etc/ethers` (`--read-ethers`): every host it yields is one
/// MAC with a name or an address, and says the same written back as a `dhcp-host` value.
pub fn check_dhcp_files(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for h in crate::ethers::parse_ethers(&text, std::path::Path::new("ethers")).entries {
        assert_eq!(h.macs.len(), 1);
        let m: Vec<String> = h.macs[0]
            .bytes
            .iter()
            .map(|b| format!("{:02x}", b.expect("no wildcard")))
            .collect();
        let what = match (&h.name, h.addr) {
            (Some(n), None) => n.clone(),
            (None, Some(a)) => a.to_string(),
            other => panic!("{other:?}"),
        };
        // Back as a dhcp-host value it is the same host, unless dhcp-host reads the name as
        // one of its keywords (`ignore`, a lease time), which ethers does not have.
        if let Ok(b) = DhcpHost::parse(&format!("{},{what}", m.join(":")))
            && b.lease.is_none()
            && !b.ignore
        {
            assert_eq!(b, h);
        }
    }
    for line in text.lines().take(256) {
        let line = line.trim();
        let _ = DhcpOption::parse(line, false);
        let _ = DhcpOption::parse(line, true);
        let _ = DhcpHost::parse(line);
        let _ = DhcpRange::parse(line);
    }
}
