//! CSRF tokens in Flask-WTF's shape: a raw secret (40 hex characters) kept in the session, and
//! the client-facing token `URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)`.
//!
//! Tokens are accepted from the `X-CSRFToken`, `X-CSRF-Token` and `X-XSRF-Token` headers and
//! from the `csrf_token` form field or JSON key. The authentication extractors check them on
//! state-changing requests for the mechanisms in `SECURITY_CSRF_PROTECT_MECHANISMS` — and
//! always when the request carries a signed-in session cookie, even if it also carries a token
//! (a deliberate difference from Flask-Security, which skips the check then and lets a forged
//! request ride on the victim's cookie).
//!
//! [`UnauthCsrf`] is Flask-Security's `unauth_csrf` for an application's own endpoints open to
//! anonymous callers (contact forms, sign-up steps); [`cross_site_layer`] is the optional
//! defence in depth by Fetch Metadata (`Sec-Fetch-Site`) and `Origin`
//! (`SECURITY_CSRF_CROSS_SITE_CHECK`). Every refusal is a 400 that answers in the client's
//! language: the JSON envelope with Flask-WTF's message, or a small HTML page for browsers.

use std::time::Duration;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use rampart_core::signing::{SecretKeys, SigningError, UrlSafeTimedSerializer};
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

use crate::envelope::{Envelope, wants_json};
use crate::extract::{Mechanisms, Rejection, SessionOrToken};
use crate::security::Security;
use crate::session::{AuthSession, SessionError};

/// The headers a CSRF token is read from (Flask-WTF's `WTF_CSRF_HEADERS` plus
/// Flask-Security's `SECURITY_CSRF_HEADER`).
pub const HEADERS: [&str; 3] = ["X-CSRFToken", "X-CSRF-Token", "X-XSRF-Token"];

/// Why a CSRF check failed; the messages are Flask-WTF's, which clients match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// No token in the request.
    #[error("The CSRF token is missing.")]
    Missing,
    /// No secret in the session.
    #[error("The CSRF session token is missing.")]
    SessionTokenMissing,
    /// The token is older than the time limit.
    #[error("The CSRF token has expired.")]
    Expired,
    /// The token is not signed by this application.
    #[error("The CSRF token is invalid.")]
    Invalid,
    /// The token belongs to another session.
    #[error("The CSRF tokens do not match.")]
    Mismatch,
    /// The browser says the request is cross-site, or its `Origin` is another host
    /// (Flask-WTF's message for a foreign origin).
    #[error("The referrer does not match the host.")]
    CrossSite,
}

impl CsrfError {
    /// The 400 answer: the JSON envelope with the message, or an HTML page for browsers
    /// (inside the security layer, the template `security/csrf_error.html`).
    pub fn response(self, json: bool) -> Response {
        tracing::info!(reason = %self, "CSRF check failed");
        if json {
            return Envelope::error(StatusCode::BAD_REQUEST)
                .with_error(self.to_string())
                .into_response();
        }
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>400 Bad Request</title></head><body><main><h1>Bad Request</h1>\
             <p class=\"error\">{self}</p></main></body></html>"
        );
        let mut response = (StatusCode::BAD_REQUEST, Html(body)).into_response();
        response.extensions_mut().insert(CsrfPage(self));
        response
    }
}

/// Marks a browser's CSRF refusal: the security layer renders `security/csrf_error.html`
/// in its place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsrfPage(pub(crate) CsrfError);

/// A `csrf_token` found in the request body by the authentication layer.
#[derive(Debug, Clone)]
pub(crate) struct BodyToken(pub(crate) String);

