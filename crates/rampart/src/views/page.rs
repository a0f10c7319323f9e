//! Minimal HTML answers for browsers until the template set lands: every value is escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// The login form, with errors and the CSRF field.
pub(crate) fn login_form(csrf_token: &str, email: &str, next: &str, errors: &[String]) -> Response {
    let errors: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Login</title></head>\
         <body><main><h1>Login</h1><ul class=\"errors\">{errors}</ul>\
         <form method=\"post\" action=\"\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <label>Email <input type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required></label>\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
         <label><input type=\"checkbox\" name=\"remember\" value=\"y\"> Remember me</label>\
         <button type=\"submit\">Login</button></form></main></body></html>",
        csrf = escape(csrf_token),
        next = escape(next),
        email = escape(email),
    );
    (StatusCode::OK, Html(body)).into_response()
}
