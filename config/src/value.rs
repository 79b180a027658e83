//! Parsers for scalar option values: integers, ports and durations.
//!
//! Like dnsmasq, numbers are plain unsigned decimal digits (no sign, no hex);
//! unlike dnsmasq, values that do not fit the field are refused rather than
//! silently wrapped.

/// A value that does not parse; says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}")]
pub struct ValueError {
    /// Description of a valid value.
    pub expected: String,
}

impl ValueError {
    /// A value error expecting `expected`.
    pub fn expected(expected: impl Into<String>) -> Self {
        ValueError {
            expected: expected.into(),
        }
    }
}

/// Parses a plain unsigned decimal number no larger than `max`.
pub fn parse_uint(value: &str, max: u64) -> Result<u64, ValueError> {
    let err = || ValueError::expected(format!("a whole number from 0 to {max}"));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let n: u64 = value.parse().map_err(|_| err())?;
    if n > max {
        return Err(err());
    }
    Ok(n)
}

/// Parses a plain unsigned 32-bit decimal number.
pub fn parse_u32(value: &str) -> Result<u32, ValueError> {
    parse_uint(value, u64::from(u32::MAX)).map(|n| n as u32)
}

/// Parses a port number 0-65535.
pub fn parse_port(value: &str) -> Result<u16, ValueError> {
    parse_uint(value, 65535)
        .map(|n| n as u16)
        .map_err(|_| ValueError::expected("a port number from 0 to 65535"))
}

/// Parses a duration in seconds with an optional unit suffix, the same units
/// dnsmasq accepts for lease times: `s`, `m`, `h`, `d`, `w` (either case).
/// A bare number is seconds.
pub fn parse_duration_secs(value: &str) -> Result<u32, ValueError> {
    let err = || {
        ValueError::expected("a duration: whole seconds, or a number followed by s, m, h, d or w")
    };
    let (digits, unit) = match value.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_lowercase()),
        _ => (value, 's'),
    };
    let scale: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(err()),
    };
    let n = parse_uint(digits, u64::from(u32::MAX)).map_err(|_| err())?;
    n.checked_mul(scale)
        .filter(|s| *s <= u64::from(u32::MAX))
        .map(|s| s as u32)
        .ok_or_else(err)
}

/// Splits a comma-separated list, trimming blanks around each item.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn integers_are_plain_decimal() {
        assert_eq!(parse_u32("0"), Ok(0));
        assert_eq!(parse_u32("010"), Ok(10));
        assert_eq!(parse_u32("4294967295"), Ok(u32::MAX));
        for bad in [
            "",
            "-1",
            "+5",
            "0x35",
            "5x",
            "1h",
            "4294967296",
            " 5",
            "5 3",
        ] {
            assert!(parse_u32(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ports_are_bounded() {
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("0"), Ok(0));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration_secs("10"), Ok(10));
        assert_eq!(parse_duration_secs("10s"), Ok(10));
        assert_eq!(parse_duration_secs("2m"), Ok(120));
        assert_eq!(parse_duration_secs("1H"), Ok(3600));
        assert_eq!(parse_duration_secs("1d"), Ok(86_400));
        assert_eq!(parse_duration_secs("1w"), Ok(604_800));
        for bad in ["", "s", "1x", "1.5h", "-1", "99999999w", "h1"] {
            assert!(parse_duration_secs(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn duration_round_trip(n in 0u32..=u32::MAX, unit in prop::sample::select(vec![('s', 1u64), ('m', 60), ('h', 3600), ('d', 86_400), ('w', 604_800)])) {
            let text = format!("{n}{}", unit.0);
            let total = u64::from(n) * unit.1;
            match parse_duration_secs(&text) {
                Ok(secs) => prop_assert_eq!(u64::from(secs), total),
                Err(_) => prop_assert!(total > u64::from(u32::MAX)),
            }
        }

        #[test]
        fn u32_round_trip(n in any::<u32>()) {
            prop_assert_eq!(parse_u32(&n.to_string()), Ok(n));
        }

        #[test]
        fn integer_parser_never_panics(s in ".*") {
            let _ = parse_u32(&s);
            let _ = parse_duration_secs(&s);
        }
    }
}