/// Methods that change state (Flask-WTF's `WTF_CSRF_METHODS`).
pub fn is_unsafe(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The token a request carries: a header first, then the body field.
pub(crate) fn token_in(headers: &HeaderMap, body: Option<&BodyToken>) -> Option<String> {
    HEADERS
        .iter()
        .find_map(|h| headers.get(*h)?.to_str().ok().filter(|v| !v.is_empty()))
        .map(str::to_owned)
        .or_else(|| body.map(|b| b.0.clone()))
}

/// The token a request carries, also from the configured `SECURITY_CSRF_HEADER`.
pub(crate) fn request_token(
    sec: &Security,
    headers: &HeaderMap,
    body: Option<&BodyToken>,
) -> Option<String> {
    let extra = sec.config().csrf_header.as_str();
    let from_extra = (!HEADERS.iter().any(|h| h.eq_ignore_ascii_case(extra)))
        .then(|| headers.get(extra)?.to_str().ok().filter(|v| !v.is_empty()))
        .flatten();
    match from_extra {
        Some(v) => Some(v.to_owned()),
        None => token_in(headers, body),
    }
}

/// Checks the token the request carries ([`request_token`]) against the session's secret,
/// within the configured age limit: the one validation every CSRF check shares.
///
/// # Errors
/// The Flask-WTF reason the token is refused.
pub(crate) async fn validate_request(
    sec: &Security,
    session: Option<&AuthSession>,
    headers: &HeaderMap,
    body: Option<&BodyToken>,
) -> Result<(), CsrfError> {
    let token = request_token(sec, headers, body);
    sec.inner
        .csrf
        .validate(session, token.as_deref(), max_age(sec))
        .await
}

/// The configured token age limit (`WTF_CSRF_TIME_LIMIT`; 0 is none).
pub(crate) fn max_age(sec: &Security) -> Option<Duration> {
    let limit = u64::try_from(sec.config().csrf_time_limit_secs).unwrap_or(0);
    (limit > 0).then(|| Duration::from_secs(limit))
}

/// Flask-Security's `unauth_csrf` for an application's own endpoints: a state-changing
/// request needs a valid CSRF token, except from anonymous callers when
/// `SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS` is on. Put it before the body extractor.
///
/// # Example
/// ```
/// use axum::{Router, routing::post};
/// use rampart::csrf::UnauthCsrf;
///
/// async fn contact(_: UnauthCsrf, body: String) -> &'static str {
///     "thanks"
/// }
/// let app: Router = Router::new().route("/contact", post(contact));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UnauthCsrf;

impl<S: Send + Sync> FromRequestParts<S> for UnauthCsrf {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        let sec = crate::extract::security(parts)?;
        let c = sec.config();
        if !c.csrf_enabled || !is_unsafe(&parts.method) {
            return Ok(Self);
        }
        let user = crate::authn::authenticate(parts, &sec, SessionOrToken::LIST).await?;
        if c.csrf_ignore_unauth_endpoints && user.is_none() {
            return Ok(Self);
        }
        let session = parts
            .extensions
            .get::<tower_sessions::Session>()
            .cloned()
            .map(AuthSession);
        validate_request(
            &sec,
            session.as_ref(),
            &parts.headers,
            parts.extensions.get(),
        )
        .await
        .map_err(|error| Rejection::Csrf {
            error,
            wants_json: wants_json(&parts.headers),
        })?;
        Ok(Self)
    }
}

/// Whether a state-changing request must be refused as cross-site: the browser's
/// `Sec-Fetch-Site` is anything but `same-origin` or `none`, or (without Fetch Metadata) its
/// `Origin` names another host than `host` (the `Host` header, or the URI's authority under
/// HTTP/2), or is `null`. Origins in `trusted` pass.
pub fn is_cross_site(headers: &HeaderMap, host: Option<&str>, trusted: &[String]) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| trusted.iter().any(|t| t.eq_ignore_ascii_case(o))) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(
            site.to_str().map(str::to_ascii_lowercase).as_deref(),
            Ok("same-origin" | "none")
        );
    }
    let Some(origin) = origin else {
        return false;
    };
    match (url::Url::parse(origin), host) {
        (Ok(o), Some(host)) if o.host_str().is_some() => {
            let authority = match o.port() {
                Some(p) => format!("{}:{p}", o.host_str().unwrap_or_default()),
                None => o.host_str().unwrap_or_default().to_owned(),
            };
            !authority.eq_ignore_ascii_case(host)
        }
        _ => true,
    }
}

/// The cross-site check as a layer (`SECURITY_CSRF_CROSS_SITE_CHECK`), for routers outside
/// [`Security::install`] (which runs the same check in its authentication layer). Requests
/// that carry no cookie but an `Authentication-Token` header are exempt: browsers cannot forge
/// custom headers across sites without a CORS preflight, so token clients of other origins
/// keep working.
pub async fn cross_site_layer(
    axum::extract::State(sec): axum::extract::State<Security>,
    req: Request,
    next: Next,
) -> Response {
    match cross_site_refusal(&sec, &req) {
        Some(refusal) => refusal,
        None => next.run(req).await,
    }
}

/// The refusal of a cross-site state-changing request, when the check is on.
pub(crate) fn cross_site_refusal(sec: &Security, req: &Request) -> Option<Response> {
    let c = sec.config();
    if !c.csrf_enabled || !c.csrf_cross_site_check || !is_unsafe(req.method()) {
        return None;
    }
    let h = req.headers();
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            req.uri()
                .authority()
                .map(axum::http::uri::Authority::as_str)
        });
    let token_only =
        h.get(header::COOKIE).is_none() && h.get(crate::authn::AUTHENTICATION_TOKEN).is_some();
    (!token_only && is_cross_site(h, host, &c.csrf_trusted_origins))
        .then(|| CsrfError::CrossSite.response(wants_json(h)))
}

