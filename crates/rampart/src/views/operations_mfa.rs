//! The OpenAPI descriptions of the two-factor, recovery-code and unified sign-in endpoints
//! (see [`super::operations`] for the rest).

use crate::openapi::{Field, Operation, Verb, envelope_schema};

use super::operations::{CSRF, NEXT, common, envelope_with, page, signed_in, user_schema};

const TF: &str = "two-factor";
const US: &str = "unified sign-in";
const CODE: Field = Field::secret("code");
const PASSCODE: Field = Field::secret("passcode");
const METHOD: Field = Field::text("chosen_method");
const PHONE: Field = Field::text("phone");
const IDENTITY: Field = Field::text("identity");
/// The pending two-factor state of a cookie-less client (also the `X-TF-Signin-State` header).
const TF_STATE: Field = Field::text("tf_signin_state");

/// A state-changing step: its body fields, a JSON (or page) success, the common errors.
fn step(
    verb: Verb,
    path: &str,
    summary: &'static str,
    tag: &'static str,
    body: &[Field],
) -> Operation {
    let mut fields = body.to_vec();
    fields.push(CSRF);
    page(verb, path, summary, tag).body(&fields)
}

/// A step that signs the caller in: the user and, on request, an auth token.
fn signs_in(op: Operation) -> Operation {
    op.query(&[NEXT, Field::text("include_auth_token")])
        .answers_or_page(
            200,
            "Signed in, or the next step of the ceremony",
            envelope_with(user_schema()),
        )
}

pub(super) fn tf_setup_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "Two-factor methods and the current setup",
        TF,
    )
    .answers(401, "No caller and no pending sign-in", envelope_schema())
}

pub(super) fn tf_setup_post(path: &str) -> Operation {
    step(
        Verb::Post,
        path,
        "Choose (or disable) a two-factor method",
        TF,
        &[Field::text("setup"), PHONE],
    )
    .answers(401, "No caller and no pending sign-in", envelope_schema())
}

pub(super) fn tf_setup_token(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Confirm a method change with its code",
        TF,
        &[CODE],
    ))
}

pub(super) fn tf_validate_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "The code form and the recovery options",
        TF,
    )
}

pub(super) fn tf_validate_post(path: &str) -> Operation {
    signs_in(step(
        Verb::Post,
        path,
        "Check the second factor's code",
        TF,
        &[CODE, Field::flag("remember")],
    ))
}

pub(super) fn tf_rescue_get(path: &str) -> Operation {
    page(Verb::Get, path, "The rescue options", TF)
}

pub(super) fn tf_rescue_post(path: &str) -> Operation {
    step(
        Verb::Post,
        path,
        "Lost device: mail the code, ask for help, or use a recovery code",
        TF,
        &[Field::text("help_setup")],
    )
}

pub(super) fn tf_select_get(path: &str) -> Operation {
    page(Verb::Get, path, "The second factors to choose from", TF)
}

pub(super) fn tf_select_post(path: &str) -> Operation {
    step(
        Verb::Post,
        path,
        "Choose which second factor to use",
        TF,
        &[Field::text("which")],
    )
}

pub(super) fn codes_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "Recovery codes (shown once when new)",
        TF,
    ))
}

pub(super) fn codes_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Generate new recovery codes",
        TF,
        &[],
    ))
}

pub(super) fn recovery_get(path: &str) -> Operation {
    page(Verb::Get, path, "The recovery-code form", TF)
}

pub(super) fn recovery_post(path: &str) -> Operation {
    signs_in(step(
        Verb::Post,
        path,
        "Finish signing in with a recovery code",
        TF,
        &[CODE],
    ))
}

pub(super) fn us_signin_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "Unified sign-in: the methods and identity attributes",
        US,
    )
}

