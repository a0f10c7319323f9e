//! `/confirm` (send the confirmation link again) and `/confirm/<token>` (the link from the
//! email), `SECURITY_CONFIRMABLE`.

use axum::extract::{Path, Request};
use axum::response::Response;
use rampart_core::model::{User, naive_utcnow};
use serde_json::json;

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use super::form::Fields;
use crate::events::Event;
use crate::lifecycle::links::LinkStatus;
use crate::lifecycle::{SendError, format_within, user_context, within};
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};

/// `GET /confirm`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return account::json_ok(&ctx, vec![]).await;
    }
    let email = ctx.query.get("email").cloned().unwrap_or_default();
    page(&ctx, &email, &Errors::default(), None).await
}

/// `security/send_confirmation.html` with the form `send_confirmation_form` and an optional
/// success message.
async fn page(ctx: &Ctx, email: &str, errors: &Errors, sent: Option<String>) -> Response {
    let form = Form::new()
        .field(Field::email("Email Address", email))
        .submit("Resend Confirmation Instructions")
        .errors(errors.pairs());
    let mut page =
        Page::new("security/send_confirmation.html").form("send_confirmation_form", &form);
    if let Some(m) = sent {
        page = page.message(crate::messages::category("CONFIRMATION_REQUEST"), m);
    }
    ctx.render(page).await
}

/// `POST /confirm {email}`.
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
            // Unknown or already confirmed: the same answer after the same work, no email.
            errors = errors.without("email");
            if errors.is_empty() {
                let _ = rehearse(&ctx);
            }
        }
        _ => {}
    }
    answer(&ctx, &f, errors).await
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
        Some(u) if u.is_confirmed() => errors.add("email", ctx.msg("ALREADY_CONFIRMED")),
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
        let info = ctx.msg_with("CONFIRMATION_REQUEST", &[("email", &email)]);
        return page(ctx, &email, &errors, Some(info)).await;
    }
    page(ctx, &email, &errors, None).await
}

/// Queues the confirmation instructions.
pub(crate) fn send_instructions(ctx: &Ctx, user: &User) -> Result<(), SendError> {
    let c = ctx.sec.config();
    let life = ctx.sec.lifecycle();
    let (link, token) = life.confirm_link(c, user)?;
    let context = json!({
        "user": user_context(user),
        "confirmation_link": link,
        "confirmation_token": token,
        "within": format_within(c.lifecycle.confirm_email_within_secs),
    });
    life.send(c, EmailKind::ConfirmationInstructions, &user.email, context)?;
    ctx.sec
        .events()
        .emit(Event::ConfirmInstructionsSent { user_id: user.id });
    Ok(())
}

/// The work of [`send_instructions`] without the email (generic responses).
fn rehearse(ctx: &Ctx) -> Result<(), SendError> {
    let c = ctx.sec.config();
    let life = ctx.sec.lifecycle();
    let dummy = super::reset::dummy_user();
    let (link, token) = life.confirm_link(c, &dummy)?;
    let context = json!({"user": user_context(&dummy), "confirmation_link": link,
        "confirmation_token": token, "within": format_within(c.lifecycle.confirm_email_within_secs)});
    life.templates
        .render(EmailKind::ConfirmationInstructions, &context)?;
    Ok(())
}

/// `GET /confirm/<token>`: confirms the address and redirects.
pub(crate) async fn confirm_token(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let sec = &ctx.sec;
    let c = sec.config();
    let l = &c.lifecycle;
    let status =
        sec.lifecycle()
            .links()
            .check(&token, &l.confirm_salt, within(l.confirm_email_within_secs));
    let bound = match status {
        LinkStatus::Valid(b) => b,
        LinkStatus::Expired => {
            let within = format_within(l.confirm_email_within_secs);
            let m = ctx.msg_with("CONFIRMATION_EXPIRED", &[("within", &within)]);
            return account::link_problem(
                &ctx,
                "CONFIRM_ERROR_VIEW",
                &l.confirm_url,
                "CONFIRMATION_EXPIRED",
                &m,
            )
            .await;
        }
        LinkStatus::Invalid => return invalid(&ctx).await,
    };
    let user = match sec.store().find_user_by_uniquifier(&bound.uniquifier).await {
        Ok(Some(u)) => u,
        Ok(None) => return invalid(&ctx).await,
        Err(e) => return account::backend(e),
    };
    let links = sec.lifecycle().links();
    if !links.bound_to(
        &l.confirm_salt,
        bound.binding.as_deref(),
        Some(&user.email.to_lowercase()),
    ) {
        return invalid(&ctx).await;
    }
    if user.is_confirmed() {
        let m = ctx.msg("ALREADY_CONFIRMED");
        return account::link_problem(
            &ctx,
            "CONFIRM_ERROR_VIEW",
            &l.confirm_url,
            "ALREADY_CONFIRMED",
            &m,
        )
        .await;
    }
    let mut updated = user.clone();
    updated.confirmed_at = Some(naive_utcnow());
    // Compare-and-set: of concurrent uses of the link, one confirms and the others find the
    // address already confirmed.
    let user = match sec.store().update_user_if_unchanged(&updated, &user).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            let m = ctx.msg("ALREADY_CONFIRMED");
            return account::link_problem(
                &ctx,
                "CONFIRM_ERROR_VIEW",
                &l.confirm_url,
                "ALREADY_CONFIRMED",
                &m,
            )
            .await;
        }
        Err(e) => return account::backend(e),
    };
    tracing::info!(user_id = user.id, "email confirmed");
    sec.events().emit(Event::UserConfirmed { user_id: user.id });
    let same_user = ctx.current.as_ref().is_some_and(|cu| cu.id == user.id);
    if !same_user {
        if ctx.current.is_some()
            && let Err(e) = ctx.session.logout().await
        {
            return account::backend(e);
        }
        // A user with (or required to have) two-factor is never signed in by a link.
        let tf_needed =
            user.tf_primary_method.is_some() || (c.two_factor && c.mfa.two_factor_required);
        if l.auto_login_after_confirm && !tf_needed {
            if let Err(e) = ctx.session.login(&user.fs_uniquifier, true).await {
                return account::backend(e);
            }
            sec.events().emit(Event::UserAuthenticated {
                user_id: user.id,
                authn_via: "confirm".into(),
            });
        }
    }
    let m = ctx.msg("EMAIL_CONFIRMED");
    let category = crate::messages::category("EMAIL_CONFIRMED");
    if l.redirect_spa
        && let Some(view) = l.view("POST_CONFIRM_VIEW")
    {
        return account::redirect_with(&ctx, view, &account::user_qparams(&user, category, &m));
    }
    let fallback = if l.auto_login_after_confirm {
        c.post_login_view.clone()
    } else {
        c.login_url.clone()
    };
    let target = account::view_or(&ctx, "POST_CONFIRM_VIEW", &fallback);
    ctx.flash_redirect(&target, "EMAIL_CONFIRMED", &m).await
}

async fn invalid(ctx: &Ctx) -> Response {
    let l = &ctx.sec.config().lifecycle;
    let m = ctx.msg("INVALID_CONFIRMATION_TOKEN");
    account::link_problem(
        ctx,
        "CONFIRM_ERROR_VIEW",
        &l.confirm_url,
        "INVALID_CONFIRMATION_TOKEN",
        &m,
    )
    .await
}
