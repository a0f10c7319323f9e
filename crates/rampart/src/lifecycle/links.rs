//! The signed, timed tokens of emailed links, in Flask-Security's format: itsdangerous'
//! URL-safe timed serializer with the salts `confirm-salt`, `reset-salt` and
//! `change-email-salt`, and payloads `[fs_uniquifier, binding]` (confirm, reset) and
//! `[fs_uniquifier, binding, new_email]` (change of email).
//!
//! The binding ties a token to the state it was issued for: the email address (confirm,
//! change-email) or the password hash (reset). Flask-Security stores `sha256_crypt` of that
//! value and does not check it for resets; Rampart stores a keyed HMAC-SHA256 of it and checks
//! it every time, so a reset token dies with the password it was issued for (single use) and
//! a change-email token dies once the address changed.

use std::time::Duration;

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use rampart_core::model::User;
use rampart_core::signing::{SecretKeys, SigningError, UrlSafeTimedSerializer};
use subtle::ConstantTimeEq;

/// What a link token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus<T> {
    /// Genuine and in time.
    Valid(T),
    /// Genuine but older than its lifetime.
    Expired,
    /// Not ours, tampered with, malformed or bound to another state.
    Invalid,
}

/// Issues and checks link tokens.
#[derive(Clone)]
pub struct LinkTokens {
    serializer: UrlSafeTimedSerializer,
    /// `SECRET_KEY` first (binds), then `SECRET_KEY_FALLBACKS` (still accepted).
    bind_keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for LinkTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkTokens")
    }
}

/// The payload of a decoded confirm or reset token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The user's `fs_uniquifier` at issue time.
    pub uniquifier: String,
    /// The binding (see the module docs).
    pub binding: Option<String>,
    /// The new address (change-email tokens only).
    pub new_email: Option<String>,
}

