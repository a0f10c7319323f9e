//! `/us-signin`, `/us-signin/send-code`, `/us-verify`, `/us-verify/send-code` and
//! `/us-verify-link` (`SECURITY_UNIFIED_SIGNIN`), with Flask-Security's fields, messages and
//! status codes. Generic responses (`SECURITY_RETURN_GENERIC_RESPONSES`) answer sign-in
//! failures with the generic form error, and `/us-signin/send-code` with the same body
//! whether or not the identity exists or has the method (Flask-Security's body differs there).

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::mfa_page;
use super::two_factor::{csrf_ok, done, throttled};
use crate::authn::Mechanism;
use crate::extract::AuthRequired;
use crate::mail::EmailKind;
use crate::redirect;
use crate::security::handlers;
use crate::throttle::{Action, ThrottleError};
use crate::two_factor as tf;
use crate::unified_signin::{self as us, Passcode};

fn identity_attributes(ctx: &Ctx) -> Value {
    if ctx.sec.config().username_enable {
        json!(["email", "username"])
    } else {
        json!(["email"])
    }
}

fn payload(ctx: &Ctx) -> Vec<(&'static str, Value)> {
    vec![
        ("available_methods", json!(us::enabled(&ctx.sec))),
        ("code_methods", json!(us::code_methods(&ctx.sec))),
        ("identity_attributes", identity_attributes(ctx)),
    ]
}

/// Flask-Security's `lookup_identity`: an address, else a username when usernames are on.
async fn lookup(ctx: &Ctx, identity: &str) -> Result<Option<User>, Response> {
    let store = ctx.sec.store();
    let found = if identity.contains('@') || !ctx.sec.config().username_enable {
        store.find_user_by_email(identity).await
    } else {
        store.find_user_by_username(identity).await
    };
    found.map_err(account::backend)
}

async fn page(ctx: &Ctx, errors: &[(&str, String)], notice: Option<String>) -> Response {
    mfa_page::us_signin(ctx, &us::code_methods(&ctx.sec), errors, notice).await
}

/// `GET /us-signin`.
pub(crate) async fn signin_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(e) = crate::csrf_cookie::request_set(&ctx.sec, &ctx.session).await {
        return account::backend(e);
    }
    if ctx.json {
        let mut extra = payload(&ctx);
        if ctx.current.is_some() {
            extra.push(("user", json!({})));
        }
        return account::json_ok(&ctx, extra).await;
    }
    if ctx.current.is_some() {
        return handlers::found(&ctx.sec.config().post_login_view);
    }
    page(&ctx, &[], None).await
}

fn not_anonymous(ctx: &Ctx) -> Response {
    crate::extract::Rejection::NotAnonymous {
        message: ctx.msg("ANONYMOUS_USER_REQUIRED"),
        wants_json: ctx.json,
        post_login_view: ctx.sec.config().post_login_view.clone(),
    }
    .into_response()
}

