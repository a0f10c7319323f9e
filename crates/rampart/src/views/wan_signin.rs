//! `/wan-signin` (`SECURITY_WEBAUTHN`): sign in with a passkey, as the first factor
//! (`SECURITY_WAN_ALLOW_AS_FIRST_FACTOR`) or as the second factor of a pending two-factor
//! login. A first-factor sign-in finishes like `/login`'s ([`Done`](super::login::Done):
//! new session, tracking, the `user_authenticated` event, `remember`, `?include_auth_token`),
//! after two-factor when the passkey is not multi-factor; a second factor ends the pending
//! login through the two-factor module (challenge spent, `tf_validity` cookie), with a
//! `secondary` passkey of the pending user only. Every assertion is throttled
//! ([`wan_assert`](super::wan_assert)).

use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::Value;

use super::account::{self, Ctx, Errors};
use super::form::Fields;
use super::two_factor::{done, pending_in};
use super::wan_assert::{self, Refusal};
use super::wan_common::{self as common, one};
use super::wan_page::{self, Ceremony};
use crate::extract::Rejection;
use crate::redirect;
use crate::two_factor::{self as tf, Pending};
use crate::webauthn::{self, Kind, WanState, WebAuthn};

/// The pending two-factor login of this request waiting for its second factor
/// (Flask-Security's `tf_state == "ready"`): from the session, or for cookie-less clients the
/// `tf_signin_state` field or the `X-TF-Signin-State` header.
async fn pending(ctx: &Ctx, f: Option<&Fields>) -> Result<Option<(Pending, User)>, Response> {
    if !ctx.sec.config().two_factor {
        return Ok(None);
    }
    pending_in(ctx, f, &["ready"]).await
}

/// Context and relying party; refuses signed-in callers (`anon`).
async fn begin(parts: &mut Parts) -> Result<(Ctx, std::sync::Arc<WebAuthn>), Response> {
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
    Ok((ctx, wan))
}

/// Without a pending second factor, first-factor use must be on (the caller answers 404).
fn allowed(ctx: &Ctx, pending: Option<&(Pending, User)>) -> bool {
    pending.is_some() || ctx.sec.config().wan.allow_as_first_factor
}

async fn page(ctx: &Ctx, secondary: bool, errors: Vec<String>) -> Response {
    let next = ctx.query.get("next").cloned().unwrap_or_default();
    wan_page::signin(ctx, secondary, &next, &errors, None).await
}

/// `GET /wan-signin`: `csrf_token` and `is_secondary`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, _) = match begin(&mut parts).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let pending = match pending(&ctx, None).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !allowed(&ctx, pending.as_ref()) {
        return StatusCode::NOT_FOUND.into_response();
    }
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
    pending: Option<&(Pending, User)>,
) -> Result<Option<User>, Response> {
    if let Some((_, user)) = pending {
        return Ok(Some(user.clone()));
    }
    let store = ctx.sec.store();
    let user = if !ctx.sec.config().wan.allow_user_hints {
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
    let (ctx, wan) = match begin(&mut parts).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let pending = match pending(&ctx, Some(&f)).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !allowed(&ctx, pending.as_ref()) {
        return StatusCode::NOT_FOUND.into_response();
    }
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
        user: pending.as_ref().map(|(p, _)| p.uid.clone()),
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

/// `POST /wan-signin/<wan_state> {credential, remember?, next?, tf_signin_state?}`: signs
/// the user in, or finishes the pending two-factor login with a `secondary` passkey of the
/// pending user.
pub(crate) async fn post_state(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (wan, f) = match common::ceremony_input(&ctx, body).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let pending = match pending(&ctx, Some(&f)).await {
        Ok(p) => p,
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
    let (challenge, pending_user) = (
        pending.as_ref().map(|(p, _)| p),
        pending.as_ref().map(|(_, u)| u),
    );
    if (state.usage == "secondary") != secondary
        || state.user.as_deref() != pending_user.map(|u| u.fs_uniquifier.as_str())
    {
        return refuse(one("", ctx.msg("API_ERROR"))).await;
    }
    let usages = [state.usage.as_str()];
    let asserted =
        match wan_assert::check(&ctx, &wan, &f, &state, &usages, pending_user, challenge).await {
            Ok(a) => a,
            Err(Refusal::Errors(e)) => return refuse(e).await,
            Err(Refusal::Response(r)) => return r,
        };
    if !super::login::confirmation_ok(&ctx.sec, &asserted.user) {
        return refuse(one("credential", ctx.msg("CONFIRMATION_REQUIRED"))).await;
    }
    match pending {
        Some((mut p, _)) => {
            if next.is_some() {
                p.next = next;
            }
            let extra = json_extra(&ctx, p.next.as_deref());
            tf::finish_with(&done(&ctx), &p, asserted.user, "webauthn", extra).await
        }
        None => first_factor(&ctx, &f, asserted, next.as_deref()).await,
    }
}

/// Flask-Security's extra fields of a passkey sign-in: where a browser would go, and that no
/// (further) second factor is needed.
fn json_extra(ctx: &Ctx, next: Option<&str>) -> Vec<(&'static str, Value)> {
    let target = super::login::post_login_target(&ctx.sec, next);
    vec![
        ("post_login_url", Value::String(target)),
        ("tf_required", Value::Bool(false)),
    ]
}

/// A first-factor passkey sign-in: two-factor still applies unless the authenticator
/// verified the user and `SECURITY_WAN_ALLOW_AS_MULTI_FACTOR` is on (Flask-Security's
/// `tf_enter`); then the login completes like `/login`'s.
async fn first_factor(
    ctx: &Ctx,
    f: &Fields,
    asserted: wan_assert::Asserted,
    next: Option<&str>,
) -> Response {
    let done = done(ctx);
    let remember = common::remember(ctx, f);
    let multi_factor = asserted.user_verified && ctx.sec.config().wan.allow_as_multi_factor;
    if !multi_factor
        && let Some(r) = tf::enter(&done, &asserted.user, remember, "webauthn", next).await
    {
        return r;
    }
    let extra = json_extra(ctx, next);
    done.complete_with(asserted.user, remember, next, "webauthn", extra)
        .await
}
