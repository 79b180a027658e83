//! Command-line grammar, as dnsmasq's getopt_long: `--name`, `--name=value`,
//! `--name value` (required values only), unambiguous prefixes of long names,
//! `-x`, clustered short flags `-kd`, `-xVALUE` and `-x VALUE` for short
//! options with required values. Optional values are only taken as
//! `--name=value` (or attached, for `-1`).

use std::ffi::OsString;

use crate::directive::Directive;
use crate::error::ConfigError;
use crate::option::{self, ArgKind, PrefixMatch};
use crate::origin::Origin;

/// Turns the arguments (without argv\[0\]) into directives, collecting errors.
pub fn parse_args(args: &[OsString]) -> (Vec<Directive>, Vec<ConfigError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut i = 0;
    let next_value = |i: &mut usize| -> Option<Result<String, ConfigError>> {
        let arg = args.get(*i + 1)?;
        *i += 1;
        Some(to_str(arg))
    };
    while i < args.len() {
        let arg = match to_str(&args[i]) {
            Ok(a) => a,
            Err(e) => {
                errors.push(e);
                i += 1;
                continue;
            }
        };
        if let Some(body) = arg.strip_prefix("--") {
            if body.is_empty() {
                // `--` ends the options; anything after it is junk to dnsmasq.
                for rest in &args[i + 1..] {
                    errors.push(ConfigError::UnexpectedArgument {
                        origin: Origin::CommandLine,
                        argument: rest.to_string_lossy().into_owned(),
                    });
                }
                break;
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let spec = match option::find_prefix(name) {
                PrefixMatch::Found(s) => s,
                PrefixMatch::Unknown => {
                    errors.push(ConfigError::UnknownOption {
                        origin: Origin::CommandLine,
                        option: format!("--{name}"),
                    });
                    i += 1;
                    continue;
                }
                PrefixMatch::Ambiguous(c) => {
                    errors.push(ConfigError::AmbiguousOption {
                        origin: Origin::CommandLine,
                        option: name.to_string(),
                        candidates: c.into_iter().map(String::from).collect(),
                    });
                    i += 1;
                    continue;
                }
            };
            let value = match (spec.arg, inline) {
                (ArgKind::Required, None) => match next_value(&mut i) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => {
                        errors.push(e);
                        i += 1;
                        continue;
                    }
                    None => None,
                },
                (_, v) => v,
            };
            push(
                &mut out,
                &mut errors,
                Directive::checked(spec, spec.arg, value, Origin::CommandLine),
            );
            i += 1;
            continue;
        }
        let Some(cluster) = arg.strip_prefix('-').filter(|c| !c.is_empty()) else {
            errors.push(ConfigError::UnexpectedArgument {
                origin: Origin::CommandLine,
                argument: arg,
            });
            i += 1;
            continue;
        };
        for (at, letter) in cluster.char_indices() {
            let Some(spec) = option::find_short(letter) else {
                errors.push(ConfigError::UnknownOption {
                    origin: Origin::CommandLine,
                    option: format!("-{letter}"),
                });
                continue;
            };
            let rest = &cluster[at + letter.len_utf8()..];
            let kind = spec.short_arg();
            let value = match kind {
                ArgKind::None => None,
                ArgKind::Optional => (!rest.is_empty()).then(|| rest.to_string()),
                ArgKind::Required if !rest.is_empty() => Some(rest.to_string()),
                ArgKind::Required => match next_value(&mut i) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => {
                        errors.push(e);
                        None
                    }
                    None => None,
                },
            };
            push(
                &mut out,
                &mut errors,
                Directive::checked(spec, kind, value, Origin::CommandLine),
            );
            if kind != ArgKind::None {
                break;
            }
        }
        i += 1;
    }
    (out, errors)
}

fn push(
    out: &mut Vec<Directive>,
    errors: &mut Vec<ConfigError>,
    d: Result<Directive, ConfigError>,
) {
    match d {
        Ok(d) => out.push(d),
        Err(e) => errors.push(e),
    }
}

