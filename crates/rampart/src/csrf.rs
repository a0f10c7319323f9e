//! CSRF tokens in Flask-WTF's shape: a raw secret (40 hex characters) kept in the session, and
//! the client-facing token `URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)`.
//!
//! This module generates the token that every JSON success carries (`csrf_token`); checking it
//! on state-changing requests comes with the request-security layer.

use rampart_core::signing::{SecretKeys, UrlSafeTimedSerializer};
use rand::RngExt as _;

use crate::session::{AuthSession, SessionError};

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
