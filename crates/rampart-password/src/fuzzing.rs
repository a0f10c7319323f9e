//! Entry points for the fuzz targets in `fuzz/` (hidden from the documentation; not part of
//! the public API and without any stability promise).
//!
//! Parsing a stored hash is safe on any input; verifying one costs what its parameters say,
//! which a fuzzer (or a corrupted database row) can set to hours, so [`verify_capped`]
//! skips values above a work limit.

use crate::config::PasswordConfig;
use crate::schemes::Scheme;

/// What parsing a stored hash found, without running any key derivation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// The scheme picked by prefix ([`Scheme::identify`]).
    pub scheme: Option<Scheme>,
    /// The work a verification would cost, `None` when the value does not parse.
    pub work: Option<u64>,
    /// Whether a successful verification would be followed by a rehash.
    pub needs_rehash: Option<bool>,
}

/// Identifies and parses `stored` under `config`, with no key derivation.
#[must_use]
pub fn inspect(stored: &str, config: &PasswordConfig) -> Inspected {
    let scheme = Scheme::identify(stored, config.allow_plaintext);
    Inspected {
        scheme,
        work: scheme.and_then(|s| s.work(stored)),
        needs_rehash: scheme.map(|s| s.needs_rehash(stored, config)),
    }
}

/// Verifies `secret` (already normalised and pre-hashed as the scheme wants) against
/// `stored` when that costs at most `max_work`; `None` when it would cost more or the value
/// does not parse.
#[must_use]
pub fn verify_capped(
    secret: &[u8],
    stored: &str,
    allow_plaintext: bool,
    max_work: u64,
) -> Option<bool> {
    let scheme = Scheme::identify(stored, allow_plaintext)?;
    let work = scheme.work(stored)?;
    (work <= max_work).then(|| scheme.verify(secret, stored))
}
