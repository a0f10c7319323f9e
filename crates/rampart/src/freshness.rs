//! Freshness: sensitive actions need a recent primary authentication (Flask-Security's
//! `check_and_update_authn_fresh`).
//!
//! The primary-authentication time (`fs_paa`) comes from the session (set by a password login
//! and by `/verify`) or, when `SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN` is on, from the auth
//! token, which carries the `fs_paa` of the login that issued it. A caller is fresh when
//! `-within < now - fs_paa < within`; a fresh session then gets a grace period
//! (`SECURITY_FRESHNESS_GRACE_PERIOD`, session key `fs_gexp`, an integer epoch) during which
//! it stays fresh whatever its `fs_paa`, and every fresh request inside the grace period
//! extends it. The grace period lives only in the session, so it never applies to
//! token-only callers. HTTP Basic is always fresh, and a negative window disables the check.
//!
//! [`FreshRequired`](crate::FreshRequired) uses `SECURITY_FRESHNESS` and the grace period;
//! [`FreshWithin`](crate::extract::FreshWithin) takes its own window and grace, like
//! `@auth_required(within=…, grace=…)`.

use crate::authn::{CurrentUser, Mechanism};
use crate::session::{AuthSession, SessionError, now_f64};

/// Flask-Security's session key for the end of the grace period (integer epoch seconds).
pub const FS_GEXP: &str = "fs_gexp";

/// A freshness window and grace period, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// How long a primary authentication counts as fresh; negative: always fresh.
    pub within_secs: i64,
    /// How long a fresh session stays fresh regardless (sliding).
    pub grace_secs: i64,
}

impl Window {
    /// The configured window (`SECURITY_FRESHNESS`, `SECURITY_FRESHNESS_GRACE_PERIOD`).
    pub fn configured(config: &crate::SecurityConfig) -> Self {
        Self {
            within_secs: config.freshness_secs,
            grace_secs: config.freshness_grace_period_secs,
        }
    }
}

/// Whether `user` is fresh for `window`, updating the session's grace period as
/// Flask-Security does. `session` is the request's session (only read or written for
/// session callers).
///
/// # Errors
/// When the session store fails.
pub async fn check(
    user: &CurrentUser,
    session: Option<&AuthSession>,
    window: Window,
    allow_auth_token: bool,
) -> Result<bool, SessionError> {
    check_at(user, session, window, allow_auth_token, now_f64()).await
}

/// [`check`] at a given time (epoch seconds).
///
/// # Errors
/// When the session store fails.
pub async fn check_at(
    user: &CurrentUser,
    session: Option<&AuthSession>,
    window: Window,
    allow_auth_token: bool,
    now: f64,
) -> Result<bool, SessionError> {
    if user.via == Mechanism::Basic || window.within_secs < 0 {
        return Ok(true);
    }
    let paa = match user.via {
        Mechanism::Token if !allow_auth_token => None,
        _ => user.fs_paa,
    };
    let Some(paa) = paa else {
        return Ok(false);
    };
    let session = session.filter(|_| user.via == Mechanism::Session);
    #[allow(clippy::cast_possible_truncation)]
    let grace_end = now.floor() as i64 + window.grace_secs.max(0);
    if let Some(s) = session
        && let Some(gexp) = s.0.get::<i64>(FS_GEXP).await?
        && (now as i64) < gexp
    {
        s.0.insert(FS_GEXP, grace_end).await?;
        return Ok(true);
    }
    #[allow(clippy::cast_precision_loss)]
    let within = window.within_secs as f64;
    let age = now - paa;
    if -within < age && age < within {
        if let Some(s) = session {
            s.0.insert(FS_GEXP, grace_end).await?;
        }
        return Ok(true);
    }
    Ok(false)
}
