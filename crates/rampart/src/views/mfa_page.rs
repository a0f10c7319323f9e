//! The two-factor, recovery-code and unified sign-in pages: Flask-Security's templates
//! (`security/two_factor_setup.html`, `two_factor_verify_code.html`, `two_factor_select.html`,
//! `mf_recovery_codes.html`, `mf_recovery.html`, `us_signin.html`, `us_verify.html`,
//! `us_setup.html`) with their forms and variables, rendered through [`crate::pages`] (so
//! they are overridable, autoescaped, and carry the CSRF field and flashed messages).
//!
//! Each function takes the errors as `(field, message)` pairs (`Errors::pairs()`, `""` for
//! the form), so a message is shown under its input.

use axum::response::Response;
use base64::Engine as _;

use super::account::Ctx;
use crate::pages::{Field, Form, Page};

/// `(field, message)` pairs of a page's form.
pub(crate) type FieldErrors<'a> = [(&'a str, String)];

/// What the authenticator step of `/tf-setup` and `/us-setup` shows.
pub(crate) struct AuthrView<'a> {
    pub(crate) qr_svg: Option<&'a str>,
    pub(crate) key: &'a str,
    pub(crate) issuer: &'a str,
    pub(crate) username: &'a str,
}

/// Flask-Security's labels of the method choices (the value itself for an unknown one).
fn method_label(value: &str) -> &str {
    match value {
        "email" => "Set up using email",
        "authenticator" => "Set up using an authenticator app (e.g. google, lastpass, authy)",
        "sms" => "Set up using SMS",
        "disable" => "Disable two factor authentication",
        other => other,
    }
}

/// Flask-Security's labels of the rescue choices.
fn rescue_label(value: &str) -> &str {
    match value {
        "email" => "Send code via email",
        "help" => "Contact Administrator",
        "recovery_code" => "Use previously downloaded recovery code",
        other => other,
    }
}

/// A submit button with its own `id` (for a page's second form).
fn submit_as(id: &str, label: &str) -> Field {
    let mut f = Field::submit(label);
    id.clone_into(&mut f.id);
    f
}

/// A radio group of `values`, labelled by `label_of`.
fn radio(name: &str, label: &str, values: &[String], label_of: fn(&str) -> &str) -> Field {
    let choices: Vec<(&str, &str)> = values
        .iter()
        .map(|v| (v.as_str(), label_of(v.as_str())))
        .collect();
    Field::radio(name, label, &choices, None)
}

fn phone() -> Field {
    let mut f = Field::text("phone", "Phone Number", "").autocomplete("tel");
    f.kind = "tel".to_owned();
    f
}

fn errors_of<'a>(errors: &FieldErrors<'a>) -> Vec<(&'a str, String)> {
    errors.iter().map(|(f, m)| (*f, m.clone())).collect()
}

/// The authenticator values (Flask-Security's `authr_*`), the QR code as a `data:` URI (an
/// `<img>`, which the default CSP allows, rather than inline SVG).
fn with_authr(page: Page, authr: Option<&AuthrView<'_>>) -> Page {
    let Some(a) = authr else {
        return page;
    };
    let qr = a.qr_svg.map(|svg| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(svg);
        format!("data:image/svg+xml;base64,{b64}")
    });
    page.with("authr_qrcode", qr)
        .with("authr_key", a.key)
        .with("authr_issuer", a.issuer)
        .with("authr_username", a.username)
}

fn code_form(label: &str) -> Form {
    Form::new()
        .field(Field::code("code", label))
        .field(submit_as("code-submit", "Submit Code"))
}

/// `/tf-setup`: the method choice, then (after a POST) the authenticator values and the
/// code form.
pub(crate) async fn tf_setup(
    ctx: &Ctx,
    choices: &[String],
    chosen: Option<&str>,
    authr: Option<&AuthrView<'_>>,
    errors: &FieldErrors<'_>,
) -> Response {
    let mut setup = radio("setup", "Two-factor method", choices, method_label);
    setup.choices.iter_mut().for_each(|c| {
        c.checked = chosen == Some(c.value.as_str());
    });
    let form = Form::new()
        .field(setup)
        .field(phone())
        .submit("Submit")
        .errors(errors_of(errors));
    let page = Page::new("security/two_factor_setup.html")
        .form("two_factor_setup_form", &form)
        .form(
            "two_factor_verify_code_form",
            &code_form("Authentication Code"),
        )
        .with("choices", choices)
        .with("chosen_method", chosen)
        .with(
            "two_factor_required",
            ctx.sec.config().mfa.two_factor_required,
        );
    ctx.render(with_authr(page, authr)).await
}

/// `/tf-validate` and `/tf-rescue`: the code form and the rescue choices.
pub(crate) async fn tf_validate(
    ctx: &Ctx,
    method: &str,
    rescue: &[String],
    errors: &FieldErrors<'_>,
) -> Response {
    let code = code_form("Authentication Code").errors(errors_of(errors));
    let rescue_form = Form::new()
        .field(radio(
            "help_setup",
            "Lost your device? Choose how to get help:",
            rescue,
            rescue_label,
        ))
        .field(submit_as("rescue-submit", "Get Help"));
    let page = Page::new("security/two_factor_verify_code.html")
        .form("two_factor_verify_code_form", &code)
        .form("two_factor_rescue_form", &rescue_form)
        .with("chosen_method", (!method.is_empty()).then_some(method));
    ctx.render(page).await
}

fn second_factor_label(value: &str) -> &str {
    match value {
        "authenticator" => "Authenticator app",
        "email" => "Email",
        "sms" => "SMS",
        "webauthn" => "Passkey",
        other => other,
    }
}