pub(super) fn us_signin_post(path: &str) -> Operation {
    signs_in(
        common(Operation::new(Verb::Post, path, "Sign in with any set-up method").tag(US)).body(&[
            IDENTITY,
            PASSCODE,
            METHOD,
            Field::flag("remember"),
            NEXT,
            CSRF,
        ]),
    )
    .answers(401, "Unknown identity or wrong passcode", envelope_schema())
}

pub(super) fn us_send_code(path: &str, signin: bool) -> Operation {
    let (summary, body): (&'static str, &[Field]) = if signin {
        ("Send a sign-in code", &[IDENTITY, METHOD])
    } else {
        ("Send a re-verification code", &[METHOD])
    };
    let op = step(Verb::Post, path, summary, US, body);
    if signin { op } else { signed_in(op) }
}

pub(super) fn us_setup_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "Unified sign-in methods set up and available",
        US,
    ))
}

pub(super) fn us_setup_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Set up (or delete) a sign-in method",
        US,
        &[METHOD, PHONE, Field::text("delete")],
    ))
}

pub(super) fn us_setup_token(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Confirm a new sign-in method with its passcode",
        US,
        &[PASSCODE],
    ))
}

pub(super) fn us_verify_link(path: &str) -> Operation {
    common(Operation::new(Verb::Get, path, "The emailed magic link").tag(US))
        .query(&[Field::text("id"), Field::secret("code"), NEXT])
        .answers_or_page(200, "Signed in", envelope_with(user_schema()))
        .answers(401, "Invalid or expired link", envelope_schema())
}

pub(super) fn us_verify_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "Re-verification form (freshness)",
        US,
    ))
    .query(&[NEXT])
}

pub(super) fn us_verify_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Re-verify with any set-up method",
        US,
        &[PASSCODE, METHOD, NEXT],
    ))
}

const WAN: &str = "webauthn";
const CREDENTIAL: Field = Field::text("credential");

pub(super) fn wan_script(path: &str) -> Operation {
    Operation::new(Verb::Get, path, "The WebAuthn pages' script")
        .tag(WAN)
        .answers_file(200, "JavaScript", "text/javascript")
}

pub(super) fn wan_register_get(path: &str) -> Operation {
    signed_in(page(Verb::Get, path, "The caller's passkeys", WAN))
}

pub(super) fn wan_register_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Start registering a passkey",
        WAN,
        &[Field::text("name"), Field::text("usage")],
    ))
}

pub(super) fn wan_register_state(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Finish registering a passkey",
        WAN,
        &[CREDENTIAL],
    ))
}

pub(super) fn wan_signin_get(path: &str) -> Operation {
    page(Verb::Get, path, "The passkey sign-in form", WAN)
}

pub(super) fn wan_signin_post(path: &str) -> Operation {
    step(
        Verb::Post,
        path,
        "Start a passkey sign-in (first or second factor)",
        WAN,
        &[IDENTITY, Field::flag("remember"), TF_STATE],
    )
}

pub(super) fn wan_signin_state(path: &str) -> Operation {
    signs_in(step(
        Verb::Post,
        path,
        "Finish a passkey sign-in, or the pending two-factor login",
        WAN,
        &[CREDENTIAL, Field::flag("remember"), TF_STATE],
    ))
    .answers(401, "The passkey did not verify", envelope_schema())
}

pub(super) fn wan_delete_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "The caller's passkeys (delete form)",
        WAN,
    ))
}

pub(super) fn wan_delete_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Delete a passkey by name",
        WAN,
        &[Field::text("name")],
    ))
}

pub(super) fn wan_verify_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "Re-verification with a passkey (freshness)",
        WAN,
    ))
    .query(&[NEXT])
}

pub(super) fn wan_verify_post(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Start a passkey re-verification",
        WAN,
        &[],
    ))
}

pub(super) fn wan_verify_state(path: &str) -> Operation {
    signed_in(step(
        Verb::Post,
        path,
        "Finish a passkey re-verification",
        WAN,
        &[CREDENTIAL],
    ))
}
