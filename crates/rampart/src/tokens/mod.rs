//! Flask-Security auth tokens: `Authentication-Token` values that a Flask-Security app with the
//! same `SECRET_KEY` accepts, and the reverse.
//!
//! A token is itsdangerous' URL-safe timed serialization (salt `SECURITY_REMEMBER_SALT`,
//! `remember-salt` by default) of the payload
//! `{"ver":"5","uid":<fs_token_uniquifier or fs_uniquifier>,"fs_paa":<float>,"exp":<int or 0>}`,
//! what `UserMixin.get_auth_token()` produces. [`AuthTokens`] issues such tokens, decodes them
//! (also the legacy list payloads of Flask-Security 4.x and 3.x) and authenticates the user
//! behind one against a [`UserDatastore`](crate::datastore::UserDatastore).
//!
//! | Flask-Security                               | Rampart                          |
//! |----------------------------------------------|----------------------------------|
//! | `UserMixin.get_auth_token()`                 | [`AuthTokens::issue`]            |
//! | `utils.parse_auth_token()`                   | [`AuthTokens::decode`]           |
//! | the token part of `_request_loader`          | [`AuthTokens::authenticate`]     |
//! | `SECURITY_TOKEN_MAX_AGE` (`0` = never)       | [`AuthTokens::with_max_age`], [`max_age_from_secs`] |
//! | `SECURITY_TOKEN_EXPIRE_TIMESTAMP`            | the `exp` argument of [`AuthTokens::issue`] |
//! | `SECURITY_REMEMBER_SALT`                     | [`AuthTokens::with_salt`]        |
//!
//! Expiry: a token is refused when it is older than the maximum age (checked against the signed
//! issue time; a token dated in the future is refused too, as itsdangerous does) **or** when its
//! `exp` is non-zero and in the past; the shorter of the two applies.
//!
//! Where Rampart is deliberately stricter than Flask-Security (tokens Flask-Security produces are
//! never affected):
//! - `uid` must be a non-empty string, `ver` a version number of at least 5 (as a string or a
//!   number), `fs_paa` a number or absent, and `exp` a number, `0`, `false` or `null`;
//!   Flask-Security accepts any JSON there and fails later, or not at all;
//! - a legacy list payload must have exactly one (v4) or three (v3) elements.
//!
//! Keys: new tokens are signed with `SECRET_KEY`; every key of
//! [`SecretKeys`] (`SECRET_KEY` and `SECRET_KEY_FALLBACKS`) verifies. (itsdangerous signs with
//! the *last* fallback instead; both sides accept either.)

mod auth;
mod claims;
mod error;

pub use auth::{AuthTokens, DEFAULT_MAX_AGE, DEFAULT_SALT, max_age_from_secs};
pub use claims::TokenClaims;
pub use error::TokenError;
pub use rampart_core::signing::SecretKeys;
