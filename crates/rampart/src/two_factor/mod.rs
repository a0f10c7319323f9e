//! Two-factor authentication (`SECURITY_TWO_FACTOR`): authenticator apps (TOTP, RFC 6238),
//! codes by email and by SMS, recovery codes, and the half-authenticated state between the
//! first factor and the second.
//!
//! The endpoints (`/tf-setup`, `/tf-validate`, `/tf-rescue`, `/tf-select`,
//! `/mf-recovery-codes`, `/mf-recovery`) live in `views`; this module holds what they share:
//!
//! - [`totp`]: codes, windows, passlib-compatible encrypted secrets, the QR code;
//! - [`state`]: the pending state ([`Pending`]), as a signed token kept in the session and
//!   returned to cookie-less clients (`tf_signin_state`), with its single-use marks;
//! - [`sms`]: the [`SmsSender`] trait and development senders;
//! - [`recovery`]: recovery codes, stored as keyed digests.
//!
//! Safer than Flask-Security: a TOTP step is accepted once per secret (replays are refused,
//! across sessions and instances); a challenge survives `SECURITY_TWO_FACTOR_CODE_TRIES` (5)
//! wrong codes, and every check goes through the throttle (`Action::Code`); the state expires
//! (`SECURITY_TWO_FACTOR_STATE_WITHIN`, 10 minutes), is bound to the user's `fs_uniquifier`
//! (a password reset kills it) and dies once used.
//!
//! # Other second factors (WebAuthn)
//! A user with a `secondary` passkey has the method `webauthn` (alone it is offered at once,
//! with `tf_method: "webauthn"` and `tf_signin_url`; with another method, through
//! `/tf-select`). `/wan-signin` reads the pending state with [`pending_user`] (session, body
//! field or header) and, once one of the pending user's `secondary` passkeys verified, ends
//! it like a code would ([`complete_pending`]: the challenge is burnt, the user signed in, the
//! `tf_validity` cookie set). Applications adding their own second factor use the same two.

pub mod recovery;
pub mod sms;
pub mod state;
pub mod totp;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::{Value, json};

pub use sms::{LogSmsSender, MemorySmsSender, OutboxSmsSender, SmsError, SmsSender};
pub use state::Pending;
pub use totp::TotpFactory;

use crate::authn::ClientAddr;
use crate::envelope::Envelope;
use crate::security::Security;
use crate::session::AuthSession;
use crate::views::login::Done;

/// The two-factor services held by [`Security`].
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) totp: TotpFactory,
    pub(crate) tokens: state::StateTokens,
    pub(crate) sms: Arc<dyn SmsSender>,
    pub(crate) recovery_key: Vec<u8>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("totp", &self.totp)
            .finish_non_exhaustive()
    }
}

/// Whether `user` has two-factor set up (a method and a secret).
pub fn is_set_up(user: &User) -> bool {
    user.tf_primary_method.is_some() && user.tf_totp_secret.is_some()
}

/// The second factors `user` has set up: the two-factor method, and `webauthn` when the user
/// has a WebAuthn credential registered for second-factor use.
pub(crate) async fn setup_methods(sec: &Security, user: &User) -> Vec<String> {
    let mut methods = Vec::new();
    if is_set_up(user)
        && let Some(m) = &user.tf_primary_method
    {
        methods.push(crate::config::normalize_method(m));
    }
    if sec.config().webauthn
        && let Ok(creds) = sec.store().webauthn_of(user.id).await
        && creds.iter().any(|c| c.usage == "secondary")
    {
        methods.push("webauthn".to_owned());
    }
    methods
}

/// The validity window (seconds) of codes of `method`.
pub(crate) fn window(sec: &Security, method: &str) -> i64 {
    let m = &sec.config().mfa;
    match method {
        "email" | "mail" => m.mail_validity_secs,
        "sms" => m.sms_validity_secs,
        _ => m.authenticator_validity_secs,
    }
}

/// The outcome of a code check.
pub(crate) enum Check {
    /// Right code, step not used before.
    Accepted,
    /// Wrong or replayed code; the challenge has tries left.
    Wrong,
    /// Refused by the throttle.
    Throttled(std::time::Duration),
    /// A store failed.
    Backend(Response),
}

