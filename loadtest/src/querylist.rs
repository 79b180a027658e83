//! Query files in dnsperf's input format: one `name TYPE` per line, `#` starts a comment
//! line, blank lines are skipped. Every query is pre-encoded once so the send path only
//! copies bytes.

use crate::name::{MAX_NAME_WIRE, NameError, decode_name, encode_name};
use crate::qtype::{parse_qtype, qtype_name};
use thiserror::Error;

/// A problem at one line of a query file.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum QueryListError {
    /// The line lacked a type or had extra fields.
    #[error("line {line}: expected `name TYPE`")]
    Fields {
        /// 1-based line number.
        line: usize,
    },
    /// The type was neither a known mnemonic nor `TYPEnnn`.
    #[error("line {line}: unknown type `{ty}`")]
    Type {
        /// 1-based line number.
        line: usize,
        /// The type text as written.
        ty: String,
    },
    /// The name could not be encoded.
    #[error("line {line}: {source}")]
    Name {
        /// 1-based line number.
        line: usize,
        /// What was wrong with the name.
        source: NameError,
    },
    /// The file held no queries.
    #[error("query file holds no queries")]
    Empty,
}

/// Pre-encoded questions (wire name, QTYPE, QCLASS=IN), stored back to back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryList {
    data: Vec<u8>,
    spans: Vec<(u32, u16)>,
}

impl QueryList {
    /// Parses dnsperf-format text.
    pub fn parse(text: &str) -> Result<Self, QueryListError> {
        let mut list = QueryList::default();
        let mut wire = [0u8; MAX_NAME_WIRE];
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let mut it = l.split_ascii_whitespace();
            let (Some(name), Some(ty), None) = (it.next(), it.next(), it.next()) else {
                return Err(QueryListError::Fields { line });
            };
            let qtype = parse_qtype(ty).ok_or_else(|| QueryListError::Type {
                line,
                ty: ty.to_string(),
            })?;
            let n = encode_name(name, &mut wire)
                .map_err(|source| QueryListError::Name { line, source })?;
            list.push_wire(&wire[..n], qtype);
        }
        if list.spans.is_empty() {
            return Err(QueryListError::Empty);
        }
        Ok(list)
    }

    /// Appends one question given its wire name and type (class IN).
    pub fn push_wire(&mut self, name: &[u8], qtype: u16) {
        let off = self.data.len() as u32;
        self.data.extend_from_slice(name);
        self.data.extend_from_slice(&qtype.to_be_bytes());
        // QCLASS IN (RFC 1035 §3.2.4).
        self.data.extend_from_slice(&1u16.to_be_bytes());
        self.spans.push((off, (name.len() + 4) as u16));
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the list holds no queries.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The encoded question (name, type, class) of query `i`.
    pub fn question(&self, i: usize) -> &[u8] {
        let (off, len) = self.spans[i];
        &self.data[off as usize..off as usize + len as usize]
    }

    /// Writes the list back as dnsperf-format text, one `name TYPE` per line.
    pub fn emit(&self) -> String {
        let mut out = String::new();
        for i in 0..self.len() {
            let q = self.question(i);
            let name = &q[..q.len() - 4];
            let qtype = u16::from_be_bytes([q[q.len() - 4], q[q.len() - 3]]);
            decode_name(name, &mut out);
            out.push(' ');
            out.push_str(&qtype_name(qtype));
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dnsperf_sample() {
        // Lines as in dnsperf's example query file, with comments and blanks.
        let text =
            "# comment\n\nwww.example.com A\n  example.com   MX  \nexample.org. type65\n\t\n";
        let l = QueryList::parse(text).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(
            l.question(0),
            b"\x03www\x07example\x03com\x00\x00\x01\x00\x01"
        );
        assert_eq!(l.question(1), b"\x07example\x03com\x00\x00\x0f\x00\x01");
        assert_eq!(&l.question(2)[13..], b"\x00\x41\x00\x01");
    }

    #[test]
    fn reports_line_numbers() {
        assert_eq!(
            QueryList::parse("a.b A\nc.d\n"),
            Err(QueryListError::Fields { line: 2 })
        );
        assert_eq!(
            QueryList::parse("a.b A extra\n"),
            Err(QueryListError::Fields { line: 1 })
        );
        assert_eq!(
            QueryList::parse("\na.b WAT\n"),
            Err(QueryListError::Type {
                line: 2,
                ty: "WAT".into()
            })
        );
        assert!(matches!(
            QueryList::parse("a..b A"),
            Err(QueryListError::Name {
                line: 1,
                source: NameError::EmptyLabel
            })
        ));
        assert_eq!(QueryList::parse("# only\n\n"), Err(QueryListError::Empty));
    }

    proptest::proptest! {
        #[test]
        fn emit_parse_round_trip(
            qs in proptest::collection::vec(
                (proptest::collection::vec("[a-z0-9-]{1,12}", 1..5), proptest::num::u16::ANY),
                1..20,
            )
        ) {
            let mut list = QueryList::default();
            for (labels, t) in &qs {
                let mut wire = Vec::new();
                for l in labels { wire.push(l.len() as u8); wire.extend_from_slice(l.as_bytes()); }
                wire.push(0);
                list.push_wire(&wire, *t);
            }
            proptest::prop_assert_eq!(QueryList::parse(&list.emit()).unwrap(), list);
        }
    }
}
