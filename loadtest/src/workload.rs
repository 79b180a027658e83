//! What to ask: cycling cached names, never-seen names, a mix of the two, or a query file.
//! Each call writes one question into a caller buffer; nothing is allocated per query.

use crate::name::MAX_NAME_WIRE;
use crate::querylist::QueryList;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// Longest question a source can produce: name, QTYPE, QCLASS.
pub const MAX_QUESTION: usize = MAX_NAME_WIRE + 4;

/// Length of the random label that makes a name never seen before.
const UNIQUE_LABEL: usize = 16;

/// The shape of the query stream, shared by all generator threads.
#[derive(Debug, Clone)]
pub enum Workload {
    /// `n1.Z` .. `nN.Z`, type A, cycled: every query after the first round is a cache hit.
    Names {
        /// N.
        count: u64,
        /// Wire form of the suffix Z.
        suffix: Vec<u8>,
    },
    /// `<random>.Z`, type A: every query is a cache miss.
    Unique {
        /// Wire form of the zone Z.
        suffix: Vec<u8>,
    },
    /// Cache hits with probability `hit_ratio`, the rest never-seen names.
    Mix {
        /// N for the hit names.
        count: u64,
        /// Wire form of the hit suffix.
        hit_suffix: Vec<u8>,
        /// Wire form of the miss zone.
        miss_suffix: Vec<u8>,
        /// Fraction of queries that are hits, in `0.0..=1.0`.
        hit_ratio: f64,
    },
    /// Queries from a dnsperf-format file, cycled.
    File(Arc<QueryList>),
}

/// Per-thread cursor over a [`Workload`].
#[derive(Debug)]
pub struct QuerySource {
    workload: Workload,
    next: u64,
    hit_acc: u64,
    rng: SmallRng,
}

impl QuerySource {
    /// A cursor for thread `index` of `threads`; threads start at spread-out positions.
    pub fn new(workload: Workload, index: usize, threads: usize) -> Self {
        let span = match &workload {
            Workload::Names { count, .. } | Workload::Mix { count, .. } => *count,
            Workload::File(l) => l.len() as u64,
            Workload::Unique { .. } => 1,
        };
        let next = span * index as u64 / threads.max(1) as u64;
        QuerySource {
            workload,
            next,
            hit_acc: 0,
            rng: SmallRng::from_os_rng(),
        }
    }

    /// Writes the next question into `out` and returns its length.
    pub fn write_question(&mut self, out: &mut [u8; MAX_QUESTION]) -> usize {
        match &self.workload {
            Workload::Names { count, suffix } => {
                let i = self.next % count + 1;
                self.next = self.next.wrapping_add(1);
                write_indexed(i, suffix, out)
            }
            Workload::Unique { suffix } => write_unique(&mut self.rng, suffix, out),
            Workload::Mix {
                count,
                hit_suffix,
                miss_suffix,
                hit_ratio,
            } => {
                // Error-diffusion instead of a coin flip: the ratio is exact over any window.
                // Integer parts-per-million so no rounding drift accumulates.
                self.hit_acc += (hit_ratio.clamp(0.0, 1.0) * 1e6).round() as u64;
                if self.hit_acc >= 1_000_000 {
                    self.hit_acc -= 1_000_000;
                    let i = self.next % count + 1;
                    self.next = self.next.wrapping_add(1);
                    write_indexed(i, hit_suffix, out)
                } else {
                    write_unique(&mut self.rng, miss_suffix, out)
                }
            }
            Workload::File(list) => {
                let q = list.question((self.next % list.len() as u64) as usize);
                self.next = self.next.wrapping_add(1);
                out[..q.len()].copy_from_slice(q);
                q.len()
            }
        }
    }
}

/// Writes `n<i>.<suffix>` type A class IN.
fn write_indexed(i: u64, suffix: &[u8], out: &mut [u8; MAX_QUESTION]) -> usize {
    let mut digits = [0u8; 20];
    let mut v = i;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let label = &digits[d..];
    out[0] = (label.len() + 1) as u8;
    out[1] = b'n';
    out[2..2 + label.len()].copy_from_slice(label);
    let mut p = 2 + label.len();
    out[p..p + suffix.len()].copy_from_slice(suffix);
    p += suffix.len();
    finish_a(out, p)
}

/// Writes `<16 random [a-z0-9]>.<suffix>` type A class IN.
fn write_unique(rng: &mut SmallRng, suffix: &[u8], out: &mut [u8; MAX_QUESTION]) -> usize {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    out[0] = UNIQUE_LABEL as u8;
    let mut bits: u64 = rng.random();
    for c in &mut out[1..=UNIQUE_LABEL] {
        if bits < 36 {
            bits = rng.random();
        }
        *c = ALPHABET[(bits % 36) as usize];
        bits /= 36;
    }
    let mut p = 1 + UNIQUE_LABEL;
    out[p..p + suffix.len()].copy_from_slice(suffix);
    p += suffix.len();
    finish_a(out, p)
}

/// Appends QTYPE A and QCLASS IN (RFC 1035 §3.2.2, §3.2.4).
fn finish_a(out: &mut [u8; MAX_QUESTION], p: usize) -> usize {
    out[p..p + 4].copy_from_slice(&[0, 1, 0, 1]);
    p + 4
}

/// Largest suffix (wire form, with root) that still leaves room for a generated label.
pub const MAX_SUFFIX_WIRE: usize = MAX_NAME_WIRE - 1 - 21;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::encode_name;

    fn wire(s: &str) -> Vec<u8> {
        let mut b = [0u8; MAX_NAME_WIRE];
        let n = encode_name(s, &mut b).unwrap();
        b[..n].to_vec()
    }

    fn next(src: &mut QuerySource) -> Vec<u8> {
        let mut out = [0u8; MAX_QUESTION];
        let n = src.write_question(&mut out);
        out[..n].to_vec()
    }

    #[test]
    fn names_cycle() {
        let w = Workload::Names {
            count: 3,
            suffix: wire("lab.test"),
        };
        let mut s = QuerySource::new(w, 0, 1);
        let got: Vec<_> = (0..4).map(|_| next(&mut s)).collect();
        assert_eq!(got[0], b"\x02n1\x03lab\x04test\x00\x00\x01\x00\x01");
        assert_eq!(got[2][..3], *b"\x02n3");
        assert_eq!(got[3], got[0]);
        let w = Workload::Names {
            count: 1_000_000,
            suffix: wire("z"),
        };
        let mut s = QuerySource::new(w, 1, 2);
        assert_eq!(&next(&mut s)[..8], b"\x07n500001");
    }

    #[test]
    fn unique_names_differ() {
        let w = Workload::Unique {
            suffix: wire("miss.test"),
        };
        let mut s = QuerySource::new(w, 0, 1);
        let a = next(&mut s);
        let b = next(&mut s);
        assert_ne!(a, b);
        assert_eq!(a.len(), 1 + 16 + 11 + 4);
        assert!(
            a[1..17]
                .iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }

    #[test]
    fn mix_ratio_is_exact() {
        let w = Workload::Mix {
            count: 10,
            hit_suffix: wire("hit"),
            miss_suffix: wire("miss"),
            hit_ratio: 0.9,
        };
        let mut s = QuerySource::new(w, 0, 1);
        let hits = (0..1000)
            .filter(|_| next(&mut s).windows(5).any(|w| w == b"\x03hit\x00"))
            .count();
        assert_eq!(hits, 900);
    }
}
