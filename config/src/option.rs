//! What an option is (name, letter, argument kind, status, family) and how a name or letter
//! finds one in the table ([`OPTIONS`], in `option_table.rs`; the not-implemented ones in
//! `refused.rs`).
//!
//! The same table serves the command line (`--name`, `-x`) and configuration files (where the
//! long name is the key).

pub use crate::option_table::OPTIONS;

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A flag: giving a value is an error.
    None,
    /// A value must be given (`--opt=v`, `--opt v`, `-xv`, `-x v`, `opt=v`).
    Required,
    /// A value may be given, on the command line only as `--opt=v`.
    Optional,
}

/// Whether ringmasq acts on an option yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Parsed into [`crate::Config`] and honoured.
    Implemented,
    /// Known from dnsmasq but not supported yet: using it is reported as an error.
    NotYetImplemented,
}

/// Where an option comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// An option dnsmasq 2.90 knows.
    Dnsmasq,
    /// An option only ringmasq has.
    Ringmasq,
}

/// One row of the option table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Long name without the leading `--`; also the config-file key.
    pub long: &'static str,
    /// Short letter (`-x`), if the option has one.
    pub short: Option<char>,
    /// Argument kind of the long form and of the config-file key.
    pub arg: ArgKind,
    /// Implementation status.
    pub status: Status,
    /// dnsmasq option or ringmasq extension.
    pub family: Family,
}

impl OptionSpec {
    /// Argument kind of the short form.
    ///
    /// dnsmasq's getopt string gives every short option whose long form takes
    /// an optional value a required one, except `-1` (optional, attached only)
    /// and `-q` (a plain flag).
    pub fn short_arg(&self) -> ArgKind {
        match (self.arg, self.long) {
            (ArgKind::Optional, "enable-dbus") => ArgKind::Optional,
            (ArgKind::Optional, "log-queries") => ArgKind::None,
            (ArgKind::Optional, _) => ArgKind::Required,
            (kind, _) => kind,
        }
    }

    /// True when the option is parsed and honoured by ringmasq.
    pub fn is_implemented(&self) -> bool {
        self.status == Status::Implemented
    }
}

/// Looks an option up by its exact long name (config-file key).
pub fn find_long(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.long == name)
}

/// Looks an option up by its short letter.
pub fn find_short(letter: char) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.short == Some(letter))
}

/// Outcome of a command-line long-name look-up, which like getopt_long accepts
/// an unambiguous prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixMatch {
    /// Exactly one option matches.
    Found(&'static OptionSpec),
    /// No option matches.
    Unknown,
    /// The prefix matches several options (their long names).
    Ambiguous(Vec<&'static str>),
}

/// Looks an option up by long name or unambiguous prefix of one.
pub fn find_prefix(name: &str) -> PrefixMatch {
    if let Some(spec) = find_long(name) {
        return PrefixMatch::Found(spec);
    }
    if name.is_empty() {
        return PrefixMatch::Unknown;
    }
    let mut hits = OPTIONS.iter().filter(|o| o.long.starts_with(name));
    match (hits.next(), hits.next()) {
        (None, _) => PrefixMatch::Unknown,
        (Some(one), None) => PrefixMatch::Found(one),
        (Some(a), Some(b)) => {
            let mut names = vec![a.long, b.long];
            names.extend(hits.map(|o| o.long));
            PrefixMatch::Ambiguous(names)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_letters_are_unique() {
        let mut longs = HashSet::new();
        let mut shorts = HashSet::new();
        for o in OPTIONS {
            assert!(longs.insert(o.long), "duplicate long name {}", o.long);
            if let Some(c) = o.short {
                assert!(shorts.insert(c), "duplicate short letter {c}");
            }
        }
    }

    #[test]
    fn table_has_every_dnsmasq_option() {
        let dnsmasq = OPTIONS
            .iter()
            .filter(|o| o.family == Family::Dnsmasq)
            .count();
        assert_eq!(dnsmasq, 189);
        for name in [
            "server",
            "local",
            "address",
            "dhcp-range",
            "user",
            "group",
            "conf-script",
        ] {
            assert!(find_long(name).is_some(), "{name}");
        }
    }

    #[test]
    fn short_letters_map_to_dnsmasq_names() {
        assert_eq!(find_short('p').unwrap().long, "port");
        assert_eq!(find_short('S').unwrap().long, "server");
        assert_eq!(find_short('C').unwrap().long, "conf-file");
        assert_eq!(find_short('7').unwrap().long, "conf-dir");
        assert_eq!(find_short('0').unwrap().long, "dns-forward-max");
        assert_eq!(find_short('l').unwrap().long, "dhcp-leasefile");
        assert_eq!(find_short('s').unwrap().long, "domain");
        assert!(find_short('G').is_some());
        assert!(find_short('j').is_some());
    }

    #[test]
    fn short_arg_kinds_follow_getopt_string() {
        assert_eq!(find_short('q').unwrap().short_arg(), ArgKind::None);
        assert_eq!(find_short('1').unwrap().short_arg(), ArgKind::Optional);
        assert_eq!(find_short('C').unwrap().short_arg(), ArgKind::Required);
        assert_eq!(find_short('x').unwrap().short_arg(), ArgKind::Required);
        assert_eq!(find_short('k').unwrap().short_arg(), ArgKind::None);
    }

    #[test]
    fn prefixes_resolve_like_getopt_long() {
        assert_eq!(
            find_prefix("keep-in"),
            PrefixMatch::Found(find_long("keep-in-foreground").unwrap())
        );
        assert_eq!(
            find_prefix("port"),
            PrefixMatch::Found(find_long("port").unwrap())
        );
        assert!(matches!(find_prefix("dhcp-"), PrefixMatch::Ambiguous(v) if v.len() > 2));
        assert_eq!(find_prefix("no-such-thing"), PrefixMatch::Unknown);
        assert_eq!(find_prefix(""), PrefixMatch::Unknown);
    }
}
