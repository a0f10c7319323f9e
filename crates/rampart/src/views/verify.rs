//! `/verify`: re-authentication with the password for freshness (Flask-Security's `verify`).
//!
//! `GET` answers JSON clients with `csrf_token`, `user`, `has_webauthn_verify_credential`,
//! `oauth_enabled` and `oauth_providers`, and browsers with the form. `POST {password, next?}`
//! checks the password; on success the session's primary-authentication time becomes now
//! (and `?include_auth_token` returns a new token carrying it), JSON clients get `200` with
//! `csrf_token` and `user`, browsers a redirect to the validated `next` or
//! `SECURITY_POST_VERIFY_VIEW`. Failures are field errors: `400` for JSON, the form again for
//! browsers. The caller must be signed in (session or token); CSRF applies as for any
//! authenticated endpoint.

use std::collections::HashMap;

use axum::extract::{Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::form::Fields;
use super::login::{rehash_if_needed, user_payload};
use crate::authn::{AuthnError, CurrentUser, Mechanism};
use crate::envelope::{Envelope, wants_json};
use crate::extract::AuthRequired;
use crate::pages::{Field, Form, Page, PageContext};
use crate::redirect;
use crate::security::{Security, handlers};
use crate::session::AuthSession;

struct Ctx {
    sec: Security,
    user: CurrentUser,
    session: Option<AuthSession>,
    json: bool,
    query: HashMap<String, String>,
    headers: HeaderMap,
    page: PageContext,
}

async fn context(parts: &mut Parts) -> Result<Ctx, Response> {
    let AuthRequired { user, .. } =
        <AuthRequired as axum::extract::FromRequestParts<()>>::from_request_parts(parts, &())
            .await
            .map_err(IntoResponse::into_response)?;
    let sec = crate::extract::security(parts).map_err(IntoResponse::into_response)?;
    let Query(query) =
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri).unwrap_or(Query(HashMap::new()));
    let page = PageContext::from_parts(&sec, parts, Some(user.user.clone()));
    Ok(Ctx {
        page,
        session: parts
            .extensions
            .get::<tower_sessions::Session>()
            .cloned()
            .map(AuthSession),
        json: wants_json(&parts.headers),
        headers: parts.headers.clone(),
        sec,
        user,
        query,
    })
}

async fn csrf_token(ctx: &Ctx) -> Result<String, Response> {
    match &ctx.session {
        Some(s) => ctx
            .sec
            .inner
            .csrf
            .token_for(s)
            .await
            .map_err(|e| AuthnError::from(e).into_response()),
        None => Ok(String::new()),
    }
}

/// `GET /verify`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let csrf = match csrf_token(&ctx).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if ctx.json {
        return Envelope::ok(StatusCode::OK)
            .with("csrf_token", csrf)
            .with("user", user_payload(&ctx.sec, &ctx.user, false))
            .with(
                "has_webauthn_verify_credential",
                has_webauthn_verify_credential(&ctx).await,
            )
            .with("oauth_enabled", false)
            .with("oauth_providers", serde_json::json!([]))
            .into_response();
    }
    let next = ctx.query.get("next").cloned().unwrap_or_default();
    let wan = has_webauthn_verify_credential(&ctx).await;
    ctx.page
        .render(form_page(&ctx, &next, wan, Vec::new()))
        .await
}

/// Whether `/wan-verify` can re-authenticate the caller.
async fn has_webauthn_verify_credential(ctx: &Ctx) -> bool {
    crate::webauthn::has_verify_credential(&ctx.sec, &ctx.user).await
}

