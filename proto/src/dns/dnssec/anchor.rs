//! Trust anchors: DS records configured with `--trust-anchor=[CLASS,]DOMAIN,KEYTAG,ALG,DIGESTTYPE,DIGEST`.

use hickory_proto::dnssec::rdata::DS;
use hickory_proto::dnssec::{Algorithm, DigestType};
use hickory_proto::rr::Name;

/// A configured trust anchor: a DS record for `owner`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustAnchor {
    /// The zone the anchor is for, lowercase, fully qualified.
    pub owner: Name,
    /// The DS RDATA.
    pub ds: DS,
}

/// A trust anchor that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("trust anchor {0}: expected [CLASS,]DOMAIN,KEYTAG,ALGORITHM,DIGESTTYPE,HEXDIGEST")]
pub struct AnchorError(pub String);

impl TrustAnchor {
    /// A trust anchor from its parts.
    pub fn new(owner: Name, key_tag: u16, algorithm: u8, digest_type: u8, digest: Vec<u8>) -> Self {
        Self {
            owner: owner.to_lowercase(),
            ds: DS::new(
                key_tag,
                Algorithm::from_u8(algorithm),
                DigestType::from(digest_type),
                digest,
            ),
        }
    }

    /// A trust anchor for `domain` (text, "" or "." for the root).
    pub fn from_parts(
        domain: &str,
        key_tag: u16,
        algorithm: u8,
        digest_type: u8,
        digest: Vec<u8>,
    ) -> Result<Self, AnchorError> {
        let owner = if domain.is_empty() || domain == "." {
            Name::root()
        } else {
            let mut n = Name::from_ascii(domain).map_err(|_| AnchorError(domain.to_string()))?;
            n.set_fqdn(true);
            n
        };
        Ok(Self::new(owner, key_tag, algorithm, digest_type, digest))
    }

    /// Parses dnsmasq's `--trust-anchor` value. The class, if given, must be `IN`.
    pub fn parse(value: &str) -> Result<Self, AnchorError> {
        let err = || AnchorError(value.to_string());
        let mut parts: Vec<&str> = value.split(',').map(str::trim).collect();
        if parts.len() == 6 {
            if !parts[0].eq_ignore_ascii_case("IN") {
                return Err(err());
            }
            parts.remove(0);
        }
        let [domain, tag, alg, dtype, digest] = parts[..] else {
            return Err(err());
        };
        let owner = if domain == "." || domain.is_empty() {
            Name::root()
        } else {
            let mut n = Name::from_ascii(domain).map_err(|_| err())?;
            n.set_fqdn(true);
            n
        };
        let tag: u16 = tag.parse().map_err(|_| err())?;
        let alg: u8 = alg.parse().map_err(|_| err())?;
        let dtype: u8 = dtype.parse().map_err(|_| err())?;
        let digest = decode_hex(digest).ok_or_else(err)?;
        if digest.is_empty() {
            return Err(err());
        }
        Ok(Self::new(owner, tag, alg, dtype, digest))
    }
}

/// Hex digits (either case, spaces ignored) to bytes.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let h = (p[0] as char).to_digit(16)?;
            let l = (p[1] as char).to_digit(16)?;
            Some((h * 16 + l) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_root_anchor_as_dnsmasq_ships_it() {
        let a = TrustAnchor::parse(
            ".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        )
        .unwrap();
        assert!(a.owner.is_root());
        assert_eq!(a.ds.key_tag(), 20326);
        assert_eq!(a.ds.algorithm(), Algorithm::RSASHA256);
        assert_eq!(a.ds.digest_type(), DigestType::SHA256);
        assert_eq!(a.ds.digest().len(), 32);
    }

    proptest::proptest! {
        /// Any anchor written in dnsmasq's form parses back to the same DS.
        #[test]
        fn round_trip(
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", 0..4),
            tag: u16,
            alg: u8,
            dtype: u8,
            digest in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64),
            upper: bool,
        ) {
            let domain = if labels.is_empty() { ".".to_string() } else { labels.join(".") };
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let hex = if upper { hex.to_uppercase() } else { hex };
            let a = TrustAnchor::parse(&format!("{domain},{tag},{alg},{dtype},{hex}")).unwrap();
            proptest::prop_assert_eq!(a.ds.key_tag(), tag);
            proptest::prop_assert_eq!(u8::from(a.ds.algorithm()), alg);
            proptest::prop_assert_eq!(u8::from(a.ds.digest_type()), dtype);
            proptest::prop_assert_eq!(a.ds.digest(), &digest[..]);
            proptest::prop_assert_eq!(a.owner.num_labels() as usize, labels.len());
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn arbitrary_text(s in ".{0,80}") {
            let _ = TrustAnchor::parse(&s);
        }
    }

    #[test]
    fn class_and_domain_forms() {
        let a = TrustAnchor::parse("IN,Example.COM,1,13,2,00ff").unwrap();
        assert_eq!(a.owner, Name::from_ascii("example.com.").unwrap());
        assert!(TrustAnchor::parse("CH,example.com,1,13,2,00ff").is_err());
        assert!(TrustAnchor::parse("example.com,1,13,2,0g").is_err());
        assert!(TrustAnchor::parse("example.com,1,13,2").is_err());
        assert!(TrustAnchor::parse("example.com,70000,13,2,00").is_err());
    }
}
