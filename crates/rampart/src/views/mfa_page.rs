//! Minimal HTML for the two-factor, recovery-code and unified sign-in pages until the
//! template set lands: one small function per page, every value escaped.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::pages::escape_html as escape;

fn errors_html(errors: &[String]) -> String {
    errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect()
}

fn page(title: &str, errors: &[String], body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><main><h1>{t}</h1><ul class=\"errors\">{e}</ul>{body}</main></body></html>",
        t = escape(title),
        e = errors_html(errors),
    );
    (StatusCode::OK, Html(html)).into_response()
}

fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf_token\" value=\"{}\">",
        escape(csrf)
    )
}

fn radios(name: &str, choices: &[String]) -> String {
    choices
        .iter()
        .map(|c| {
            format!(
                "<label><input type=\"radio\" name=\"{n}\" value=\"{v}\"> {v}</label>",
                n = escape(name),
                v = escape(c)
            )
        })
        .collect()
}

/// What the authenticator step of `/tf-setup` and `/us-setup` shows.
pub(crate) struct AuthrView<'a> {
    pub(crate) qr_svg: Option<&'a str>,
    pub(crate) key: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) username: &'a str,
}

fn authr_html(a: &AuthrView<'_>) -> String {
    // The SVG comes from the qrcode crate (no user text inside but the otpauth URI, which it
    // encodes as modules, not text).
    format!(
        "<div class=\"qrcode\">{qr}</div><p>Key: <code>{k}</code> ({i}, {u})</p>",
        qr = a.qr_svg.unwrap_or(""),
        k = escape(a.key),
        i = escape(a.issuer),
        u = escape(a.username),
    )
}

/// `/tf-setup`: the method choice, then (after a POST) the code form.
pub(crate) fn tf_setup(
    csrf: &str,
    choices: &[String],
    chosen: Option<&str>,
    authr: Option<&AuthrView<'_>>,
    code_action: &str,
    errors: &[String],
) -> Response {
    let mut body = format!(
        "<form method=\"post\" action=\"\">{c}{r}\
         <label>Phone <input type=\"tel\" name=\"phone\" autocomplete=\"tel\"></label>\
         <button type=\"submit\">Set up</button></form>",
        c = csrf_field(csrf),
        r = radios("setup", choices),
    );
    if let Some(m) = chosen {
        body.push_str(&format!("<p>Chosen method: {}</p>", escape(m)));
        if let Some(a) = authr {
            body.push_str(&authr_html(a));
        }
        body.push_str(&code_form(csrf, code_action, "code"));
    }
    page("Two-factor setup", errors, &body)
}

fn code_form(csrf: &str, action: &str, field: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{a}\">{c}\
         <label>Code <input type=\"text\" name=\"{f}\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required></label>\
         <button type=\"submit\">Submit code</button></form>",
        a = escape(action),
        c = csrf_field(csrf),
        f = escape(field),
    )
}

/// `/tf-validate` and `/tf-rescue`: the code form and the rescue choices.
pub(crate) fn tf_validate(
    csrf: &str,
    method: &str,
    rescue_action: &str,
    rescue: &[String],
    errors: &[String],
) -> Response {
    let body = format!(
        "<p>Method: {m}</p>{code}<form method=\"post\" action=\"{ra}\">{c}{r}\
         <button type=\"submit\">Get help</button></form>",
        m = escape(method),
        code = code_form(csrf, "", "code"),
        ra = escape(rescue_action),
        c = csrf_field(csrf),
        r = radios("help_setup", rescue),
    );
    page("Two-factor code", errors, &body)
}

/// `/tf-select`.
pub(crate) fn tf_select(csrf: &str, methods: &[String], errors: &[String]) -> Response {
    let body = format!(
        "<form method=\"post\" action=\"\">{c}{r}<button type=\"submit\">Select</button></form>",
        c = csrf_field(csrf),
        r = radios("which", methods),
    );
    page("Choose a second factor", errors, &body)
}

/// `/mf-recovery-codes`: the new codes (shown once) and the generate button.
pub(crate) fn recovery_codes(
    csrf: &str,
    codes: &[String],
    count: usize,
    errors: &[String],
) -> Response {
    let list: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", escape(c)))
        .collect();
    let body = format!(
        "<p>{count} unused recovery codes.</p><ul class=\"codes\">{list}</ul>\
         <form method=\"post\" action=\"\">{c}<button type=\"submit\">Generate new recovery codes</button></form>",
        c = csrf_field(csrf),
    );
    page("Recovery codes", errors, &body)
}

/// `/mf-recovery`.
pub(crate) fn recovery(csrf: &str, errors: &[String]) -> Response {
    page("Use a recovery code", errors, &code_form(csrf, "", "code"))
}

/// `/us-signin` and `/us-verify`: identity (sign-in only), passcode, send-code choices.
pub(crate) fn us_form(
    title: &str,
    csrf: &str,
    with_identity: bool,
    send_action: &str,
    code_methods: &[String],
    errors: &[String],
) -> Response {
    let identity = if with_identity {
        "<label>Identity <input type=\"text\" name=\"identity\" autocomplete=\"username\" required></label>"
    } else {
        ""
    };
    let body = format!(
        "<form method=\"post\" action=\"\">{c}{identity}\
         <label>Passcode <input type=\"password\" name=\"passcode\" autocomplete=\"one-time-code\"></label>\
         <label><input type=\"checkbox\" name=\"remember\" value=\"y\"> Remember me</label>\
         <button type=\"submit\">Sign in</button></form>\
         <form method=\"post\" action=\"{sa}\">{c}{identity}{r}<button type=\"submit\">Send code</button></form>",
        c = csrf_field(csrf),
        sa = escape(send_action),
        r = radios("chosen_method", code_methods),
    );
    page(title, errors, &body)
}

/// `/us-setup`.
pub(crate) fn us_setup(
    csrf: &str,
    available: &[String],
    active: &[String],
    authr: Option<&AuthrView<'_>>,
    code_action: Option<&str>,
    errors: &[String],
) -> Response {
    let active: String = active
        .iter()
        .map(|m| format!("<li>{}</li>", escape(m)))
        .collect();
    let mut body = format!(
        "<p>Active methods:</p><ul>{active}</ul><form method=\"post\" action=\"\">{c}{r}\
         <label>Phone <input type=\"tel\" name=\"phone\" autocomplete=\"tel\"></label>\
         <button type=\"submit\">Set up</button></form>",
        c = csrf_field(csrf),
        r = radios("chosen_method", available),
    );
    if let Some(a) = authr {
        body.push_str(&authr_html(a));
    }
    if let Some(action) = code_action {
        body.push_str(&code_form(csrf, action, "passcode"));
    }
    page("Sign-in options", errors, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&b).into_owned()
    }

    #[tokio::test]
    async fn values_are_escaped() {
        let evil = "<script>x</script>\"";
        let t = text(tf_select(evil, &[evil.to_owned()], &[evil.to_owned()])).await;
        assert!(!t.contains("<script>"), "{t}");
        assert!(t.contains("&lt;script&gt;"), "{t}");
        let t = text(recovery_codes(evil, &[evil.to_owned()], 1, &[])).await;
        assert!(!t.contains("<script>"), "{t}");
    }
}