/// HMAC-SHA256 of `value` for `salt` under `key`, URL-safe base64.
fn bind_with(key: &[u8], salt: &str, value: &str) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"rampart-link-binding\0");
    mac.update(salt.as_bytes());
    mac.update(b"\0");
    mac.update(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

impl LinkTokens {
    /// Tokens signed with `keys`; `secret` keys the bindings.
    pub fn new(keys: SecretKeys, secret: &str) -> Self {
        Self {
            serializer: UrlSafeTimedSerializer::new(keys),
            bind_keys: vec![secret.as_bytes().to_vec()],
        }
    }

    /// Also accepts bindings keyed with these older secrets (`SECRET_KEY_FALLBACKS`; the
    /// signatures are checked with the fallbacks of `keys`), so links emailed before a key
    /// rotation still work. New links are always bound with the current key.
    #[must_use]
    pub fn with_fallbacks<'k>(mut self, secrets: impl IntoIterator<Item = &'k str>) -> Self {
        self.bind_keys
            .extend(secrets.into_iter().map(|k| k.as_bytes().to_vec()));
        self
    }

    /// The keyed binding of `value` for `salt`.
    pub fn bind(&self, salt: &str, value: &str) -> String {
        self.bind_keys
            .first()
            .map(|key| bind_with(key, salt, value))
            .unwrap_or_default()
    }

    /// Whether `binding` is the binding of `value` under the current key or a fallback
    /// (constant time per key).
    pub fn bound_to(&self, salt: &str, binding: Option<&str>, value: Option<&str>) -> bool {
        match (binding, value) {
            (Some(b), Some(v)) => self
                .bind_keys
                .iter()
                .any(|key| bool::from(b.as_bytes().ct_eq(bind_with(key, salt, v).as_bytes()))),
            (None, None) => true,
            _ => false,
        }
    }

    /// A confirmation token: `[fs_uniquifier, bind(email)]`.
    ///
    /// # Errors
    /// Never in practice (the payload is two strings).
    pub fn confirm(&self, user: &User, salt: &str) -> Result<String, SigningError> {
        let b = self.bind(salt, &user.email.to_lowercase());
        self.serializer.dumps(&(&user.fs_uniquifier, b), salt)
    }

    /// A reset token: `[fs_uniquifier, bind(password hash) or null]`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn reset(&self, user: &User, salt: &str) -> Result<String, SigningError> {
        let b = user.password.as_deref().map(|p| self.bind(salt, p));
        self.serializer.dumps(&(&user.fs_uniquifier, b), salt)
    }

    /// A change-email token: `[fs_uniquifier, bind(current email), new_email]`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn change_email(
        &self,
        user: &User,
        new_email: &str,
        salt: &str,
    ) -> Result<String, SigningError> {
        let b = self.bind(salt, &user.email.to_lowercase());
        self.serializer
            .dumps(&(&user.fs_uniquifier, b, new_email), salt)
    }

    /// Decodes a token of `salt` no older than `within`.
    pub fn check(&self, token: &str, salt: &str, within: Duration) -> LinkStatus<Bound> {
        type Raw = (String, Option<String>, Option<String>);
        let decoded = self
            .serializer
            .loads::<serde_json::Value>(token, salt, Some(within));
        let value = match decoded {
            Ok((v, _)) => v,
            Err(e) if e.is_expired() => return LinkStatus::Expired,
            Err(_) => return LinkStatus::Invalid,
        };
        let raw: Option<Raw> = match value.as_array().map(Vec::as_slice) {
            Some([u, b]) => Some((
                u.as_str().map(str::to_owned).unwrap_or_default(),
                b.as_str().map(str::to_owned),
                None,
            )),
            Some([u, b, e]) => Some((
                u.as_str().map(str::to_owned).unwrap_or_default(),
                b.as_str().map(str::to_owned),
                e.as_str().map(str::to_owned),
            )),
            _ => None,
        };
        match raw {
            Some((uniquifier, binding, new_email)) if !uniquifier.is_empty() => {
                LinkStatus::Valid(Bound {
                    uniquifier,
                    binding,
                    new_email,
                })
            }
            _ => LinkStatus::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        let t = time::macros::datetime!(2024-11-23 05:47:58);
        User {
            password: Some("$argon2id$x".into()),
            ..User::detached(1, "A@example.com", "u1", t)
        }
    }

    /// Found by the `tokens` fuzz target (fuzz/regressions/tokens/empty-uniquifier): a link
    /// issued for a user without `fs_uniquifier` names nobody, so it is never accepted.
    #[test]
    fn a_link_naming_no_user_is_refused() {
        let Ok(keys) = SecretKeys::new("k") else {
            panic!("key")
        };
        let links = LinkTokens::new(keys, "k");
        let nobody = User {
            fs_uniquifier: String::new(),
            ..user()
        };
        let day = Duration::from_secs(86_400);
        for salt in ["reset-salt", "confirm-salt"] {
            let t = links.reset(&nobody, salt).unwrap_or_default();
            assert_eq!(links.check(&t, salt, day), LinkStatus::Invalid);
        }
        let t = links.confirm(&nobody, "confirm-salt").unwrap_or_default();
        assert_eq!(links.check(&t, "confirm-salt", day), LinkStatus::Invalid);
    }

    #[test]
    fn links_issued_before_a_rotation_still_work() {
        let day = Duration::from_secs(86_400);
        let (Ok(old_keys), Ok(new_keys)) = (SecretKeys::new("old"), SecretKeys::new("new")) else {
            panic!("keys")
        };
        let u = user();
        let old = LinkTokens::new(old_keys, "old");
        let issued = old.reset(&u, "reset-salt").unwrap_or_default();
        let Ok(rotated_keys) = new_keys.clone().with_fallbacks(["old"]) else {
            panic!("fallbacks")
        };
        let rotated = LinkTokens::new(rotated_keys, "new").with_fallbacks(["old"]);
        let LinkStatus::Valid(b) = rotated.check(&issued, "reset-salt", day) else {
            panic!("an old link is still genuine")
        };
        assert!(rotated.bound_to("reset-salt", b.binding.as_deref(), u.password.as_deref()));
        // New links are bound with the new key only.
        let fresh = rotated.reset(&u, "reset-salt").unwrap_or_default();
        let LinkStatus::Valid(b) = rotated.check(&fresh, "reset-salt", day) else {
            panic!("valid")
        };
        assert_eq!(
            b.binding,
            u.password.as_deref().map(|p| rotated.bind("reset-salt", p))
        );
        // Without the fallback the old link is refused.
        let without = LinkTokens::new(new_keys, "new");
        assert_eq!(
            without.check(&issued, "reset-salt", day),
            LinkStatus::Invalid
        );
    }

    #[test]
    fn tokens_round_trip_and_bind() {
        let Ok(keys) = SecretKeys::new("k") else {
            panic!("key")
        };
        let links = LinkTokens::new(keys, "k");
        let u = user();
        let day = Duration::from_secs(86_400);
        let t = links.reset(&u, "reset-salt").unwrap_or_default();
        let LinkStatus::Valid(b) = links.check(&t, "reset-salt", day) else {
            panic!("valid")
        };
        assert_eq!(b.uniquifier, "u1");
        assert!(links.bound_to("reset-salt", b.binding.as_deref(), u.password.as_deref()));
        assert!(!links.bound_to("reset-salt", b.binding.as_deref(), Some("$argon2id$other")));
        assert_eq!(links.check(&t, "confirm-salt", day), LinkStatus::Invalid);
        assert_eq!(
            links.check("garbage", "reset-salt", day),
            LinkStatus::Invalid
        );
        let c = links
            .change_email(&u, "new@example.com", "change-email-salt")
            .unwrap_or_default();
        let LinkStatus::Valid(b) = links.check(&c, "change-email-salt", day) else {
            panic!("valid")
        };
        assert_eq!(b.new_email.as_deref(), Some("new@example.com"));
        assert!(links.bound_to(
            "change-email-salt",
            b.binding.as_deref(),
            Some("a@example.com")
        ));
    }
}