/// The outcome of one throttled try of a second factor (a code, a recovery code, a passkey).
pub(crate) enum Try<T, W> {
    /// Right: the throttle got its attempt back.
    Right(T),
    /// Wrong: the attempt stays counted, and so does the try against the challenge.
    Wrong(W),
    /// Refused by the throttle before the check ran.
    Throttled(std::time::Duration),
    /// A store failed.
    Backend(Response),
}

/// One try of a second factor, as every check does it: counts the attempt of `action` for
/// `account` (the user's email; `None` when unknown) and the client address, or refuses it
/// (`Throttled`); runs `check`; gives the attempt back when it is right, and counts a wrong
/// one against `pending`'s challenge (it dies after `SECURITY_TWO_FACTOR_CODE_TRIES`).
pub(crate) async fn guarded<T, W, Fut>(
    sec: &Security,
    action: crate::throttle::Action,
    account: Option<&str>,
    addr: ClientAddr,
    pending: Option<&Pending>,
    check: impl FnOnce() -> Fut,
) -> Try<T, W>
where
    Fut: std::future::Future<Output = Try<T, W>>,
{
    let permit = match sec.throttle().attempt(action, account, addr).await {
        Ok(p) => p,
        Err(crate::throttle::ThrottleError::Throttled { retry_after }) => {
            return Try::Throttled(retry_after);
        }
        Err(crate::throttle::ThrottleError::Backend(e)) => return Try::Backend(backend(e)),
    };
    match check().await {
        Try::Right(t) => {
            if let Err(e) = permit.succeeded().await {
                tracing::warn!(error = %e, "could not record a right answer in the throttle");
            }
            Try::Right(t)
        }
        Try::Wrong(w) => {
            drop(permit);
            // The last allowed try still hears its error; the next finds the state gone.
            if let Some(p) = pending
                && let Err(e) = state::count_wrong(sec, p).await
            {
                return Try::Backend(backend(e));
            }
            Try::Wrong(w)
        }
        other => other,
    }
}

/// Checks `code` against `secret` (the stored encrypted JSON) for `user`, throttled
/// (`Action::Code`), single use per step, and counted against `pending`'s challenge.
pub(crate) async fn check_code(
    sec: &Security,
    user: &User,
    secret: &str,
    window_secs: i64,
    code: &str,
    pending: Option<&Pending>,
    addr: ClientAddr,
) -> Check {
    let action = crate::throttle::Action::Code;
    let check = || code_matches(sec, user, secret, window_secs, code);
    match guarded(sec, action, Some(&user.email), addr, pending, check).await {
        Try::Right(()) => Check::Accepted,
        Try::Wrong(()) => Check::Wrong,
        Try::Throttled(d) => Check::Throttled(d),
        Try::Backend(r) => Check::Backend(r),
    }
}

/// Whether `code` is a step of `secret` within the window not accepted before (and claims it).
async fn code_matches(
    sec: &Security,
    user: &User,
    secret: &str,
    window_secs: i64,
    code: &str,
) -> Try<(), ()> {
    let Ok(key) = decrypt(sec, secret).await else {
        tracing::error!(user_id = user.id, "cannot decrypt the stored TOTP secret");
        return Try::Wrong(());
    };
    let now = rampart_core::signing::unix_now();
    let window = u64::try_from(window_secs).unwrap_or(0);
    let Some(counter) = totp::matching_counter(&key, code, now, window) else {
        return Try::Wrong(());
    };
    match state::claim_step(sec, secret, counter, window_secs * 2).await {
        Ok(true) => Try::Right(()),
        Ok(false) => {
            tracing::info!(user_id = user.id, "replayed TOTP code refused");
            Try::Wrong(())
        }
        Err(e) => Try::Backend(backend(e)),
    }
}

