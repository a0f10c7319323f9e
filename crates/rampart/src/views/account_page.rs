//! Minimal HTML forms of the account-lifecycle endpoints (until the template set lands):
//! every value is escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::page::escape;

/// One input of a form.
pub(crate) struct Input<'a> {
    pub(crate) name: &'a str,
    pub(crate) label: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) value: &'a str,
    pub(crate) autocomplete: &'a str,
}

impl<'a> Input<'a> {
    pub(crate) const fn email(value: &'a str) -> Self {
        Self {
            name: "email",
            label: "Email",
            kind: "email",
            value,
            autocomplete: "email",
        }
    }

    pub(crate) const fn password(name: &'a str, label: &'a str, autocomplete: &'a str) -> Self {
        Self {
            name,
            label,
            kind: "password",
            value: "",
            autocomplete,
        }
    }
}

/// A page with a message list and a form posting to the same URL.
pub(crate) fn form(
    title: &str,
    csrf_token: &str,
    inputs: &[Input<'_>],
    errors: &[String],
    info: &[String],
) -> Response {
    let list = |items: &[String], class: &str| -> String {
        if items.is_empty() {
            return String::new();
        }
        let li: String = items
            .iter()
            .map(|e| format!("<li>{}</li>", escape(e)))
            .collect();
        format!("<ul class=\"{class}\">{li}</ul>")
    };
    let fields: String = inputs
        .iter()
        .map(|i| {
            format!(
                "<label>{label} <input type=\"{kind}\" name=\"{name}\" value=\"{value}\" autocomplete=\"{ac}\"></label>",
                label = escape(i.label),
                kind = escape(i.kind),
                name = escape(i.name),
                value = escape(i.value),
                ac = escape(i.autocomplete),
            )
        })
        .collect();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1>{errors}{info}\
         <form method=\"post\" action=\"\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">{fields}\
         <button type=\"submit\">{title}</button></form></main></body></html>",
        title = escape(title),
        errors = list(errors, "errors"),
        info = list(info, "info"),
        csrf = escape(csrf_token),
    );
    (StatusCode::OK, Html(body)).into_response()
}
