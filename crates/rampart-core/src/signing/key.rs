//! Secret keys and itsdangerous' `django-concat` key derivation.

use std::fmt;

use sha1::{Digest, Sha1};

use super::error::EmptySecretKey;

/// `SECRET_KEY` and `SECRET_KEY_FALLBACKS`: the primary key signs, every key verifies.
///
/// Flask stores secrets as `str`; give the same text here (it is used as its UTF-8 bytes, as
/// itsdangerous' `want_bytes` does). `Debug` never shows the keys.
///
/// # Example
/// ```
/// use rampart_core::signing::SecretKeys;
///
/// let keys = SecretKeys::new("new secret")?.with_fallbacks(["old secret"])?;
/// assert_eq!(keys.fallback_count(), 1);
/// # Ok::<(), rampart_core::signing::EmptySecretKey>(())
/// ```
#[derive(Clone)]
pub struct SecretKeys {
    primary: Vec<u8>,
    fallbacks: Vec<Vec<u8>>,
}

impl SecretKeys {
    /// Keys with `primary` (Flask's `SECRET_KEY`) and no fallback.
    ///
    /// # Errors
    /// [`EmptySecretKey`] if `primary` is empty.
    pub fn new(primary: impl AsRef<[u8]>) -> Result<Self, EmptySecretKey> {
        let primary = non_empty(primary.as_ref())?;
        Ok(Self {
            primary,
            fallbacks: Vec::new(),
        })
    }

    /// Adds older keys (Flask's `SECRET_KEY_FALLBACKS`) that are still accepted when verifying.
    ///
    /// # Errors
    /// [`EmptySecretKey`] if one of them is empty.
    pub fn with_fallbacks<I, K>(mut self, fallbacks: I) -> Result<Self, EmptySecretKey>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        for key in fallbacks {
            self.fallbacks.push(non_empty(key.as_ref())?);
        }
        Ok(self)
    }

    /// How many fallback keys are configured.
    pub fn fallback_count(&self) -> usize {
        self.fallbacks.len()
    }

    /// The primary key first, then the fallbacks in the order given.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.primary.as_slice()).chain(self.fallbacks.iter().map(Vec::as_slice))
    }
}

impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys")
            .field("primary", &"<redacted>")
            .field("fallbacks", &self.fallbacks.len())
            .finish()
    }
}

fn non_empty(key: &[u8]) -> Result<Vec<u8>, EmptySecretKey> {
    if key.is_empty() {
        Err(EmptySecretKey)
    } else {
        Ok(key.to_vec())
    }
}

/// Length of a SHA-1 digest: the derived key and the signature.
pub(crate) const SHA1_LEN: usize = 20;

/// A signing key derived from one secret and one salt. `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct DerivedKey(pub(crate) [u8; SHA1_LEN]);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

/// itsdangerous' default `django-concat` derivation: `SHA1(salt + b"signer" + secret)`.
pub(crate) fn derive_key(salt: &[u8], secret: &[u8]) -> DerivedKey {
    let mut hasher = Sha1::new();
    hasher.update(salt);
    hasher.update(b"signer");
    hasher.update(secret);
    DerivedKey(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_concat_matches_python() {
        // python3 -c "import hashlib;print(hashlib.sha1(b'salt'+b'signer'+b'secret').hexdigest())"
        let key = derive_key(b"salt", b"secret");
        let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "52c640bf369e2ab143d7523b2a0d20a18c329375");
    }

    #[test]
    fn empty_keys_are_refused_and_debug_is_redacted() {
        assert_eq!(SecretKeys::new("").err(), Some(EmptySecretKey));
        let keys = SecretKeys::new("s3cr3t").and_then(|k| k.with_fallbacks(["0ld"]));
        let keys = keys.ok().filter(|k| k.fallback_count() == 1);
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("0ld"),
            "{shown}"
        );
        assert!(
            SecretKeys::new("a")
                .and_then(|k| k.with_fallbacks([""]))
                .is_err()
        );
    }
}
