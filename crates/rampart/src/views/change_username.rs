//! `/change-username` (`SECURITY_CHANGE_USERNAME` with `SECURITY_USERNAME_ENABLE`, fresh
//! authentication): a new username, then a notice email.

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use crate::authn::CurrentUser;
use crate::events::Event;
use crate::extract::FreshRequired;
use crate::lifecycle::user_context;
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};

async fn caller(parts: &mut axum::http::request::Parts) -> Result<(Ctx, CurrentUser), Response> {
    let user = FreshRequired::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    Ok((account::context(parts).await?, user))
}

fn current(user: &CurrentUser) -> Value {
    user.username.clone().map_or(Value::Null, Value::String)
}

/// `GET /change-username`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![("user", json!({})), ("current_username", current(&user))],
        )
        .await;
    }
    page(&ctx, &user, &Errors::default()).await
}

/// `security/change_username.html` with the form `change_username_form` and
/// `current_username`.
async fn page(ctx: &Ctx, user: &CurrentUser, errors: &Errors) -> Response {
    let form = Form::new()
        .field(
            Field::text("username", "Username", "")
                .autocomplete("username")
                .required(),
        )
        .submit("Change Username")
        .errors(errors.pairs());
    let page = Page::new("security/change_username.html")
        .form("change_username_form", &form)
        .with("current_username", &user.username);
    ctx.render(page).await
}

/// `POST /change-username {username}`.
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
    let name = match f.text("username") {
        None => {
            errors.add("username", ctx.msg("USERNAME_NOT_PROVIDED"));
            None
        }
        Some(raw) => match rules::username(&ctx, &raw) {
            Err(m) => {
                errors.add("username", m);
                None
            }
            Ok(name) => Some(name),
        },
    };
    if let Some(name) = &name {
        match ctx.sec.store().find_user_by_username(name).await {
            Ok(Some(_)) => errors.add(
                "username",
                ctx.msg_with("USERNAME_ALREADY_ASSOCIATED", &[("username", name)]),
            ),
            Ok(None) => {}
            Err(e) => return account::backend(e),
        }
    }
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        if ctx.json {
            return errors.into_json();
        }
        return page(&ctx, &user, &errors).await;
    };
    let old_username = user.username.clone();
    let mut updated = (*user.user).clone();
    updated.username = Some(name.clone());
    let updated = match ctx.sec.store().update_user(&updated).await {
        Ok(u) => u,
        Err(rampart_core::DatastoreError::AlreadyExists { .. }) => {
            errors.add(
                "username",
                ctx.msg_with("USERNAME_ALREADY_ASSOCIATED", &[("username", &name)]),
            );
            return if ctx.json {
                errors.into_json()
            } else {
                page(&ctx, &user, &errors).await
            };
        }
        Err(e) => return account::backend(e),
    };
    let c = ctx.sec.config();
    if c.lifecycle.send_username_change_email {
        let context = json!({"user": user_context(&updated)});
        if let Err(e) =
            ctx.sec
                .lifecycle()
                .send(c, EmailKind::ChangeUsernameNotice, &updated.email, context)
        {
            tracing::error!(error = %e, "username change notice not queued");
        }
    }
    ctx.sec.events().emit(Event::UsernameChanged {
        user_id: updated.id,
        old_username,
    });
    if ctx.json {
        return account::json_ok(&ctx, vec![("user", json!({}))]).await;
    }
    let target = account::view_or(&ctx, "POST_CHANGE_USERNAME_VIEW", &c.post_login_view);
    ctx.flash_redirect(&target, "USERNAME_CHANGE", &ctx.msg("USERNAME_CHANGE"))
        .await
}