/// `/tf-select`.
pub(crate) async fn tf_select(ctx: &Ctx, methods: &[String], errors: &FieldErrors<'_>) -> Response {
    let form = Form::new()
        .field(radio(
            "which",
            "Available Second Factor Methods:",
            methods,
            second_factor_label,
        ))
        .submit("Select")
        .errors(errors_of(errors));
    let page = Page::new("security/two_factor_select.html").form("two_factor_select_form", &form);
    ctx.render(page).await
}

/// `/mf-recovery-codes`: the new codes (shown once) and the generate button.
pub(crate) async fn recovery_codes(
    ctx: &Ctx,
    codes: &[String],
    count: usize,
    errors: &FieldErrors<'_>,
) -> Response {
    let form = Form::new()
        .submit("Generate New Recovery Codes")
        .errors(errors_of(errors));
    let page = Page::new("security/mf_recovery_codes.html")
        .form("mf_recovery_codes_form", &form)
        .with("recovery_codes", codes)
        .with("recovery_codes_count", count);
    ctx.render(page).await
}

/// `/mf-recovery`.
pub(crate) async fn recovery(ctx: &Ctx, errors: &FieldErrors<'_>) -> Response {
    let code = Field::text("code", "Recovery Code", "")
        .autocomplete("one-time-code")
        .required();
    let form = Form::new()
        .field(code)
        .submit("Submit Code")
        .errors(errors_of(errors));
    let page = Page::new("security/mf_recovery.html").form("mf_recovery_form", &form);
    ctx.render(page).await
}

fn us_code_label(value: &str) -> &str {
    match value {
        "email" => "Via email",
        "sms" => "Via SMS",
        other => other,
    }
}

/// `/us-signin`: identity, passcode, remember, and the send-code choices; `notice` is an
/// information message (a code was sent).
pub(crate) async fn us_signin(
    ctx: &Ctx,
    code_methods: &[String],
    errors: &FieldErrors<'_>,
    notice: Option<String>,
) -> Response {
    let c = ctx.sec.config();
    let form = Form::new()
        .field(
            Field::text("identity", "Identity", "")
                .autocomplete("username")
                .required(),
        )
        .field(passcode())
        .field(Field::checkbox(
            "remember",
            "Remember Me",
            c.default_remember_me,
        ))
        .field(radio(
            "chosen_method",
            "Available Methods",
            code_methods,
            us_code_label,
        ));
    let form = form.submit("Sign In").errors(errors_of(errors));
    let mut page = Page::new("security/us_signin.html")
        .form("us_signin_form", &form)
        .with(
            "available_methods",
            crate::unified_signin::enabled(&ctx.sec),
        )
        .with("code_methods", code_methods)
        .with("skip_login_menu", true);
    if let Some(n) = notice {
        page = page.message("info", n);
    }
    ctx.render(page).await
}

/// The passcode input; not `required` in the browser, because the send-code button posts
/// the same form without it.
fn passcode() -> Field {
    let mut f = Field::password("passcode", "Password or Code", "current-password");
    f.required = false;
    f
}

/// `/us-verify`: the password or a code, and the send-code choices.
pub(crate) async fn us_verify(
    ctx: &Ctx,
    email: &str,
    code_methods: &[String],
    errors: &FieldErrors<'_>,
    notice: Option<String>,
) -> Response {
    let form = Form::new()
        .field(Field::identity_email("Email Address", email).readonly())
        .field(passcode())
        .field(radio(
            "chosen_method",
            "Available Methods",
            code_methods,
            us_code_label,
        ))
        .submit("Re-Authenticate")
        .errors(errors_of(errors));
    let mut page = Page::new("security/us_verify.html")
        .form("us_verify_form", &form)
        .with("code_methods", code_methods)
        .with("skip_login_menu", true);
    if let Some(n) = notice {
        page = page.message("info", n);
    }
    ctx.render(page).await
}

/// What `/us-setup` shows after a method was chosen: the method and the signed state the
/// code is posted with.
pub(crate) struct UsPending<'a> {
    pub(crate) method: &'a str,
    pub(crate) state: &'a str,
}

/// `/us-setup`.
pub(crate) async fn us_setup(
    ctx: &Ctx,
    available: &[String],
    active: &[String],
    authr: Option<&AuthrView<'_>>,
    pending: Option<&UsPending<'_>>,
    errors: &FieldErrors<'_>,
) -> Response {
    let mut chosen = radio(
        "chosen_method",
        "Available Methods",
        available,
        method_label,
    );
    chosen.choices.iter_mut().for_each(|c| {
        c.checked = pending.is_some_and(|p| p.method == c.value);
    });
    let form = Form::new()
        .field(chosen)
        .field(phone())
        .submit("Set Up")
        .errors(errors_of(errors));
    let validate = Form::new()
        .field(Field::code("passcode", "Code"))
        .field(submit_as("validate-submit", "Submit Code"));
    let page = Page::new("security/us_setup.html")
        .form("us_setup_form", &form)
        .form("us_setup_validate_form", &validate)
        .with("setup_methods", available)
        .with("active_methods", active)
        .with("chosen_method", pending.map(|p| p.method))
        .with("state", pending.map(|p| p.state));
    ctx.render(with_authr(page, authr)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_radios() {
        assert_eq!(method_label("sms"), "Set up using SMS");
        assert_eq!(method_label("other"), "other");
        assert_eq!(rescue_label("email"), "Send code via email");
        assert_eq!(submit_as("x-submit", "Go").id, "x-submit");
        let f = radio("setup", "M", &["email".to_owned()], method_label);
        assert_eq!(f.choices[0].label, "Set up using email");
        let page = with_authr(
            Page::new("x"),
            Some(&AuthrView {
                qr_svg: Some("<svg/>"),
                key: "K",
                issuer: "I",
                username: "U",
            }),
        );
        assert_eq!(page.template(), "x");
    }
}
