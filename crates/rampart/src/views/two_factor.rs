//! `/tf-setup`, `/tf-setup/<token>` and `/tf-validate` (`SECURITY_TWO_FACTOR`), with
//! Flask-Security's fields, messages and status codes; the state lives in
//! [`crate::two_factor`].

use axum::extract::{FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::form::Fields;
use super::login::Done;
use super::mfa_page;
use crate::events::Event;
use crate::extract::{AuthRequired, FreshRequired};
use crate::security::handlers;
use crate::two_factor::{self as tf, Check, Pending, state};

/// The request's sign-in plumbing for [`Done`].
pub(crate) fn done(ctx: &Ctx) -> Done<'_> {
    Done {
        sec: &ctx.sec,
        session: &ctx.session,
        json: ctx.json,
        headers: &ctx.headers,
        query: &ctx.query,
        addr: ctx.addr,
    }
}

/// Flask-Security's `tf_illegal_state`: JSON 400 with the form error
/// `TWO_FACTOR_PERMISSION_DENIED`, browsers to `SECURITY_TWO_FACTOR_ERROR_VIEW`.
pub(crate) async fn illegal_state(ctx: &Ctx) -> Response {
    state::clear(&ctx.session).await;
    let message = ctx.msg("TWO_FACTOR_PERMISSION_DENIED");
    if ctx.json {
        let mut e = Errors::default();
        e.add("", message);
        return e.into_json();
    }
    let c = ctx.sec.config();
    let view = c
        .mfa
        .two_factor_error_view
        .clone()
        .unwrap_or_else(|| c.login_url.clone());
    account::redirect_with(ctx, &view, &[("error", &message)])
}

/// CSRF for a POST: the signed-in caller's mechanisms (as the extractors check it), or
/// Flask-Security's `unauth_csrf` for anonymous callers.
pub(crate) async fn csrf_ok(
    parts: &mut axum::http::request::Parts,
    ctx: &Ctx,
    f: &Fields,
) -> Result<(), Response> {
    if let Some(user) = &ctx.current {
        return crate::authn::check_csrf(parts, &ctx.sec, user)
            .await
            .map_err(|e| e.response(ctx.json));
    }
    account::unauth_csrf(ctx, f).await.map_err(|m| {
        let mut e = Errors::default();
        e.add("csrf_token", m);
        e.into_json()
    })
}

/// The answer to a throttled code check.
pub(crate) fn throttled(ctx: &Ctx, retry_after: std::time::Duration) -> Response {
    let mut r = crate::throttle::throttled_json(retry_after);
    if !ctx.json {
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    }
    r
}

/// The pending state of the request in one of `states`.
pub(crate) async fn pending_in(
    ctx: &Ctx,
    f: Option<&Fields>,
    states: &[&str],
) -> Result<Option<(Pending, User)>, Response> {
    let body = f.and_then(|f| f.text(state::STATE_FIELD));
    let found = tf::pending_user(&ctx.sec, &ctx.session, &ctx.headers, body).await?;
    Ok(found.filter(|(p, _)| states.contains(&p.state.as_str())))
}

/// A POST that continues a pending login: context, body, CSRF, and the pending state in one
/// of `states` (else Flask-Security's `tf_illegal_state`).
pub(crate) async fn pending_post(
    req: Request,
    states: &[&str],
) -> Result<(Ctx, Fields, Pending, User), Response> {
    let (mut parts, body) = req.into_parts();
    let ctx = account::context(&mut parts).await?;
    let f = account::fields(&ctx, body).await?;
    csrf_ok(&mut parts, &ctx, &f).await?;
    match pending_in(&ctx, Some(&f), states).await? {
        Some((p, user)) => Ok((ctx, f, p, user)),
        None => Err(illegal_state(&ctx).await),
    }
}

fn choices(ctx: &Ctx, user: &User) -> Vec<String> {
    let m = &ctx.sec.config().mfa;
    let mut choices = m.two_factor_enabled_methods.clone();
    if !m.two_factor_required && user.tf_primary_method.is_some() {
        choices.insert(0, "disable".to_owned());
    }
    choices
}

/// Who is setting up: the signed-in (fresh) user, or the user of a pending login state.
enum Setup {
    Changing(User),
    FromLogin(Box<Pending>, User),
}

impl Setup {
    fn user(&self) -> &User {
        match self {
            Self::Changing(u) | Self::FromLogin(_, u) => u,
        }
    }
}

