//! `/change-email` (`SECURITY_CHANGE_EMAIL`, fresh authentication) and
//! `/change-email/<token>` (the link sent to the new address). The old address is told once
//! the change is made (a Rampart addition).

use axum::extract::{FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use rampart_core::model::{User, naive_utcnow};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use crate::authn::CurrentUser;
use crate::events::Event;
use crate::extract::FreshRequired;
use crate::lifecycle::links::LinkStatus;
use crate::lifecycle::{SendError, format_within, user_context, within};
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};

async fn caller(parts: &mut axum::http::request::Parts) -> Result<(Ctx, CurrentUser), Response> {
    let user = FreshRequired::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    Ok((account::context(parts).await?, user))
}

/// `GET /change-email`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return ok(&ctx, &user).await;
    }
    page(&ctx, &user, "", &Errors::default(), None).await
}

async fn ok(ctx: &Ctx, user: &User) -> Response {
    account::json_ok(
        ctx,
        vec![
            ("user", json!({})),
            ("current_email", Value::String(user.email.clone())),
        ],
    )
    .await
}

/// `security/change_email.html` with the form `change_email_form`, `current_email` and an
/// optional success message.
async fn page(
    ctx: &Ctx,
    user: &User,
    email: &str,
    errors: &Errors,
    sent: Option<String>,
) -> Response {
    let form = Form::new()
        .field(Field::email("New Email Address", email))
        .submit("Change Email")
        .errors(errors.pairs());
    let mut page = Page::new("security/change_email.html")
        .form("change_email_form", &form)
        .with("current_email", &user.email);
    if let Some(m) = sent {
        page = page.message(crate::messages::category("CHANGE_EMAIL_SENT"), m);
    }
    ctx.render(page).await
}

/// `POST /change-email {email}`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut errors = Errors::default();
    let email = rules::email(&ctx, &f, "email", &mut errors);
    let mut taken = false;
    if let Some(e) = &email {
        match ctx.sec.store().find_user_by_email(e).await {
            Ok(Some(_)) => {
                taken = true;
                errors.add(
                    "email",
                    ctx.msg_with("EMAIL_ALREADY_ASSOCIATED", &[("email", e)]),
                );
            }
            Ok(None) => {}
            Err(e) => return account::backend(e),
        }
    }
    let generic = ctx.sec.config().return_generic_responses;
    if taken && generic {
        // A taken address looks like success: the same work, no email.
        errors = errors.without("email");
        if errors.is_empty() {
            let _ = instructions(&ctx, &user, email.as_deref().unwrap_or_default(), false);
        }
    } else if errors.is_empty()
        && let Some(new_email) = &email
        && let Err(e) = instructions(&ctx, &user, new_email, true)
    {
        return account::mail_failed(&ctx, &e);
    }
    if !errors.is_empty() {
        if ctx.json {
            return errors.into_json();
        }
        return page(
            &ctx,
            &user,
            &f.text("email").unwrap_or_default(),
            &errors,
            None,
        )
        .await;
    }
    if ctx.json {
        return ok(&ctx, &user).await;
    }
    let new_email = email.unwrap_or_default();
    let info = ctx.msg_with("CHANGE_EMAIL_SENT", &[("email", &new_email)]);
    page(&ctx, &user, "", &Errors::default(), Some(info)).await
}

/// Renders the instructions for `new_email` and, when `send`, queues them.
fn instructions(ctx: &Ctx, user: &User, new_email: &str, send: bool) -> Result<(), SendError> {
    let c = ctx.sec.config();
    let life = ctx.sec.lifecycle();
    let (link, token) = life.change_email_link(c, user, new_email)?;
    let context = json!({
        "user": user_context(user),
        "link": link,
        "token": token,
        "new_email": new_email,
        "within": format_within(c.lifecycle.change_email_within_secs),
    });
    if !send {
        life.templates
            .render(EmailKind::ChangeEmailInstructions, &context)?;
        return Ok(());
    }
    life.send(c, EmailKind::ChangeEmailInstructions, new_email, context)?;
    ctx.sec.events().emit(Event::ChangeEmailInstructionsSent {
        user_id: user.id,
        new_email: new_email.to_owned(),
    });
    Ok(())
}

