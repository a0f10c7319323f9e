//! Unified sign-in (`SECURITY_UNIFIED_SIGNIN`): passwordless sign-in with a code sent by
//! email or SMS, an authenticator app, the password, or a magic link (`/us-verify-link`);
//! identity attributes; freshness re-verification (`/us-verify`). The endpoints live in
//! `views`; this module holds the per-user methods and the passcode check.
//!
//! Secrets are stored as Flask-Security stores them: `user.us_totp_secrets` is a JSON object
//! `{method: passlib encrypted TOTP JSON}` (see [`crate::two_factor::totp`]), so a database
//! migrated from Flask-Security keeps its unified sign-in methods when it keeps
//! `SECURITY_TOTP_SECRETS`. Every code is single use (the step is marked in the throttle's
//! store) and every check goes through the throttle.

use std::collections::BTreeMap;

use rampart_core::model::User;

use crate::security::Security;

/// The methods a code can be sent for (`US_ENABLED_METHODS` without `password` and
/// `authenticator`).
pub fn code_methods(sec: &Security) -> Vec<String> {
    enabled(sec)
        .into_iter()
        .filter(|m| m == "email" || m == "sms")
        .collect()
}

/// `SECURITY_US_ENABLED_METHODS`.
pub fn enabled(sec: &Security) -> Vec<String> {
    sec.config().mfa.us_enabled_methods.clone()
}

/// The methods that can be set up (`US_ENABLED_METHODS` without `password`).
pub fn setup_methods(sec: &Security) -> Vec<String> {
    enabled(sec)
        .into_iter()
        .filter(|m| m != "password")
        .collect()
}

/// The user's stored secrets per method (malformed JSON reads as none).
pub fn secrets_of(user: &User) -> BTreeMap<String, String> {
    user.us_totp_secrets
        .as_deref()
        .and_then(|s| serde_json::from_str::<BTreeMap<String, String>>(s).ok())
        .unwrap_or_default()
}

/// Stores `secrets` on `user` (`None` when empty, as Flask-Security leaves it).
pub fn set_secrets(user: &mut User, secrets: &BTreeMap<String, String>) {
    user.us_totp_secrets = if secrets.is_empty() {
        None
    } else {
        serde_json::to_string(secrets).ok()
    };
}

/// The methods `user` can sign in with: the enabled ones with a secret, and `password` when
/// the user has one.
pub fn active_methods(sec: &Security, user: &User) -> Vec<String> {
    let secrets = secrets_of(user);
    enabled(sec)
        .into_iter()
        .filter(|m| {
            if m == "password" {
                user.password.is_some()
            } else {
                secrets.contains_key(m)
            }
        })
        .collect()
}

/// The code methods `user` has set up.
pub fn active_code_methods(sec: &Security, user: &User) -> Vec<String> {
    let codes = code_methods(sec);
    active_methods(sec, user)
        .into_iter()
        .filter(|m| codes.contains(m))
        .collect()
}

/// Which method a passcode matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Passcode {
    /// It is the password, or a code of this method.
    Matched(String),
    /// Nothing matched.
    Wrong,
}

/// Checks `passcode` for `user` as Flask-Security does, in `US_ENABLED_METHODS` order: the
/// password, then a code of each set-up method within `SECURITY_US_TOKEN_VALIDITY`. A code's
/// step is accepted once. The caller throttles.
pub(crate) async fn check_passcode(
    sec: &Security,
    user: &User,
    passcode: &str,
) -> Result<Passcode, rampart_core::DatastoreError> {
    let secrets = secrets_of(user);
    let window = sec.config().mfa.us_token_validity_secs;
    for method in enabled(sec) {
        if method == "password" {
            if password_ok(sec, user, passcode).await {
                return Ok(Passcode::Matched(method));
            }
            continue;
        }
        let Some(secret) = secrets.get(&method) else {
            continue;
        };
        let Ok(key) = crate::two_factor::decrypt(sec, secret).await else {
            continue;
        };
        let now = rampart_core::signing::unix_now();
        let w = u64::try_from(window).unwrap_or(0);
        if let Some(counter) = crate::two_factor::totp::matching_counter(&key, passcode, now, w) {
            if crate::two_factor::state::claim_step(sec, secret, counter, window * 2).await? {
                return Ok(Passcode::Matched(method));
            }
            tracing::info!(user_id = user.id, "replayed unified sign-in code refused");
        }
    }
    Ok(Passcode::Wrong)
}

async fn password_ok(sec: &Security, user: &User, passcode: &str) -> bool {
    let Some(stored) = user.password.clone() else {
        sec.passwords().dummy_verify().await;
        return false;
    };
    match sec.passwords().verify(passcode, &stored).await {
        Ok(v) if v.ok => {
            let _ =
                crate::views::login::rehash_if_needed(sec, user.clone(), passcode, v.needs_rehash)
                    .await;
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::error!(error = %e, user_id = user.id, "password verification failed");
            false
        }
    }
}