/// Decrypts a stored secret off the async runtime (PBKDF2 with 2^14 rounds).
pub(crate) async fn decrypt(sec: &Security, secret: &str) -> Result<Vec<u8>, totp::TotpError> {
    let factory = sec.inner.mfa.totp.clone();
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || factory.decrypt(&secret))
        .await
        .unwrap_or(Err(totp::TotpError::Malformed))
}

/// A new encrypted secret, generated off the async runtime.
pub(crate) async fn new_secret(sec: &Security) -> Option<String> {
    let factory = sec.inner.mfa.totp.clone();
    tokio::task::spawn_blocking(move || factory.generate().ok())
        .await
        .ok()
        .flatten()
}

/// Why a code could not be sent.
#[derive(Debug)]
pub(crate) struct SendFailed(pub(crate) String);

/// The code to send for `secret`: the current step, or the one after the last step accepted
/// (so a code sent right after a sign-in is not refused as a replay).
async fn code_to_send(sec: &Security, secret: &str) -> Result<String, SendFailed> {
    let key = decrypt(sec, secret)
        .await
        .map_err(|e| SendFailed(e.to_string()))?;
    let now = totp::counter_of(rampart_core::signing::unix_now());
    let last = state::last_step(sec, secret)
        .await
        .map_err(|e| SendFailed(e.to_string()))?;
    let counter = last.map_or(now, |l| now.max(l.saturating_add(1)));
    Ok(totp::code_at(&key, counter))
}

/// Sends a code of `secret` by `method` (`email` or `sms`; nothing for an authenticator).
/// `kind` is the email (two-factor or unified sign-in); with `magic_link` (the path of
/// `/us-verify-link`) the email also carries the sign-in link `?id=<fs_uniquifier>&code=`.
pub(crate) async fn send_code(
    sec: &Security,
    user: &User,
    method: &str,
    secret: &str,
    phone: Option<&str>,
    kind: crate::mail::EmailKind,
    magic_link: Option<&str>,
) -> Result<(), SendFailed> {
    let c = sec.config();
    match method {
        "email" | "mail" => {
            let code = code_to_send(sec, secret).await?;
            let within = crate::lifecycle::format_within(window(sec, "email"));
            let mut context = json!({
                "user": crate::lifecycle::user_context(user),
                "token": code,
                "username": user.username.clone().unwrap_or_else(|| user.email.clone()),
                "within": within,
            });
            if let (Some(path), Value::Object(map)) = (magic_link, &mut context) {
                let query: String = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("id", &user.fs_uniquifier)
                    .append_pair("code", &code)
                    .finish();
                let link = sec.lifecycle().external_url(&format!("{path}?{query}"));
                map.insert("login_link".to_owned(), Value::String(link));
            }
            sec.lifecycle()
                .send(c, kind, &user.email, context)
                .map_err(|e| SendFailed(e.to_string()))
        }
        "sms" => {
            let code = code_to_send(sec, secret).await?;
            let to = phone.ok_or_else(|| SendFailed("no phone number".to_owned()))?;
            let text = sec.messages().format("USE_CODE", &[("code", &code)]);
            sec.inner
                .mfa
                .sms
                .send(to, &text)
                .await
                .map_err(|e| SendFailed(e.to_string()))
        }
        _ => Ok(()),
    }
}

