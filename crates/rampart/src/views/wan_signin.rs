//! `/wan-signin` (`SECURITY_WEBAUTHN`): sign in with a passkey, as the first factor
//! (`SECURITY_WAN_ALLOW_AS_FIRST_FACTOR`) or as the second factor of a pending two-factor
//! login. The finished sign-in is a login like `/login`'s: new session, tracking, the
//! `user_authenticated` event, `remember`, `?include_auth_token`.

use axum::extract::{Path, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::Value;

use super::account::{self, Ctx, Errors};
use super::form::Fields;
use super::wan_assert::{self, Refusal};
use super::wan_common::{self as common, one};
use super::wan_page::{self, Ceremony};
use crate::extract::Rejection;
use crate::redirect;
use crate::security::handlers;
use crate::webauthn::{self, Kind, PendingSecondFactor, WanState, WebAuthn};

/// The pending two-factor login of this session, if two-factor is connected.
async fn pending(ctx: &Ctx, wan: &WebAuthn) -> Result<Option<PendingSecondFactor>, Response> {
    let Some(hook) = &wan.two_factor else {
        return Ok(None);
    };
    hook.pending(&ctx.sec, &ctx.session)
        .await
        .map_err(account::backend)
}

/// Context, relying party and pending second factor; refuses signed-in callers (`anon`)
/// and, without a pending second factor, first-factor use when it is off (404).
async fn begin(
    parts: &mut Parts,
) -> Result<(Ctx, std::sync::Arc<WebAuthn>, Option<PendingSecondFactor>), Response> {
    let ctx = account::context(parts).await?;
    if ctx.current.is_some() {
        return Err(Rejection::NotAnonymous {
            message: ctx.msg("ANONYMOUS_USER_REQUIRED"),
            wants_json: ctx.json,
            post_login_view: ctx.sec.config().post_login_view.clone(),
        }
        .into_response());
    }
    let wan = common::relying_party(&ctx).map_err(IntoResponse::into_response)?;
    let pending = pending(&ctx, &wan).await?;
    if pending.is_none() && !ctx.sec.config().wan.allow_as_first_factor {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    Ok((ctx, wan, pending))
}

async fn page(ctx: &Ctx, secondary: bool, errors: Vec<String>) -> Response {
    let next = ctx.query.get("next").cloned().unwrap_or_default();
    wan_page::signin(ctx, secondary, &next, &errors, None).await
}

/// `GET /wan-signin`: `csrf_token` and `is_secondary`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, _, pending) = match begin(&mut parts).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if ctx.json {
        let secondary = Value::Bool(pending.is_some());
        return account::json_ok(&ctx, vec![("is_secondary", secondary)]).await;
    }
    page(&ctx, pending.is_some(), Vec::new()).await
}

/// The user whose credentials are offered: the pending one, or the named one when user
/// hints are allowed (an unknown or inactive identity gets no hint, and no error, so the
/// answer reveals nothing about accounts).
async fn hinted(
    ctx: &Ctx,
    f: &Fields,
    pending: Option<&PendingSecondFactor>,
) -> Result<Option<User>, Response> {
    let store = ctx.sec.store();
    let user = if let Some(p) = pending {
        store.find_user_by_uniquifier(&p.uniquifier).await
    } else if !ctx.sec.config().wan.allow_user_hints {
        return Ok(None);
    } else if let Some(identity) = f.text("identity") {
        match store.find_user_by_email(&identity).await {
            Ok(None) if ctx.sec.config().username_enable => {
                store.find_user_by_username(&identity).await
            }
            other => other,
        }
    } else {
        return Ok(None);
    };
    Ok(user.map_err(account::backend)?.filter(|u| u.active))
}