/// `POST /us-signin {identity, passcode, remember, next}`.
pub(crate) async fn signin_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return not_anonymous(&ctx);
    }
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = csrf_ok(&mut parts, &ctx, &f).await {
        return r;
    }
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned());
    let mut errors = Errors::default();
    if let Some(n) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, n)
    {
        errors.add("next", ctx.msg("INVALID_REDIRECT"));
        return signin_fail(&ctx, errors).await;
    }
    let (Some(identity), Some(passcode)) = (f.text("identity"), f.secret("passcode")) else {
        if f.text("identity").is_none() {
            errors.add("identity", ctx.msg("US_SPECIFY_IDENTITY"));
        } else {
            errors.add("passcode", ctx.msg("INVALID_PASSWORD_CODE"));
        }
        return signin_fail(&ctx, errors).await;
    };
    let permit = match ctx
        .sec
        .throttle()
        .attempt(Action::Login, Some(&identity), ctx.addr)
        .await
    {
        Ok(p) => p,
        Err(ThrottleError::Throttled { retry_after }) => return throttled(&ctx, retry_after),
        Err(ThrottleError::Backend(e)) => return tf::backend(e),
    };
    let user = match lookup(&ctx, &identity).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(user) = user else {
        ctx.sec.passwords().dummy_verify().await;
        errors.add("identity", ctx.msg("US_SPECIFY_IDENTITY"));
        return signin_fail(&ctx, errors).await;
    };
    let via = match us::check_passcode(&ctx.sec, &user, &passcode).await {
        Ok(Passcode::Matched(m)) => m,
        Ok(Passcode::Wrong) => {
            errors.add("passcode", ctx.msg("INVALID_PASSWORD_CODE"));
            return signin_fail(&ctx, errors).await;
        }
        Err(e) => return tf::backend(e),
    };
    if !user.active {
        errors.add("identity", ctx.msg("DISABLED_ACCOUNT"));
        return signin_fail(&ctx, errors).await;
    }
    if !super::login::confirmation_ok(&ctx.sec, &user) {
        errors.add("identity", ctx.msg("CONFIRMATION_REQUIRED"));
        return signin_fail(&ctx, errors).await;
    }
    if let Err(e) = permit.succeeded().await {
        tracing::warn!(error = %e, "could not record a successful sign-in in the throttle");
    }
    let remember = f
        .flag("remember")
        .unwrap_or(ctx.sec.config().default_remember_me);
    let d = done(&ctx);
    if ctx.sec.config().mfa.us_mfa_required.contains(&via)
        && let Some(r) = tf::enter(&d, &user, remember, &via, next.as_deref()).await
    {
        return r;
    }
    d.complete(user, remember, next.as_deref(), &via).await
}

async fn signin_fail(ctx: &Ctx, errors: Errors) -> Response {
    let generic = ctx.sec.config().return_generic_responses
        && errors
            .0
            .iter()
            .all(|(f, _)| *f != "next" && *f != "csrf_token");
    let errors = if generic {
        let mut e = Errors::default();
        e.add("", ctx.msg("GENERIC_AUTHN_FAILED"));
        e
    } else {
        errors
    };
    tracing::info!(fields = ?errors.0.iter().map(|(k, _)| *k).collect::<Vec<_>>(), "unified sign-in failed");
    if ctx.json {
        return errors.into_json();
    }
    page(ctx, &errors.pairs(), None).await
}

/// Checks `chosen_method` for `user` (Flask-Security's send-code validation).
fn method_errors(ctx: &Ctx, user: &User, chosen: Option<&str>, errors: &mut Errors) {
    let secrets = us::secrets_of(user);
    match chosen {
        Some(m) if us::code_methods(&ctx.sec).iter().any(|c| c == m) && secrets.contains_key(m) => {
            if m == "sms" && user.us_phone_number.is_none() {
                errors.add("chosen_method", ctx.msg("PHONE_INVALID"));
            }
        }
        _ => errors.add("chosen_method", ctx.msg("US_METHOD_NOT_AVAILABLE")),
    }
}

async fn send(ctx: &Ctx, user: &User, method: &str, magic_link: bool) -> Result<(), Response> {
    let secrets = us::secrets_of(user);
    let Some(secret) = secrets.get(method) else {
        return Ok(());
    };
    let link = magic_link.then(|| ctx.sec.config().mfa.us_verify_link_url.clone());
    tf::send_code(
        &ctx.sec,
        user,
        method,
        secret,
        user.us_phone_number.as_deref(),
        EmailKind::UsInstructions,
        link.as_deref(),
    )
    .await
    .map_err(|e| tf::send_failed(&ctx.sec, ctx.json, &e))
}

