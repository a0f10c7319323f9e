//! Why an extractor refused a request, answered through the application's handlers.

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::authn::{AuthnError, Mechanism};
use crate::envelope::{Envelope, wants_json};
use crate::security::{Security, UnauthnContext, UnauthzContext, handlers};

/// An extractor's refusal. It answers in the client's language and records its reason in the
/// response extensions (as a [`RejectionReason`]) so logging layers can see why.
#[derive(Debug)]
pub enum Rejection {
    /// Not authenticated by any accepted mechanism.
    Unauthenticated(Option<Security>, UnauthnContext),
    /// Authenticated but lacking a role or permission.
    Forbidden(Option<Security>, UnauthzContext),
    /// Authenticated, but the authentication is older than the freshness window.
    Stale {
        /// Whether the client wants JSON.
        wants_json: bool,
        /// The path to come back to after re-authenticating.
        next: String,
        /// Whether unified sign-in is enabled (then browsers re-verify at `/us-verify`).
        unified_signin: bool,
        /// `SECURITY_MSG_REAUTHENTICATION_REQUIRED` as configured.
        message: String,
        /// Whether the user has a passkey `/wan-verify` accepts (JSON
        /// `has_webauthn_verify_credential`).
        has_webauthn_verify_credential: bool,
    },
    /// An anonymous-only endpoint was called by a signed-in user.
    NotAnonymous {
        /// Whether the client wants JSON.
        wants_json: bool,
        /// Where browsers go instead.
        post_login_view: String,
        /// `SECURITY_MSG_ANONYMOUS_USER_REQUIRED` as configured.
        message: String,
    },
    /// A state-changing request without a valid CSRF token.
    Csrf {
        /// Flask-WTF's reason.
        error: crate::csrf::CsrfError,
        /// Whether the client wants JSON.
        wants_json: bool,
    },
    /// A backend failed.
    Backend(AuthnError),
    /// The security layer is not installed on this route ([`Security::install`]).
    NotInstalled,
}

/// The reason of a [`Rejection`], put in the response extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionReason {
    /// 401.
    Unauthenticated,
    /// 403.
    Forbidden,
    /// 401 `reauth_required`.
    Stale,
    /// 400 anonymous required.
    NotAnonymous,
    /// 400 CSRF.
    Csrf,
    /// 503.
    Backend,
    /// 500.
    NotInstalled,
}

/// Where a browser that must sign in is sent: the login page, or the unified sign-in page
/// under `SECURITY_US_SIGNIN_REPLACES_LOGIN`.
fn sign_in_url(sec: &Security) -> String {
    let c = sec.config();
    if c.unified_signin && c.mfa.us_signin_replaces_login {
        return c.mfa.us_signin_url.clone();
    }
    c.login_url.clone()
}

impl Rejection {
    pub(crate) fn unauthenticated(parts: &Parts, sec: &Security, mechanisms: &[Mechanism]) -> Self {
        let ctx = UnauthnContext {
            mechanisms: mechanisms.to_vec(),
            wants_json: wants_json(&parts.headers),
            next: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
            login_url: sign_in_url(sec),
            message: sec.messages().text("UNAUTHENTICATED"),
        };
        Self::Unauthenticated(Some(sec.clone()), ctx)
    }

    pub(crate) fn forbidden(
        parts: &Parts,
        sec: &Security,
        check: &'static str,
        names: &'static [&'static str],
    ) -> Self {
        let ctx = UnauthzContext {
            check,
            names,
            wants_json: wants_json(&parts.headers),
            message: sec.messages().text("UNAUTHORIZED"),
        };
        Self::Forbidden(Some(sec.clone()), ctx)
    }

    fn reason(&self) -> RejectionReason {
        match self {
            Self::Unauthenticated(..) => RejectionReason::Unauthenticated,
            Self::Forbidden(..) => RejectionReason::Forbidden,
            Self::Stale { .. } => RejectionReason::Stale,
            Self::NotAnonymous { .. } => RejectionReason::NotAnonymous,
            Self::Csrf { .. } => RejectionReason::Csrf,
            Self::Backend(_) => RejectionReason::Backend,
            Self::NotInstalled => RejectionReason::NotInstalled,
        }
    }
}

impl From<AuthnError> for Rejection {
    fn from(e: AuthnError) -> Self {
        Self::Backend(e)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let reason = self.reason();
        let mut response = match self {
            Self::Unauthenticated(sec, ctx) => {
                match sec.as_ref().and_then(|s| s.inner.unauthn.clone()) {
                    Some(custom) => custom(&ctx),
                    None => handlers::default_unauthn(&ctx),
                }
            }
            Self::Forbidden(sec, ctx) => match sec.as_ref().and_then(|s| s.inner.unauthz.clone()) {
                Some(custom) => custom(&ctx),
                None => handlers::default_unauthz(&ctx),
            },
            Self::Stale {
                wants_json,
                next,
                unified_signin,
                message,
                has_webauthn_verify_credential: wan,
            } => stale(wants_json, &next, unified_signin, wan, &message),
            Self::NotAnonymous {
                wants_json,
                post_login_view,
                message,
            } => {
                if wants_json {
                    Envelope::error(StatusCode::BAD_REQUEST)
                        .with_error(message)
                        .into_response()
                } else {
                    handlers::found(&post_login_view)
                }
            }
            Self::Csrf { error, wants_json } => error.response(wants_json),
            Self::Backend(e) => e.into_response(),
            Self::NotInstalled => {
                tracing::error!("a Rampart extractor ran on a route without Security::install");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "security layer not installed",
                )
                    .into_response()
            }
        };
        response.extensions_mut().insert(reason);
        response
    }
}

/// Flask-Security's re-authentication answer: JSON 401 with `reauth_required`, or a redirect
/// to `/verify?next=` for browsers.
fn stale(wants_json: bool, next: &str, unified_signin: bool, wan: bool, message: &str) -> Response {
    if wants_json {
        Envelope::error(StatusCode::UNAUTHORIZED)
            .with_error(message)
            .with("reauth_required", true)
            .with("unified_signin_enabled", unified_signin)
            .with("has_webauthn_verify_credential", wan)
            .with("oauth_enabled", false)
            .with("oauth_providers", serde_json::json!([]))
            .into_response()
    } else {
        let verify = if unified_signin {
            "/us-verify"
        } else {
            "/verify"
        };
        let location = format!("{verify}?next={}", crate::redirect::quote_next(next));
        handlers::found(&location)
    }
}
