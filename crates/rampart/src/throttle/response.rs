//! The `429 Too Many Requests` answer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::envelope::Envelope;

/// The message of a throttled attempt (Flask-Security has none: it leaves throttling to
/// Flask-Limiter). The same text whatever the account, so it tells nothing about it.
pub const THROTTLED_MESSAGE: &str = "Too many attempts. Please wait and try again later.";

/// `429` with `Retry-After` and the JSON envelope `{"meta": {"code": 429}, "response":
/// {"errors": [THROTTLED_MESSAGE]}}`.
pub fn throttled_json(retry_after: std::time::Duration) -> Response {
    let mut response = Envelope::error(StatusCode::TOO_MANY_REQUESTS)
        .with_error(THROTTLED_MESSAGE)
        .into_response();
    set_retry_after(&mut response, retry_after);
    response
}

/// Sets `Retry-After` (whole seconds, at least 1) and the 429 status on a response, e.g. a
/// re-rendered form.
pub(crate) fn mark_throttled(response: &mut Response, retry_after: std::time::Duration) {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    set_retry_after(response, retry_after);
}

fn set_retry_after(response: &mut Response, retry_after: std::time::Duration) {
    let secs = retry_after.as_secs().max(1);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}
