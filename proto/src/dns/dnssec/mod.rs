//! DNSSEC validation (RFC 4033, 4034, 4035, 5155), sans-IO.
//!
//! The [`validator`] checks one upstream answer against a [`KeyStore`] of DS and DNSKEY
//! answers. When it needs a DS or DNSKEY RRset it does not have, it says so
//! ([`Outcome::Need`]); the forwarder fetches it through the normal upstream path, gives the
//! answer to the store and runs the validator again. Time (seconds since the Unix epoch) is an
//! argument. Work is bounded per answer (KeyTrap, CVE-2023-50387 / CVE-2023-50868): see
//! [`Limits`].

pub mod anchor;
pub mod denial;
pub mod ede;
pub mod keys;
pub mod rrset;
pub mod validator;

pub use anchor::{AnchorError, TrustAnchor};
pub use keys::KeyStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
pub use validator::{Outcome, validate};

/// Extended DNS Error info codes used for bogus answers (RFC 8914 §4).
pub mod ede_code {
    /// 0: Other.
    pub const OTHER: u16 = 0;
    /// 1: Unsupported DNSKEY Algorithm.
    pub const UNSUPPORTED_DNSKEY_ALGORITHM: u16 = 1;
    /// 6: DNSSEC Bogus.
    pub const DNSSEC_BOGUS: u16 = 6;
    /// 7: Signature Expired.
    pub const SIGNATURE_EXPIRED: u16 = 7;
    /// 8: Signature Not Yet Valid.
    pub const SIGNATURE_NOT_YET_VALID: u16 = 8;
    /// 9: DNSKEY Missing.
    pub const DNSKEY_MISSING: u16 = 9;
    /// 10: RRSIGs Missing.
    pub const RRSIGS_MISSING: u16 = 10;
    /// 12: NSEC Missing.
    pub const NSEC_MISSING: u16 = 12;
    /// 22: No Reachable Authority.
    pub const NO_REACHABLE_AUTHORITY: u16 = 22;
}

/// Why an answer is bogus: an Extended DNS Error code (RFC 8914) and a short explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bogus {
    /// RFC 8914 INFO-CODE.
    pub ede: u16,
    /// EXTRA-TEXT: what failed.
    pub why: &'static str,
}

impl Bogus {
    /// A bogus verdict.
    pub const fn new(ede: u16, why: &'static str) -> Self {
        Self { ede, why }
    }
}

/// The security status of an answer (RFC 4033 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Every RRset chains to a trust anchor.
    Secure,
    /// Provably unsigned (below an insecure delegation, or unsupported algorithms only).
    Insecure,
    /// Should be signed but does not validate.
    Bogus(Bogus),
}

impl Security {
    /// The weaker of two statuses (Bogus < Insecure < Secure).
    pub fn min(self, other: Security) -> Security {
        match (self, other) {
            (Security::Bogus(b), _) | (_, Security::Bogus(b)) => Security::Bogus(b),
            (Security::Insecure, _) | (_, Security::Insecure) => Security::Insecure,
            _ => Security::Secure,
        }
    }
}

/// Work limits per answer, `--dnssec-limits` (dnsmasq 2.90's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Failed signature checks per RRset before it is bogus.
    pub sig_fails_per_rrset: u32,
    /// Signature checks and hash computations per answer.
    pub work_per_answer: u32,
    /// DS/DNSKEY sub-queries per answer.
    pub subqueries_per_answer: u32,
    /// Highest NSEC3 iteration count honoured; above it the denial is insecure (RFC 9276 §3.2).
    pub nsec3_iterations: u16,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sig_fails_per_rrset: 20,
            work_per_answer: 200,
            subqueries_per_answer: 40,
            nsec3_iterations: 150,
        }
    }
}

/// Validation policy, from the configuration.
#[derive(Clone, Debug, Default)]
pub struct ValidatorConfig {
    /// Trust anchors (`--trust-anchor`).
    pub anchors: Vec<TrustAnchor>,
    /// `--dnssec-check-unsigned` (default on): unsigned answers must be proven insecure.
    pub check_unsigned: bool,
    /// `--dnssec-no-timecheck`: signature validity periods are not checked while this is set
    /// (the engine clears it on SIGINT, as dnsmasq).
    pub no_timecheck: Arc<AtomicBool>,
    /// `--dnssec-timestamp`: validity periods are checked only once the time (Unix seconds)
    /// reaches this; 0 = always.
    pub timecheck_from: u32,
    /// `--dnssec-debug`: bogus answers are passed on (without AD) instead of SERVFAIL, and
    /// upstream queries carry CD.
    pub debug: bool,
    /// Work limits.
    pub limits: Limits,
}

impl ValidatorConfig {
    /// The time against which signature validity periods are checked, or None when they are
    /// not checked.
    pub fn check_time(&self, now: u32) -> Option<u32> {
        (!self.no_timecheck.load(Ordering::Relaxed) && now >= self.timecheck_from).then_some(now)
    }
}

#[cfg(test)]
mod tests;