/// The JSON 500 (or plain 500) of a code that could not be sent.
pub(crate) fn send_failed(sec: &Security, json: bool, e: &SendFailed) -> Response {
    tracing::error!(error = %e.0, "code not sent");
    let message = sec.messages().text("FAILED_TO_SEND_CODE");
    if json {
        Envelope::error(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
            .with_error(message)
            .into_response()
    } else {
        (axum::http::StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
    }
}

pub(crate) fn backend(e: impl Into<crate::authn::AuthnError>) -> Response {
    e.into().into_response()
}

/// Whether the request carries a valid `tf_validity` cookie for `user`.
fn validity_cookie_ok(sec: &Security, headers: &HeaderMap, user: &User) -> bool {
    let m = &sec.config().mfa;
    if m.two_factor_always_validate {
        return false;
    }
    let Some(value) = crate::session::session_cookie(headers, &m.two_factor_validity_cookie_name)
    else {
        return false;
    };
    sec.inner
        .mfa
        .tokens
        .open::<String>(
            value,
            state::VALIDITY_SALT,
            m.two_factor_login_validity_secs,
        )
        .is_some_and(|uid| {
            subtle::ConstantTimeEq::ct_eq(uid.as_bytes(), user.fs_uniquifier.as_bytes()).into()
        })
}

/// The `Set-Cookie` of the `tf_validity` cookie (Flask-Security's format: the signed
/// `fs_uniquifier`, salt `tf-validity-salt`; HttpOnly, Secure, SameSite=Strict).
fn validity_cookie(sec: &Security, user: &User) -> Option<HeaderValue> {
    let m = &sec.config().mfa;
    let token = sec
        .inner
        .mfa
        .tokens
        .sign(&user.fs_uniquifier, state::VALIDITY_SALT)?;
    HeaderValue::from_str(&format!(
        "{}={token}; Max-Age={}; Path=/; HttpOnly; Secure; SameSite=Strict",
        m.two_factor_validity_cookie_name, m.two_factor_login_validity_secs
    ))
    .ok()
}

/// Starts the second factor after a first factor succeeded (Flask-Security's `tf_enter`):
/// `None` when none is needed (the caller signs the user in), else the answer that asks for
/// it. The user is *not* signed in; the state is stored in the session and returned as
/// `tf_signin_state` to JSON clients.
pub(crate) async fn enter(
    done: &Done<'_>,
    user: &User,
    remember: bool,
    via: &str,
    next: Option<&str>,
) -> Option<Response> {
    let sec = done.sec;
    let c = sec.config();
    if !c.two_factor {
        return None;
    }
    let methods = setup_methods(sec, user).await;
    if validity_cookie_ok(sec, done.headers, user) {
        return None;
    }
    if !c.mfa.two_factor_required && methods.is_empty() {
        return None;
    }
    let (state_name, method) = match methods.as_slice() {
        [] => ("setup_from_login", None),
        [one] => ("ready", Some(one.clone())),
        _ => ("select", None),
    };
    let mut pending = Pending::new(user, state_name, c.mfa.two_factor_state_within_secs, via);
    pending.remember = remember;
    pending.next = next.map(str::to_owned);
    Some(begin(done, user, pending, method.as_deref(), &methods).await)
}

/// Answers the start of a second factor in `pending.state`, sending a code when the method
/// needs one.
async fn begin(
    done: &Done<'_>,
    user: &User,
    pending: Pending,
    method: Option<&str>,
    methods: &[String],
) -> Response {
    let sec = done.sec;
    let mut extra = vec![("tf_required", Value::Bool(true))];
    let browser_target;
    match (pending.state.as_str(), method) {
        ("setup_from_login", _) => {
            extra.push(("tf_state", json!("setup_from_login")));
            browser_target = sec.config().mfa.two_factor_setup_url.clone();
        }
        ("select", _) => {
            extra.push(("tf_select", Value::Bool(true)));
            extra.push(("tf_setup_methods", json!(methods)));
            browser_target = sec.config().mfa.two_factor_select_url.clone();
        }
        (_, Some("webauthn")) => {
            extra.push(("tf_method", json!("webauthn")));
            let signin_url = sec.config().wan.signin_url.clone();
            extra.push(("tf_signin_url", json!(signin_url)));
            browser_target = signin_url;
        }
        (_, m) => {
            let m = m.unwrap_or("authenticator");
            extra.push(("tf_state", json!("ready")));
            extra.push(("tf_primary_method", json!(m)));
            extra.push(("tf_method", json!(m)));
            if let Some(secret) = &user.tf_totp_secret
                && let Err(e) = send_code(
                    sec,
                    user,
                    m,
                    secret,
                    user.tf_phone_number.as_deref(),
                    crate::mail::EmailKind::TwoFactorInstructions,
                    None,
                )
                .await
            {
                return send_failed(sec, done.json, &e);
            }
            browser_target = sec.config().mfa.two_factor_token_validation_url.clone();
        }
    }
    state::clear(done.session).await;
    let token = match state::save(sec, done.session, &pending).await {
        Ok(t) => t,
        Err(e) => return backend(e),
    };
    tracing::info!(user_id = user.id, state = %pending.state, "second factor required");
    if done.json {
        extra.push((state::STATE_FIELD, Value::String(token)));
        return json_ok(sec, done.session, extra).await;
    }
    let target = match &pending.next {
        Some(n) => format!("{browser_target}?next={}", crate::redirect::quote_next(n)),
        None => browser_target,
    };
    crate::security::handlers::found(&target)
}

/// A JSON 200 with `csrf_token` and `extra`.
pub(crate) async fn json_ok(
    sec: &Security,
    session: &AuthSession,
    extra: Vec<(&str, Value)>,
) -> Response {
    let csrf = sec.inner.csrf.token_for(session).await.unwrap_or_default();
    let mut env = Envelope::ok(axum::http::StatusCode::OK).with("csrf_token", csrf);
    for (k, v) in extra {
        env = env.with(k, v);
    }
    env.into_response()
}

/// The pending two-factor state of this request, if any, and its user: from the body field
/// `tf_signin_state` (`body_token`), the `X-TF-Signin-State` header, or the session. The
/// state is checked (signature, age, expiry, unused challenge, same `fs_uniquifier`, active
/// user). For WebAuthn as a second factor: call it in `/wan-signin` to learn whose
/// credential to ask for.
///
/// # Errors
/// A store failure, as the response to give.
pub async fn pending_user(
    sec: &Security,
    session: &AuthSession,
    headers: &HeaderMap,
    body_token: Option<String>,
) -> Result<Option<(Pending, User)>, Response> {
    state::load(sec, session, headers, body_token)
        .await
        .map_err(backend)
}

/// Completes a sign-in whose second factor succeeded (`via` names it: `authenticator`,
/// `email`, `sms`, `recovery_code`, `webauthn`): ends the challenge (its token cannot be used
/// again), clears the state, signs the user in with the first factor's `remember`, sets the
/// `tf_validity` cookie when `SECURITY_TWO_FACTOR_ALWAYS_VALIDATE` is off and the login was
/// remembered, and answers like `/login` (JSON `{csrf_token, user, tf_required: false}`, or a
/// redirect to the state's `next` or `SECURITY_POST_LOGIN_VIEW`).
#[allow(clippy::too_many_arguments)]
pub async fn complete_pending(
    sec: &Security,
    session: &AuthSession,
    json: bool,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    addr: ClientAddr,
    pending: &Pending,
    user: User,
    via: &str,
) -> Response {
    let done = Done {
        sec,
        session,
        json,
        headers,
        query,
        addr,
    };
    finish(&done, pending, user, via).await
}

pub(crate) async fn finish(done: &Done<'_>, pending: &Pending, user: User, via: &str) -> Response {
    finish_with(done, pending, user, via, Vec::new()).await
}

/// [`finish`] with `extra` fields in the JSON answer (see [`Done::complete_with`]).
pub(crate) async fn finish_with(
    done: &Done<'_>,
    pending: &Pending,
    user: User,
    via: &str,
    extra: Vec<(&str, Value)>,
) -> Response {
    let sec = done.sec;
    if let Err(e) = state::burn(sec, &pending.nonce).await {
        return backend(e);
    }
    state::clear(done.session).await;
    sec.events().emit(crate::events::Event::TfCodeConfirmed {
        user_id: user.id,
        method: via.to_owned(),
    });
    let cookie = (!sec.config().mfa.two_factor_always_validate
        && pending.remember
        && via != "recovery_code")
        .then(|| validity_cookie(sec, &user))
        .flatten();
    let mut response = done
        .complete_with(user, pending.remember, pending.next.as_deref(), via, extra)
        .await;
    if let Some(c) = cookie
        && response.status().is_success() | response.status().is_redirection()
    {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// Continues a pending state with the chosen second factor (`/tf-select`).
pub(crate) async fn begin_with(
    done: &Done<'_>,
    user: &User,
    pending: Pending,
    method: &str,
) -> Response {
    begin(done, user, pending, Some(method), &[]).await
}
