//! CSRF tokens in Flask-WTF's shape: a raw secret (40 hex characters) kept in the session, and
//! the client-facing token `URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)`.
//!
//! Tokens are accepted from the `X-CSRFToken`, `X-CSRF-Token` and `X-XSRF-Token` headers and
//! from the `csrf_token` form field or JSON key. The authentication extractors check them on
//! state-changing requests for the mechanisms in `SECURITY_CSRF_PROTECT_MECHANISMS` — and
//! always when the request carries a signed-in session cookie, even if it also carries a token
//! (a deliberate difference from Flask-Security, which skips the check then and lets a forged
//! request ride on the victim's cookie).

use std::time::Duration;

use axum::http::{HeaderMap, Method};
use rampart_core::signing::{SecretKeys, SigningError, UrlSafeTimedSerializer};
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

use crate::session::{AuthSession, SessionError};

/// The headers a CSRF token is read from (Flask-WTF's `WTF_CSRF_HEADERS` plus
/// Flask-Security's `SECURITY_CSRF_HEADER`).
pub const HEADERS: [&str; 3] = ["X-CSRFToken", "X-CSRF-Token", "X-XSRF-Token"];

/// Why a CSRF check failed; the messages are Flask-WTF's, which clients match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// No token in the request.
    #[error("The CSRF token is missing.")]
    Missing,
    /// No secret in the session.
    #[error("The CSRF session token is missing.")]
    SessionTokenMissing,
    /// The token is older than the time limit.
    #[error("The CSRF token has expired.")]
    Expired,
    /// The token is not signed by this application.
    #[error("The CSRF token is invalid.")]
    Invalid,
    /// The token belongs to another session.
    #[error("The CSRF tokens do not match.")]
    Mismatch,
}

/// A `csrf_token` found in the request body by the authentication layer.
#[derive(Debug, Clone)]
pub(crate) struct BodyToken(pub(crate) String);

/// Methods that change state (Flask-WTF's `WTF_CSRF_METHODS`).
pub fn is_unsafe(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The token a request carries: a header first, then the body field.
pub(crate) fn token_in(headers: &HeaderMap, body: Option<&BodyToken>) -> Option<String> {
    HEADERS
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok().filter(|v| !v.is_empty()))
        .map(str::to_owned)
        .or_else(|| body.map(|b| b.0.clone()))
}

/// Flask-WTF's salt for CSRF tokens.
pub const SALT: &str = "wtf-csrf-token";

/// A new raw secret: 40 lowercase hex characters from the CSPRNG (Flask-WTF: sha1 of random
/// bytes, same shape).
pub fn new_raw_token() -> String {
    let bytes: [u8; 20] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs raw CSRF secrets for clients.
#[derive(Clone)]
pub struct CsrfTokens {
    serializer: UrlSafeTimedSerializer,
}

impl std::fmt::Debug for CsrfTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfTokens")
    }
}

impl CsrfTokens {
    /// Signs with `WTF_CSRF_SECRET_KEY`, which defaults to `SECRET_KEY`.
    pub fn new(keys: SecretKeys) -> Self {
        Self {
            serializer: UrlSafeTimedSerializer::new(keys),
        }
    }

    /// Checks a client token against the session's secret (signature, age, then a
    /// constant-time comparison).
    ///
    /// # Errors
    /// [`CsrfError`] with Flask-WTF's reason; session-store failures count as a missing
    /// session token.
    pub async fn validate(
        &self,
        session: Option<&AuthSession>,
        token: Option<&str>,
        max_age: Option<Duration>,
    ) -> Result<(), CsrfError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
        let raw = match session {
            Some(s) => s.existing_csrf_secret().await.ok().flatten(),
            None => None,
        }
        .ok_or(CsrfError::SessionTokenMissing)?;
        let (claimed, _): (String, u64) =
            self.serializer
                .loads(token, SALT, max_age)
                .map_err(|e| match e {
                    SigningError::SignatureExpired { .. } => CsrfError::Expired,
                    _ => CsrfError::Invalid,
                })?;
        if bool::from(claimed.as_bytes().ct_eq(raw.as_bytes())) {
            Ok(())
        } else {
            Err(CsrfError::Mismatch)
        }
    }

    /// The session's token for the client (the raw secret is created when missing).
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn token_for(&self, session: &AuthSession) -> Result<String, SessionError> {
        let raw = session.csrf_secret().await?;
        // Serializing a plain string cannot fail; fall back to an empty token if it ever did.
        Ok(self.serializer.dumps(&raw, SALT).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tokens_are_40_hex_and_random() {
        let a = new_raw_token();
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_raw_token());
    }
}
