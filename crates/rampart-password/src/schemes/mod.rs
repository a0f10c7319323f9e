//! The hash formats an existing Flask-Security database may hold, identified by prefix.

pub(crate) mod argon2;
pub(crate) mod bcrypt;
pub(crate) mod pbkdf2;
pub(crate) mod sha_crypt;

use rand::Rng as _;
use subtle::ConstantTimeEq;

use self::pbkdf2::Digest;
use self::sha_crypt::Variant;
use crate::config::PasswordConfig;
use crate::error::PasswordError;

/// A password hashing scheme, named as in passlib.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `argon2`: `$argon2id$…` (also `$argon2i$`, `$argon2d$`).
    Argon2,
    /// `bcrypt`: `$2b$…`, `$2a$…`, `$2y$…`.
    Bcrypt,
    /// `pbkdf2_sha512`: `$pbkdf2-sha512$…`.
    Pbkdf2Sha512,
    /// `pbkdf2_sha256`: `$pbkdf2-sha256$…`.
    Pbkdf2Sha256,
    /// `sha512_crypt`: `$6$…`.
    Sha512Crypt,
    /// `sha256_crypt`: `$5$…`.
    Sha256Crypt,
    /// `plaintext`: the stored value is the password (only when allowed).
    Plaintext,
}

impl Scheme {
    /// The passlib name (`"argon2"`, `"pbkdf2_sha512"`, …), as used in
    /// `SECURITY_PASSWORD_SINGLE_HASH`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Argon2 => "argon2",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha512 => "pbkdf2_sha512",
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
            Self::Sha512Crypt => "sha512_crypt",
            Self::Sha256Crypt => "sha256_crypt",
            Self::Plaintext => "plaintext",
        }
    }

    /// Identifies the scheme of a stored value by its prefix.
    ///
    /// A value of no known format is [`Scheme::Plaintext`] only when
    /// `allow_plaintext`; an empty value and a 13-character `des_crypt`-shaped value
    /// (which passlib would claim, and Rampart cannot verify) are never plaintext.
    #[must_use]
    pub fn identify(stored: &str, allow_plaintext: bool) -> Option<Self> {
        const PREFIXES: &[(&str, Scheme)] = &[
            ("$argon2id$", Scheme::Argon2),
            ("$argon2i$", Scheme::Argon2),
            ("$argon2d$", Scheme::Argon2),
            ("$2b$", Scheme::Bcrypt),
            ("$2a$", Scheme::Bcrypt),
            ("$2y$", Scheme::Bcrypt),
            ("$pbkdf2-sha512$", Scheme::Pbkdf2Sha512),
            ("$pbkdf2-sha256$", Scheme::Pbkdf2Sha256),
            ("$6$", Scheme::Sha512Crypt),
            ("$5$", Scheme::Sha256Crypt),
        ];
        if let Some((_, scheme)) = PREFIXES.iter().find(|(p, _)| stored.starts_with(p)) {
            return Some(*scheme);
        }
        let des_crypt_like = stored.len() == 13
            && stored
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
        (allow_plaintext && !stored.is_empty() && !des_crypt_like).then_some(Self::Plaintext)
    }

    /// Whether a successful verification against `stored` (of this scheme) should be
    /// followed by a rehash: any scheme but the configured one (Flask-Security's
    /// `deprecated = ["auto"]`), or the configured one with other parameters.
    pub(crate) fn needs_rehash(self, stored: &str, config: &PasswordConfig) -> bool {
        if self != config.hash_scheme.scheme() {
            return true;
        }
        let current = match self {
            Self::Argon2 => argon2::is_current(stored, &config.argon2),
            Self::Bcrypt => bcrypt::is_current(stored),
            Self::Pbkdf2Sha512 => pbkdf2::is_current(Digest::Sha512, stored),
            Self::Pbkdf2Sha256 => pbkdf2::is_current(Digest::Sha256, stored),
            Self::Sha512Crypt => sha_crypt::is_current(Variant::Sha512, stored),
            Self::Sha256Crypt => sha_crypt::is_current(Variant::Sha256, stored),
            Self::Plaintext => false,
        };
        !current
    }

    /// What verifying `stored` (of this scheme) costs, in the scheme's own unit (argon2:
    /// KiB × passes × lanes; bcrypt: 2^cost; others: rounds); `None` when it does not
    /// parse. For the fuzz targets, which must skip hashes that take minutes.
    pub(crate) fn work(self, stored: &str) -> Option<u64> {
        match self {
            Self::Argon2 => argon2::work(stored),
            Self::Bcrypt => bcrypt::work(stored),
            Self::Pbkdf2Sha512 => pbkdf2::work(Digest::Sha512, stored),
            Self::Pbkdf2Sha256 => pbkdf2::work(Digest::Sha256, stored),
            Self::Sha512Crypt => sha_crypt::work(Variant::Sha512, stored),
            Self::Sha256Crypt => sha_crypt::work(Variant::Sha256, stored),
            Self::Plaintext => Some(1),
        }
    }

    /// Whether `secret` matches `stored`. Malformed values do not match.
    pub(crate) fn verify(self, secret: &[u8], stored: &str) -> bool {
        match self {
            Self::Argon2 => argon2::verify(secret, stored),
            Self::Bcrypt => bcrypt::verify(secret, stored),
            Self::Pbkdf2Sha512 => pbkdf2::verify(Digest::Sha512, secret, stored),
            Self::Pbkdf2Sha256 => pbkdf2::verify(Digest::Sha256, secret, stored),
            Self::Sha512Crypt => sha_crypt::verify(Variant::Sha512, secret, stored),
            Self::Sha256Crypt => sha_crypt::verify(Variant::Sha256, secret, stored),
            Self::Plaintext => secret.ct_eq(stored.as_bytes()).into(),
        }
    }

    /// Hashes `secret` with this scheme's configured / default parameters.
    pub(crate) fn hash(
        self,
        secret: &[u8],
        config: &PasswordConfig,
    ) -> Result<String, PasswordError> {
        match self {
            Self::Argon2 => argon2::hash(secret, &config.argon2),
            Self::Bcrypt => bcrypt::hash(secret),
            Self::Pbkdf2Sha512 => Ok(pbkdf2::hash(Digest::Sha512, secret)),
            Self::Pbkdf2Sha256 => Ok(pbkdf2::hash(Digest::Sha256, secret)),
            Self::Sha512Crypt => sha_crypt::hash(Variant::Sha512, secret),
            Self::Sha256Crypt => sha_crypt::hash(Variant::Sha256, secret),
            Self::Plaintext => Err(PasswordError::Hash(
                "plaintext is never used to store passwords".to_owned(),
            )),
        }
    }
}