/// `POST /us-signin/send-code {identity, chosen_method}`: a code (and, by email, a magic
/// link) for the identity's method. Sending is rate-limited per identity and address.
pub(crate) async fn signin_send_code(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return not_anonymous(&ctx);
    }
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = csrf_ok(&mut parts, &ctx, &f).await {
        return r;
    }
    let identity = f.text("identity");
    let chosen = f.text("chosen_method");
    let permit = match ctx
        .sec
        .throttle()
        .attempt(Action::Reset, identity.as_deref(), ctx.addr)
        .await
    {
        Ok(p) => p,
        Err(ThrottleError::Throttled { retry_after }) => return throttled(&ctx, retry_after),
        Err(ThrottleError::Backend(e)) => return tf::backend(e),
    };
    drop(permit);
    let mut errors = Errors::default();
    let user = match &identity {
        Some(i) => match lookup(&ctx, i).await {
            Ok(u) => u,
            Err(r) => return r,
        },
        None => None,
    };
    match &user {
        None => errors.add("identity", ctx.msg("US_SPECIFY_IDENTITY")),
        Some(u) if !u.active => errors.add("identity", ctx.msg("DISABLED_ACCOUNT")),
        Some(u) => method_errors(&ctx, u, chosen.as_deref(), &mut errors),
    }
    if errors.is_empty()
        && let (Some(u), Some(m)) = (&user, &chosen)
    {
        if let Err(r) = send(&ctx, u, m, true).await {
            return r;
        }
        tracing::info!(user_id = u.id, method = %m, "unified sign-in code sent");
        return sent(&ctx).await;
    }
    if ctx.sec.config().return_generic_responses {
        // The same answer as a code sent (Flask-Security adds the method lists here).
        return sent(&ctx).await;
    }
    if ctx.json {
        return errors.into_json();
    }
    page(&ctx, &errors.pairs(), None).await
}

async fn sent(ctx: &Ctx) -> Response {
    if ctx.json {
        return account::json_ok(ctx, vec![]).await;
    }
    let key = if ctx.sec.config().return_generic_responses {
        "GENERIC_US_SIGNIN"
    } else {
        "CODE_HAS_BEEN_SENT"
    };
    page(ctx, &[], Some(ctx.msg(key))).await
}

async fn verifier(
    parts: &mut axum::http::request::Parts,
) -> Result<(Ctx, crate::CurrentUser), Response> {
    let user = AuthRequired::<crate::extract::SessionOrToken>::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    Ok((account::context(parts).await?, user))
}

async fn verify_page(
    ctx: &Ctx,
    user: &User,
    errors: &[(&str, String)],
    notice: Option<String>,
) -> Response {
    let methods = us::active_code_methods(&ctx.sec, user);
    mfa_page::us_verify(ctx, &user.email, &methods, errors, notice).await
}

/// `GET /us-verify`: where the freshness check sends browsers when unified sign-in is on.
pub(crate) async fn verify_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match verifier(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("available_methods", json!(us::enabled(&ctx.sec))),
                (
                    "code_methods",
                    json!(us::active_code_methods(&ctx.sec, &user)),
                ),
                (
                    "has_webauthn_verify_credential",
                    Value::Bool(crate::webauthn::has_verify_credential(&ctx.sec, &user).await),
                ),
                ("oauth_enabled", Value::Bool(false)),
                ("oauth_providers", json!([])),
                ("user", json!({})),
            ],
        )
        .await;
    }
    verify_page(&ctx, &user, &[], None).await
}

/// `POST /us-verify {passcode, next}`: re-authenticates with the password or a code.
pub(crate) async fn verify_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user) = match verifier(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned());
    let mut errors = Errors::default();
    if let Some(n) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, n)
    {
        errors.add("next", ctx.msg("INVALID_REDIRECT"));
    }
    let passcode = f.secret("passcode").unwrap_or_default();
    let check = || async {
        if !errors.is_empty() {
            return tf::Try::Wrong(());
        }
        match us::check_passcode(&ctx.sec, &user, &passcode).await {
            Ok(Passcode::Wrong) => tf::Try::Wrong(()),
            Ok(_) => tf::Try::Right(()),
            Err(e) => tf::Try::Backend(tf::backend(e)),
        }
    };
    let account = Some(user.email.as_str());
    match tf::guarded(&ctx.sec, Action::Login, account, ctx.addr, None, check).await {
        tf::Try::Right(()) => {}
        tf::Try::Wrong(()) => {
            if errors.is_empty() {
                errors.add("passcode", ctx.msg("INVALID_PASSWORD_CODE"));
            }
            if ctx.json {
                return errors.into_json();
            }
            return verify_page(&ctx, &user, &errors.pairs(), None).await;
        }
        tf::Try::Throttled(retry_after) => return throttled(&ctx, retry_after),
        tf::Try::Backend(r) => return r,
    }
    if user.via == Mechanism::Session
        && let Err(e) = ctx.session.reauthenticated().await
    {
        return account::backend(e);
    }
    tracing::info!(user_id = user.id, "user re-authenticated (unified sign-in)");
    if ctx.json {
        let payload = account::user_payload(&ctx, &user, account::wants_token(&ctx));
        return account::json_ok(&ctx, vec![("user", payload)]).await;
    }
    let target = next.map_or_else(
        || ctx.sec.config().post_verify_view.clone(),
        |n| redirect::quote_location(&n),
    );
    handlers::found(&target)
}

