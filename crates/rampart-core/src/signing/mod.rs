//! Signed tokens compatible, byte for byte, with Python's itsdangerous 2.2 as Flask-Security-Too
//! and Flask-WTF use it: auth tokens (`remember-salt`), CSRF tokens (`wtf-csrf-token`), email
//! links (`confirm-salt`, `reset-salt`, `login-salt`, `change-email-salt`), state tokens
//! (`tf-validity-salt`, `us-setup-salt`, `tf-setup-salt`, `wan-salt`) and refresh tokens
//! (`refresh-token-salt`, untimed).
//!
//! A token minted by a Flask app with the same `SECRET_KEY` verifies here, and the reverse.
//! Rust output is identical to Python's for the same payload, key and timestamp (the JSON is
//! written with Python's float `repr`). Compressed payloads are the exception: zlib is
//! re-implemented in pure Rust (miniz_oxide), whose deflate stream may differ from Python's
//! C zlib; both sides still read each other's tokens.
//!
//! | Python                              | Rust                         |
//! |-------------------------------------|------------------------------|
//! | `itsdangerous.Signer`               | [`Signer`]                   |
//! | `itsdangerous.TimestampSigner`      | [`TimestampSigner`]          |
//! | `itsdangerous.URLSafeSerializer`    | [`UrlSafeSerializer`]        |
//! | `itsdangerous.URLSafeTimedSerializer` | [`UrlSafeTimedSerializer`] |
//! | `BadSignature`, `BadTimeSignature`, `SignatureExpired`, `BadPayload` | [`SigningError`] |
//!
//! Where Rampart is deliberately stricter than itsdangerous (documented as secure defaults):
//! - signatures must be canonical unpadded base64url. Python decodes leniently and so accepts
//!   several spellings of one signature (`+`/`/` for `-`/`_`, trailing `=`, different unused
//!   low bits in the last character); tokens Python *produces* are always canonical;
//! - a compressed payload must be one complete zlib stream with nothing after it (Python
//!   ignores trailing bytes), and inflates to at most [`MAX_PAYLOAD_BYTES`];
//! - tokens longer than [`MAX_TOKEN_LEN`] are refused before any HMAC is computed;
//! - a signed timestamp too large for a Python `datetime` (after year 9999) makes Python raise
//!   `ValueError` (an HTTP 500); here it is simply a valid or expired token.
//!
//! Key rotation: [`SecretKeys`] holds `SECRET_KEY` and `SECRET_KEY_FALLBACKS`. Every key is
//! tried when verifying; new tokens are signed with `SECRET_KEY` (itsdangerous signs with the
//! last key of its list, a fallback: see [`Signer`]).
//!
//! Time is injectable everywhere (`*_at` methods take "now" or the issue time in seconds since
//! the Unix epoch), so expiry can be tested without sleeping.

mod error;
mod json;
mod key;
mod payload;
mod serializer;
mod signer;
mod timed;

pub use error::{EmptySecretKey, PayloadError, SigningError};
pub use key::SecretKeys;
pub use payload::MAX_PAYLOAD_BYTES;
pub use serializer::{UrlSafeSerializer, UrlSafeTimedSerializer};
pub use signer::{MAX_TOKEN_LEN, SEPARATOR, Signer};
pub use timed::{TimestampSigner, unix_now};