/// `N` bytes from the thread-local CSPRNG (ChaCha, seeded from the OS).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::Scheme;

    #[test]
    fn identify_table() {
        let cases: &[(&str, bool, Option<Scheme>)] = &[
            (
                "$argon2id$v=19$m=1,t=1,p=1$a$b",
                false,
                Some(Scheme::Argon2),
            ),
            ("$argon2i$v=19$m=1,t=1,p=1$a$b", false, Some(Scheme::Argon2)),
            ("$2b$12$x", false, Some(Scheme::Bcrypt)),
            ("$2a$12$x", false, Some(Scheme::Bcrypt)),
            ("$2y$12$x", false, Some(Scheme::Bcrypt)),
            ("$2x$12$x", false, None),
            ("$pbkdf2-sha512$1$a$b", false, Some(Scheme::Pbkdf2Sha512)),
            ("$pbkdf2-sha256$1$a$b", false, Some(Scheme::Pbkdf2Sha256)),
            ("$pbkdf2$1$a$b", false, None),
            ("$6$salt$hash", false, Some(Scheme::Sha512Crypt)),
            ("$5$salt$hash", false, Some(Scheme::Sha256Crypt)),
            ("$1$md5crypt$x", false, None),
            ("$1$md5crypt$x", true, Some(Scheme::Plaintext)),
            ("hunter2hunter2", false, None),
            ("hunter2hunter2", true, Some(Scheme::Plaintext)),
            ("", true, None),
            ("abcdefghijklm", true, None), // des_crypt shape
        ];
        for (stored, allow, expected) in cases {
            assert_eq!(
                Scheme::identify(stored, *allow),
                *expected,
                "{stored:?} {allow}"
            );
        }
    }
}
