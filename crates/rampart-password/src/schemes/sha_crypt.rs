//! `sha512_crypt` (`$6$`) and `sha256_crypt` (`$5$`) in passlib's format:
//! `$6$rounds=656000$<16-char salt>$<86-char hash>`; without `rounds=` the rounds are
//! crypt's implicit 5000.

use sha_crypt::{Algorithm, Params, PasswordHasher, PasswordVerifier, ShaCrypt};

use crate::error::PasswordError;

/// Rounds when a hash has no `rounds=` field.
const IMPLICIT_ROUNDS: u32 = 5_000;

/// The two variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// `$6$`, libpass default 656 000 rounds.
    Sha512,
    /// `$5$`, libpass default 535 000 rounds.
    Sha256,
}

impl Variant {
    fn prefix(self) -> &'static str {
        match self {
            Self::Sha512 => "$6$",
            Self::Sha256 => "$5$",
        }
    }

    fn algorithm(self) -> Algorithm {
        match self {
            Self::Sha512 => Algorithm::Sha512Crypt,
            Self::Sha256 => Algorithm::Sha256Crypt,
        }
    }

    /// libpass's default rounds.
    pub(crate) fn default_rounds(self) -> u32 {
        match self {
            Self::Sha512 => 656_000,
            Self::Sha256 => 535_000,
        }
    }
}

/// Hashes with the default rounds and a fresh 16-character salt.
pub(crate) fn hash(variant: Variant, secret: &[u8]) -> Result<String, PasswordError> {
    let params = Params::new(variant.default_rounds())
        .map_err(|e| PasswordError::Hash(format!("sha_crypt: {e}")))?;
    // 12 random bytes encode to passlib's 16 salt characters.
    let salt = crate::schemes::random_bytes::<12>();
    ShaCrypt::new(variant.algorithm(), params)
        .hash_password_with_salt(secret, &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(format!("sha_crypt: {e}")))
}

/// Whether `secret` matches `stored` (constant-time compare inside the crate).
pub(crate) fn verify(variant: Variant, secret: &[u8], stored: &str) -> bool {
    if !stored.starts_with(variant.prefix()) {
        return false;
    }
    ShaCrypt::new(variant.algorithm(), Params::default())
        .verify_password(secret, stored)
        .is_ok()
}

/// The rounds of a well-prefixed hash (implicit 5000 when absent).
fn rounds(variant: Variant, stored: &str) -> Option<u32> {
    let rest = stored.strip_prefix(variant.prefix())?;
    match rest.split('$').next()?.strip_prefix("rounds=") {
        Some(r) => r.parse().ok(),
        None => Some(IMPLICIT_ROUNDS),
    }
}

/// The rounds of a well-prefixed hash.
pub(crate) fn work(variant: Variant, stored: &str) -> Option<u64> {
    rounds(variant, stored).map(u64::from)
}

/// Default rounds.
pub(crate) fn is_current(variant: Variant, stored: &str) -> bool {
    rounds(variant, stored) == Some(variant.default_rounds())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_glibc() {
        // Drepper's specification vector (sha512); sha256 made with passlib.
        let h = "$6$rounds=5000$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
        assert!(verify(Variant::Sha512, b"Hello world!", h));
        assert!(!verify(Variant::Sha512, b"Hello world?", h));
        assert!(!verify(Variant::Sha256, b"Hello world!", h));
        let h = "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5";
        assert!(verify(Variant::Sha256, b"Hello world!", h));
        assert_eq!(rounds(Variant::Sha256, h), Some(IMPLICIT_ROUNDS));
        assert_eq!(
            rounds(Variant::Sha512, "$6$rounds=656000$s$h"),
            Some(656_000)
        );
        assert_eq!(
            rounds(Variant::Sha256, "$5$salt$hash"),
            Some(IMPLICIT_ROUNDS)
        );
    }

    #[test]
    fn malformed_is_false() {
        for s in ["$6$", "$6$rounds=x$salt$hash", "$6$salt$", "$6$salt$!!!"] {
            assert!(!verify(Variant::Sha512, b"pw", s), "{s}");
        }
    }
}