/// `POST /wan-signin {identity?, remember?}`: `credential_options`, `wan_state`, `remember`
/// and `is_secondary`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, wan, pending) = match begin(&mut parts).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let secondary = pending.is_some();
    let refuse = |e: Errors| common::refuse(&ctx, e, |m| page(&ctx, secondary, m));
    if let Err(m) = account::unauth_csrf(&ctx, &f).await {
        return refuse(one("csrf_token", m)).await;
    }
    let user = match hinted(&ctx, &f, pending.as_ref()).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let usage = if secondary { "secondary" } else { "first" };
    let allow = match &user {
        Some(u) => match common::usable(&ctx, u, &[usage]).await {
            Ok(c) => c,
            Err(r) => return r,
        },
        None => Vec::new(),
    };
    let timeout = ctx.sec.config().wan.signin_timeout_ms;
    let (options, ceremony) =
        match webauthn::start_authentication(&wan.core, &allow, &[usage], timeout) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a WebAuthn sign-in");
                return refuse(one("", ctx.msg("API_ERROR"))).await;
            }
        };
    let token = wan.states.issue(WanState {
        nonce: String::new(),
        kind: Kind::Signin,
        user: pending.as_ref().map(|p| p.uniquifier.clone()),
        name: String::new(),
        usage: usage.to_owned(),
        ceremony,
    });
    let remember = common::remember(&ctx, &f);
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("credential_options", options),
                ("wan_state", Value::String(token)),
                ("remember", Value::Bool(remember)),
                ("is_secondary", Value::Bool(secondary)),
            ],
        )
        .await;
    }
    let options = options.to_string();
    let next = f.text("next").unwrap_or_default();
    let remember = if remember { "y" } else { "" };
    let hidden = [("remember", remember), ("next", next.as_str())];
    let running = Ceremony {
        options: &options,
        state: &token,
        hidden: &hidden,
    };
    wan_page::signin(&ctx, secondary, "", &[], Some(&running)).await
}

/// `POST /wan-signin/<wan_state> {credential, remember?, next?}`: signs the user in.
pub(crate) async fn post_state(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let wan = match common::relying_party(&ctx) {
        Ok(w) => w,
        Err(s) => return s.into_response(),
    };
    let pending = match pending(&ctx, &wan).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let secondary = pending.is_some();
    let refuse = |e: Errors| common::refuse(&ctx, e, |m| page(&ctx, secondary, m));
    if let Err(m) = account::unauth_csrf(&ctx, &f).await {
        return refuse(one("csrf_token", m)).await;
    }
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned());
    if let Some(n) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, n)
    {
        return refuse(one("next", ctx.msg("INVALID_REDIRECT"))).await;
    }
    let within = ctx.sec.config().wan.signin_within_secs;
    let state = match common::claim(&ctx, &wan, &token, Kind::Signin, within).await {
        Ok(s) => s,
        Err(p) => return refuse(one("", common::state_message(&ctx, p, within))).await,
    };
    let pending_user = pending.as_ref().map(|p| p.uniquifier.as_str());
    if (state.usage == "secondary") != secondary || state.user.as_deref() != pending_user {
        return refuse(one("", ctx.msg("API_ERROR"))).await;
    }
    let usages = [state.usage.as_str()];
    let asserted =
        match wan_assert::check(&ctx, &wan, &f, &state, &usages, state.user.as_deref()).await {
            Ok(a) => a,
            Err(Refusal::Errors(e)) => return refuse(e).await,
            Err(Refusal::Response(r)) => return r,
        };
    if !super::login::confirmation_ok(&ctx.sec, &asserted.user) {
        return refuse(one("credential", ctx.msg("CONFIRMATION_REQUIRED"))).await;
    }
    let remember = pending
        .as_ref()
        .map_or_else(|| common::remember(&ctx, &f), |p| p.remember);
    sign_in(&ctx, &wan, asserted, secondary, remember, next).await
}

async fn sign_in(
    ctx: &Ctx,
    wan: &WebAuthn,
    asserted: wan_assert::Asserted,
    secondary: bool,
    remember: bool,
    next: Option<String>,
) -> Response {
    let sec = &ctx.sec;
    let user = asserted.user;
    let mut extra_cookie = None;
    if let Some(hook) = &wan.two_factor {
        if secondary {
            match hook.complete(sec, &ctx.session, &user).await {
                Ok(c) => extra_cookie = c,
                Err(e) => return account::backend(e),
            }
        } else if !(asserted.user_verified && sec.config().wan.allow_as_multi_factor)
            && let Some(r) = hook
                .enter(sec, &ctx.session, &user, remember, ctx.json)
                .await
        {
            return r;
        }
    }
    let user = match super::login::establish(sec, &ctx.session, user, ctx.addr, "webauthn").await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let target = next.map_or_else(
        || sec.config().post_login_view.clone(),
        |n| redirect::quote_location(&n),
    );
    let mut response = if ctx.json {
        account::json_ok(
            ctx,
            vec![
                ("post_login_url", Value::String(target)),
                ("tf_required", Value::Bool(false)),
                (
                    "user",
                    account::user_payload(ctx, &user, account::wants_token(ctx)),
                ),
            ],
        )
        .await
    } else {
        handlers::found(&target)
    };
    let headers = response.headers_mut();
    if remember && let Some(cookie) = sec.inner.remember.set_header(&user.fs_uniquifier) {
        headers.append(header::SET_COOKIE, cookie);
    }
    if let Some(cookie) = extra_cookie {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}
