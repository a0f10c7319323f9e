//! Flask-Security's JSON conventions: when a request wants JSON, and the response envelope
//! `{"meta": {"code": N}, "response": {…}}` with its error shapes.
//!
//! # Example
//! ```
//! use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
//! use rampart::envelope::{Envelope, wants_json};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
//! assert!(wants_json(&headers));
//!
//! let body = Envelope::error(StatusCode::UNAUTHORIZED)
//!     .with_error("You must sign in to view this resource.")
//!     .to_value();
//! assert_eq!(body["meta"]["code"], 401);
//! assert_eq!(body["response"]["errors"][0], "You must sign in to view this resource.");
//! ```

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Whether a request wants a JSON answer, as Flask-Security decides it: the body is JSON
/// (`Content-Type: application/json` or `application/*+json`), or the best `Accept` entry is
/// `application/json`.
///
/// The best entry is chosen as Werkzeug does: most specific media range first, then highest
/// quality, then header order. Two deliberate differences: an entry with `q=0` (explicitly
/// refused) never counts, and parameters or letter case (`application/json; charset=utf-8`)
/// do not hide a JSON preference.
pub fn wants_json(headers: &HeaderMap) -> bool {
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_json_content_type)
    {
        return true;
    }
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_accept_entry)
        .enumerate()
        .max_by(|(ia, a), (ib, b)| {
            (a.specificity, a.quality)
                .partial_cmp(&(b.specificity, b.quality))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(ib.cmp(ia))
        })
        .is_some_and(|(_, best)| best.quality > 0.0 && best.media_type == "application/json")
}

/// `application/json` or `application/<anything>+json`, ignoring parameters and case.
pub fn is_json_content_type(value: &str) -> bool {
    let media = media_type(value);
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

struct AcceptEntry {
    media_type: String,
    specificity: u8,
    quality: f32,
}

fn parse_accept_entry(raw: &str) -> Option<AcceptEntry> {
    let media_type = media_type(raw);
    if media_type.is_empty() {
        return None;
    }
    let mut quality = 1.0_f32;
    for param in raw.split(';').skip(1) {
        if let Some((k, v)) = param.split_once('=')
            && k.trim().eq_ignore_ascii_case("q")
        {
            quality = v
                .trim()
                .parse()
                .ok()
                .filter(|q: &f32| (0.0..=1.0).contains(q))?;
        }
    }
    let specificity = media_type.split('/').filter(|p| *p != "*").count();
    Some(AcceptEntry {
        media_type,
        specificity: u8::try_from(specificity).unwrap_or(0),
        quality,
    })
}

/// A Flask-Security JSON response: `{"meta": {"code": N}, "response": {…}}`.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Envelope {
    status: StatusCode,
    response: Map<String, Value>,
    errors: Vec<String>,
    field_errors: Option<BTreeMap<String, Vec<String>>>,
}

impl Envelope {
    /// A success envelope (usually 200) with an empty `response`.
    pub fn ok(status: StatusCode) -> Self {
        Self {
            status,
            response: Map::new(),
            errors: Vec::new(),
            field_errors: None,
        }
    }

    /// An error envelope; add messages with [`Envelope::with_error`] or
    /// [`Envelope::with_field_error`].
    pub fn error(status: StatusCode) -> Self {
        Self::ok(status)
    }

    /// Adds a key to `response` (for example `csrf_token`, `user`, `tf_required`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.response.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a message to the flat `errors` list only (errors raised outside form validation:
    /// unauthenticated, forbidden, CSRF in a decorator, already authenticated).
    pub fn with_error(mut self, message: impl Into<String>) -> Self {
        self.errors.push(message.into());
        self
    }

    /// Adds a form validation error: to `field_errors[field]` and to the flat `errors` list.
    /// Form-level errors use the field `""`.
    pub fn with_field_error(mut self, field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        self.errors.push(message.clone());
        self.field_errors
            .get_or_insert_with(BTreeMap::new)
            .entry(field.to_owned())
            .or_default()
            .push(message);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The whole body as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut response = self.response.clone();
        if !self.errors.is_empty() {
            response.insert("errors".to_owned(), json!(self.errors));
        }
        if let Some(fields) = &self.field_errors {
            response.insert("field_errors".to_owned(), json!(fields));
        }
        json!({"meta": {"code": self.status.as_u16()}, "response": response})
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_value())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(content_type: Option<&str>, accept: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = content_type {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static("")),
            );
        }
        if let Some(a) = accept {
            h.insert(
                header::ACCEPT,
                HeaderValue::from_str(a).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    /// Cases checked against Werkzeug 3.1's `MIMEAccept.best` (and Flask's `is_json`), except
    /// the two documented differences marked "differs".
    #[test]
    fn json_detection_table() {
        let cases: &[(Option<&str>, Option<&str>, bool)] = &[
            (Some("application/json"), None, true),
            (Some("application/json; charset=utf-8"), None, true),
            (Some("application/vnd.api+json"), None, true),
            (Some("application/x-www-form-urlencoded"), None, false),
            (Some("text/html"), Some("application/json"), true),
            (None, Some("application/json"), true),
            (None, Some("text/html,application/json"), false),
            (None, Some("application/json;q=0.9,text/html;q=0.8"), true),
            (None, Some("*/*"), false),
            (None, Some("application/*"), false),
            (None, Some("text/*;q=0.5,application/json;q=0.4"), true),
            (None, Some("application/json, text/plain, */*"), true),
            (None, Some("text/html;q=0.9,application/json"), true),
            (None, Some("text/html;q=0.5, application/json;q=0.5"), false),
            (None, Some("application/json;q=0,text/html"), false),
            (None, Some("application/json;q=0"), false), // differs: Werkzeug's best is json
            (None, Some("APPLICATION/JSON"), true),      // differs: case-sensitive there
            (None, Some("application/json;q=abc"), false),
            (None, Some(""), false),
            (None, None, false),
        ];
        for (ct, accept, want) in cases {
            assert_eq!(
                wants_json(&headers(*ct, *accept)),
                *want,
                "{ct:?} {accept:?}"
            );
        }
    }

    #[test]
    fn envelope_shapes() {
        let ok = Envelope::ok(StatusCode::OK)
            .with("csrf_token", "t")
            .to_value();
        assert_eq!(
            ok,
            json!({"meta": {"code": 200}, "response": {"csrf_token": "t"}})
        );

        let form = Envelope::error(StatusCode::BAD_REQUEST)
            .with_field_error("password", "Invalid password")
            .with_field_error("", "Authentication failed")
            .to_value();
        assert_eq!(
            form,
            json!({"meta": {"code": 400}, "response": {
                "errors": ["Invalid password", "Authentication failed"],
                "field_errors": {"password": ["Invalid password"], "": ["Authentication failed"]}
            }})
        );

        let unauthn = Envelope::error(StatusCode::UNAUTHORIZED)
            .with_error("You must sign in to view this resource.")
            .to_value();
        assert!(unauthn["response"].get("field_errors").is_none());
    }
}
