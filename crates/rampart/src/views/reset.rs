//! `/reset` (ask for a reset link) and `/reset/<token>` (the form behind the link),
//! `SECURITY_RECOVERABLE`.
//!
//! Reset tokens are bound to the password hash they were issued for and the password change
//! rotates `fs_uniquifier`, so a token works once. A reset never signs a user in unless
//! `SECURITY_AUTO_LOGIN_AFTER_RESET` asks for it, and never a user with two-factor set up.

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart_core::model::{User, new_uniquifier};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use super::form::Fields;
use crate::envelope::Envelope;
use crate::events::Event;
use crate::lifecycle::links::LinkStatus;
use crate::lifecycle::{SendError, format_within, user_context, within};
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};
use crate::security::handlers;

/// A user that exists nowhere, for the equal-work paths of generic responses.
pub(crate) fn dummy_user() -> User {
    let t = rampart_core::model::naive_utcnow();
    User {
        password: Some("$argon2id$v=19$m=65536,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()),
        ..User::detached(0, "nobody@example.invalid", "00000000000000000000000000000000", t)
    }
}

/// `GET /reset`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return account::json_ok(&ctx, vec![]).await;
    }
    let email = ctx
        .current
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default();
    page(&ctx, &email, &Errors::default(), None).await
}

/// `security/forgot_password.html` with the form `forgot_password_form` and an optional
/// success message.
async fn page(ctx: &Ctx, email: &str, errors: &Errors, sent: Option<String>) -> Response {
    let form = Form::new()
        .field(Field::email("Email Address", email))
        .submit("Recover Password")
        .errors(errors.pairs());
    let mut page = Page::new("security/forgot_password.html").form("forgot_password_form", &form);
    if let Some(m) = sent {
        page = page.message(crate::messages::category("PASSWORD_RESET_REQUEST"), m);
    }
    ctx.render(page).await
}

/// `POST /reset {email}`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    if let Err(e) = account::unauth_csrf(&ctx, &f).await {
        errors.add("csrf_token", e);
        return answer(&ctx, &f, errors).await;
    }
    // Every request counts (rate only, per account and per client address), the same way
    // whether the account exists, so a 429 tells nothing either.
    if let Err(r) = throttle(&ctx, &f).await {
        return r;
    }
    let user = match find(&ctx, &f, &mut errors).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match user {
        Some(user) if errors.is_empty() => {
            if let Err(e) = send_instructions(&ctx, &user) {
                return account::mail_failed(&ctx, &e);
            }
        }
        _ if ctx.sec.config().return_generic_responses => {
            // Same answer after the same work (a token and a rendered email), no email.
            errors = errors.without("email");
            if errors.is_empty() {
                let _ = rehearse(&ctx);
            }
        }
        _ => {}
    }
    answer(&ctx, &f, errors).await
}

/// The reset throttle: `Err` is the 429 (envelope, or the form with the message) or a
/// counter-store failure.
async fn throttle(ctx: &Ctx, f: &Fields) -> Result<(), Response> {
    use crate::throttle::{Action, ThrottleError};
    let identity = f.text("email");
    match ctx
        .sec
        .throttle()
        .attempt(Action::Reset, identity.as_deref(), ctx.addr)
        .await
    {
        Ok(_counted) => Ok(()),
        Err(ThrottleError::Throttled { retry_after }) => {
            if ctx.json {
                return Err(crate::throttle::throttled_json(retry_after));
            }
            let mut errors = Errors::default();
            errors.add("", crate::throttle::THROTTLED_MESSAGE.to_owned());
            let mut response = page(ctx, &identity.unwrap_or_default(), &errors, None).await;
            crate::throttle::mark_throttled(&mut response, retry_after);
            Err(response)
        }
        Err(e) => Err(account::backend(e)),
    }
}

async fn find(ctx: &Ctx, f: &Fields, errors: &mut Errors) -> Result<Option<User>, Response> {
    let Some(email) = rules::email(ctx, f, "email", errors) else {
        return Ok(None);
    };
    let user = ctx
        .sec
        .store()
        .find_user_by_email(&email)
        .await
        .map_err(account::backend)?;
    match &user {
        None => errors.add("email", ctx.msg("USER_DOES_NOT_EXIST")),
        Some(u) if !u.active => errors.add("email", ctx.msg("DISABLED_ACCOUNT")),
        Some(u) if rules::requires_confirmation(&ctx.sec, u) => {
            errors.add("email", ctx.msg("CONFIRMATION_REQUIRED"));
        }
        Some(_) => {}
    }
    Ok(user)
}

async fn answer(ctx: &Ctx, f: &Fields, errors: Errors) -> Response {
    if ctx.json {
        if errors.is_empty() {
            return account::json_ok(ctx, vec![]).await;
        }
        return errors.into_json();
    }
    let email = f.text("email").unwrap_or_default();
    if errors.is_empty() {
        let info = ctx.msg_with("PASSWORD_RESET_REQUEST", &[("email", &email)]);
        return page(ctx, &email, &errors, Some(info)).await;
    }
    page(ctx, &email, &errors, None).await
}

