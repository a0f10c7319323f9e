//! `/login`: the "who am I" GET and the password login POST, JSON or form, with
//! Flask-Security's envelope, field errors, messages and status codes.

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_core::model::{User, naive_utcnow};
use serde_json::{Map, Value, json};

use super::account::{Ctx, context};
use super::form::Fields;
use crate::authn::{self, ClientAddr};
use crate::envelope::Envelope;
use crate::extract::Rejection;
use crate::pages::{Field, Form, Page};
use crate::redirect;
use crate::security::{Security, handlers};
use crate::session::{AuthSession, SessionError};

/// Whether the user may sign in as far as email confirmation goes.
pub(crate) fn confirmation_ok(sec: &Security, user: &User) -> bool {
    let c = sec.config();
    !c.confirmable || c.login_without_confirmation || user.is_confirmed()
}

fn backend(e: SessionError) -> Response {
    authn::AuthnError::from(e).into_response()
}

/// `GET /login`: JSON clients get `csrf_token`, `identity_attributes` and, when signed in,
/// `user`; browsers get the form, or the post-login view when already signed in.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let csrf = match ctx.sec.inner.csrf.token_for(&ctx.session).await {
        Ok(t) => t,
        Err(e) => return backend(e),
    };
    if let Err(e) = crate::csrf_cookie::request_set(&ctx.sec, &ctx.session).await {
        return backend(e);
    }
    if ctx.json {
        let mut env = Envelope::ok(StatusCode::OK)
            .with("csrf_token", csrf)
            .with("identity_attributes", identity_attributes(&ctx.sec));
        if let Some(user) = &ctx.current {
            env = env.with("user", user_payload(&ctx.sec, user, false));
        }
        return env.into_response();
    }
    if ctx.current.is_some() {
        return handlers::found(&ctx.sec.config().post_login_view);
    }
    let next = ctx.query.get("next").cloned().unwrap_or_default();
    ctx.render(login_page(&ctx, "", &next, false, Vec::new()))
        .await
}

/// `security/login_user.html` with the form `login_user_form`.
fn login_page(
    ctx: &Ctx,
    email: &str,
    next: &str,
    remember: bool,
    errors: Vec<(&str, String)>,
) -> Page {
    let c = ctx.sec.config();
    let mut form = Form::new().field(Field::identity_email("Email Address", email));
    if c.username_enable {
        form = form.field(Field::text("username", "Username", "").autocomplete("username"));
    }
    form = form
        .field(Field::password("password", "Password", "current-password"))
        .field(Field::checkbox("remember", "Remember Me", remember));
    if !next.is_empty() {
        form = form.field(Field::hidden("next", next));
    }
    let form = form.submit("Login").errors(errors);
    Page::new("security/login_user.html")
        .form("login_user_form", &form)
        .with("identity_attributes", identity_attributes(&ctx.sec))
}

fn identity_attributes(sec: &Security) -> Value {
    if sec.config().username_enable {
        json!(["email", "username"])
    } else {
        json!(["email"])
    }
}

/// The `user` payload: Flask-Security's `get_security_payload()` is `{}` by default; with
/// `include_auth_token` it carries `authentication_token`.
pub(crate) fn user_payload(sec: &Security, user: &User, with_token: bool) -> Value {
    let mut map = Map::new();
    if with_token {
        let exp = sec.inner.token_expiry.as_ref().and_then(|f| f(user));
        let fs_paa = crate::session::now_f64();
        match sec
            .tokens()
            .issue(user, sec.store().has_token_uniquifier(), fs_paa, exp)
        {
            Ok(token) => {
                map.insert("authentication_token".to_owned(), Value::String(token));
            }
            Err(e) => tracing::error!(error = %e, "cannot issue an auth token"),
        }
    }
    Value::Object(map)
}

