//! Errors of the signing module, mirroring itsdangerous' exception classes.

/// Why a token was refused or could not be produced.
///
/// The variants mirror itsdangerous' exception classes (`BadSignature`, `BadTimeSignature`,
/// `SignatureExpired`, `BadPayload`), so Flask-Security's handling of each one carries over.
/// In itsdangerous `SignatureExpired` is a subclass of `BadTimeSignature`, itself a subclass
/// of `BadSignature`: [`SigningError::is_bad_signature`] answers that "is-a" question.
///
/// Messages never contain the secret, the token or the payload, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The signature does not match any of the keys, is missing or malformed, or the token is
    /// too long to be one of ours (itsdangerous `BadSignature`).
    #[error("bad signature: {reason}")]
    BadSignature {
        /// A short, fixed description of what was wrong.
        reason: &'static str,
    },
    /// A timed token whose signature does not match, or whose signed timestamp is missing or
    /// malformed (itsdangerous `BadTimeSignature`).
    #[error("bad time signature: {reason}")]
    BadTimeSignature {
        /// A short, fixed description of what was wrong.
        reason: &'static str,
    },
    /// The signature is valid but older than the allowed maximum age, or dated in the future
    /// (itsdangerous `SignatureExpired`, which also refuses any negative age).
    #[error("signature expired (age {age} s)")]
    SignatureExpired {
        /// The signed issue time, in seconds since the Unix epoch.
        issued_at: u64,
        /// `now - issued_at` in seconds; negative when the token is dated in the future.
        age: i64,
    },
    /// The signature is valid but the payload cannot be decoded (itsdangerous `BadPayload`).
    #[error("bad payload: {0}")]
    BadPayload(PayloadError),
    /// `dumps` could not serialise the value to JSON (a map with non-string keys, …) or the
    /// result would exceed [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES). Python raises
    /// `TypeError` here.
    #[error("cannot serialize payload: {0}")]
    Unserializable(PayloadError),
}

impl SigningError {
    /// Whether itsdangerous would raise a `BadSignature` (or a subclass of it:
    /// `BadTimeSignature`, `SignatureExpired`) for this error.
    pub fn is_bad_signature(&self) -> bool {
        matches!(
            self,
            Self::BadSignature { .. }
                | Self::BadTimeSignature { .. }
                | Self::SignatureExpired { .. }
        )
    }

    /// Whether the token was genuine but expired (or dated in the future).
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::SignatureExpired { .. })
    }
}

/// What was wrong with a payload. Carries no payload content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload segment is not unpadded URL-safe base64.
    #[error("invalid base64")]
    Base64,
    /// The payload is marked compressed but is not one complete zlib stream.
    #[error("invalid zlib data")]
    Decompress,
    /// The payload (after decompression) is larger than
    /// [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    #[error("payload too large")]
    TooLarge,
    /// The payload is not valid UTF-8 JSON.
    #[error("invalid JSON")]
    InvalidJson,
    /// The JSON is valid but does not have the shape of the requested type.
    #[error("JSON does not match the expected type")]
    UnexpectedShape,
}

/// A secret key was empty. Configuration error, found when the keys are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a secret key must not be empty")]
pub struct EmptySecretKey;
