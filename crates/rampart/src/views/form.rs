//! Request bodies: a JSON object or an HTML form with the same field names (Flask-Security
//! wraps both in a MultiDict).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// The submitted fields.
#[derive(Debug, Default)]
pub(crate) struct Fields(HashMap<String, Value>);

/// The body is neither a JSON object nor a form.
#[derive(Debug)]
pub(crate) struct BadBody;

impl Fields {
    /// Parses a JSON object (JSON content type) or a form-encoded body (anything else).
    pub(crate) fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self, BadBody> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(crate::envelope::is_json_content_type);
        if is_json {
            if body.is_empty() {
                return Ok(Self::default());
            }
            return match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => Ok(Self(map.into_iter().collect())),
                _ => Err(BadBody),
            };
        }
        // A repeated field counts by its first value, as WTForms (and the CSRF token lookup
        // of the authentication layer) read it.
        let mut fields = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            fields
                .entry(k.into_owned())
                .or_insert_with(|| Value::String(v.into_owned()));
        }
        Ok(Self(fields))
    }

    /// A text field, trimmed; `None` when missing, empty or not a string.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        }
    }

    /// A list field: a JSON array of strings, or one string (a form value); empty when
    /// missing.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            Some(Value::String(s)) if !s.trim().is_empty() => vec![s.trim().to_owned()],
            _ => Vec::new(),
        }
    }

    /// A field's raw value (a JSON client may send an object where a form sends text).
    pub(crate) fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A password field: kept as typed (no trimming), `None` when missing or empty.
    pub(crate) fn secret(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// A checkbox or JSON boolean (`true`, `"y"`, `"on"`, `"true"`, `"1"`).
    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        match self.0.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => Some(matches!(
                s.to_ascii_lowercase().as_str(),
                "y" | "yes" | "on" | "true" | "1"
            )),
            Value::Null => None,
            _ => Some(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_and_form_bodies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let f = Fields::parse(
            &h,
            &Bytes::from_static(br#"{"email":" a@b.c ","password":" pw ","remember":true}"#),
        );
        let f = f.unwrap_or_default();
        assert_eq!(f.text("email").as_deref(), Some("a@b.c"));
        assert_eq!(f.secret("password").as_deref(), Some(" pw "));
        assert_eq!(f.flag("remember"), Some(true));
        assert!(Fields::parse(&h, &Bytes::from_static(b"[1]")).is_err());
        assert!(Fields::parse(&h, &Bytes::from_static(b"{bad")).is_err());
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let f =
            Fields::parse(&h, &Bytes::from_static(b"email=x%40y.z&remember=y")).unwrap_or_default();
        assert_eq!(f.text("email").as_deref(), Some("x@y.z"));
        assert_eq!(f.flag("remember"), Some(true));
        assert_eq!(f.text("missing"), None);
        // A repeated field: the first value, as WTForms and the CSRF lookup read it.
        let f = Fields::parse(
            &h,
            &Bytes::from_static(b"email=first%40x.y&email=second%40x.y"),
        )
        .unwrap_or_default();
        assert_eq!(f.text("email").as_deref(), Some("first@x.y"));
    }
}