/// Form errors collected during validation, in the configuration's message texts
/// (`SECURITY_MSG_*` overrides and translation).
struct Errors(Vec<(&'static str, String)>, crate::messages::Messages);

impl Errors {
    fn new(sec: &Security) -> Self {
        Self(Vec::new(), sec.messages().clone())
    }

    fn add(&mut self, field: &'static str, key: &str) {
        let message = self.1.text(key);
        self.0.push((field, message));
    }
}

/// `POST /login`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return Rejection::NotAnonymous {
            message: ctx.sec.messages().text("ANONYMOUS_USER_REQUIRED"),
            wants_json: ctx.json,
            post_login_view: ctx.sec.config().post_login_view.clone(),
        }
        .into_response();
    }
    let Ok(body) = axum::body::to_bytes(body, super::account::FORM_BODY_LIMIT).await else {
        return api_error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    };
    let Ok(fields) = Fields::parse(&ctx.headers, &body) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            &ctx.sec.messages().text("API_ERROR"),
        );
    };
    if let Err(error) = unauth_csrf(&ctx, &fields).await {
        let mut errors = Errors::new(&ctx.sec);
        errors.0.push(("csrf_token", error.to_string()));
        return fail(&ctx, &fields, errors).await;
    }
    match authenticate_form(&ctx, &fields).await {
        Ok(user) => succeed(&ctx, &fields, user).await,
        Err(Failure::Invalid(errors)) => fail(&ctx, &fields, errors).await,
        Err(Failure::Throttled(retry_after)) => throttled(&ctx, &fields, retry_after).await,
        Err(Failure::Backend(r)) => r,
    }
}

/// Flask-Security's `unauth_csrf`: login needs a CSRF token unless
/// `SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS` lets anonymous callers skip it.
async fn unauth_csrf(ctx: &Ctx, f: &Fields) -> Result<(), crate::csrf::CsrfError> {
    let c = ctx.sec.config();
    if !c.csrf_enabled || c.csrf_ignore_unauth_endpoints {
        return Ok(());
    }
    let body = f.text("csrf_token").map(crate::csrf::BodyToken);
    crate::csrf::validate_request(&ctx.sec, Some(&ctx.session), &ctx.headers, body.as_ref()).await
}

enum Failure {
    Invalid(Errors),
    /// Refused by the throttle before any look-up or hashing.
    Throttled(std::time::Duration),
    Backend(Response),
}

impl From<crate::throttle::ThrottleError> for Failure {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        match e {
            crate::throttle::ThrottleError::Throttled { retry_after } => {
                Self::Throttled(retry_after)
            }
            crate::throttle::ThrottleError::Backend(e) => e.into(),
        }
    }
}

impl From<rampart_core::DatastoreError> for Failure {
    fn from(e: rampart_core::DatastoreError) -> Self {
        Self::Backend(authn::AuthnError::from(e).into_response())
    }
}

async fn authenticate_form(ctx: &Ctx, f: &Fields) -> Result<User, Failure> {
    let sec = &ctx.sec;
    let mut errors = Errors::new(sec);
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned());
    if let Some(next) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, next)
    {
        errors.add("next", "INVALID_REDIRECT");
    }
    let email = f.text("email");
    let username = sec
        .config()
        .username_enable
        .then(|| f.text("username"))
        .flatten();
    if email.is_none() && username.is_none() {
        errors.add("email", "EMAIL_NOT_PROVIDED");
    }
    let Some(password) = f.secret("password") else {
        errors.add("password", "PASSWORD_NOT_PROVIDED");
        return Err(Failure::Invalid(errors));
    };
    if !errors.0.is_empty() {
        return Err(Failure::Invalid(errors));
    }
    // Counted before the look-up, the same way for accounts that exist and those that do not.
    let identity = email.as_deref().or(username.as_deref());
    let permit = sec
        .throttle()
        .attempt(crate::throttle::Action::Login, identity, ctx.addr)
        .await?;
    let (field, user) = match (&email, &username) {
        (Some(e), _) => ("email", sec.store().find_user_by_email(e).await?),
        (None, Some(u)) => ("username", sec.store().find_user_by_username(u).await?),
        (None, None) => ("email", None),
    };
    let Some(user) = user else {
        sec.passwords().dummy_verify().await;
        errors.add(field, "USER_DOES_NOT_EXIST");
        return Err(Failure::Invalid(errors));
    };
    let Some(stored) = user.password.clone() else {
        sec.passwords().dummy_verify().await;
        errors.add("password", "INVALID_PASSWORD");
        return Err(Failure::Invalid(errors));
    };
    let verified = match sec.passwords().verify(&password, &stored).await {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, user_id = user.id, "password verification failed");
            errors.add("password", "INVALID_PASSWORD");
            return Err(Failure::Invalid(errors));
        }
    };
    if !verified.ok {
        errors.add("password", "INVALID_PASSWORD");
        return Err(Failure::Invalid(errors));
    }
    let user = rehash_if_needed(sec, user, &password, verified.needs_rehash).await;
    if !user.active {
        errors.add(field, "DISABLED_ACCOUNT");
    } else if !confirmation_ok(sec, &user) {
        errors.add(field, "CONFIRMATION_REQUIRED");
    }
    if !errors.0.is_empty() {
        // Not signed in: the attempt stays counted, and the answer takes the same path (and
        // time) as a wrong password.
        return Err(Failure::Invalid(errors));
    }
    // Signed in: the account's consecutive failures start again.
    if let Err(e) = permit.succeeded().await {
        tracing::warn!(error = %e, "could not record a successful login in the throttle");
    }
    Ok(user)
}