/// `GET /change-email/<token>`: sets the new address (confirmed) and redirects.
pub(crate) async fn confirm(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let sec = &ctx.sec;
    let c = sec.config();
    let l = &c.lifecycle;
    let bound = match sec.lifecycle().links().check(
        &token,
        &l.change_email_salt,
        within(l.change_email_within_secs),
    ) {
        LinkStatus::Valid(b) => b,
        LinkStatus::Expired => {
            let w = format_within(l.change_email_within_secs);
            let m = ctx.msg_with("CHANGE_EMAIL_EXPIRED", &[("within", &w)]);
            return account::link_problem(
                &ctx,
                "CHANGE_EMAIL_ERROR_VIEW",
                &l.change_email_url,
                "CHANGE_EMAIL_EXPIRED",
                &m,
            )
            .await;
        }
        LinkStatus::Invalid => return invalid(&ctx).await,
    };
    let Some(new_email) = bound.new_email.clone() else {
        return invalid(&ctx).await;
    };
    let user = match sec.store().find_user_by_uniquifier(&bound.uniquifier).await {
        Ok(Some(u)) => u,
        Ok(None) => return invalid(&ctx).await,
        Err(e) => return account::backend(e),
    };
    let links = sec.lifecycle().links();
    if !links.bound_to(
        &l.change_email_salt,
        bound.binding.as_deref(),
        Some(&user.email.to_lowercase()),
    ) {
        return invalid(&ctx).await;
    }
    match sec.store().find_user_by_email(&new_email).await {
        Ok(None) => {}
        Ok(Some(_)) => return invalid(&ctx).await,
        Err(e) => return account::backend(e),
    }
    let old_email = user.email.clone();
    let mut updated = user.clone();
    updated.email = new_email;
    updated.confirmed_at = Some(naive_utcnow());
    // Compare-and-set on the address the link is bound to: of concurrent uses of one link,
    // one changes the address and the others find it changed (the link's replay answer).
    let user = match sec.store().update_user_if_unchanged(&updated, &user).await {
        Ok(Some(u)) => u,
        Ok(None) | Err(rampart_core::DatastoreError::AlreadyExists { .. }) => {
            return invalid(&ctx).await;
        }
        Err(e) => return account::backend(e),
    };
    tracing::info!(user_id = user.id, "email changed");
    if l.send_change_email_notice {
        let context = json!({"user": user_context(&user), "old_email": old_email});
        if let Err(e) = sec
            .lifecycle()
            .send(c, EmailKind::ChangeEmailNotice, &old_email, context)
        {
            tracing::error!(error = %e, "change-email notice not queued");
        }
    }
    sec.events().emit(Event::ChangeEmailConfirmed {
        user_id: user.id,
        old_email,
    });
    let m = ctx.msg("CHANGE_EMAIL_CONFIRMED");
    let category = crate::messages::category("CHANGE_EMAIL_CONFIRMED");
    if l.redirect_spa
        && let Some(view) = l.view("POST_CHANGE_EMAIL_VIEW")
    {
        return account::redirect_with(&ctx, view, &account::user_qparams(&user, category, &m));
    }
    let target = account::view_or(&ctx, "POST_CHANGE_EMAIL_VIEW", &c.post_login_view);
    ctx.flash_redirect(&target, "CHANGE_EMAIL_CONFIRMED", &m)
        .await
}

/// An unusable change-email link.
async fn invalid(ctx: &Ctx) -> Response {
    let m = ctx.msg("API_ERROR");
    let url = &ctx.sec.config().lifecycle.change_email_url;
    account::link_problem(ctx, "CHANGE_EMAIL_ERROR_VIEW", url, "API_ERROR", &m).await
}
