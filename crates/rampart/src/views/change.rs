//! `/change` (`SECURITY_CHANGEABLE`): change the password with the current one. The
//! uniquifiers rotate, so every other session, remember cookie and auth token dies, while
//! this session is signed in again under the new identity and continues.

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use crate::authn::CurrentUser;
use crate::events::Event;
use crate::extract::{AuthRequired, FreshRequired};
use crate::lifecycle::user_context;
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};

async fn caller(parts: &mut axum::http::request::Parts) -> Result<(Ctx, CurrentUser), Response> {
    let user = AuthRequired::<crate::extract::SessionOrToken>::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    if user.password.is_none() {
        // No password to confirm with: Flask-Security asks for a fresh authentication.
        FreshRequired::from_request_parts(parts, &())
            .await
            .map_err(IntoResponse::into_response)?;
    }
    Ok((account::context(parts).await?, user))
}

/// `GET /change`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let active = user.password.is_some();
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("user", json!({})),
                ("active_password", Value::Bool(active)),
            ],
        )
        .await;
    }
    page(&ctx, &user, &Errors::default()).await
}

/// `security/change_password.html` with the form `change_password_form` (the current
/// password only when the user has one; the address read-only for password managers).
async fn page(ctx: &Ctx, user: &CurrentUser, errors: &Errors) -> Response {
    let active = user.password.is_some();
    let mut form =
        Form::new().field(Field::identity_email("Email Address", &user.email).readonly());
    if active {
        form = form.field(Field::password("password", "Password", "current-password"));
    }
    let form = form
        .field(Field::password(
            "new_password",
            "New Password",
            "new-password",
        ))
        .field(Field::password(
            "new_password_confirm",
            "Retype Password",
            "new-password",
        ))
        .submit("Change Password")
        .errors(errors.pairs());
    let page = Page::new("security/change_password.html")
        .form("change_password_form", &form)
        .with("active_password", active);
    ctx.render(page).await
}

/// `POST /change {password, new_password, new_password_confirm}`.
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
    // WTForms' field validators first: the new password and its confirmation.
    if f.secret("new_password").is_none() {
        errors.add("new_password", ctx.msg("PASSWORD_NOT_PROVIDED"));
    }
    let (new, again) = (f.secret("new_password"), f.secret("new_password_confirm"));
    if again.is_none() {
        errors.add("new_password_confirm", ctx.msg("PASSWORD_NOT_PROVIDED"));
    } else if again != new {
        errors.add("new_password_confirm", ctx.msg("RETYPE_PASSWORD_MISMATCH"));
    }
    if errors.is_empty()
        && let Some(stored) = user.password.as_deref()
    {
        match f.secret("password") {
            None => errors.add("password", ctx.msg("PASSWORD_NOT_PROVIDED")),
            Some(current) => {
                let ok = ctx
                    .sec
                    .passwords()
                    .verify(&current, stored)
                    .await
                    .is_ok_and(|v| v.ok);
                let norm = ctx.sec.passwords().normalize(&current);
                if !ok {
                    errors.add("password", ctx.msg("INVALID_PASSWORD"));
                } else if new.as_deref().map(|n| ctx.sec.passwords().normalize(n)) == Some(norm) {
                    errors.add("password", ctx.msg("PASSWORD_IS_THE_SAME"));
                }
            }
        }
    }
    let mut new_password = None;
    if errors.is_empty() {
        let mut inputs = vec![user.email.as_str()];
        inputs.extend(user.username.as_deref());
        new_password =
            rules::new_password(&ctx, &f, ("new_password", None), &inputs, &mut errors).await;
    }
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        if ctx.json {
            return errors.into_json();
        }
        return page(&ctx, &user, &errors).await;
    };
    let updated = match super::reset::set_password(&ctx, &user, &new_password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            // A concurrent change won: the current password checked above is gone.
            errors.add("password", ctx.msg("INVALID_PASSWORD"));
            if ctx.json {
                return errors.into_json();
            }
            return page(&ctx, &user, &errors).await;
        }
        Err(r) => return r,
    };
    tracing::info!(user_id = updated.id, "password changed");
    let session_user = ctx.session.user_id().await.ok().flatten();
    let renewed = session_user.as_deref() == Some(user.fs_uniquifier.as_str());
    if renewed {
        // This user's session continues under the new uniquifier (a new session id, fresh);
        // a session of someone else that came along with a token is left alone.
        if let Err(e) = ctx.session.login(&updated.fs_uniquifier, true).await {
            return account::backend(e);
        }
    }
    let c = ctx.sec.config();
    if c.lifecycle.send_password_change_email {
        let mut context = json!({"user": user_context(&updated)});
        if c.recoverable {
            context["reset_link"] = json!(ctx.sec.lifecycle().external_url(&c.lifecycle.reset_url));
        }
        if let Err(e) =
            ctx.sec
                .lifecycle()
                .send(c, EmailKind::ChangeNotice, &updated.email, context)
        {
            tracing::error!(error = %e, "password change notice not queued");
        }
    }
    ctx.sec.events().emit(Event::PasswordChanged {
        user_id: updated.id,
    });
    let mut response = if ctx.json {
        let payload = account::user_payload(&ctx, &updated, account::wants_token(&ctx));
        account::json_ok(&ctx, vec![("user", payload)]).await
    } else {
        let target = account::view_or(&ctx, "POST_CHANGE_VIEW", &c.post_login_view);
        ctx.flash_redirect(&target, "PASSWORD_CHANGE", &ctx.msg("PASSWORD_CHANGE"))
            .await
    };
    if renewed && had_remember_cookie(&ctx, &user) {
        // As Flask-Security: the caller's remember-me cookie follows the new identity.
        if let Some(cookie) = ctx.sec.inner.remember.set_header(&updated.fs_uniquifier) {
            response
                .headers_mut()
                .append(axum::http::header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Whether the request carried this user's valid remember-me cookie.
fn had_remember_cookie(ctx: &Ctx, user: &CurrentUser) -> bool {
    ctx.headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(crate::authn::remember::from_cookie_header)
        .filter_map(|v| ctx.sec.inner.remember.verify(v))
        .any(|uniquifier| uniquifier == user.fs_uniquifier)
}