/// Re-hashes a password stored with a deprecated scheme or parameters (Flask-Security's
/// `verify_and_update_password`). A failure here is logged, never fatal to the login.
pub(crate) async fn rehash_if_needed(
    sec: &Security,
    user: User,
    password: &str,
    needed: bool,
) -> User {
    if !needed {
        return user;
    }
    let Ok(hash) = sec.passwords().hash(password).await else {
        return user;
    };
    let mut updated = user.clone();
    updated.password = Some(hash);
    match sec.store().update_user(&updated).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, user_id = user.id, "could not store the rehashed password");
            user
        }
    }
}

fn api_error(status: StatusCode, message: &str) -> Response {
    Envelope::error(status).with_error(message).into_response()
}

async fn fail(ctx: &Ctx, f: &Fields, errors: Errors) -> Response {
    let generic = ctx.sec.config().return_generic_responses;
    let errors: Vec<(&str, String)> = if generic
        && errors
            .0
            .iter()
            .all(|(k, _)| *k != "next" && *k != "csrf_token")
    {
        vec![("", ctx.sec.messages().text("GENERIC_AUTHN_FAILED"))]
    } else {
        errors.0
    };
    tracing::info!(fields = ?errors.iter().map(|(k, _)| *k).collect::<Vec<_>>(), "login failed");
    if ctx.json {
        let mut env = Envelope::error(StatusCode::BAD_REQUEST);
        for (field, message) in errors {
            env = env.with_field_error(field, message);
        }
        return env.into_response();
    }
    let email = f.text("email").unwrap_or_default();
    let next = f.text("next").unwrap_or_default();
    let remember = f.flag("remember").unwrap_or(false);
    ctx.render(login_page(ctx, &email, &next, remember, errors))
        .await
}

/// `429` with `Retry-After`: the envelope for JSON clients, the form with the message for
/// browsers. The same answer whichever account was named.
async fn throttled(ctx: &Ctx, f: &Fields, retry_after: std::time::Duration) -> Response {
    if ctx.json {
        return crate::throttle::throttled_json(retry_after);
    }
    let email = f.text("email").unwrap_or_default();
    let next = f.text("next").unwrap_or_default();
    let message = crate::throttle::THROTTLED_MESSAGE.to_owned();
    let page = login_page(ctx, &email, &next, false, vec![("", message)]);
    let mut response = ctx.render(page).await;
    crate::throttle::mark_throttled(&mut response, retry_after);
    response
}

/// Signs `user` in on `session` after a successful primary authentication (`/login`,
/// `/wan-signin`): login tracking, a new session id marked fresh, the CSRF cookie, the log
/// line and the `user_authenticated` event.
pub(crate) async fn establish(
    sec: &Security,
    session: &AuthSession,
    user: User,
    addr: ClientAddr,
    authn_via: &str,
) -> Result<User, Response> {
    let user = track_login(sec, user, addr).await?;
    session
        .login(&user.fs_uniquifier, true)
        .await
        .map_err(backend)?;
    crate::csrf_cookie::request_set(sec, session)
        .await
        .map_err(backend)?;
    tracing::info!(user_id = user.id, authn_via, "user logged in");
    sec.events().emit(crate::events::Event::UserAuthenticated {
        user_id: user.id,
        authn_via: authn_via.to_owned(),
    });
    Ok(user)
}

