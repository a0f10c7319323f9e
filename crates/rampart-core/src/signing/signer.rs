//! itsdangerous' `Signer`: `value + "." + base64url(HMAC-SHA1(derived key, value))`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::error::SigningError;
use super::key::{DerivedKey, SHA1_LEN, SecretKeys, derive_key};

/// The separator between value, timestamp and signature (itsdangerous' default `sep`).
pub const SEPARATOR: char = '.';

/// Tokens longer than this are refused before any work is done (128 KiB). A token produced by
/// [`dumps`](super::UrlSafeTimedSerializer::dumps) always fits.
pub const MAX_TOKEN_LEN: usize = 128 * 1024;

/// Length of the base64url form of a 20-byte HMAC-SHA1 signature.
const SIG_B64_LEN: usize = 27;

type HmacSha1 = Hmac<Sha1>;

/// itsdangerous' `Signer` with the defaults Flask-Security uses: `django-concat` key derivation
/// (`SHA1(salt + "signer" + secret)`), HMAC-SHA1, separator `.`, base64url without padding.
///
/// **Key order.** itsdangerous signs with the *last* key of its list, and Flask-Security builds
/// that list as `[SECRET_KEY] + SECRET_KEY_FALLBACKS`, so a Flask app with fallbacks signs with
/// its newest *fallback*. Rampart signs with the primary `SECRET_KEY`, which is what the Flask
/// configuration means. Both sides verify with every key, so tokens cross in both directions
/// as long as both sides hold the same set of keys.
///
/// Verification compares signatures in constant time (`hmac`'s `verify_slice`) and decodes the
/// signature strictly (canonical unpadded base64url only).
#[derive(Clone)]
pub struct Signer {
    /// Primary key first, then the fallbacks: one HMAC state per key, keyed once here and
    /// cloned per signature (the key schedule is the expensive part of a short HMAC).
    keys: Vec<HmacSha1>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Signer {
    /// A signer for `salt` (e.g. `"remember-salt"`) over every key of `keys`.
    pub fn new(keys: &SecretKeys, salt: &str) -> Self {
        let keys = keys
            .iter()
            .map(|secret| keyed(&derive_key(salt.as_bytes(), secret)))
            .collect();
        Self { keys }
    }

    /// The base64url signature of `value` with the primary key.
    pub fn signature(&self, value: &str) -> String {
        // `keys` is never empty: `SecretKeys` always has a primary key.
        let tag = self
            .keys
            .first()
            .map(|key| mac(key, value.as_bytes()).finalize().into_bytes());
        tag.map(|tag| URL_SAFE_NO_PAD.encode(tag))
            .unwrap_or_default()
    }

    /// `value + "." + signature(value)`.
    pub fn sign(&self, value: &str) -> String {
        let sig = self.signature(value);
        let mut out = String::with_capacity(value.len() + 1 + sig.len());
        out.push_str(value);
        out.push(SEPARATOR);
        out.push_str(&sig);
        out
    }

    /// Whether `sig` (base64url) is the signature of `value` under any of the keys.
    pub fn verify_signature(&self, value: &str, sig: &str) -> bool {
        if sig.len() != SIG_B64_LEN {
            return false;
        }
        let Ok(raw) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        if raw.len() != SHA1_LEN {
            return false;
        }
        self.keys
            .iter()
            .any(|key| mac(key, value.as_bytes()).verify_slice(&raw).is_ok())
    }

    /// Checks the signature after the last `.` and returns the value before it.
    ///
    /// # Errors
    /// [`SigningError::BadSignature`] if there is no separator, the token is longer than
    /// [`MAX_TOKEN_LEN`] or the signature does not match.
    pub fn unsign<'a>(&self, signed: &'a str) -> Result<&'a str, SigningError> {
        let (value, sig) = split_signature(signed)?;
        if self.verify_signature(value, sig) {
            Ok(value)
        } else {
            Err(SigningError::BadSignature {
                reason: "signature does not match",
            })
        }
    }
}

/// Splits `value.sig` at the last separator, refusing over-long input.
pub(crate) fn split_signature(signed: &str) -> Result<(&str, &str), SigningError> {
    if signed.len() > MAX_TOKEN_LEN {
        return Err(SigningError::BadSignature {
            reason: "token too long",
        });
    }
    signed
        .rsplit_once(SEPARATOR)
        .ok_or(SigningError::BadSignature {
            reason: "no separator found",
        })
}

fn keyed(key: &DerivedKey) -> HmacSha1 {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps clippy quiet
    // about `expect` and would only produce a MAC that verifies nothing.
    match HmacSha1::new_from_slice(&key.0) {
        Ok(mac) => mac,
        Err(_) => HmacSha1::new(&Default::default()),
    }
}

fn mac(key: &HmacSha1, value: &[u8]) -> HmacSha1 {
    let mut mac = key.clone();
    mac.update(value);
    mac
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keys() -> SecretKeys {
        SecretKeys::new("secret").unwrap()
    }

    #[test]
    fn matches_python_signer() {
        // python3 -c "from itsdangerous import Signer; print(Signer('secret', salt='salt').sign('hello').decode())"
        let signer = Signer::new(&keys(), "salt");
        assert_eq!(signer.sign("hello"), "hello.VZwbARjuKpDGaWslX5tZg_VuxiE");
        assert_eq!(
            signer.unsign("hello.VZwbARjuKpDGaWslX5tZg_VuxiE"),
            Ok("hello")
        );
    }

    #[test]
    fn refuses_bad_input() {
        let signer = Signer::new(&keys(), "salt");
        for bad in [
            "",
            ".",
            "hello",
            "hello.",
            "hello.VZwbARjuKpDGaWslX5tZg_VuxiF",
            "hello.VZwbARjuKpDGaWslX5tZg_VuxiE=",
            "hello.VZwbARjuKpDGaWslX5tZg_Vuxi",
            "hellO.VZwbARjuKpDGaWslX5tZg_VuxiE",
        ] {
            assert!(
                matches!(signer.unsign(bad), Err(SigningError::BadSignature { .. })),
                "{bad:?}"
            );
        }
        let other_salt = Signer::new(&keys(), "other");
        assert!(
            other_salt
                .unsign("hello.VZwbARjuKpDGaWslX5tZg_VuxiE")
                .is_err()
        );
    }

    #[test]
    fn verifies_with_fallback_and_signs_with_primary() {
        let old = Signer::new(&keys(), "salt");
        let rotated = SecretKeys::new("new")
            .unwrap()
            .with_fallbacks(["secret"])
            .unwrap();
        let signer = Signer::new(&rotated, "salt");
        let token = old.sign("v");
        assert_eq!(signer.unsign(&token), Ok("v"));
        let new_token = signer.sign("v");
        assert_ne!(new_token, token);
        assert!(old.unsign(&new_token).is_err());
    }
}