/// `POST /verify`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(body) = axum::body::to_bytes(body, super::account::FORM_BODY_LIMIT).await else {
        return Envelope::error(StatusCode::PAYLOAD_TOO_LARGE)
            .with_error("Request body too large")
            .into_response();
    };
    let Ok(fields) = Fields::parse(&ctx.headers, &body) else {
        return Envelope::error(StatusCode::BAD_REQUEST)
            .with_error(ctx.sec.messages().text("API_ERROR"))
            .into_response();
    };
    let next = fields
        .text("next")
        .or_else(|| ctx.query.get("next").cloned());
    let mut errors: Vec<(&'static str, &'static str)> = Vec::new();
    if let Some(n) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, n)
    {
        errors.push(("next", "INVALID_REDIRECT"));
    }
    match fields.secret("password") {
        None => errors.push(("password", "PASSWORD_NOT_PROVIDED")),
        Some(pw) if errors.is_empty() => {
            if !password_ok(&ctx, &pw).await {
                errors.push(("password", "INVALID_PASSWORD"));
            }
        }
        Some(_) => {}
    }
    if !errors.is_empty() {
        return fail(&ctx, next.as_deref().unwrap_or_default(), &errors).await;
    }
    succeed(&ctx, next).await
}

/// Verifies the caller's password (a dummy verification when the user has none, so both take
/// the same time), re-hashing a deprecated hash as a login does.
async fn password_ok(ctx: &Ctx, password: &str) -> bool {
    let sec = &ctx.sec;
    let Some(stored) = ctx.user.password.clone() else {
        sec.passwords().dummy_verify().await;
        return false;
    };
    match sec.passwords().verify(password, &stored).await {
        Ok(v) if v.ok => {
            let user = (*ctx.user.user).clone();
            let _ = rehash_if_needed(sec, user, password, v.needs_rehash).await;
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::error!(error = %e, user_id = ctx.user.id, "password verification failed");
            false
        }
    }
}

async fn succeed(ctx: &Ctx, next: Option<String>) -> Response {
    let sec = &ctx.sec;
    // The session's primary-authentication time is renewed for session callers; a token
    // caller gets its freshness from the new token (`?include_auth_token`).
    if ctx.user.via == Mechanism::Session
        && let Some(s) = &ctx.session
        && let Err(e) = s.reauthenticated().await
    {
        return AuthnError::from(e).into_response();
    }
    tracing::info!(user_id = ctx.user.id, "user re-authenticated");
    if ctx.json {
        let csrf = match csrf_token(ctx).await {
            Ok(t) => t,
            Err(r) => return r,
        };
        let with_token = ctx.query.contains_key("include_auth_token")
            || sec.config().backwards_compat_auth_token;
        return Envelope::ok(StatusCode::OK)
            .with("csrf_token", csrf)
            .with("user", user_payload(sec, &ctx.user, with_token))
            .into_response();
    }
    let target = next.map_or_else(
        || sec.config().post_verify_view.clone(),
        |n| redirect::quote_location(&n),
    );
    handlers::found(&target)
}

async fn fail(ctx: &Ctx, next: &str, errors: &[(&'static str, &'static str)]) -> Response {
    tracing::info!(fields = ?errors.iter().map(|(k, _)| *k).collect::<Vec<_>>(), "re-authentication failed");
    if ctx.json {
        let mut env = Envelope::error(StatusCode::BAD_REQUEST);
        for (field, key) in errors {
            env = env.with_field_error(field, ctx.sec.messages().text(key));
        }
        return env.into_response();
    }
    let errors: Vec<(&str, String)> = errors
        .iter()
        .map(|(f, k)| (*f, ctx.sec.messages().text(k)))
        .collect();
    let next = if errors.iter().any(|(f, _)| *f == "next") {
        ""
    } else {
        next
    };
    let wan = has_webauthn_verify_credential(ctx).await;
    ctx.page.render(form_page(ctx, next, wan, errors)).await
}

/// `security/verify.html` with the form `verify_form` (the account's address read-only, for
/// password managers).
fn form_page(ctx: &Ctx, next: &str, wan: bool, errors: Vec<(&str, String)>) -> Page {
    let mut form = Form::new()
        .field(Field::identity_email("Email Address", &ctx.user.email).readonly())
        .field(Field::password("password", "Password", "current-password"));
    if !next.is_empty() {
        form = form.field(Field::hidden("next", next));
    }
    let form = form.submit("Re-Authenticate").errors(errors);
    Page::new("security/verify.html")
        .form("verify_form", &form)
        .with("has_webauthn_verify_credential", wan)
}
