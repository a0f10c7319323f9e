//! Minimal WebAuthn pages until the template set lands: every value is escaped, and the only
//! script is `rampart-webauthn.js` from the static route (no inline script).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::pages::escape_html as escape;

/// A started ceremony the page hands to the script.
pub(crate) struct Ceremony<'a> {
    /// `create` (registration) or `get` (sign-in, verify).
    pub(crate) mode: &'a str,
    /// The `credential_options` JSON.
    pub(crate) options: &'a str,
    /// Where the answer is posted (`/wan-register/<state>` …).
    pub(crate) action: &'a str,
    /// Extra hidden fields (`remember`, `next`).
    pub(crate) hidden: &'a [(&'a str, &'a str)],
}

/// What every WebAuthn page has.
pub(crate) struct Frame<'a> {
    pub(crate) title: &'a str,
    pub(crate) csrf: &'a str,
    pub(crate) errors: &'a [String],
    pub(crate) script_url: &'a str,
    pub(crate) nonce: &'a str,
}

fn errors(list: &[String]) -> String {
    list.iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect()
}

fn ceremony(frame: &Frame<'_>, c: &Ceremony<'_>) -> String {
    let hidden: String = c
        .hidden
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    format!(
        "<div id=\"rampart-wan\" data-mode=\"{mode}\" data-options=\"{options}\">\
         <p class=\"wan-status\">Follow your browser's instructions to use your passkey.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"credential\" value=\"\">{hidden}</form></div>",
        mode = escape(c.mode),
        options = escape(c.options),
        action = escape(c.action),
        csrf = escape(frame.csrf),
    )
}

fn document(frame: &Frame<'_>, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <script src=\"{src}\" nonce=\"{nonce}\" defer></script></head>\
         <body><main><h1>{title}</h1><ul class=\"errors\">{errors}</ul>{body}</main></body></html>",
        title = escape(frame.title),
        src = escape(frame.script_url),
        nonce = escape(frame.nonce),
        errors = errors(frame.errors),
    );
    (StatusCode::OK, Html(html)).into_response()
}

/// A form posting `fields` (text inputs) and a submit button.
fn start_form(frame: &Frame<'_>, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">{fields}\
         <button type=\"submit\">{button}</button></form>",
        csrf = escape(frame.csrf),
        button = escape(button),
    )
}

/// `/wan-register`: the registered passkeys, the form to add one (or the running ceremony)
/// and the form to delete one.
pub(crate) fn register(
    frame: &Frame<'_>,
    creds: &[(String, String)],
    delete_url: &str,
    running: Option<&Ceremony<'_>>,
) -> Response {
    if let Some(c) = running {
        return document(frame, &ceremony(frame, c));
    }
    let list: String = creds
        .iter()
        .map(|(name, usage)| format!("<li>{} ({})</li>", escape(name), escape(usage)))
        .collect();
    let add = start_form(
        frame,
        "<label>Nickname <input type=\"text\" name=\"name\" required></label>\
         <label><input type=\"radio\" name=\"usage\" value=\"first\" checked> Use as a first authentication factor</label>\
         <label><input type=\"radio\" name=\"usage\" value=\"secondary\"> Use as a secondary authentication factor</label>",
        "Start",
    );
    let delete = format!(
        "<form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\
         <label>Nickname <input type=\"text\" name=\"name\" id=\"delete-name\" required></label>\
         <button type=\"submit\">Delete</button></form>",
        action = escape(delete_url),
        csrf = escape(frame.csrf),
    );
    document(
        frame,
        &format!(
            "<h2>Registered passkeys</h2><ul>{list}</ul><h2>Add a passkey</h2>{add}<h2>Delete a passkey</h2>{delete}"
        ),
    )
}

/// `/wan-signin` and `/wan-verify`: the start form (with an identity field for sign-in when
/// user hints are allowed) or the running ceremony.
pub(crate) fn signin(
    frame: &Frame<'_>,
    identity_field: bool,
    next: &str,
    running: Option<&Ceremony<'_>>,
) -> Response {
    if let Some(c) = running {
        return document(frame, &ceremony(frame, c));
    }
    let mut fields = format!(
        "<input type=\"hidden\" name=\"next\" value=\"{}\">",
        escape(next)
    );
    if identity_field {
        fields.push_str("<label>Email <input type=\"text\" name=\"identity\" autocomplete=\"username webauthn\"></label>\
            <label><input type=\"checkbox\" name=\"remember\" value=\"y\"> Remember me</label>");
    }
    document(frame, &start_form(frame, &fields, "Start"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    }

    #[tokio::test]
    async fn values_are_escaped_and_no_inline_script() {
        let frame = Frame {
            title: "Passkeys",
            csrf: "\"><script>x</script>",
            errors: &["<b>bad</b>".to_owned()],
            script_url: "/fs-static/rampart-webauthn.js",
            nonce: "n1",
        };
        let html = body(register(
            &frame,
            &[("<i>k</i>".to_owned(), "first".to_owned())],
            "/wan-delete",
            None,
        ))
        .await;
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("<b>bad"));
        assert!(!html.contains("<i>k"));
        assert_eq!(html.matches("<script").count(), 1, "only the static script");
        let c = Ceremony {
            mode: "create",
            options: r#"{"challenge":"a\"b"}"#,
            action: "/wan-register/t",
            hidden: &[("next", "/x\"y")],
        };
        let html = body(register(&frame, &[], "/wan-delete", Some(&c))).await;
        assert!(html.contains("data-options=\"{&quot;challenge&quot;:&quot;a\\&quot;b&quot;}\""));
        assert!(html.contains("value=\"/x&quot;y\""));
        assert!(html.contains("nonce=\"n1\""));
    }
}
