//! The grammar of one configuration-file line.
//!
//! `key[=value]`; blanks around the key and the value are dropped. A `#` at
//! the start of the line or after a blank, outside quotes, starts a comment,
//! so `server=/example/#` keeps its `#`. Between `"` quotes blanks and `#` are
//! literal and the escapes `\\ \" \t \e \b \r \n` are understood; the quotes
//! themselves are removed and may cover part of a value (`port="5"3` is 53).

/// One non-blank, non-comment line, split into key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfLine {
    /// Option name (the long option without `--`).
    pub key: String,
    /// Text after the first `=`, if there is an `=`.
    pub value: Option<String>,
}

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// A `"` was opened and never closed.
    UnterminatedQuote,
    /// A backslash escape inside quotes is not one of the known ones.
    BadEscape(char),
    /// The line has `=value` but no key.
    MissingKey,
}

impl LineError {
    /// What the line should have looked like.
    pub fn expected(&self) -> String {
        match self {
            LineError::UnterminatedQuote => "a closing `\"` before the end of the line".into(),
            LineError::BadEscape(c) => {
                format!(
                    "one of the escapes \\\\ \\\" \\t \\e \\b \\r \\n inside quotes, not `\\{c}`"
                )
            }
            LineError::MissingKey => "an option name before `=`".into(),
        }
    }
}

/// Splits one line. `Ok(None)` for blank and comment lines.
pub fn parse_line(line: &str) -> Result<Option<ConfLine>, LineError> {
    // Characters after quote removal, each tagged with whether it was quoted.
    let mut chars: Vec<(char, bool)> = Vec::with_capacity(line.len());
    let mut in_quotes = false;
    let mut prev_blank = true;
    let mut it = line.chars();
    while let Some(c) = it.next() {
        if in_quotes {
            match c {
                '"' => in_quotes = false,
                '\\' => {
                    let e = it.next().ok_or(LineError::UnterminatedQuote)?;
                    let decoded = match e {
                        '\\' => '\\',
                        '"' => '"',
                        't' => '\t',
                        'e' => '\u{1b}',
                        'b' => '\u{8}',
                        'r' => '\r',
                        'n' => '\n',
                        other => return Err(LineError::BadEscape(other)),
                    };
                    chars.push((decoded, true));
                }
                _ => chars.push((c, true)),
            }
            prev_blank = false;
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '#' if prev_blank => break,
            _ => chars.push((c, false)),
        }
        prev_blank = c.is_whitespace();
    }
    if in_quotes {
        return Err(LineError::UnterminatedQuote);
    }
    let eq = chars.iter().position(|&(c, q)| c == '=' && !q);
    let (key_part, value_part) = match eq {
        Some(i) => (&chars[..i], Some(&chars[i + 1..])),
        None => (&chars[..], None),
    };
    let key: String = trim(key_part).iter().map(|&(c, _)| c).collect();
    let value: Option<String> = value_part.map(|v| trim(v).iter().map(|&(c, _)| c).collect());
    if key.is_empty() {
        return match value {
            None => Ok(None),
            Some(_) => Err(LineError::MissingKey),
        };
    }
    Ok(Some(ConfLine { key, value }))
}

/// Drops unquoted blanks (and a stray CR) at both ends.
fn trim(s: &[(char, bool)]) -> &[(char, bool)] {
    let blank = |&(c, q): &(char, bool)| !q && c.is_whitespace();
    let start = s.iter().position(|x| !blank(x)).unwrap_or(s.len());
    let end = s.iter().rposition(|x| !blank(x)).map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kv(line: &str) -> (String, Option<String>) {
        let l = parse_line(line).unwrap().unwrap();
        (l.key, l.value)
    }

    fn v(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn blank_and_comment_lines() {
        for line in [
            "",
            "   ",
            "\t",
            "# comment",
            "   # indented",
            "#port=53",
            "\r",
        ] {
            assert_eq!(parse_line(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn keys_values_and_blanks() {
        assert_eq!(kv("port=53"), ("port".into(), v("53")));
        assert_eq!(kv("  port = 53  "), ("port".into(), v("53")));
        assert_eq!(kv("no-resolv"), ("no-resolv".into(), None));
        assert_eq!(kv("pid-file="), ("pid-file".into(), v("")));
        assert_eq!(kv("port=53\r"), ("port".into(), v("53")));
        assert_eq!(kv("a=b=c"), ("a".into(), v("b=c")));
    }

    #[test]
    fn hash_inside_values_is_kept() {
        assert_eq!(
            kv("server=/example.com/#"),
            ("server".into(), v("/example.com/#"))
        );
        assert_eq!(kv("address=/x/#"), ("address".into(), v("/x/#")));
        assert_eq!(
            kv("server=1.2.3.4#5353"),
            ("server".into(), v("1.2.3.4#5353"))
        );
        assert_eq!(kv("port=53#comment"), ("port".into(), v("53#comment")));
    }

    #[test]
    fn hash_after_blank_is_a_comment() {
        assert_eq!(kv("port=53 # comment"), ("port".into(), v("53")));
        assert_eq!(
            kv("server=1.2.3.4#53\t#c"),
            ("server".into(), v("1.2.3.4#53"))
        );
        assert_eq!(kv("no-hosts #c"), ("no-hosts".into(), None));
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(kv(r#"port="53""#), ("port".into(), v("53")));
        assert_eq!(kv(r#"port="5"3"#), ("port".into(), v("53")));
        assert_eq!(
            kv(r#"addn-hosts="/tmp/a #b""#),
            ("addn-hosts".into(), v("/tmp/a #b"))
        );
        assert_eq!(kv(r#"x=" padded ""#), ("x".into(), v(" padded ")));
        assert_eq!(
            kv(r#"x="a\"b\\c\td\ne\rf\eg\bh""#),
            ("x".into(), v("a\"b\\c\td\ne\rf\u{1b}g\u{8}h"))
        );
        assert_eq!(kv(r#"x="=" "#), ("x".into(), v("=")));
        assert_eq!(kv(r#"x=a\b"#), ("x".into(), v(r"a\b")));
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(parse_line(r#"x="abc"#), Err(LineError::UnterminatedQuote));
        assert_eq!(parse_line(r#"x="a\"#), Err(LineError::UnterminatedQuote));
        assert_eq!(parse_line(r#"x="\q""#), Err(LineError::BadEscape('q')));
        assert_eq!(parse_line("=5"), Err(LineError::MissingKey));
    }

    proptest! {
        #[test]
        fn quoted_values_round_trip(value in "[ -~\t\n]{0,40}") {
            let mut quoted = String::from("key=\"");
            for c in value.chars() {
                match c {
                    '"' => quoted.push_str("\\\""),
                    '\\' => quoted.push_str("\\\\"),
                    '\t' => quoted.push_str("\\t"),
                    '\n' => quoted.push_str("\\n"),
                    c => quoted.push(c),
                }
            }
            quoted.push('"');
            let line = parse_line(&quoted).unwrap().unwrap();
            prop_assert_eq!(line.value, Some(value));
        }

        #[test]
        fn never_panics(line in ".*") {
            let _ = parse_line(&line);
        }
    }
}
