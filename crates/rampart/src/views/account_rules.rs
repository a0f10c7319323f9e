//! Field rules shared by the account forms, in Flask-Security's order and with its messages.

use rampart_core::model::User;

use super::account::{Ctx, Errors};
use super::form::Fields;
use crate::security::Security;

/// `email`: required (`EMAIL_NOT_PROVIDED`), then syntax (`INVALID_EMAIL_ADDRESS`); the
/// normalized address when both pass.
pub(crate) fn email(
    ctx: &Ctx,
    f: &Fields,
    field: &'static str,
    errors: &mut Errors,
) -> Option<String> {
    let Some(raw) = f.text(field) else {
        errors.add(field, ctx.msg("EMAIL_NOT_PROVIDED"));
        return None;
    };
    let normalized = crate::accounts::normalize_email(&raw);
    if normalized.is_none() {
        errors.add(field, ctx.msg("INVALID_EMAIL_ADDRESS"));
    }
    normalized
}

/// A new password and its confirmation as Flask-Security checks them: "required" on both
/// (a missing confirmation is `PASSWORD_NOT_PROVIDED`), `RETYPE_PASSWORD_MISMATCH` when they
/// differ, then the password policy (length, breached, complexity) on the new
/// password with `inputs` (email, username) as zxcvbn user inputs.
pub(crate) async fn new_password(
    ctx: &Ctx,
    f: &Fields,
    (field, confirm): (&'static str, Option<&'static str>),
    inputs: &[&str],
    errors: &mut Errors,
) -> Option<String> {
    let password = f.secret(field);
    if password.is_none() {
        errors.add(field, ctx.msg("PASSWORD_NOT_PROVIDED"));
    }
    if let Some(confirm) = confirm {
        let again = f.secret(confirm);
        if again.is_none() {
            errors.add(confirm, ctx.msg("PASSWORD_NOT_PROVIDED"));
        } else if again != password {
            errors.add(confirm, ctx.msg("RETYPE_PASSWORD_MISMATCH"));
        }
    }
    let password = password?;
    if let Err(issues) = ctx.sec.passwords().validate(&password, inputs).await {
        for issue in issues {
            errors.add(field, issue.message);
        }
        return None;
    }
    Some(password)
}

/// A username: NFKD, length within the configured bounds, letters and digits only.
pub(crate) fn username(ctx: &Ctx, raw: &str) -> Result<String, String> {
    use unicode_normalization::UnicodeNormalization;
    let c = ctx.sec.config();
    let name: String = raw.trim().nfkd().collect();
    let n = name.chars().count();
    let (min, max) = (c.username_min_length, c.username_max_length);
    if n < min || n > max {
        return Err(ctx.msg_with(
            "USERNAME_INVALID_LENGTH",
            &[("min", &min.to_string()), ("max", &max.to_string())],
        ));
    }
    if !name.chars().all(char::is_alphanumeric) {
        return Err(ctx.msg("USERNAME_DISALLOWED_CHARACTERS"));
    }
    Ok(name)
}

/// Flask-Security's `requires_confirmation`.
pub(crate) fn requires_confirmation(sec: &Security, user: &User) -> bool {
    let c = sec.config();
    c.confirmable && !c.login_without_confirmation && !user.is_confirmed()
}

/// A `next` that fails the open-redirect rules (`INVALID_REDIRECT` on `next`).
pub(crate) fn next(ctx: &Ctx, f: &Fields, errors: &mut Errors) -> Option<String> {
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned())?;
    if crate::redirect::allowed(&ctx.sec, &ctx.headers, &next) {
        Some(next)
    } else {
        errors.add("next", ctx.msg("INVALID_REDIRECT"));
        None
    }
}
