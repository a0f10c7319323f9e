//! What the account-lifecycle views share: the request context, bodies, CSRF for
//! unauthenticated endpoints, form errors, JSON and browser answers, and redirects for links
//! opened from emails (including `SECURITY_REDIRECT_BEHAVIOR = "spa"`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::Query;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::Value;

use super::form::Fields;
use crate::authn::{self, ClientAddr, CurrentUser};
use crate::envelope::{Envelope, wants_json};
use crate::extract::{Mechanisms, Rejection, SessionOrToken};
use crate::lifecycle::SendError;
use crate::pages::{Page, PageContext};
use crate::security::{Security, handlers};
use crate::session::AuthSession;

/// One request's context.
pub(crate) struct Ctx {
    pub(crate) sec: Security,
    pub(crate) session: AuthSession,
    pub(crate) current: Option<CurrentUser>,
    pub(crate) json: bool,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HeaderMap,
    /// The client address (the reset throttle counts per address).
    pub(crate) addr: ClientAddr,
    /// What a page needs from this request (browsers).
    pub(crate) page: PageContext,
}

impl Ctx {
    /// A message text, with the configuration's overrides.
    pub(crate) fn msg(&self, key: &str) -> String {
        self.sec.messages().text(key)
    }

    /// A message with placeholders filled.
    pub(crate) fn msg_with(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.sec.messages().format(key, args)
    }

    /// Renders a page for this request.
    pub(crate) async fn render(&self, page: Page) -> Response {
        self.page.render(page).await
    }

    /// Flashes a message for the next page (when `SECURITY_FLASH_MESSAGES` is on). A store
    /// failure is logged: the message is lost, the answer is not.
    pub(crate) async fn flash(&self, category: &str, message: &str) {
        if !self.sec.pages().flashes() {
            return;
        }
        if let Err(e) = crate::pages::flash::flash(&self.session.0, category, message).await {
            tracing::warn!(error = %e, "cannot flash a message");
        }
    }

    /// Flashes the message of key `key` (text `text`, its category from the key) and
    /// redirects to `target`: Flask-Security's browser answer outside SPA mode.
    pub(crate) async fn flash_redirect(&self, target: &str, key: &str, text: &str) -> Response {
        self.flash(crate::messages::category(key), text).await;
        redirect_with(self, target, &[])
    }
}

/// Builds the context (the caller authenticated by session or token, if any).
pub(crate) async fn context(parts: &mut Parts) -> Result<Ctx, Response> {
    let sec = crate::authn::installed(&parts.extensions)
        .cloned()
        .ok_or_else(|| Rejection::NotInstalled.into_response())?;
    let session = parts
        .extensions
        .get::<tower_sessions::Session>()
        .cloned()
        .map(AuthSession)
        .ok_or_else(|| Rejection::NotInstalled.into_response())?;
    let current = authn::authenticate(parts, &sec, SessionOrToken::LIST)
        .await
        .map_err(IntoResponse::into_response)?;
    let Query(query) =
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri).unwrap_or(Query(HashMap::new()));
    let page = PageContext::from_parts(&sec, parts, current.as_ref().map(|u| u.user.clone()));
    Ok(Ctx {
        page,
        json: wants_json(&parts.headers),
        addr: crate::authn::client_addr(&parts.extensions),
        headers: parts.headers.clone(),
        sec,
        session,
        current,
        query,
    })
}

/// The largest body Rampart's own endpoints (login, register, reset, change…) read: a few
/// fields never need more, whatever `SECURITY_MAX_BODY_SIZE` allows the application's own
/// routes. A smaller `SECURITY_MAX_BODY_SIZE` still applies first (the security layer cuts
/// every body at it).
pub(crate) const FORM_BODY_LIMIT: usize = 64 * 1024;

/// Reads a JSON or form body ([`FORM_BODY_LIMIT`] at most).
pub(crate) async fn fields(ctx: &Ctx, body: Body) -> Result<Fields, Response> {
    let Ok(bytes) = axum::body::to_bytes(body, FORM_BODY_LIMIT).await else {
        return Err(Envelope::error(StatusCode::PAYLOAD_TOO_LARGE)
            .with_error("Request body too large")
            .into_response());
    };
    Fields::parse(&ctx.headers, &bytes).map_err(|_| {
        Envelope::error(StatusCode::BAD_REQUEST)
            .with_error(ctx.msg("API_ERROR"))
            .into_response()
    })
}

/// Flask-Security's `unauth_csrf`: the endpoint needs a CSRF token unless
/// `SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS` lets anonymous callers skip it.
pub(crate) async fn unauth_csrf(ctx: &Ctx, f: &Fields) -> Result<(), String> {
    let c = ctx.sec.config();
    if !c.csrf_enabled || (c.csrf_ignore_unauth_endpoints && ctx.current.is_none()) {
        return Ok(());
    }
    let body = f.text("csrf_token").map(crate::csrf::BodyToken);
    crate::csrf::validate_request(&ctx.sec, Some(&ctx.session), &ctx.headers, body.as_ref())
        .await
        .map_err(|e| e.to_string())
}

/// Form errors: field (or `""` for the form) and message, in order.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub(crate) Vec<(&'static str, String)>);

