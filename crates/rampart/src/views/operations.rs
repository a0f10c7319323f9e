//! The OpenAPI description of each of Rampart's endpoints ([`crate::openapi`]); `routes` in
//! the parent module mounts each handler together with its description.

use serde_json::{Value, json};

use crate::openapi::{Field, Operation, Verb, envelope_schema};

pub(super) const NEXT: Field = Field::text("next");
const INCLUDE_TOKEN: Field = Field::text("include_auth_token");
pub(super) const CSRF: Field = Field::text("csrf_token");

/// An envelope whose `response` carries `properties`.
pub(super) fn envelope_with(properties: Value) -> Value {
    let mut e = envelope_schema();
    if let (Some(target), Some(extra)) = (
        e["properties"]["response"]["properties"].as_object_mut(),
        properties.as_object(),
    ) {
        target.extend(extra.clone());
    }
    e
}

/// The answers every endpoint of the JSON API may give besides its success.
pub(super) fn common(op: Operation) -> Operation {
    op.answers_or_page(400, "Invalid input, or a CSRF failure", envelope_schema())
        .answers(
            413,
            "The body is larger than SECURITY_MAX_BODY_SIZE",
            envelope_schema(),
        )
        .answers(429, "Throttled: too many attempts", envelope_schema())
        .answers(
            503,
            "A backing service (database, mail) is unavailable",
            envelope_schema(),
        )
        .redirects(302, "Browsers (non-JSON requests) are redirected")
}

/// Endpoints for anonymous callers answer signed-in ones with 400 (JSON) or a redirect.
pub(super) fn page(verb: Verb, path: &str, summary: &'static str, tag: &'static str) -> Operation {
    common(Operation::new(verb, path, summary).tag(tag)).answers_or_page(
        200,
        "Success (JSON) or the form page (browsers)",
        envelope_schema(),
    )
}

pub(super) fn signed_in(op: Operation) -> Operation {
    op.answers(401, "Not signed in", envelope_schema())
}

pub(super) fn user_schema() -> Value {
    json!({"user": {"type": "object"}, "authentication_token": {"type": "string"}})
}

pub(super) fn login_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "The login form, or the CSRF token for JSON clients",
        "authentication",
    )
    .query(&[NEXT])
}

pub(super) fn login_post(path: &str) -> Operation {
    common(Operation::new(
        Verb::Post,
        path,
        "Sign in with email (or username) and password",
    ))
    .tag("authentication")
    .query(&[NEXT, INCLUDE_TOKEN])
    .body(&[
        Field::text("email"),
        Field::text("username"),
        Field::secret("password"),
        Field::flag("remember"),
        NEXT,
        CSRF,
    ])
    .answers_or_page(
        200,
        "Signed in: the user and, on request, an auth token",
        envelope_with(user_schema()),
    )
    .answers(
        401,
        "Unknown user, wrong password or disabled account (generic responses)",
        envelope_schema(),
    )
}

pub(super) fn logout_post(path: &str) -> Operation {
    Operation::new(Verb::Post, path, "Sign out")
        .tag("authentication")
        .query(&[NEXT])
        .body(&[NEXT, CSRF])
        .answers(200, "Signed out (or was not signed in)", envelope_schema())
        .answers(
            400,
            "CSRF failure (SECURITY_LOGOUT_CSRF)",
            envelope_schema(),
        )
        .answers(413, "The body is too large", envelope_schema())
        .redirects(302, "Browsers are redirected to SECURITY_POST_LOGOUT_VIEW")
}

pub(super) fn verify_get(path: &str) -> Operation {
    signed_in(page(
        Verb::Get,
        path,
        "Re-authentication form (freshness)",
        "authentication",
    ))
    .query(&[NEXT])
}

pub(super) fn verify_post(path: &str) -> Operation {
    signed_in(common(Operation::new(
        Verb::Post,
        path,
        "Re-authenticate with the password",
    )))
    .tag("authentication")
    .query(&[NEXT, INCLUDE_TOKEN])
    .body(&[Field::secret("password").required(), NEXT, CSRF])
    .answers(200, "Fresh again", envelope_with(user_schema()))
}

pub(super) fn register_get(path: &str) -> Operation {
    page(Verb::Get, path, "The registration form", "account")
}

pub(super) fn register_post(path: &str) -> Operation {
    page(Verb::Post, path, "Register a new account", "account")
        .query(&[NEXT, INCLUDE_TOKEN])
        .body(&[
            Field::text("email").required(),
            Field::text("username"),
            Field::secret("password").required(),
            Field::secret("password_confirm"),
            NEXT,
            CSRF,
        ])
}

pub(super) fn confirm_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "The form to send the confirmation link again",
        "account",
    )
}

pub(super) fn confirm_post(path: &str) -> Operation {
    page(
        Verb::Post,
        path,
        "Send the confirmation link again",
        "account",
    )
    .body(&[Field::text("email").required(), CSRF])
}

pub(super) fn confirm_token(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "Confirm the email address with the emailed token",
        "account",
    )
    .answers(404, "Unknown endpoint variant", envelope_schema())
}

pub(super) fn reset_get(path: &str) -> Operation {
    page(Verb::Get, path, "The forgot-password form", "account")
}

pub(super) fn reset_post(path: &str) -> Operation {
    page(Verb::Post, path, "Email a password reset link", "account")
        .body(&[Field::text("email").required(), CSRF])
}

pub(super) fn reset_token_get(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "Check a reset token (the emailed link)",
        "account",
    )
}

pub(super) fn reset_token_post(path: &str) -> Operation {
    page(
        Verb::Post,
        path,
        "Set a new password with a reset token",
        "account",
    )
    .query(&[INCLUDE_TOKEN])
    .body(&[
        Field::secret("password").required(),
        Field::secret("password_confirm"),
        CSRF,
    ])
}

pub(super) fn change_get(path: &str) -> Operation {
    signed_in(page(Verb::Get, path, "The change-password form", "account"))
}

pub(super) fn change_post(path: &str) -> Operation {
    signed_in(page(Verb::Post, path, "Change the password", "account"))
        .query(&[INCLUDE_TOKEN])
        .body(&[
            Field::secret("password").required(),
            Field::secret("new_password").required(),
            Field::secret("new_password_confirm"),
            CSRF,
        ])
}

pub(super) fn change_username_get(path: &str) -> Operation {
    signed_in(page(Verb::Get, path, "The change-username form", "account"))
}

pub(super) fn change_username_post(path: &str) -> Operation {
    signed_in(page(Verb::Post, path, "Change the username", "account"))
        .body(&[Field::text("username").required(), CSRF])
}

pub(super) fn change_email_get(path: &str) -> Operation {
    signed_in(page(Verb::Get, path, "The change-email form", "account"))
}

pub(super) fn change_email_post(path: &str) -> Operation {
    signed_in(page(
        Verb::Post,
        path,
        "Ask to change the email (a link goes to the new address)",
        "account",
    ))
    .body(&[Field::text("email").required(), CSRF])
}

pub(super) fn change_email_token(path: &str) -> Operation {
    page(
        Verb::Get,
        path,
        "Confirm the new email address with the emailed token",
        "account",
    )
}
