//! `/mf-recovery-codes` (fresh: generate recovery codes, shown once) and `/mf-recovery`
//! (a recovery code instead of the second factor).

use axum::extract::{FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::json;

use super::account::{self, Ctx, Errors};
use super::mfa_page;
use super::two_factor::{done, illegal_state, pending_in, pending_post, throttled};
use crate::extract::FreshRequired;
use crate::two_factor::{self as tf, recovery, state};

async fn fresh_caller(
    parts: &mut axum::http::request::Parts,
) -> Result<(Ctx, rampart_core::model::User), Response> {
    let user = FreshRequired::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((account::context(parts).await?, (*user.user.user).clone()))
}

/// `GET /mf-recovery-codes`: Flask-Security returns the stored codes; Rampart stores only
/// digests, so `recovery_codes` is empty and `recovery_codes_count` says how many are left.
pub(crate) async fn codes_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let count = user.mf_recovery_codes.len();
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("recovery_codes", json!([])),
                ("recovery_codes_count", json!(count)),
            ],
        )
        .await;
    }
    let errors = if count == 0 {
        vec![("", ctx.msg("NO_RECOVERY_CODES_SETUP"))]
    } else {
        Vec::new()
    };
    mfa_page::recovery_codes(&ctx, &[], count, &errors).await
}

/// `POST /mf-recovery-codes`: new codes (the old ones die), shown this once.
pub(crate) async fn codes_post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Err(r) = account::fields(&ctx, body).await {
        return r;
    }
    let codes = recovery::generate(ctx.sec.config().mfa.recovery_codes_n);
    let key = &ctx.sec.inner.mfa.recovery_key;
    let mut u = user;
    u.mf_recovery_codes = codes.iter().map(|c| recovery::digest(key, c)).collect();
    if let Err(e) = ctx.sec.store().update_user(&u).await {
        return account::backend(e);
    }
    tracing::info!(user_id = u.id, "recovery codes generated");
    if ctx.json {
        return account::json_ok(&ctx, vec![("recovery_codes", json!(codes))]).await;
    }
    mfa_page::recovery_codes(&ctx, &codes, codes.len(), &[]).await
}

/// `GET /mf-recovery`.
pub(crate) async fn recovery_get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match pending_in(&ctx, None, &["ready"]).await {
        Ok(Some(_)) => {}
        Ok(None) => return illegal_state(&ctx).await,
        Err(r) => return r,
    }
    if ctx.json {
        return account::json_ok(&ctx, vec![]).await;
    }
    mfa_page::recovery(&ctx, &[]).await
}

/// `POST /mf-recovery {code}`: completes the sign-in with a recovery code; each code works
/// once (removed from the account, and marked used in the shared store against races).
pub(crate) async fn recovery_post(req: Request) -> Response {
    let (ctx, f, p, user) = match pending_post(req, &["ready"]).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let code = f.text("code").unwrap_or_default();
    let check = || claim_code(&ctx, &user, &code);
    let action = crate::throttle::Action::Code;
    let i = match tf::guarded(
        &ctx.sec,
        action,
        Some(&user.email),
        ctx.addr,
        Some(&p),
        check,
    )
    .await
    {
        tf::Try::Right(i) => i,
        tf::Try::Wrong(()) => return wrong(&ctx).await,
        tf::Try::Throttled(retry_after) => return throttled(&ctx, retry_after),
        tf::Try::Backend(r) => return r,
    };
    let mut u = user;
    u.mf_recovery_codes.remove(i);
    let u = match ctx.sec.store().update_user(&u).await {
        Ok(u) => u,
        Err(e) => return account::backend(e),
    };
    tracing::info!(user_id = u.id, "recovery code used");
    tf::finish(&done(&ctx), &p, u, "recovery_code").await
}

/// The index of `code` among the user's recovery codes, marked used (once, against races).
async fn claim_code(ctx: &Ctx, user: &User, code: &str) -> tf::Try<usize, ()> {
    let key = &ctx.sec.inner.mfa.recovery_key;
    let Some(i) = recovery::find(key, &user.mf_recovery_codes, code) else {
        return tf::Try::Wrong(());
    };
    let what = format!("rc:{}:{}", user.id, user.mf_recovery_codes[i]);
    match state::claim_once(&ctx.sec, &what, 86_400).await {
        Ok(true) => tf::Try::Right(i),
        Ok(false) => tf::Try::Wrong(()),
        Err(e) => tf::Try::Backend(tf::backend(e)),
    }
}

async fn wrong(ctx: &Ctx) -> Response {
    let mut e = Errors::default();
    e.add("code", ctx.msg("INVALID_RECOVERY_CODE"));
    if ctx.json {
        return e.into_json();
    }
    mfa_page::recovery(ctx, &e.pairs()).await
}
