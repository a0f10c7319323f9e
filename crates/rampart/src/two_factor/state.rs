//! The half-authenticated state between the first factor and the second: a signed, timed
//! token (itsdangerous format, Rampart salt `rampart-tf-state`) naming the user, its
//! `fs_uniquifier`, an expiry and a random challenge id. The session keeps the same token
//! (key `tf_signin_state`), and clients without cookies get it in the JSON answer
//! (`tf_signin_state`) and send it back in the body or the `X-TF-Signin-State` header.
//!
//! Single-use marks (the last TOTP step accepted per secret, used challenges, used recovery
//! codes) and the wrong-code count of each challenge live in the throttle's counter store, so
//! they hold across sessions and instances.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use rampart_core::model::User;
use rampart_core::throttle::ThrottleRecord;
use rampart_core::{DatastoreError, signing::UrlSafeTimedSerializer};
use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::security::Security;
use crate::session::{AuthSession, SessionError};

/// The salt of login-state tokens.
pub(crate) const STATE_SALT: &str = "rampart-tf-state";
/// The salt of authenticated setup tokens (`/tf-setup/<token>`), Flask-Security's.
pub(crate) const SETUP_SALT: &str = "tf-setup-salt";
/// The salt of the `tf_validity` cookie, Flask-Security's.
pub(crate) const VALIDITY_SALT: &str = "tf-validity-salt";
/// The session key and JSON field of the login state.
pub const STATE_FIELD: &str = "tf_signin_state";
/// The header a cookie-less client may carry the login state in.
pub const STATE_HEADER: &str = "x-tf-signin-state";

/// The pending (half-authenticated) two-factor state of a sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// The user's `fs_uniquifier` when the first factor succeeded.
    pub uid: String,
    /// `setup_from_login`, `validating_profile`, `ready` or `select`.
    pub state: String,
    /// The challenge id (random): wrong-code tries and completion are counted per id.
    pub nonce: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Whether the first factor asked to be remembered.
    #[serde(default)]
    pub remember: bool,
    /// How the first factor was given (`password`, `email`, …).
    #[serde(default)]
    pub via: String,
    /// The method being set up (`validating_profile`).
    #[serde(default)]
    pub method: Option<String>,
    /// The new encrypted secret being set up.
    #[serde(default)]
    pub secret: Option<String>,
    /// The phone number being set up (SMS).
    #[serde(default)]
    pub phone: Option<String>,
    /// Where a browser goes afterwards (validated).
    #[serde(default)]
    pub next: Option<String>,
}

impl Pending {
    /// A new state for `user` in `state`, living `within` seconds.
    pub(crate) fn new(user: &User, state: &str, within: i64, via: &str) -> Self {
        let nonce: [u8; 16] = rand::rng().random();
        Self {
            uid: user.fs_uniquifier.clone(),
            state: state.to_owned(),
            nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
            exp: rampart_core::signing::unix_now()
                .saturating_add(u64::try_from(within).unwrap_or(600)),
            remember: false,
            via: via.to_owned(),
            method: None,
            secret: None,
            phone: None,
            next: None,
        }
    }
}

/// Signs and checks state tokens.
#[derive(Clone)]
pub(crate) struct StateTokens {
    serializer: UrlSafeTimedSerializer,
}

impl StateTokens {
    pub(crate) fn new(serializer: UrlSafeTimedSerializer) -> Self {
        Self { serializer }
    }

    pub(crate) fn sign<T: Serialize>(&self, value: &T, salt: &str) -> Option<String> {
        self.serializer.dumps(value, salt).ok()
    }

    pub(crate) fn open<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        salt: &str,
        max_age_secs: i64,
    ) -> Option<T> {
        let max_age = Duration::from_secs(u64::try_from(max_age_secs).unwrap_or(1).max(1));
        self.serializer
            .loads::<T>(token, salt, Some(max_age))
            .ok()
            .map(|(v, _)| v)
    }
}

/// Stores `pending` in the session and returns its token for the JSON answer.
///
/// # Errors
/// When the session store fails.
pub(crate) async fn save(
    sec: &Security,
    session: &AuthSession,
    pending: &Pending,
) -> Result<String, SessionError> {
    let token = sec
        .inner
        .mfa
        .tokens
        .sign(pending, STATE_SALT)
        .unwrap_or_default();
    session.0.insert(STATE_FIELD, &token).await?;
    Ok(token)
}

/// Forgets the session's pending state.
pub(crate) async fn clear(session: &AuthSession) {
    if let Err(e) = session.0.remove_value(STATE_FIELD).await {
        tracing::warn!(error = %e, "could not clear the two-factor state");
    }
}