async fn setup_caller(
    parts: &mut axum::http::request::Parts,
    f: Option<&Fields>,
) -> Result<(Ctx, Setup), Response> {
    let ctx = account::context(parts).await?;
    if ctx.current.is_some() {
        let fresh = FreshRequired::from_request_parts(parts, &())
            .await
            .map_err(IntoResponse::into_response)?;
        return Ok((ctx, Setup::Changing((*fresh.user.user).clone())));
    }
    match pending_in(&ctx, f, &["setup_from_login", "validating_profile"]).await? {
        Some((p, u)) => Ok((ctx, Setup::FromLogin(Box::new(p), u))),
        None => Err(illegal_state(&ctx).await),
    }
}

/// `GET /tf-setup`.
pub(crate) async fn setup_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, who) = match setup_caller(&mut parts, None).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let user = who.user();
    let choices = choices(&ctx, user);
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                (
                    "tf_required",
                    Value::Bool(ctx.sec.config().mfa.two_factor_required),
                ),
                ("tf_primary_method", json!(user.tf_primary_method)),
                ("tf_method", json!(user.tf_primary_method)),
                ("tf_phone_number", json!(user.tf_phone_number)),
                ("tf_available_methods", json!(choices)),
            ],
        )
        .await;
    }
    mfa_page::tf_setup(&ctx, &choices, None, None, &[]).await
}

/// What `/tf-setup/<token>` carries for an authenticated change (Flask-Security's payload plus
/// the user it was issued to).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SetupToken {
    pub(crate) uid: String,
    pub(crate) totp_secret: String,
    pub(crate) method: String,
    pub(crate) phone: Option<String>,
}

/// The session key of an authenticated change in progress (for `/tf-validate`).
const SETUP_SESSION_KEY: &str = "tf_setup_state";

/// `POST /tf-setup {setup, phone?}`.
pub(crate) async fn setup_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let pre = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&pre, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = csrf_ok(&mut parts, &pre, &f).await {
        return r;
    }
    let (ctx, who) = match setup_caller(&mut parts, Some(&f)).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let user = who.user().clone();
    let mut errors = Errors::default();
    let method = f
        .text("setup")
        .map(|m| crate::config::normalize_method(&m))
        .filter(|m| choices(&ctx, &user).contains(m));
    let Some(method) = method else {
        errors.add("setup", ctx.msg("TWO_FACTOR_METHOD_NOT_AVAILABLE"));
        return setup_fail(&ctx, errors).await;
    };
    if method == "disable" {
        return disable(&ctx, who).await;
    }
    let phone = if method == "sms" {
        match f.text("phone").filter(|p| tf::sms::phone_ok(p)) {
            Some(p) => Some(tf::sms::normalize_phone(&p)),
            None => {
                errors.add("phone", ctx.msg("PHONE_INVALID"));
                return setup_fail(&ctx, errors).await;
            }
        }
    } else {
        None
    };
    let Some(secret) = tf::new_secret(&ctx.sec).await else {
        return tf::backend(rampart_core::DatastoreError::Backend(
            "cannot create a TOTP secret (SECURITY_TOTP_SECRETS)".to_owned(),
        ));
    };
    let mut extra = vec![
        ("tf_state", json!("validating_profile")),
        ("tf_primary_method", json!(method)),
        ("tf_method", json!(method)),
    ];
    match &who {
        Setup::Changing(u) => {
            let st = SetupToken {
                uid: u.fs_uniquifier.clone(),
                totp_secret: secret.clone(),
                method: method.clone(),
                phone: phone.clone(),
            };
            let token = ctx
                .sec
                .inner
                .mfa
                .tokens
                .sign(&st, state::SETUP_SALT)
                .unwrap_or_default();
            if let Err(e) = ctx.session.0.insert(SETUP_SESSION_KEY, &token).await {
                return tf::backend(crate::session::SessionError::from(e));
            }
            extra.push(("tf_state_token", Value::String(token)));
        }
        Setup::FromLogin(p, _) => {
            let mut p = (**p).clone();
            p.state = "validating_profile".to_owned();
            p.method = Some(method.clone());
            p.secret = Some(secret.clone());
            p.phone = phone.clone();
            match state::save(&ctx.sec, &ctx.session, &p).await {
                Ok(t) => extra.push((state::STATE_FIELD, Value::String(t))),
                Err(e) => return tf::backend(e),
            }
            extra.push(("tf_state_token", Value::Null));
        }
    }
    if let Err(e) = tf::send_code(
        &ctx.sec,
        &user,
        &method,
        &secret,
        phone.as_deref(),
        crate::mail::EmailKind::TwoFactorInstructions,
        None,
    )
    .await
    {
        return tf::send_failed(&ctx.sec, ctx.json, &e);
    }
    let authr = if method == "authenticator" {
        match tf::decrypt(&ctx.sec, &secret).await {
            Ok(key) => Some(ctx.sec.inner.mfa.totp.setup_values(&key, &username(&user))),
            Err(_) => None,
        }
    } else {
        None
    };
    if let Some(a) = &authr {
        extra.push(("tf_authr_key", json!(a.key)));
        extra.push(("tf_authr_b32key", json!(a.b32key)));
        extra.push(("tf_authr_username", json!(a.username)));
        extra.push(("tf_authr_issuer", json!(a.issuer)));
        extra.push(("tf_authr_uri", json!(a.uri)));
    }
    if ctx.json {
        return account::json_ok(&ctx, extra).await;
    }
    let qr = authr.as_ref().and_then(|a| tf::totp::qr_svg(&a.uri));
    let view = authr.as_ref().map(|a| mfa_page::AuthrView {
        qr_svg: qr.as_deref(),
        key: &a.b32key,
        issuer: &a.issuer,
        username: &a.username,
    });
    let choices = choices(&ctx, &user);
    mfa_page::tf_setup(&ctx, &choices, Some(&method), view.as_ref(), &[]).await
}

