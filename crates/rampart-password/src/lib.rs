//! Rampart's password engine (`rampart::password`): Flask-Security-Too 5.9.2
//! compatible normalisation, validation, hashing and verification.
//!
//! * **Normalisation**: NFKD by default (`SECURITY_PASSWORD_NORMALIZE_FORM`), before
//!   validating, hashing and verifying.
//! * **Validation** ([`PasswordEngine::validate`]): length in code points
//!   (`SECURITY_PASSWORD_LENGTH_MIN`..=128), the optional Have I Been Pwned range check
//!   ([`breached`]), the optional zxcvbn check, in Flask-Security's order with its
//!   message keys and texts ([`PasswordIssue`]).
//! * **Hashing** ([`PasswordEngine::hash`]): argon2id `m=65536,t=3,p=4` by default, in
//!   passlib's PHC format, over the HMAC-SHA512 pre-hash keyed by
//!   `SECURITY_PASSWORD_SALT` ([`prehash`]).
//! * **Verification** ([`PasswordEngine::verify`]) of every format an existing
//!   Flask-Security database may hold: argon2, bcrypt, pbkdf2_sha512/sha256,
//!   sha512/sha256_crypt; with `needs_rehash` when the stored hash is not the current
//!   scheme and parameters (Flask-Security rehashes on the next login).
//! * Hashing runs on tokio's blocking pool behind a semaphore ([`HashPool`]), never on
//!   the async workers.
//!
//! Secure defaults that differ from Flask-Security:
//! * `allow_plaintext` is **false**: a stored value of no known format never verifies
//!   (Flask-Security's `plaintext` scheme matches any string).
//! * bcrypt: a raw (single-hashed) password over 72 bytes is truncated to 72 bytes,
//!   as libpass does when hashing; Flask-Security 5.9.2 with bcrypt 5 raises instead.
//! * An unknown stored format costs the same time as a real check.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod breached;
pub mod config;
mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod messages;
pub mod normalize;
pub mod policy;
pub mod pool;
pub mod prehash;
mod schemes;

pub use config::{
    Argon2Params, BreachedMode, ComplexityChecker, ConfigError, HashScheme, PasswordConfig,
    SingleHash,
};
pub use engine::{PasswordEngine, Verification};
pub use error::PasswordError;
pub use messages::PasswordIssue;
pub use normalize::NormalizeForm;
pub use pool::HashPool;
pub use schemes::Scheme;
