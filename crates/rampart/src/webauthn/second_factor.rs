//! The connection between WebAuthn and two-factor authentication.
//!
//! WebAuthn plays two parts in a two-factor login, as in Flask-Security:
//! - **second factor**: after the password, a user with a `secondary` passkey signs in with
//!   `/wan-signin` while the two-factor state is pending (`tf_user_id`, `tf_state = "ready"`);
//! - **first factor**: a `/wan-signin` without user verification (or with
//!   `SECURITY_WAN_ALLOW_AS_MULTI_FACTOR = false`) still needs the user's second factor
//!   when two-factor applies to them.
//!
//! The two-factor module implements [`TwoFactorHook`] and gives it to
//! [`SecurityBuilder::webauthn_two_factor`](crate::security::SecurityBuilder::webauthn_two_factor);
//! without one, WebAuthn works as a first factor only and `/wan-signin` is never secondary.

use async_trait::async_trait;
use axum::response::Response;
use rampart_core::model::User;

use crate::security::Security;
use crate::session::{AuthSession, SessionError};

/// A login waiting for its second factor (password given, code or passkey not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecondFactor {
    /// The user's `fs_uniquifier` (Flask-Security's `tf_user_id`).
    pub uniquifier: String,
    /// The `remember` choice made at the password step.
    pub remember: bool,
}

/// What WebAuthn needs from two-factor authentication.
#[async_trait]
pub trait TwoFactorHook: Send + Sync + 'static {
    /// The login of this session waiting for a second factor that WebAuthn may give:
    /// Flask-Security's `tf_user_id` with `tf_state == "ready"`. `None` when there is none.
    ///
    /// # Errors
    /// When the session store fails.
    async fn pending(
        &self,
        sec: &Security,
        session: &AuthSession,
    ) -> Result<Option<PendingSecondFactor>, SessionError>;

    /// WebAuthn gave the second factor for `user` (the pending user): clear the two-factor
    /// state of the session (Flask-Security's `tf_complete`). WebAuthn then signs the user in
    /// and may add the returned `Set-Cookie` value (`tf_validity`), if any, to its answer.
    ///
    /// # Errors
    /// When the session store fails.
    async fn complete(
        &self,
        sec: &Security,
        session: &AuthSession,
        user: &User,
    ) -> Result<Option<axum::http::HeaderValue>, SessionError>;

    /// A first-factor passkey sign-in that does not count as multi-factor: if `user` must
    /// give a second factor, put the session in the two-factor state and return the answer
    /// (`tf_required: true` …; Flask-Security's `tf_enter`); `None` signs the user in at once.
    async fn enter(
        &self,
        sec: &Security,
        session: &AuthSession,
        user: &User,
        remember: bool,
        json: bool,
    ) -> Option<Response>;
}
