//! Entry points for the fuzz targets in `fuzz/` (hidden from the documentation; not part of
//! the public API and without any stability promise). Each wraps a crate-private parser the
//! way a request reaches it, so the targets exercise the code the server runs.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use rampart_core::signing::SecretKeys;

pub use crate::csrf::CsrfError;

/// What the views read from one field of a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldView {
    /// [`text`]: trimmed, `None` when missing, blank or not a string.
    pub text: Option<String>,
    /// [`secret`]: as typed, `None` when missing, empty or not a string.
    pub secret: Option<String>,
    /// [`flag`]: a checkbox or JSON boolean.
    pub flag: Option<bool>,
}

/// A request body as the views and the authentication layer read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyView {
    /// The views' reading (`None`: refused as a bad body, answered 400).
    pub fields: Option<Vec<(String, FieldView)>>,
    /// The authentication layer's `auth_token` (JSON bodies only).
    pub layer_auth_token: Option<String>,
    /// The authentication layer's `csrf_token` (JSON and form bodies).
    pub layer_csrf_token: Option<String>,
    /// Whether the authentication layer looked into the body at all.
    pub layer_read: bool,
}

/// Parses `body` sent with `content_type` the way every Rampart endpoint does
/// (`views::form::Fields::parse`), reading the fields named in `names`, and the way the
/// authentication layer looks for `auth_token` and `csrf_token` in it.
#[must_use]
pub fn parse_body(content_type: Option<&[u8]>, body: &[u8], names: &[&str]) -> BodyView {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type.and_then(|v| HeaderValue::from_bytes(v).ok()) {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    let bytes = Bytes::copy_from_slice(body);
    let fields = crate::views::form::Fields::parse(&headers, &bytes)
        .ok()
        .map(|f| {
            names
                .iter()
                .map(|n| {
                    let view = FieldView {
                        text: f.text(n),
                        secret: f.secret(n),
                        flag: f.flag(n),
                    };
                    ((*n).to_owned(), view)
                })
                .collect()
        });
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let is_json = ct.is_some_and(crate::envelope::is_json_content_type);
    let is_form = ct.is_some_and(|c| {
        c.get(..33)
            .is_some_and(|p| p.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    });
    let (layer_auth_token, layer_csrf_token) = if is_json || is_form {
        crate::authn::body_tokens(is_json, body)
    } else {
        (None, None)
    };
    BodyView {
        fields,
        layer_auth_token,
        layer_csrf_token,
        layer_read: is_json || is_form,
    }
}

/// The value of cookie `name` in `Cookie` header values (those that are valid header values),
/// as the session layer and every other cookie reader see it, and whether the session layer
/// would take it as a session id.
#[must_use]
pub fn cookie_value(cookie_headers: &[&[u8]], name: &str) -> (Option<String>, bool) {
    let mut headers = HeaderMap::new();
    for raw in cookie_headers {
        if let Ok(v) = HeaderValue::from_bytes(raw) {
            headers.append(header::COOKIE, v);
        }
    }
    let value = crate::session::layer::session_cookie(&headers, name);
    let is_id = value.is_some_and(|v| v.parse::<tower_sessions::session::Id>().is_ok());
    (value.map(str::to_owned), is_id)
}

/// Flask-WTF CSRF tokens signed with one key, as the CSRF checks use them.
#[derive(Debug, Clone)]
pub struct Csrf(crate::csrf::CsrfTokens);

impl Csrf {
    /// Tokens signed with `keys`.
    #[must_use]
    pub fn new(keys: SecretKeys) -> Self {
        Self(crate::csrf::CsrfTokens::new(keys))
    }

    /// The client token for the session secret `raw`.
    #[must_use]
    pub fn sign(&self, raw: &str) -> String {
        self.0.sign(raw)
    }

    /// Checks a client token against the session secret `raw`.
    ///
    /// # Errors
    /// Flask-WTF's reason for refusing it.
    pub fn check(
        &self,
        token: &str,
        raw: &str,
        max_age: Option<Duration>,
    ) -> Result<(), CsrfError> {
        self.0.check(token, raw, max_age)
    }
}