/// `POST /us-verify/send-code {chosen_method}`.
pub(crate) async fn verify_send_code(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user) = match verifier(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let chosen = f.text("chosen_method");
    let mut errors = Errors::default();
    method_errors(&ctx, &user, chosen.as_deref(), &mut errors);
    if !errors.is_empty() {
        if ctx.json {
            return errors.into_json();
        }
        return verify_page(&ctx, &user, &errors.pairs(), None).await;
    }
    let permit = ctx
        .sec
        .throttle()
        .attempt(Action::Reset, Some(&user.email), ctx.addr)
        .await;
    match permit {
        Ok(p) => drop(p),
        Err(ThrottleError::Throttled { retry_after }) => return throttled(&ctx, retry_after),
        Err(ThrottleError::Backend(e)) => return tf::backend(e),
    }
    if let Err(r) = send(&ctx, &user, chosen.as_deref().unwrap_or_default(), false).await {
        return r;
    }
    if ctx.json {
        return account::json_ok(&ctx, vec![("user", json!({}))]).await;
    }
    verify_page(&ctx, &user, &[], Some(ctx.msg("CODE_HAS_BEEN_SENT"))).await
}

/// `GET /us-verify-link?id=<fs_uniquifier>&code=<code>`: the magic link of an emailed code.
/// Failures redirect to `/us-signin` (or `SECURITY_LOGIN_ERROR_VIEW` in SPA mode) with the
/// message in the query; generic responses use the generic text for every failure.
pub(crate) async fn verify_link(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return not_anonymous(&ctx);
    }
    let (id, code) = (ctx.query.get("id").cloned(), ctx.query.get("code").cloned());
    let (Some(id), Some(code)) = (id, code) else {
        return link_error(&ctx, "API_ERROR").await;
    };
    let user = match ctx.sec.store().find_user_by_uniquifier(&id).await {
        Ok(u) => u,
        Err(e) => return account::backend(e),
    };
    let Some(user) = user else {
        return link_error(&ctx, "USER_DOES_NOT_EXIST").await;
    };
    if !user.active {
        return link_error(&ctx, "DISABLED_ACCOUNT").await;
    }
    let Some(secret) = us::secrets_of(&user).get("email").cloned() else {
        return link_error(&ctx, "INVALID_CODE").await;
    };
    let window = ctx.sec.config().mfa.us_token_validity_secs;
    match tf::check_code(&ctx.sec, &user, &secret, window, &code, None, ctx.addr).await {
        tf::Check::Accepted => {}
        tf::Check::Wrong => return link_error(&ctx, "INVALID_CODE").await,
        tf::Check::Throttled(r) => return throttled(&ctx, r),
        tf::Check::Backend(r) => return r,
    }
    let d = done(&ctx);
    let c = ctx.sec.config();
    if c.mfa.us_mfa_required.iter().any(|m| m == "email")
        && let Some(r) = tf::enter(&d, &user, false, "email", None).await
    {
        return r;
    }
    d.complete(user, false, None, "email").await
}

async fn link_error(ctx: &Ctx, key: &str) -> Response {
    let key = if ctx.sec.config().return_generic_responses && key != "API_ERROR" {
        "GENERIC_AUTHN_FAILED"
    } else {
        key
    };
    let text = ctx.msg(key);
    let signin = ctx.sec.config().mfa.us_signin_url.clone();
    account::link_problem(ctx, "LOGIN_ERROR_VIEW", &signin, key, &text).await
}