/// The label authenticator apps show: Flask-Security's `calc_username` (username, else email).
pub(crate) fn username(user: &User) -> String {
    user.username.clone().unwrap_or_else(|| user.email.clone())
}

async fn setup_fail(ctx: &Ctx, errors: Errors) -> Response {
    if ctx.json {
        return errors.into_json();
    }
    let m = &ctx.sec.config().mfa;
    mfa_page::tf_setup(
        ctx,
        &m.two_factor_enabled_methods,
        None,
        None,
        &errors.pairs(),
    )
    .await
}

async fn disable(ctx: &Ctx, who: Setup) -> Response {
    let Setup::Changing(user) = who else {
        return illegal_state(ctx).await;
    };
    let mut u = user;
    u.tf_primary_method = None;
    u.tf_totp_secret = None;
    u.tf_phone_number = None;
    if let Err(e) = ctx.sec.store().update_user(&u).await {
        return account::backend(e);
    }
    ctx.sec.events().emit(Event::TfDisabled { user_id: u.id });
    if ctx.json {
        return account::json_ok(ctx, vec![("user", json!({}))]).await;
    }
    handlers::found(&ctx.sec.config().mfa.two_factor_post_setup_view)
}

/// `POST /tf-setup/<token> {code}`: completes an authenticated change without the session.
pub(crate) async fn setup_validate(Path(token): Path<String>, req: Request) -> Response {
    match signed_in_post(req).await {
        Ok((ctx, f, user)) => change_with_token(&ctx, &f, user, &token).await,
        Err(r) => r,
    }
}

