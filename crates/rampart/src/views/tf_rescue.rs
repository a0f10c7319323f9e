//! `/tf-rescue` (lost second factor: the code by email, a help request, or a recovery code)
//! and `/tf-select` (several second factors set up).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::mfa_page;
use super::two_factor::{done, illegal_state, pending_in, recovery_options};
use crate::mail::EmailKind;
use crate::security::handlers;
use crate::two_factor as tf;

async fn anonymous(parts: &mut axum::http::request::Parts) -> Result<Ctx, Response> {
    let ctx = account::context(parts).await?;
    if ctx.current.is_some() {
        return Err(crate::extract::Rejection::NotAnonymous {
            message: ctx.msg("ANONYMOUS_USER_REQUIRED"),
            wants_json: ctx.json,
            post_login_view: ctx.sec.config().post_login_view.clone(),
        }
        .into_response());
    }
    Ok(ctx)
}

/// `GET /tf-rescue`.
pub(crate) async fn rescue_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match anonymous(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((_, user)) = (match pending_in(&ctx, None, &["ready"]).await {
        Ok(p) => p,
        Err(r) => return r,
    }) else {
        return illegal_state(&ctx).await;
    };
    let options = recovery_options(&ctx, &user);
    if ctx.json {
        return account::json_ok(&ctx, vec![("recovery_options", Value::Object(options))]).await;
    }
    let rescue: Vec<String> = options.keys().cloned().collect();
    let method = user.tf_primary_method.clone().unwrap_or_default();
    mfa_page::tf_validate(&ctx, &method, &rescue, &[]).await
}

/// `POST /tf-rescue {help_setup}`: `email` re-sends the code by email, `help` mails
/// `SECURITY_TWO_FACTOR_RESCUE_MAIL`, `recovery_code` redirects to `/mf-recovery`; anything
/// else is 404.
pub(crate) async fn rescue_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match anonymous(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(r) = super::two_factor::csrf_ok(&mut parts, &ctx, &f).await {
        return r;
    }
    let Some((_, user)) = (match pending_in(&ctx, Some(&f), &["ready"]).await {
        Ok(p) => p,
        Err(r) => return r,
    }) else {
        return illegal_state(&ctx).await;
    };
    let options = recovery_options(&ctx, &user);
    let choice = f.text("help_setup").unwrap_or_default();
    if !options.contains_key(&choice) {
        return (StatusCode::NOT_FOUND, "").into_response();
    }
    let c = ctx.sec.config();
    match choice.as_str() {
        "email" => {
            let Some(secret) = &user.tf_totp_secret else {
                return illegal_state(&ctx).await;
            };
            if let Err(e) = tf::send_code(
                &ctx.sec,
                &user,
                "email",
                secret,
                None,
                EmailKind::TwoFactorInstructions,
                None,
            )
            .await
            {
                return tf::send_failed(&ctx.sec, ctx.json, &e);
            }
        }
        "help" => {
            let context = json!({"user": crate::lifecycle::user_context(&user)});
            if let Err(e) = ctx.sec.lifecycle().send(
                c,
                EmailKind::TwoFactorRescue,
                &c.mfa.two_factor_rescue_mail,
                context,
            ) {
                return account::mail_failed(&ctx, &e);
            }
        }
        _ => return handlers::found(&c.mfa.recovery_url),
    }
    if ctx.json {
        return account::json_ok(&ctx, vec![("recovery_options", Value::Object(options))]).await;
    }
    let rescue: Vec<String> = options.keys().cloned().collect();
    let method = user.tf_primary_method.clone().unwrap_or_default();
    mfa_page::tf_validate(&ctx, &method, &rescue, &[]).await
}

/// `GET /tf-select`.
pub(crate) async fn select_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some((_, user)) = (match pending_in(&ctx, None, &["select"]).await {
        Ok(p) => p,
        Err(r) => return r,
    }) else {
        return illegal_state(&ctx).await;
    };
    let methods = tf::setup_methods(&ctx.sec, &user).await;
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("tf_select", Value::Bool(true)),
                ("tf_setup_methods", json!(methods)),
            ],
        )
        .await;
    }
    mfa_page::tf_select(&ctx, &methods, &[]).await
}

/// `POST /tf-select {which}`: continues with the chosen second factor.
pub(crate) async fn select_post(req: Request) -> Response {
    let (ctx, f, p, user) = match super::two_factor::pending_post(req, &["select"]).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let methods = tf::setup_methods(&ctx.sec, &user).await;
    let Some(which) = f.text("which").filter(|w| methods.contains(w)) else {
        let mut e = Errors::default();
        e.add("which", "Not a valid choice.".to_owned());
        if ctx.json {
            return e.into_json();
        }
        return mfa_page::tf_select(&ctx, &methods, &e.pairs()).await;
    };
    let mut p = p;
    p.state = "ready".to_owned();
    tf::begin_with(&done(&ctx), &user, p, &which).await
}