fn to_str(arg: &OsString) -> Result<String, ConfigError> {
    arg.to_str()
        .map(str::to_string)
        .ok_or_else(|| ConfigError::UnexpectedArgument {
            origin: Origin::CommandLine,
            argument: format!("{} (not valid UTF-8)", arg.to_string_lossy()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> (Vec<(&'static str, Option<String>)>, Vec<ConfigError>) {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let (d, e) = parse_args(&args);
        (d.into_iter().map(|d| (d.spec.long, d.value)).collect(), e)
    }

    fn ok(args: &[&str]) -> Vec<(&'static str, Option<String>)> {
        let (d, e) = run(args);
        assert!(e.is_empty(), "{args:?}: {e:?}");
        d
    }

    fn s(v: &str) -> Option<String> {
        Some(v.into())
    }

    #[test]
    fn long_forms() {
        assert_eq!(ok(&["--port=5353"]), [("port", s("5353"))]);
        assert_eq!(ok(&["--port", "5353"]), [("port", s("5353"))]);
        assert_eq!(ok(&["--no-resolv"]), [("no-resolv", None)]);
        assert_eq!(
            ok(&["--server=/x/1.2.3.4#53"]),
            [("server", s("/x/1.2.3.4#53"))]
        );
        assert_eq!(ok(&["--port="]), [("port", s(""))]);
    }

    #[test]
    fn optional_values_only_attach_with_equals() {
        assert_eq!(
            ok(&["--use-stale-cache", "--port=1"]),
            [("use-stale-cache", None), ("port", s("1"))]
        );
        assert_eq!(
            ok(&["--use-stale-cache=30"]),
            [("use-stale-cache", s("30"))]
        );
        let (_, e) = run(&["--local-service", "net"]);
        assert!(
            matches!(&e[..], [ConfigError::UnexpectedArgument { argument, .. }] if argument == "net")
        );
    }

    #[test]
    fn short_forms() {
        assert_eq!(ok(&["-p53"]), [("port", s("53"))]);
        assert_eq!(ok(&["-p", "53"]), [("port", s("53"))]);
        assert_eq!(
            ok(&["-kd"]),
            [("keep-in-foreground", None), ("no-daemon", None)]
        );
        assert_eq!(
            ok(&["-kp53"]),
            [("keep-in-foreground", None), ("port", s("53"))]
        );
        assert_eq!(ok(&["-q"]), [("log-queries", None)]);
        assert_eq!(ok(&["-C", "-"]), [("conf-file", s("-"))]);
        assert_eq!(ok(&["-S/x/"]), [("server", s("/x/"))]);
        assert_eq!(ok(&["-H", "/srv/h"]), [("addn-hosts", s("/srv/h"))]);
    }

    #[test]
    fn prefixes_and_errors() {
        assert_eq!(ok(&["--keep-in"]), [("keep-in-foreground", None)]);
        let (_, e) = run(&["--dhcp-"]);
        assert!(matches!(&e[..], [ConfigError::AmbiguousOption { .. }]));
        let (_, e) = run(&["--bogus-option", "-%", "stray"]);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].to_string().contains("unknown option `--bogus-option`"));
        assert!(e[1].to_string().contains("`-%`"));
        assert!(e[2].to_string().contains("command line"));
        let (_, e) = run(&["--port"]);
        assert!(matches!(&e[..], [ConfigError::MissingValue { option, .. }] if option == "port"));
        let (_, e) = run(&["--no-resolv=yes"]);
        assert!(
            matches!(&e[..], [ConfigError::UnexpectedValue { option, .. }] if option == "no-resolv")
        );
        let (_, e) = run(&["-p"]);
        assert!(matches!(&e[..], [ConfigError::MissingValue { .. }]));
        let (_, e) = run(&["--", "x"]);
        assert!(matches!(&e[..], [ConfigError::UnexpectedArgument { .. }]));
    }

    #[test]
    fn gentoo_option_string() {
        let d = ok(&[
            "--user=dnsmasq",
            "--group=dnsmasq",
            "-H",
            "/srv/virt/gentoo/hosts",
            "--max-cache-ttl=10",
        ]);
        assert_eq!(
            d,
            [
                ("user", s("dnsmasq")),
                ("group", s("dnsmasq")),
                ("addn-hosts", s("/srv/virt/gentoo/hosts")),
                ("max-cache-ttl", s("10")),
            ]
        );
    }
}