async fn succeed(ctx: &Ctx, f: &Fields, user: User) -> Response {
    let sec = &ctx.sec;
    let remember = f
        .flag("remember")
        .unwrap_or(sec.config().default_remember_me);
    let next = f
        .text("next")
        .or_else(|| ctx.query.get("next").cloned())
        .filter(|n| redirect::allowed(sec, &ctx.headers, n));
    let done = Done {
        sec,
        session: &ctx.session,
        json: ctx.json,
        headers: &ctx.headers,
        query: &ctx.query,
        addr: ctx.addr,
    };
    if let Some(diverted) =
        crate::two_factor::enter(&done, &user, remember, "password", next.as_deref()).await
    {
        return diverted;
    }
    done.complete(user, remember, next.as_deref(), "password")
        .await
}

/// What completing a sign-in needs from the request (shared by `/login`, two-factor,
/// unified sign-in and WebAuthn).
pub(crate) struct Done<'a> {
    pub(crate) sec: &'a Security,
    pub(crate) session: &'a AuthSession,
    pub(crate) json: bool,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) query: &'a HashMap<String, String>,
    pub(crate) addr: ClientAddr,
}

impl Done<'_> {
    /// Signs `user` in (new session id, tracking, event, remember cookie) and answers:
    /// JSON `{csrf_token, user}` (with the token on `include_auth_token`), or a redirect to
    /// `next` (already validated) or `SECURITY_POST_LOGIN_VIEW`.
    pub(crate) async fn complete(
        &self,
        user: User,
        remember: bool,
        next: Option<&str>,
        via: &str,
    ) -> Response {
        self.complete_with(user, remember, next, via, Vec::new())
            .await
    }

    /// [`complete`](Self::complete) with `extra` fields in the JSON answer (`/wan-signin`
    /// adds `post_login_url` and `tf_required`, as Flask-Security does).
    pub(crate) async fn complete_with(
        &self,
        user: User,
        remember: bool,
        next: Option<&str>,
        via: &str,
        extra: Vec<(&str, Value)>,
    ) -> Response {
        let sec = self.sec;
        let user = match establish(sec, self.session, user, self.addr, via).await {
            Ok(u) => u,
            Err(r) => return r,
        };
        let mut response = if self.json {
            let csrf = match sec.inner.csrf.token_for(self.session).await {
                Ok(t) => t,
                Err(e) => return backend(e),
            };
            let with_token = self.query.contains_key("include_auth_token")
                || sec.config().backwards_compat_auth_token;
            let mut env = Envelope::ok(StatusCode::OK)
                .with("csrf_token", csrf)
                .with("user", user_payload(sec, &user, with_token));
            if sec.config().two_factor {
                env = env.with("tf_required", false);
            }
            for (k, v) in extra {
                env = env.with(k, v);
            }
            env.into_response()
        } else {
            handlers::found(&post_login_target(sec, next))
        };
        if remember && let Some(cookie) = sec.inner.remember.set_header(&user.fs_uniquifier) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

/// Where a browser goes after signing in: `next` (already validated) or
/// `SECURITY_POST_LOGIN_VIEW`.
pub(crate) fn post_login_target(sec: &Security, next: Option<&str>) -> String {
    next.map_or_else(
        || sec.config().post_login_view.clone(),
        redirect::quote_location,
    )
}

/// Login tracking (`SECURITY_TRACKABLE`): times, addresses and the count.
async fn track_login(sec: &Security, user: User, addr: ClientAddr) -> Result<User, Response> {
    if !sec.config().trackable {
        return Ok(user);
    }
    let now = naive_utcnow();
    let ip = addr.0.map(|ip| ip.to_string());
    let mut u = user;
    u.last_login_at = u.current_login_at.or(Some(now));
    u.current_login_at = Some(now);
    u.last_login_ip = u.current_login_ip.clone().or_else(|| ip.clone());
    u.current_login_ip = ip;
    u.login_count = Some(u.login_count.unwrap_or(0).saturating_add(1));
    sec.store()
        .update_user(&u)
        .await
        .map_err(|e| authn::AuthnError::from(e).into_response())
}