fn instructions(ctx: &Ctx, user: &User) -> Result<Value, SendError> {
    let c = ctx.sec.config();
    let (link, token) = ctx.sec.lifecycle().reset_link(c, user)?;
    Ok(json!({
        "user": user_context(user),
        "reset_link": link,
        "reset_token": token,
        "within": format_within(c.lifecycle.reset_password_within_secs),
    }))
}

/// Queues the reset instructions.
pub(crate) fn send_instructions(ctx: &Ctx, user: &User) -> Result<(), SendError> {
    let c = ctx.sec.config();
    if c.lifecycle.send_password_reset_email {
        let context = instructions(ctx, user)?;
        ctx.sec
            .lifecycle()
            .send(c, EmailKind::ResetInstructions, &user.email, context)?;
    }
    ctx.sec
        .events()
        .emit(Event::ResetPasswordInstructionsSent { user_id: user.id });
    Ok(())
}

fn rehearse(ctx: &Ctx) -> Result<(), SendError> {
    let context = instructions(ctx, &dummy_user())?;
    ctx.sec
        .lifecycle()
        .templates
        .render(EmailKind::ResetInstructions, &context)?;
    Ok(())
}

/// What a reset token turned out to be.
enum TokenCheck {
    /// Valid: the user it was issued to.
    User(Box<User>),
    /// Expired or invalid: the message key and text.
    Problem(&'static str, String),
    /// The datastore failed.
    Backend(Response),
}

/// Checks a reset token: genuine, in time, the user exists and the token is bound to the
/// password hash the user has now.
async fn token_user(ctx: &Ctx, token: &str) -> TokenCheck {
    let sec = &ctx.sec;
    let l = &sec.config().lifecycle;
    let invalid = || {
        TokenCheck::Problem(
            "INVALID_RESET_PASSWORD_TOKEN",
            ctx.msg("INVALID_RESET_PASSWORD_TOKEN"),
        )
    };
    let status =
        sec.lifecycle()
            .links()
            .check(token, &l.reset_salt, within(l.reset_password_within_secs));
    let bound = match status {
        LinkStatus::Valid(b) => b,
        LinkStatus::Expired => {
            let w = format_within(l.reset_password_within_secs);
            return TokenCheck::Problem(
                "PASSWORD_RESET_EXPIRED",
                ctx.msg_with("PASSWORD_RESET_EXPIRED", &[("within", &w)]),
            );
        }
        LinkStatus::Invalid => return invalid(),
    };
    let user = match sec.store().find_user_by_uniquifier(&bound.uniquifier).await {
        Ok(Some(u)) => u,
        Ok(None) => return invalid(),
        Err(e) => return TokenCheck::Backend(account::backend(e)),
    };
    let links = sec.lifecycle().links();
    if !links.bound_to(
        &l.reset_salt,
        bound.binding.as_deref(),
        user.password.as_deref(),
    ) {
        return invalid();
    }
    TokenCheck::User(Box::new(user))
}

/// `GET /reset/<token>`: the form (or, for SPAs, a redirect to `RESET_VIEW?token=`).
pub(crate) async fn get_token(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let l = &ctx.sec.config().lifecycle;
    match token_user(&ctx, &token).await {
        TokenCheck::Backend(r) => r,
        TokenCheck::Problem(key, m) => {
            account::link_problem(&ctx, "RESET_ERROR_VIEW", &l.reset_url, key, &m).await
        }
        TokenCheck::User(user) => {
            if l.redirect_spa
                && let Some(view) = l.view("RESET_VIEW")
            {
                return account::redirect_with(&ctx, view, &[("token", &token)]);
            }
            token_page(&ctx, &user, &token, &Errors::default()).await
        }
    }
}

/// `security/reset_password.html` with the form `reset_password_form` (the account's address
/// read-only, so password managers save the new password for it).
async fn token_page(ctx: &Ctx, user: &User, token: &str, errors: &Errors) -> Response {
    let form = Form::new()
        .field(Field::identity_email("Email Address", &user.email).readonly())
        .field(Field::password("password", "Password", "new-password"))
        .field(Field::password(
            "password_confirm",
            "Retype Password",
            "new-password",
        ))
        .submit("Reset Password")
        .errors(errors.pairs());
    let page = Page::new("security/reset_password.html")
        .form("reset_password_form", &form)
        .with("reset_password_token", token);
    ctx.render(page).await
}

/// `POST /reset/<token> {password, password_confirm}`.
pub(crate) async fn post_token(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let csrf = account::unauth_csrf(&ctx, &f).await;
    if let Err(e) = &csrf
        && ctx.json
    {
        errors.add("csrf_token", e.clone());
        return errors.into_json();
    }
    let user = match token_user(&ctx, &token).await {
        TokenCheck::Backend(r) => return r,
        TokenCheck::User(u) => *u,
        TokenCheck::Problem(_, m) => {
            if ctx.json {
                errors.add("", m);
                return errors.into_json();
            }
            let l = &ctx.sec.config().lifecycle;
            return ctx
                .flash_redirect(&l.reset_url, "INVALID_RESET_PASSWORD_TOKEN", &m)
                .await;
        }
    };
    if let Err(e) = csrf {
        errors.add("csrf_token", e);
        return token_fail(&ctx, &user, &token, errors).await;
    }
    let mut inputs = vec![user.email.as_str()];
    inputs.extend(user.username.as_deref());
    let password = rules::new_password(
        &ctx,
        &f,
        ("password", Some("password_confirm")),
        &inputs,
        &mut errors,
    )
    .await;
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return token_fail(&ctx, &user, &token, errors).await;
    };
    let user = match set_password(&ctx, &user, &password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            // A concurrent use of the same link won: this one is spent.
            let m = ctx.msg("INVALID_RESET_PASSWORD_TOKEN");
            if ctx.json {
                errors.add("", m);
                return errors.into_json();
            }
            let l = &ctx.sec.config().lifecycle;
            return account::redirect_with(&ctx, &l.reset_url, &[("error", &m)]);
        }
        Err(r) => return r,
    };
    tracing::info!(user_id = user.id, "password reset");
    // The owner proved control of the address: the login counters of the account start over
    // (this lifts the hard limit an attacker may have run the account into).
    if let Err(e) = ctx.sec.throttle().clear_user(&user).await {
        tracing::warn!(error = %e, user_id = user.id, "cannot clear the throttle counters");
    }
    let c = ctx.sec.config();
    if c.lifecycle.send_password_reset_notice_email {
        let context = json!({"user": user_context(&user)});
        if let Err(e) = ctx
            .sec
            .lifecycle()
            .send(c, EmailKind::ResetNotice, &user.email, context)
        {
            tracing::error!(error = %e, "reset notice not queued");
        }
    }
    ctx.sec
        .events()
        .emit(Event::PasswordReset { user_id: user.id });
    // A reset never signs in past the second factor: with auto-login, a user with (or
    // required to have) two-factor enters its flow (Flask-Security's tf_enter).
    let auto_login = c.lifecycle.auto_login_after_reset;
    if auto_login
        && let Some(r) =
            crate::two_factor::enter(&super::two_factor::done(&ctx), &user, false, "reset", None)
                .await
    {
        return r;
    }
    if auto_login {
        if let Err(e) = ctx.session.login(&user.fs_uniquifier, true).await {
            return account::backend(e);
        }
        ctx.sec.events().emit(Event::UserAuthenticated {
            user_id: user.id,
            authn_via: "reset".into(),
        });
        if ctx.json {
            let payload = account::user_payload(&ctx, &user, account::wants_token(&ctx));
            return account::json_ok(
                &ctx,
                vec![("user", payload), ("tf_required", Value::Bool(false))],
            )
            .await;
        }
        let target = account::view_or(&ctx, "POST_RESET_VIEW", &c.post_login_view);
        return handlers::found(&target);
    }
    if ctx.json {
        return Envelope::ok(StatusCode::OK).into_response();
    }
    let target = account::view_or(&ctx, "POST_RESET_VIEW", &c.login_url);
    let m = ctx.msg("PASSWORD_RESET_NO_LOGIN");
    ctx.flash_redirect(&target, "PASSWORD_RESET_NO_LOGIN", &m)
        .await
}

async fn token_fail(ctx: &Ctx, user: &User, token: &str, errors: Errors) -> Response {
    if ctx.json {
        return errors.into_json();
    }
    token_page(ctx, user, token, &errors).await
}

/// Hashes and stores a new password, rotating `fs_uniquifier` (and `fs_token_uniquifier`
/// where the column exists): every session, remember cookie, auth token and reset link of
/// the user dies. A compare-and-set on the row `user` as read: `Ok(None)` (nothing written)
/// when a concurrent request changed the password or uniquifier first, so a reset link or
/// a verified current password is used once.
pub(crate) async fn set_password(
    ctx: &Ctx,
    user: &User,
    password: &str,
) -> Result<Option<User>, Response> {
    let sec = &ctx.sec;
    let hash = sec.passwords().hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        account::backend(rampart_core::DatastoreError::Backend(e.to_string()))
    })?;
    let mut updated = user.clone();
    updated.password = Some(hash);
    updated.fs_uniquifier = new_uniquifier();
    if sec.store().has_token_uniquifier() {
        updated.fs_token_uniquifier = Some(new_uniquifier());
    }
    sec.store()
        .update_user_if_unchanged(&updated, user)
        .await
        .map_err(account::backend)
}