/// A POST by a signed-in caller (session or token) finishing a setup with its state token
/// (`/tf-setup/<token>`, `/us-setup/<state>`): the caller, the context and the body.
pub(crate) async fn signed_in_post(req: Request) -> Result<(Ctx, Fields, User), Response> {
    let (mut parts, body) = req.into_parts();
    let user = AuthRequired::<crate::extract::SessionOrToken>::from_request_parts(&mut parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let user = (*user.user.user).clone();
    let ctx = account::context(&mut parts).await?;
    let f = account::fields(&ctx, body).await?;
    Ok((ctx, f, user))
}

async fn change_with_token(ctx: &Ctx, f: &Fields, user: User, token: &str) -> Response {
    let within = ctx.sec.config().mfa.two_factor_setup_within_secs;
    let opened = ctx
        .sec
        .inner
        .mfa
        .tokens
        .open::<SetupToken>(token, state::SETUP_SALT, within);
    let Some(st) = opened.filter(|s| s.uid == user.fs_uniquifier) else {
        let mut e = Errors::default();
        let expired = ctx
            .sec
            .inner
            .mfa
            .tokens
            .open::<SetupToken>(token, state::SETUP_SALT, i64::from(u32::MAX))
            .is_some();
        let message = if expired {
            ctx.msg_with(
                "TWO_FACTOR_SETUP_EXPIRED",
                &[("within", &crate::lifecycle::format_within(within))],
            )
        } else {
            ctx.msg("API_ERROR")
        };
        e.add("", message);
        return e.into_json();
    };
    let code = f.text("code").unwrap_or_default();
    let window = tf::window(&ctx.sec, &st.method);
    match tf::check_code(
        &ctx.sec,
        &user,
        &st.totp_secret,
        window,
        &code,
        None,
        ctx.addr,
    )
    .await
    {
        Check::Accepted => {}
        Check::Throttled(r) => return throttled(ctx, r),
        Check::Backend(r) => return r,
        Check::Wrong => {
            return invalid_code(ctx, "code", "TWO_FACTOR_INVALID_TOKEN").await;
        }
    }
    let mut u = user;
    u.tf_primary_method = Some(st.method.clone());
    u.tf_totp_secret = Some(st.totp_secret);
    u.tf_phone_number = st.phone;
    let u = match ctx.sec.store().update_user(&u).await {
        Ok(u) => u,
        Err(e) => return account::backend(e),
    };
    let _ = ctx.session.0.remove_value(SETUP_SESSION_KEY).await;
    ctx.sec.events().emit(Event::TfProfileChanged {
        user_id: u.id,
        method: st.method.clone(),
    });
    if ctx.json {
        return account::json_ok(
            ctx,
            vec![
                ("tf_method", json!(st.method)),
                ("tf_primary_method", json!(st.method)),
                ("tf_phone", json!(u.tf_phone_number)),
            ],
        )
        .await;
    }
    handlers::found(&ctx.sec.config().mfa.two_factor_post_setup_view)
}

/// A 400 with a field error (JSON) or the code page again (browsers).
pub(crate) async fn invalid_code(ctx: &Ctx, field: &'static str, key: &str) -> Response {
    let mut e = Errors::default();
    e.add(field, ctx.msg(key));
    if ctx.json {
        return e.into_json();
    }
    mfa_page::tf_validate(ctx, "", &[], &e.pairs()).await
}

/// Flask-Security's `recovery_options`.
pub(crate) fn recovery_options(ctx: &Ctx, user: &User) -> serde_json::Map<String, Value> {
    let c = ctx.sec.config();
    let mut o = serde_json::Map::new();
    o.insert("help".to_owned(), json!(c.mfa.two_factor_rescue_url));
    if c.mfa.two_factor_rescue_email {
        o.insert("email".to_owned(), json!(c.mfa.two_factor_rescue_url));
    }
    if c.multi_factor_recovery_codes && !user.mf_recovery_codes.is_empty() {
        o.insert("recovery_code".to_owned(), json!(c.mfa.recovery_url));
    }
    o
}

/// `GET /tf-validate`.
pub(crate) async fn validate_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return match ctx.json {
            true => account::json_ok(&ctx, vec![]).await,
            false => mfa_page::tf_validate(&ctx, "", &[], &[]).await,
        };
    }
    let Some((p, user)) = (match pending_in(&ctx, None, &["ready", "validating_profile"]).await {
        Ok(p) => p,
        Err(r) => return r,
    }) else {
        return illegal_state(&ctx).await;
    };
    let options = recovery_options(&ctx, &user);
    if ctx.json {
        return account::json_ok(&ctx, vec![("recovery_options", Value::Object(options))]).await;
    }
    let method = p
        .method
        .clone()
        .or(user.tf_primary_method.clone())
        .unwrap_or_default();
    let rescue: Vec<String> = options.keys().cloned().collect();
    mfa_page::tf_validate(&ctx, &method, &rescue, &[]).await
}

/// `POST /tf-validate {code}`: the second factor of a login (or of a setup from login), or
/// the code of an authenticated change started at `/tf-setup`.
pub(crate) async fn validate_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = csrf_ok(&mut parts, &ctx, &f).await {
        return r;
    }
    if let Some(current) = &ctx.current {
        let token = ctx
            .session
            .0
            .get::<String>(SETUP_SESSION_KEY)
            .await
            .ok()
            .flatten();
        return match token {
            Some(t) => change_with_token(&ctx, &f, (*current.user).clone(), &t).await,
            None => illegal_state(&ctx).await,
        };
    }
    let Some((p, user)) = (match pending_in(&ctx, Some(&f), &["ready", "validating_profile"]).await
    {
        Ok(p) => p,
        Err(r) => return r,
    }) else {
        return illegal_state(&ctx).await;
    };
    let (method, secret) = if p.state == "validating_profile" {
        (p.method.clone(), p.secret.clone())
    } else {
        (user.tf_primary_method.clone(), user.tf_totp_secret.clone())
    };
    let (Some(method), Some(secret)) = (method, secret) else {
        return illegal_state(&ctx).await;
    };
    let code = f.text("code").unwrap_or_default();
    let window = tf::window(&ctx.sec, &method);
    match tf::check_code(&ctx.sec, &user, &secret, window, &code, Some(&p), ctx.addr).await {
        Check::Accepted => {}
        Check::Wrong => return invalid_code(&ctx, "code", "TWO_FACTOR_INVALID_TOKEN").await,
        Check::Throttled(r) => return throttled(&ctx, r),
        Check::Backend(r) => return r,
    }
    let user = if p.state == "validating_profile" {
        let mut u = user;
        u.tf_primary_method = Some(method.clone());
        u.tf_totp_secret = Some(secret);
        u.tf_phone_number = p.phone.clone();
        match ctx.sec.store().update_user(&u).await {
            Ok(u) => {
                ctx.sec.events().emit(Event::TfProfileChanged {
                    user_id: u.id,
                    method: method.clone(),
                });
                u
            }
            Err(e) => return account::backend(e),
        }
    } else {
        user
    };
    tf::finish(&done(&ctx), &p, user, &method).await
}
