//! bcrypt: `$2b$12$<22-char salt><31-char hash>`; `$2a$` and `$2y$` verify too.
//!
//! The secret is cut to 72 bytes, as libpass does (Flask-Security 5.9.2 itself raises
//! when verifying a longer raw password against bcrypt 5; Rampart truncates instead).

use crate::error::PasswordError;

/// libpass's default cost.
pub(crate) const DEFAULT_COST: u32 = 12;

/// Hashes with `$2b$`, cost 12 and a fresh salt.
pub(crate) fn hash(secret: &[u8]) -> Result<String, PasswordError> {
    let salt = crate::schemes::random_bytes::<16>();
    bcrypt::hash_with_salt(secret, DEFAULT_COST, salt)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
        .map_err(|e| PasswordError::Hash(format!("bcrypt: {e}")))
}

/// Whether `secret` matches `stored` (constant-time compare inside the crate).
pub(crate) fn verify(secret: &[u8], stored: &str) -> bool {
    bcrypt::verify(secret, stored).unwrap_or(false)
}

/// `2^cost` of a `$2?$<cost>$` hash, `None` when the cost is not a number.
pub(crate) fn work(stored: &str) -> Option<u64> {
    let cost: u32 = stored.get(4..)?.split('$').next()?.parse().ok()?;
    1u64.checked_shl(cost)
}

/// `$2b$` with the default cost.
pub(crate) fn is_current(stored: &str) -> bool {
    stored
        .strip_prefix("$2b$")
        .and_then(|rest| rest.split('$').next())
        .and_then(|cost| cost.parse::<u32>().ok())
        == Some(DEFAULT_COST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let Ok(h) = bcrypt::hash_with_salt(b"pw", 4, [7u8; 16]) else {
            panic!("hash failed")
        };
        let h = h.format_for_version(bcrypt::Version::TwoB);
        assert!(verify(b"pw", &h));
        assert!(!verify(b"pW", &h));
        assert!(!is_current(&h));
        assert!(!verify(b"pw", "$2b$04$short"));
        assert!(!verify(b"pw", "$2b$xx$"));
    }
}