impl Errors {
    pub(crate) fn add(&mut self, field: &'static str, message: String) {
        self.0.push((field, message));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Drops the errors of `field` (generic responses).
    pub(crate) fn without(self, field: &str) -> Self {
        Self(self.0.into_iter().filter(|(f, _)| *f != field).collect())
    }

    /// The messages alone.
    pub(crate) fn messages(&self) -> Vec<String> {
        self.0.iter().map(|(_, m)| m.clone()).collect()
    }

    /// `(field, message)` pairs for a page's form.
    pub(crate) fn pairs(&self) -> Vec<(&str, String)> {
        self.0.iter().map(|(f, m)| (*f, m.clone())).collect()
    }

    /// The JSON 400 with `errors` and `field_errors`.
    pub(crate) fn into_json(self) -> Response {
        let mut env = Envelope::error(StatusCode::BAD_REQUEST);
        for (field, message) in self.0 {
            env = env.with_field_error(field, message);
        }
        env.into_response()
    }
}

/// The session's CSRF token (empty on a store failure, which the next request reports).
pub(crate) async fn csrf_token(ctx: &Ctx) -> String {
    ctx.sec
        .inner
        .csrf
        .token_for(&ctx.session)
        .await
        .unwrap_or_default()
}

/// A JSON 200 with `csrf_token` and `extra`.
pub(crate) async fn json_ok(ctx: &Ctx, extra: Vec<(&str, Value)>) -> Response {
    let mut env = Envelope::ok(StatusCode::OK).with("csrf_token", csrf_token(ctx).await);
    for (k, v) in extra {
        env = env.with(k, v);
    }
    env.into_response()
}

/// The `user` payload (`{}` by default; `authentication_token` with `include_auth_token`).
pub(crate) fn user_payload(ctx: &Ctx, user: &User, with_token: bool) -> Value {
    let mut map = serde_json::Map::new();
    if with_token {
        let sec = &ctx.sec;
        let exp = sec.inner.token_expiry.as_ref().and_then(|f| f(user));
        match sec.tokens().issue(
            user,
            sec.store().has_token_uniquifier(),
            crate::session::now_f64(),
            exp,
        ) {
            Ok(token) => {
                map.insert("authentication_token".to_owned(), Value::String(token));
            }
            Err(e) => tracing::error!(error = %e, "cannot issue an auth token"),
        }
    }
    Value::Object(map)
}

/// Whether this request asked for an auth token in the answer.
pub(crate) fn wants_token(ctx: &Ctx) -> bool {
    ctx.query.contains_key("include_auth_token") || ctx.sec.config().backwards_compat_auth_token
}

/// 503 for a datastore or session-store failure.
pub(crate) fn backend(e: impl Into<authn::AuthnError>) -> Response {
    e.into().into_response()
}

/// Flask-Security answers 500 when an email cannot be sent; so does Rampart when the mail
/// queue refuses (full or closed) or a template fails.
pub(crate) fn mail_failed(ctx: &Ctx, e: &SendError) -> Response {
    tracing::error!(error = %e, "email not queued");
    let message = "Unable to send email at this time; please try again later";
    if ctx.json {
        Envelope::error(StatusCode::INTERNAL_SERVER_ERROR)
            .with_error(message)
            .into_response()
    } else {
        (StatusCode::INTERNAL_SERVER_ERROR, message).into_response()
    }
}

/// The target of a `*_VIEW` key, or `fallback`.
pub(crate) fn view_or(ctx: &Ctx, key: &str, fallback: &str) -> String {
    ctx.sec
        .config()
        .lifecycle
        .view(key)
        .map_or_else(|| fallback.to_owned(), str::to_owned)
}

/// A redirect to `base` with query parameters (Flask-Security's `get_url(view, qparams)`),
/// the host replaced by `SECURITY_REDIRECT_HOST` for absolute URLs.
pub(crate) fn redirect_with(ctx: &Ctx, base: &str, params: &[(&str, &str)]) -> Response {
    let mut target = base.to_owned();
    if let Some(host) = &ctx.sec.config().lifecycle.redirect_host
        && let Ok(mut url) = url::Url::parse(&target)
    {
        let (h, port) = match host.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => (h, p.parse::<u16>().ok()),
            _ => (host.as_str(), None),
        };
        if url.set_host(Some(h)).is_ok() {
            let _ = url.set_port(port);
            target = url.to_string();
        }
    }
    if !params.is_empty() {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let sep = if target.contains('?') { '&' } else { '?' };
        target = format!("{target}{sep}{query}");
    }
    handlers::found(&target)
}

/// The answer to a link opened from an email that failed: SPA views get `?error=`/`?info=`,
/// browsers a redirect to the error view or `fallback` with the message flashed.
pub(crate) async fn link_problem(
    ctx: &Ctx,
    error_view: &str,
    fallback: &str,
    key: &str,
    text: &str,
) -> Response {
    let category = crate::messages::category(key);
    let l = &ctx.sec.config().lifecycle;
    if l.redirect_spa
        && let Some(view) = l.view(error_view)
    {
        return redirect_with(ctx, view, &[(category, text)]);
    }
    let target = l.view(error_view).unwrap_or(fallback).to_owned();
    ctx.flash_redirect(&target, key, text).await
}

/// `UserMixin.get_redirect_qparams`: `email`, `identity` and the message.
pub(crate) fn user_qparams<'a>(
    user: &'a User,
    category: &'a str,
    text: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", user.email.as_str()),
        ("identity", user.username.as_deref().unwrap_or(&user.email)),
        (category, text),
    ]
}
