//! One option occurrence, from the command line or a file, before it is
//! applied to the typed [`crate::Config`].

use crate::error::ConfigError;
use crate::option::{ArgKind, OptionSpec};
use crate::origin::Origin;

/// A known option with its (unparsed) value and where it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The table row.
    pub spec: &'static OptionSpec,
    /// The value, if one was given.
    pub value: Option<String>,
    /// Where it was given.
    pub origin: Origin,
}

impl Directive {
    /// Checks the value against the argument kind `kind` and builds the
    /// directive.
    pub fn checked(
        spec: &'static OptionSpec,
        kind: ArgKind,
        value: Option<String>,
        origin: Origin,
    ) -> Result<Self, ConfigError> {
        match (kind, &value) {
            (ArgKind::None, Some(v)) => Err(ConfigError::UnexpectedValue {
                origin,
                option: spec.long.to_string(),
                value: v.clone(),
            }),
            (ArgKind::Required, None) => Err(ConfigError::MissingValue {
                origin,
                option: spec.long.to_string(),
                expected: crate::help::metavar(spec.long).to_string(),
            }),
            _ => Ok(Directive {
                spec,
                value,
                origin,
            }),
        }
    }

    /// The long option name.
    pub fn name(&self) -> &'static str {
        self.spec.long
    }
}
