//! itsdangerous' `URLSafeSerializer` and `URLSafeTimedSerializer`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::SigningError;
use super::key::SecretKeys;
use super::payload;
use super::signer::Signer;
use super::timed::{TimestampSigner, unix_now};

/// itsdangerous' `URLSafeTimedSerializer`, as Flask-Security (auth tokens, email links, state
/// tokens) and Flask-WTF (CSRF tokens) use it: `payload.timestamp.signature`.
///
/// The payload is compact JSON (byte-identical to Python's, floats included), zlib-compressed
/// when that is shorter (the token then starts with `.`), in unpadded base64url. The salt is
/// given per call, as Flask-Security keeps one serializer per salt.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use rampart_core::signing::{SecretKeys, SigningError, UrlSafeTimedSerializer};
///
/// let keys = SecretKeys::new("change me").expect("non-empty key");
/// let serializer = UrlSafeTimedSerializer::new(keys);
/// let token = serializer.dumps_at(&["5c0e0b5d4e7f"], "login-salt", 1_732_340_878)?;
/// assert_eq!(token.split('.').count(), 3);
///
/// let max_age = Some(Duration::from_secs(86_400));
/// let (payload, issued_at): (Vec<String>, u64) =
///     serializer.loads_at(&token, "login-salt", max_age, 1_732_340_900)?;
/// assert_eq!((payload[0].as_str(), issued_at), ("5c0e0b5d4e7f", 1_732_340_878));
///
/// // A day and a second later, the same token is expired.
/// let late = serializer.loads_at::<Vec<String>>(&token, "login-salt", max_age, 1_732_427_279);
/// assert!(matches!(late, Err(SigningError::SignatureExpired { .. })));
/// # Ok::<(), SigningError>(())
/// ```
#[derive(Debug, Clone)]
pub struct UrlSafeTimedSerializer {
    keys: SecretKeys,
    /// Signers already keyed, by salt (an application uses a handful of salts).
    signers: Arc<RwLock<HashMap<String, TimestampSigner>>>,
}

impl UrlSafeTimedSerializer {
    /// A serializer that signs with the primary key and verifies with every key.
    pub fn new(keys: SecretKeys) -> Self {
        Self {
            keys,
            signers: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The keyed signer for `salt`, built once.
    fn signer(&self, salt: &str) -> TimestampSigner {
        if let Some(s) = self.signers.read().ok().and_then(|m| m.get(salt).cloned()) {
            return s;
        }
        let signer = TimestampSigner::new(&self.keys, salt);
        if let Ok(mut m) = self.signers.write()
            && m.len() < 64
        {
            m.insert(salt.to_owned(), signer.clone());
        }
        signer
    }

    /// Signs `value` for `salt` with the current time.
    ///
    /// # Errors
    /// [`SigningError::Unserializable`] if `value` cannot be written as JSON or its JSON is
    /// larger than [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    pub fn dumps<T: Serialize + ?Sized>(
        &self,
        value: &T,
        salt: &str,
    ) -> Result<String, SigningError> {
        self.dumps_at(value, salt, unix_now())
    }

    /// Signs `value` for `salt` as issued at `timestamp` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// As [`dumps`](Self::dumps).
    pub fn dumps_at<T: Serialize + ?Sized>(
        &self,
        value: &T,
        salt: &str,
        timestamp: u64,
    ) -> Result<String, SigningError> {
        let encoded = payload::encode(value).map_err(SigningError::Unserializable)?;
        Ok(self.signer(salt).sign_at(&encoded, timestamp))
    }

    /// Verifies `token` for `salt` against the current time and decodes its payload; returns
    /// the payload and its issue time (seconds since the Unix epoch).
    ///
    /// # Errors
    /// As [`loads_at`](Self::loads_at).
    pub fn loads<T: DeserializeOwned>(
        &self,
        token: &str,
        salt: &str,
        max_age: Option<Duration>,
    ) -> Result<(T, u64), SigningError> {
        self.loads_at(token, salt, max_age, unix_now())
    }

    /// Verifies `token` for `salt` as if the time were `now` and decodes its payload.
    ///
    /// The order of the checks is itsdangerous': signature, then age, then payload. `max_age`
    /// of `None` disables the age check.
    ///
    /// # Errors
    /// [`SigningError::BadSignature`] or [`SigningError::BadTimeSignature`] for a token that is
    /// not genuine, [`SigningError::SignatureExpired`] for a genuine token older than `max_age`
    /// or dated after `now`, [`SigningError::BadPayload`] for a genuine token whose payload
    /// cannot be decoded into `T`.
    pub fn loads_at<T: DeserializeOwned>(
        &self,
        token: &str,
        salt: &str,
        max_age: Option<Duration>,
        now: u64,
    ) -> Result<(T, u64), SigningError> {
        let signer = self.signer(salt);
        let (encoded, issued_at) = signer.unsign_at(token, max_age, now)?;
        let value = payload::decode(encoded).map_err(SigningError::BadPayload)?;
        Ok((value, issued_at))
    }
}

/// itsdangerous' `URLSafeSerializer` (no timestamp): `payload.signature`. Flask-Security uses it
/// for refresh tokens (salt `refresh-token-salt`), whose expiry lives in the payload.
///
/// # Example
/// ```
/// use rampart_core::signing::{SecretKeys, SigningError, UrlSafeSerializer};
///
/// let serializer = UrlSafeSerializer::new(SecretKeys::new("change me").expect("non-empty key"));
/// let token = serializer.dumps(&serde_json::json!({"gen": 1}), "refresh-token-salt")?;
/// let value: serde_json::Value = serializer.loads(&token, "refresh-token-salt")?;
/// assert_eq!(value["gen"], 1);
/// assert!(serializer.loads::<serde_json::Value>(&token, "other-salt").is_err());
/// # Ok::<(), SigningError>(())
/// ```
#[derive(Debug, Clone)]
pub struct UrlSafeSerializer {
    keys: SecretKeys,
}

impl UrlSafeSerializer {
    /// A serializer that signs with the primary key and verifies with every key.
    pub fn new(keys: SecretKeys) -> Self {
        Self { keys }
    }

    /// Signs `value` for `salt`.
    ///
    /// # Errors
    /// [`SigningError::Unserializable`] if `value` cannot be written as JSON or its JSON is
    /// larger than [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    pub fn dumps<T: Serialize + ?Sized>(
        &self,
        value: &T,
        salt: &str,
    ) -> Result<String, SigningError> {
        let encoded = payload::encode(value).map_err(SigningError::Unserializable)?;
        Ok(Signer::new(&self.keys, salt).sign(&encoded))
    }

    /// Verifies `token` for `salt` and decodes its payload.
    ///
    /// # Errors
    /// [`SigningError::BadSignature`] for a token that is not genuine,
    /// [`SigningError::BadPayload`] for a genuine token whose payload cannot be decoded into `T`.
    pub fn loads<T: DeserializeOwned>(&self, token: &str, salt: &str) -> Result<T, SigningError> {
        let encoded = Signer::new(&self.keys, salt).unsign(token)?;
        payload::decode(encoded).map_err(SigningError::BadPayload)
    }
}
