//! The answers to unauthenticated and unauthorized requests, replaceable by the application
//! (Flask-Security's `unauthn_handler` and `unauthz_handler`).

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::authn::Mechanism;
use crate::envelope::Envelope;

/// What the unauthenticated handler knows about the request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnauthnContext {
    /// The mechanisms the endpoint accepts.
    pub mechanisms: Vec<Mechanism>,
    /// Whether the client wants JSON.
    pub wants_json: bool,
    /// The request's path and query, for `/login?next=`.
    pub next: String,
    /// The login URL.
    pub login_url: String,
    /// The `UNAUTHENTICATED` text, with the configuration's override.
    pub message: String,
}

/// What the unauthorized handler knows about the request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnauthzContext {
    /// `roles_required`, `roles_accepted`, `permissions_required` or `permissions_accepted`.
    pub check: &'static str,
    /// The names the check asked for.
    pub names: &'static [&'static str],
    /// Whether the client wants JSON.
    pub wants_json: bool,
    /// The `UNAUTHORIZED` text, with the configuration's override.
    pub message: String,
}

/// A replacement unauthenticated handler.
pub type UnauthnHandler = Arc<dyn Fn(&UnauthnContext) -> Response + Send + Sync>;
/// A replacement unauthorized handler.
pub type UnauthzHandler = Arc<dyn Fn(&UnauthzContext) -> Response + Send + Sync>;

/// Flask-Security's default unauthenticated answer: JSON 401 (with `WWW-Authenticate` when
/// Basic is accepted); for browsers a redirect to `/login?next=<path>`, or a plain 401 with the
/// Basic challenge when Basic is accepted.
pub fn default_unauthn(ctx: &UnauthnContext) -> Response {
    let basic = ctx.mechanisms.contains(&Mechanism::Basic);
    let mut response = if ctx.wants_json {
        Envelope::error(StatusCode::UNAUTHORIZED)
            .with_error(ctx.message.clone())
            .into_response()
    } else if basic {
        (StatusCode::UNAUTHORIZED, ctx.message.clone()).into_response()
    } else {
        let location = format!(
            "{}?next={}",
            ctx.login_url,
            crate::redirect::quote_next(&ctx.next)
        );
        found(&location)
    };
    if basic {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Login Required\""),
        );
    }
    response
}

/// Flask-Security's default unauthorized answer: 403 with its message (JSON envelope for JSON
/// clients).
pub fn default_unauthz(ctx: &UnauthzContext) -> Response {
    if ctx.wants_json {
        Envelope::error(StatusCode::FORBIDDEN)
            .with_error(ctx.message.clone())
            .into_response()
    } else {
        (StatusCode::FORBIDDEN, ctx.message.clone()).into_response()
    }
}

/// A `302 Found` redirect, as Flask's `redirect()` answers.
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => (
            StatusCode::FOUND,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_quoted_relative() {
        use crate::redirect::quote_next;
        assert_eq!(quote_next("/api/me"), "/api/me");
        assert_eq!(quote_next("/protected?x=1"), "/protected%3Fx%3D1");
        assert_eq!(quote_next("/a b/\\c"), "/a%20b/%5Cc");
    }

    #[test]
    fn browser_redirects_json_gets_401() {
        let mut ctx = UnauthnContext {
            mechanisms: vec![Mechanism::Session, Mechanism::Token],
            wants_json: false,
            next: "/api/me".into(),
            login_url: "/login".into(),
            message: crate::messages::text("UNAUTHENTICATED").to_owned(),
        };
        let r = default_unauthn(&ctx);
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[header::LOCATION], "/login?next=/api/me");
        ctx.wants_json = true;
        let r = default_unauthn(&ctx);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
        ctx.mechanisms.push(Mechanism::Basic);
        let r = default_unauthn(&ctx);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"Login Required\""
        );
    }
}