/// The pending state from `body_token` (the JSON or form field), the header, or the session,
/// checked: signature, age, expiry, challenge not used up, and the user still exists, is
/// active and has the same `fs_uniquifier`.
pub(crate) async fn load(
    sec: &Security,
    session: &AuthSession,
    headers: &HeaderMap,
    body_token: Option<String>,
) -> Result<Option<(Pending, User)>, DatastoreError> {
    let header = headers
        .get(STATE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let stored = match session.0.get::<String>(STATE_FIELD).await {
        Ok(v) => v,
        Err(e) => return Err(DatastoreError::Unavailable(e.to_string())),
    };
    let Some(token) = body_token.or(header).or(stored) else {
        return Ok(None);
    };
    let within = sec.config().mfa.two_factor_state_within_secs;
    let Some(pending) = sec
        .inner
        .mfa
        .tokens
        .open::<Pending>(&token, STATE_SALT, within)
    else {
        return Ok(None);
    };
    if pending.exp < rampart_core::signing::unix_now() || used_up(sec, &pending).await? {
        return Ok(None);
    }
    let Some(user) = sec.store().find_user_by_uniquifier(&pending.uid).await? else {
        return Ok(None);
    };
    if !user.active || user.fs_uniquifier != pending.uid {
        return Ok(None);
    }
    Ok(Some((pending, user)))
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn tries_key(sec: &Security, nonce: &str) -> String {
    sec.throttle()
        .prefixed(&format!("tf-tries:{}", digest(&[nonce])))
}

/// Whether the challenge has no tries left (or was completed).
async fn used_up(sec: &Security, pending: &Pending) -> Result<bool, DatastoreError> {
    let t = sec.throttle();
    let rec = t
        .store()
        .get(&tries_key(sec, &pending.nonce), t.now_ms())
        .await?;
    Ok(rec.is_some_and(|r| r.failures >= sec.config().mfa.code_tries))
}

/// Counts a wrong code against the challenge; returns whether tries remain.
pub(crate) async fn count_wrong(sec: &Security, pending: &Pending) -> Result<bool, DatastoreError> {
    bump_tries(sec, &pending.nonce, 1).await
}

/// Ends the challenge (it completed): its token cannot be used again.
pub(crate) async fn burn(sec: &Security, nonce: &str) -> Result<(), DatastoreError> {
    bump_tries(sec, nonce, i64::from(u16::MAX))
        .await
        .map(|_| ())
}

async fn bump_tries(sec: &Security, nonce: &str, by: i64) -> Result<bool, DatastoreError> {
    let t = sec.throttle();
    let now = t.now_ms();
    let ttl_ms = (sec.config().mfa.two_factor_state_within_secs + 60).saturating_mul(1000);
    let update = |old: Option<ThrottleRecord>| {
        let mut r = old.unwrap_or_default();
        r.failures = r.failures.saturating_add(by);
        r.last_ms = now;
        r.expires_ms = now.saturating_add(ttl_ms);
        Some(r)
    };
    let rec = t
        .store()
        .update(&tries_key(sec, nonce), now, &update)
        .await?;
    Ok(rec.is_some_and(|r| r.failures < sec.config().mfa.code_tries))
}

/// The replay mark of one stored secret.
fn last_step_key(sec: &Security, secret: &str) -> String {
    sec.throttle()
        .prefixed(&format!("totp-last:{}", digest(&[secret])))
}

/// The last TOTP step accepted for `secret`, if any is remembered.
pub(crate) async fn last_step(sec: &Security, secret: &str) -> Result<Option<u64>, DatastoreError> {
    let t = sec.throttle();
    let rec = t
        .store()
        .get(&last_step_key(sec, secret), t.now_ms())
        .await?;
    Ok(rec.and_then(|r| u64::try_from(r.tat_ms).ok()))
}

/// Accepts TOTP step `counter` of `secret` once: true when no later-or-equal step was
/// accepted before (atomic in the store, so two concurrent requests cannot both pass).
pub(crate) async fn claim_step(
    sec: &Security,
    secret: &str,
    counter: u64,
    keep_secs: i64,
) -> Result<bool, DatastoreError> {
    let t = sec.throttle();
    let now = t.now_ms();
    let counter = i64::try_from(counter).unwrap_or(i64::MAX);
    let ttl_ms = keep_secs.saturating_add(120).saturating_mul(1000);
    let accepted = Mutex::new(false);
    let update = |old: Option<ThrottleRecord>| {
        let ok = old.is_none_or(|r| r.tat_ms < counter);
        if let Ok(mut a) = accepted.lock() {
            *a = ok;
        }
        ok.then(|| ThrottleRecord {
            tat_ms: counter,
            failures: 0,
            last_ms: now,
            expires_ms: now.saturating_add(ttl_ms),
        })
    };
    t.store()
        .update(&last_step_key(sec, secret), now, &update)
        .await?;
    Ok(accepted
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// Marks `what` (a recovery-code digest) used, once: true for the first caller.
pub(crate) async fn claim_once(
    sec: &Security,
    what: &str,
    keep_secs: i64,
) -> Result<bool, DatastoreError> {
    let t = sec.throttle();
    let now = t.now_ms();
    let key = t.prefixed(&format!("once:{}", digest(&[what])));
    let first = Mutex::new(false);
    let update = |old: Option<ThrottleRecord>| {
        if let Ok(mut f) = first.lock() {
            *f = old.is_none();
        }
        old.is_none().then(|| ThrottleRecord {
            tat_ms: 0,
            failures: 1,
            last_ms: now,
            expires_ms: now.saturating_add(keep_secs.saturating_mul(1000)),
        })
    };
    t.store().update(&key, now, &update).await?;
    Ok(first
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::signing::SecretKeys;

    fn tokens(key: &str) -> StateTokens {
        StateTokens::new(UrlSafeTimedSerializer::new(
            SecretKeys::new(key).expect("key"),
        ))
    }

    #[test]
    fn state_tokens_are_signed_salted_and_timed() {
        let user = User::detached(1, "a@b.c", "uniq", rampart_core::model::naive_utcnow());
        let p = Pending::new(&user, "ready", 600, "password");
        assert_eq!(p.nonce.len(), 32);
        assert_ne!(p.nonce, Pending::new(&user, "ready", 600, "password").nonce);
        let t = tokens("k1");
        let token = t.sign(&p, STATE_SALT).expect("signs");
        assert_eq!(t.open::<Pending>(&token, STATE_SALT, 600), Some(p.clone()));
        assert_eq!(
            t.open::<Pending>(&token, SETUP_SALT, 600),
            None,
            "other purpose"
        );
        assert_eq!(tokens("k2").open::<Pending>(&token, STATE_SALT, 600), None);
        let mut forged = token.clone();
        forged.push('x');
        assert_eq!(t.open::<Pending>(&forged, STATE_SALT, 600), None);
    }
}
