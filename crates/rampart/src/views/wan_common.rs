//! What the WebAuthn views share: the relying party, parsing the browser's `credential`,
//! opening and claiming `wan_state` tokens, the credential list and the answers.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use rampart_core::model::{User, WebAuthnCredential};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::form::Fields;
use crate::webauthn::{Kind, StateProblem, WanState, WebAuthn};

/// The relying party (the routes exist only when it is set up; 404 otherwise).
pub(crate) fn relying_party(ctx: &Ctx) -> Result<Arc<WebAuthn>, axum::http::StatusCode> {
    ctx.sec
        .inner
        .webauthn
        .clone()
        .ok_or(axum::http::StatusCode::NOT_FOUND)
}

/// What every WebAuthn POST starts with: the relying party (404 when WebAuthn is off) and
/// the form or JSON fields of `body`.
pub(crate) async fn ceremony_input(
    ctx: &Ctx,
    body: axum::body::Body,
) -> Result<(Arc<WebAuthn>, Fields), Response> {
    let wan = relying_party(ctx).map_err(axum::response::IntoResponse::into_response)?;
    Ok((wan, account::fields(ctx, body).await?))
}

/// The `credential` field: a JSON string (Flask-Security's JavaScript sends
/// `JSON.stringify(credential)`) or, from JSON clients, the object itself. `None` when it is
/// missing or is not a credential of the expected shape.
pub(crate) fn credential<T: DeserializeOwned>(f: &Fields) -> Option<(T, Value)> {
    let raw = match f.value("credential")? {
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?,
        v @ Value::Object(_) => v.clone(),
        _ => return None,
    };
    let parsed = serde_json::from_value(raw.clone()).ok()?;
    Some((parsed, raw))
}

/// The client extension results of a raw credential, as Flask-Security stores them (a JSON
/// string, e.g. `{"credProps": {"rk": true}}`).
pub(crate) fn client_extensions(raw: &Value) -> Option<String> {
    let ext = raw
        .get("clientExtensionResults")
        .or_else(|| raw.get("extensions"))?;
    match ext {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if !m.is_empty() => Some(ext.to_string()),
        _ => None,
    }
}

/// Opens `token` as a state of `kind` and claims it: at most one request ever gets a given
/// state back. A state that fails here is spent all the same.
pub(crate) async fn claim(
    ctx: &Ctx,
    wan: &WebAuthn,
    token: &str,
    kind: Kind,
    within_secs: i64,
) -> Result<WanState, StateProblem> {
    let within = Duration::from_secs(u64::try_from(within_secs).unwrap_or(60));
    let state = wan.states.open(token, kind, within)?;
    match ctx
        .sec
        .throttle()
        .claim_once(&format!("wan:{}", state.nonce), within)
        .await
    {
        Ok(true) => Ok(state),
        Ok(false) => {
            tracing::warn!(kind = ?kind, "a WebAuthn state was used twice; refused");
            Err(StateProblem::Expired)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot claim a WebAuthn state");
            Err(StateProblem::Expired)
        }
    }
}

/// The message of a state problem.
pub(crate) fn state_message(ctx: &Ctx, problem: StateProblem, within_secs: i64) -> String {
    match problem {
        StateProblem::Invalid => ctx.msg("API_ERROR"),
        StateProblem::Expired => ctx.msg_with(
            "WEBAUTHN_EXPIRED",
            &[("within", &crate::lifecycle::format_within(within_secs))],
        ),
    }
}

/// `WEBAUTHN_NO_VERIFY` with its cause.
pub(crate) fn no_verify(ctx: &Ctx, cause: &str) -> String {
    ctx.msg_with("WEBAUTHN_NO_VERIFY", &[("cause", cause)])
}

/// A 400 with the errors for JSON clients; browsers get `page` with the messages.
pub(crate) async fn refuse<F, Fut>(ctx: &Ctx, errors: Errors, page: F) -> Response
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    tracing::info!(
        fields = ?errors.0.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        "WebAuthn request refused"
    );
    if ctx.json {
        return errors.into_json();
    }
    page(errors.messages()).await
}

/// One error.
pub(crate) fn one(field: &'static str, message: String) -> Errors {
    let mut e = Errors::default();
    e.add(field, message);
    e
}

/// `registered_credentials[]` as Flask-Security lists them.
pub(crate) fn listing(creds: &[WebAuthnCredential]) -> Value {
    let list: Vec<Value> = creds
        .iter()
        .map(|c| {
            let discoverable = c
                .extensions
                .as_deref()
                .and_then(|e| serde_json::from_str::<Value>(e).ok())
                .and_then(|e| e.get("credProps").and_then(|p| p.get("rk")).cloned())
                .unwrap_or_else(|| json!("Unknown"));
            json!({
                "name": c.name,
                "credential_id": b64url(&c.credential_id),
                "transports": c.transports,
                "lastuse": iso(c.lastuse_datetime),
                "usage": c.usage,
                "backup_state": c.backup_state,
                "device_type": c.device_type,
                "discoverable": discoverable,
            })
        })
        .collect();
    Value::Array(list)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Python's `datetime.isoformat()` of a naive datetime.
fn iso(t: time::PrimitiveDateTime) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => base,
        us => format!("{base}.{us:06}"),
    }
}

/// The user's credentials usable for `usages`.
pub(crate) async fn usable(
    ctx: &Ctx,
    user: &User,
    usages: &[&str],
) -> Result<Vec<WebAuthnCredential>, Response> {
    let all = ctx
        .sec
        .store()
        .webauthn_of(user.id)
        .await
        .map_err(account::backend)?;
    Ok(all
        .into_iter()
        .filter(|c| usages.contains(&c.usage.as_str()))
        .collect())
}

/// The value of a `remember` field, or `SECURITY_DEFAULT_REMEMBER_ME`.
pub(crate) fn remember(ctx: &Ctx, f: &Fields) -> bool {
    f.flag("remember")
        .unwrap_or(ctx.sec.config().default_remember_me)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_like_python() {
        let t = time::macros::datetime!(2024-11-23 05:47:58);
        assert_eq!(iso(t), "2024-11-23T05:47:58");
        let t = time::macros::datetime!(2024-11-23 05:47:58.000123);
        assert_eq!(iso(t), "2024-11-23T05:47:58.000123");
    }

    #[test]
    fn credential_field_as_string_or_object() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        let body = axum::body::Bytes::from_static(br#"{"credential": "{\"a\": 1}"}"#);
        let f = Fields::parse(&h, &body).unwrap_or_default();
        let got: Option<(Value, Value)> = credential(&f);
        assert_eq!(got.map(|(v, _)| v), Some(json!({"a": 1})));
        let body = axum::body::Bytes::from_static(br#"{"credential": {"a": 2}}"#);
        let f = Fields::parse(&h, &body).unwrap_or_default();
        let got: Option<(Value, Value)> = credential(&f);
        assert_eq!(got.map(|(v, _)| v), Some(json!({"a": 2})));
        let body = axum::body::Bytes::from_static(br#"{"credential": 5}"#);
        let f = Fields::parse(&h, &body).unwrap_or_default();
        assert!(credential::<Value>(&f).is_none());
        assert_eq!(
            client_extensions(&json!({"clientExtensionResults": {"credProps": {"rk": true}}})),
            Some(r#"{"credProps":{"rk":true}}"#.to_owned())
        );
    }
}