/// Flask-WTF's salt for CSRF tokens.
pub const SALT: &str = "wtf-csrf-token";

/// A new raw secret: 40 lowercase hex characters from the CSPRNG (Flask-WTF: sha1 of random
/// bytes, same shape).
pub fn new_raw_token() -> String {
    let bytes: [u8; 20] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs raw CSRF secrets for clients.
#[derive(Clone)]
pub struct CsrfTokens {
    serializer: UrlSafeTimedSerializer,
}

impl std::fmt::Debug for CsrfTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfTokens")
    }
}

impl CsrfTokens {
    /// Signs with `WTF_CSRF_SECRET_KEY`, which defaults to `SECRET_KEY`.
    pub fn new(keys: SecretKeys) -> Self {
        Self {
            serializer: UrlSafeTimedSerializer::new(keys),
        }
    }

    /// Checks a client token against the session's secret (signature, age, then a
    /// constant-time comparison).
    ///
    /// # Errors
    /// [`CsrfError`] with Flask-WTF's reason; session-store failures count as a missing
    /// session token.
    pub async fn validate(
        &self,
        session: Option<&AuthSession>,
        token: Option<&str>,
        max_age: Option<Duration>,
    ) -> Result<(), CsrfError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
        let raw = match session {
            Some(s) => s.existing_csrf_secret().await.ok().flatten(),
            None => None,
        }
        .ok_or(CsrfError::SessionTokenMissing)?;
        self.check(token, &raw, max_age)
    }

    /// The part of [`validate`](Self::validate) after the session: `token` against the
    /// session's raw secret `raw`.
    pub(crate) fn check(
        &self,
        token: &str,
        raw: &str,
        max_age: Option<Duration>,
    ) -> Result<(), CsrfError> {
        let (claimed, _): (String, u64) =
            self.serializer
                .loads(token, SALT, max_age)
                .map_err(|e| match e {
                    SigningError::SignatureExpired { .. } => CsrfError::Expired,
                    _ => CsrfError::Invalid,
                })?;
        if bool::from(claimed.as_bytes().ct_eq(raw.as_bytes())) {
            Ok(())
        } else {
            Err(CsrfError::Mismatch)
        }
    }

    /// The client token for the raw secret `raw`.
    pub(crate) fn sign(&self, raw: &str) -> String {
        // Serializing a plain string cannot fail; fall back to an empty token if it ever did.
        self.serializer.dumps(raw, SALT).unwrap_or_default()
    }

    /// The session's token for the client (the raw secret is created when missing).
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn token_for(&self, session: &AuthSession) -> Result<String, SessionError> {
        let raw = session.csrf_secret().await?;
        Ok(self.sign(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_site_decisions() {
        use axum::http::HeaderValue;
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        let trusted = vec!["https://spa.example.net".to_owned()];
        for (pairs, cross) in [
            (vec![], false),
            (vec![("sec-fetch-site", "same-origin")], false),
            (vec![("sec-fetch-site", "none")], false),
            (vec![("sec-fetch-site", "same-site")], true),
            (vec![("sec-fetch-site", "cross-site")], true),
            (vec![("origin", "http://app.example.com")], false),
            (vec![("origin", "https://evil.example")], true),
            (vec![("origin", "http://app.example.com:8080")], true),
            (vec![("origin", "null")], true),
            (
                vec![
                    ("origin", "https://spa.example.net"),
                    ("sec-fetch-site", "cross-site"),
                ],
                false,
            ),
            (
                vec![
                    ("origin", "http://app.example.com"),
                    ("sec-fetch-site", "cross-site"),
                ],
                true,
            ),
        ] {
            let headers = h(&pairs);
            assert_eq!(
                is_cross_site(&headers, Some("app.example.com"), &trusted),
                cross,
                "{pairs:?}"
            );
        }
        // Without any host to compare with, an Origin cannot be proven same-origin.
        for origin in ["http://app.example.com", "https://evil.example"] {
            let mut m = HeaderMap::new();
            m.insert(header::ORIGIN, HeaderValue::from_static(origin));
            assert!(is_cross_site(&m, None, &trusted));
        }
    }

    #[test]
    fn raw_tokens_are_40_hex_and_random() {
        let a = new_raw_token();
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_raw_token());
    }
}
