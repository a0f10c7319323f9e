//! Errors of hashing and verification.

use crate::config::ConfigError;

/// A failure to hash or verify (never a wrong password, which is `ok: false`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// The configuration does not allow the operation (e.g. the stored hash needs the
    /// pre-hash but `SECURITY_PASSWORD_SALT` is unset).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The hashing library failed (e.g. out of memory).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task running the hash panicked or was cancelled.
    #[error("password hashing task failed: {0}")]
    Task(String),
}
