//! DNSSEC options: `--dnssec`, `--trust-anchor`, `--dnssec-check-unsigned`,
//! `--dnssec-no-timecheck`, `--dnssec-timestamp`, `--proxy-dnssec`, `--dnssec-debug`,
//! `--dnssec-limits`.

use std::path::PathBuf;

use crate::value::ValueError;

/// One `--trust-anchor=[CLASS,]DOMAIN,KEYTAG,ALGORITHM,DIGESTTYPE,DIGEST` (a DS record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustAnchorSpec {
    /// The zone, lowercase, without a trailing dot ("" for the root).
    pub domain: String,
    /// DS key tag.
    pub key_tag: u16,
    /// DNSSEC algorithm number.
    pub algorithm: u8,
    /// DS digest type.
    pub digest_type: u8,
    /// The digest.
    pub digest: Vec<u8>,
}

/// dnsmasq 2.90's `--dnssec-limits` defaults: failed signature checks per RRset, signature
/// checks and hashes per query, DS/DNSKEY sub-queries per query, NSEC3 iterations.
pub const DEFAULT_DNSSEC_LIMITS: [u32; 4] = [20, 200, 40, 150];

/// The DNSSEC settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnssecSettings {
    /// `--dnssec`: validate answers.
    pub enabled: bool,
    /// `--trust-anchor` lines, in order.
    pub trust_anchors: Vec<TrustAnchorSpec>,
    /// `--dnssec-check-unsigned[=no]`: prove unsigned answers insecure (default on, as dnsmasq 2.80+).
    pub check_unsigned: bool,
    /// `--dnssec-no-timecheck`: no signature time checks until SIGINT.
    pub no_timecheck: bool,
    /// `--dnssec-timestamp`: time checks start once the clock passes this file's mtime.
    pub timestamp: Option<PathBuf>,
    /// `--proxy-dnssec`: copy AD from upstream answers.
    pub proxy: bool,
    /// `--dnssec-debug`: CD upstream, bogus answers passed on instead of SERVFAIL.
    pub debug: bool,
    /// `--dnssec-limits`, see [`DEFAULT_DNSSEC_LIMITS`].
    pub limits: [u32; 4],
}

impl Default for DnssecSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            trust_anchors: Vec::new(),
            check_unsigned: true,
            no_timecheck: false,
            timestamp: None,
            proxy: false,
            debug: false,
            limits: DEFAULT_DNSSEC_LIMITS,
        }
    }
}

/// Parses a `--trust-anchor` value.
pub fn parse_trust_anchor(v: &str) -> Result<TrustAnchorSpec, ValueError> {
    let bad = || ValueError::expected("[CLASS,]DOMAIN,KEYTAG,ALGORITHM,DIGESTTYPE,HEXDIGEST");
    let mut parts: Vec<&str> = v.split(',').map(str::trim).collect();
    if parts.len() == 6 {
        if !parts[0].eq_ignore_ascii_case("IN") {
            return Err(bad());
        }
        parts.remove(0);
    }
    let [domain, tag, alg, dtype, digest] = parts[..] else {
        return Err(bad());
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.split('.').any(|l| l.len() > 63) || (!domain.is_empty() && domain.contains("..")) {
        return Err(bad());
    }
    let digest: Vec<u8> = {
        let d: Vec<u8> = digest
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if d.is_empty() || !d.len().is_multiple_of(2) {
            return Err(bad());
        }
        d.chunks(2)
            .map(|p| {
                let h = (p[0] as char).to_digit(16)?;
                let l = (p[1] as char).to_digit(16)?;
                Some((h * 16 + l) as u8)
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?
    };
    Ok(TrustAnchorSpec {
        domain,
        key_tag: tag.parse().map_err(|_| bad())?,
        algorithm: alg.parse().map_err(|_| bad())?,
        digest_type: dtype.parse().map_err(|_| bad())?,
        digest,
    })
}

/// Parses `--dnssec-limits`: up to four numbers; 0 or an empty field keeps the default.
pub fn parse_limits(v: &str, current: [u32; 4]) -> Result<[u32; 4], ValueError> {
    let bad =
        || ValueError::expected("up to four numbers: sig-fails,work,sub-queries,nsec3-iterations");
    let fields: Vec<&str> = v.split(',').map(str::trim).collect();
    if fields.len() > 4 {
        return Err(bad());
    }
    let mut out = current;
    for (i, f) in fields.iter().enumerate() {
        if f.is_empty() {
            continue;
        }
        let n: u32 = f.parse().map_err(|_| bad())?;
        if n != 0 {
            out[i] = n;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        let a = parse_trust_anchor(
            ".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        )
        .unwrap();
        assert_eq!(a.domain, "");
        assert_eq!((a.key_tag, a.algorithm, a.digest_type), (20326, 8, 2));
        assert_eq!(a.digest.len(), 32);
        let b = parse_trust_anchor("IN,Lab.Test.,1,13,2,00ff").unwrap();
        assert_eq!(b.domain, "lab.test");
        assert!(parse_trust_anchor("CH,lab.test,1,13,2,00ff").is_err());
        assert!(parse_trust_anchor("lab.test,1,13,2,0").is_err());
        assert!(parse_trust_anchor("lab.test,1,13,2").is_err());
        assert!(parse_trust_anchor("lab.test,99999,13,2,00").is_err());
    }

    #[test]
    fn limits_keep_defaults_for_zero() {
        assert_eq!(
            parse_limits("0,0,20", DEFAULT_DNSSEC_LIMITS).unwrap(),
            [20, 200, 20, 150]
        );
        assert_eq!(
            parse_limits("1,2,3,4", DEFAULT_DNSSEC_LIMITS).unwrap(),
            [1, 2, 3, 4]
        );
        assert!(parse_limits("1,2,3,4,5", DEFAULT_DNSSEC_LIMITS).is_err());
        assert!(parse_limits("x", DEFAULT_DNSSEC_LIMITS).is_err());
    }
}
