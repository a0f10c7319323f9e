//! The WebAuthn pages: Flask-Security's templates `security/wan_register.html` (also the page
//! of `GET /wan-delete`), `wan_signin.html` and `wan_verify.html`, rendered through
//! [`crate::pages`]. The only script is `rampart-webauthn.js` from the static route; a running
//! ceremony hands it `credential_options` in a `data-options` attribute (no inline script).

use axum::response::Response;
use serde_json::Value;

use super::account::Ctx;
use crate::pages::{Field, Form, Page};

/// A started ceremony the page hands to the script.
pub(crate) struct Ceremony<'a> {
    /// The `credential_options` JSON.
    pub(crate) options: &'a str,
    /// The signed `wan_state` the answer is posted with (`/wan-register/<state>` …).
    pub(crate) state: &'a str,
    /// Extra hidden fields of the answer (`remember`, `next`).
    pub(crate) hidden: &'a [(&'a str, &'a str)],
}

/// Form-level errors (the WebAuthn views hand over messages only).
fn with_errors(form: Form, errors: &[String]) -> Form {
    form.errors(errors.iter().map(|m| ("", m.clone())))
}

fn response_form(c: &Ceremony<'_>) -> Form {
    c.hidden
        .iter()
        .fold(Form::new(), |f, (k, v)| f.field(Field::hidden(k, v)))
}

fn with_ceremony(page: Page, name: &str, running: Option<&Ceremony<'_>>) -> Page {
    match running {
        Some(c) => page
            .with("credential_options", c.options)
            .with("wan_state", c.state)
            .form(name, &response_form(c)),
        None => page,
    }
}

/// `/wan-register`: the registered passkeys (`listing`, as `registered_credentials` of the JSON
/// answer), the form to add one (or the running ceremony) and the form to delete one.
pub(crate) async fn register(
    ctx: &Ctx,
    listing: &Value,
    errors: &[String],
    running: Option<&Ceremony<'_>>,
) -> Response {
    let mut form = Form::new().field(Field::text("name", "Nickname", "").required());
    if ctx.sec.config().wan.allow_as_first_factor {
        form = form.field(Field::radio(
            "usage",
            "Usage",
            &[
                ("first", "Use as a first authentication factor"),
                ("secondary", "Use as a secondary authentication factor"),
            ],
            Some("first"),
        ));
    }
    let form = with_errors(form.submit("Start"), errors);
    let mut name = Field::text("name", "Nickname", "").required();
    "delete-name".clone_into(&mut name.id);
    let mut submit = Field::submit("Delete");
    "delete-submit".clone_into(&mut submit.id);
    let delete = Form::new().field(name).field(submit);
    let page = Page::new("security/wan_register.html")
        .form("wan_register_form", &form)
        .form("wan_delete_form", &delete)
        .with("registered_credentials", listing);
    let page = with_ceremony(page, "wan_register_response_form", running);
    ctx.render(page).await
}

/// `/wan-signin`: the start form (an identity field when user hints are allowed and the
/// passkey is a first factor) or the running ceremony.
pub(crate) async fn signin(
    ctx: &Ctx,
    secondary: bool,
    next: &str,
    errors: &[String],
    running: Option<&Ceremony<'_>>,
) -> Response {
    let c = ctx.sec.config();
    let mut form = Form::new();
    if c.wan.allow_user_hints && !secondary {
        form = form
            .field(Field::text("identity", "Email Address", "").autocomplete("username webauthn"))
            .field(Field::checkbox(
                "remember",
                "Remember Me",
                c.default_remember_me,
            ));
    }
    if !next.is_empty() {
        form = form.field(Field::hidden("next", next));
    }
    let form = with_errors(form.submit("Sign in with a passkey"), errors);
    let page = Page::new("security/wan_signin.html")
        .form("wan_signin_form", &form)
        .with("is_secondary", secondary);
    let page = with_ceremony(page, "wan_signin_response_form", running);
    ctx.render(page).await
}

/// `/wan-verify`: the start form or the running ceremony.
pub(crate) async fn verify(
    ctx: &Ctx,
    next: &str,
    errors: &[String],
    running: Option<&Ceremony<'_>>,
) -> Response {
    let mut form = Form::new();
    if !next.is_empty() {
        form = form.field(Field::hidden("next", next));
    }
    let form = with_errors(form.submit("Use a Passkey"), errors);
    let page = Page::new("security/wan_verify.html").form("wan_verify_form", &form);
    let page = with_ceremony(page, "wan_verify_response_form", running);
    ctx.render(page).await
}
