//! `/wan-verify` (`SECURITY_WEBAUTHN`, `SECURITY_FRESHNESS` ≥ 0, `SECURITY_WAN_ALLOW_AS_VERIFY`
//! not empty): re-authentication with one of the caller's own passkeys, which renews the
//! session's freshness (`fs_paa`) or, with `?include_auth_token`, returns a fresh token.

use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::account::{self, Ctx, Errors};
use super::wan_assert::{self, Refusal};
use super::wan_common::{self as common, one};
use super::wan_page::{self, Ceremony};
use crate::authn::{CurrentUser, Mechanism};
use crate::extract::{AuthRequired, SessionOrToken};
use crate::redirect;
use crate::security::handlers;
use crate::webauthn::{self, Kind, WanState, WebAuthn};

async fn caller(
    parts: &mut Parts,
) -> Result<(Ctx, CurrentUser, std::sync::Arc<WebAuthn>), Response> {
    let user = AuthRequired::<SessionOrToken>::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    let ctx = account::context(parts).await?;
    let wan = common::relying_party(&ctx).map_err(IntoResponse::into_response)?;
    Ok((ctx, user, wan))
}

fn usages(ctx: &Ctx) -> Vec<&str> {
    ctx.sec
        .config()
        .wan
        .allow_as_verify
        .iter()
        .map(String::as_str)
        .collect()
}

async fn page(ctx: &Ctx, errors: Vec<String>, running: Option<&Ceremony<'_>>) -> Response {
    let next = ctx.query.get("next").cloned().unwrap_or_default();
    wan_page::verify(ctx, &next, &errors, running).await
}

/// `GET /wan-verify`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user, _) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        let payload = account::user_payload(&ctx, &user, false);
        return account::json_ok(&ctx, vec![("user", payload)]).await;
    }
    page(&ctx, Vec::new(), None).await
}

/// `POST /wan-verify`: `credential_options` (the caller's own credentials) and `wan_state`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user, wan) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let usages = usages(&ctx);
    let allow = match common::usable(&ctx, &user, &usages).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let timeout = ctx.sec.config().wan.signin_timeout_ms;
    let (options, ceremony) =
        match webauthn::start_authentication(&wan.core, &allow, &usages, timeout) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a WebAuthn verification");
                let e = one("", ctx.msg("API_ERROR"));
                return common::refuse(&ctx, e, |m| page(&ctx, m, None)).await;
            }
        };
    let token = wan.states.issue(WanState {
        nonce: String::new(),
        kind: Kind::Verify,
        user: Some(user.fs_uniquifier.clone()),
        name: String::new(),
        usage: String::new(),
        ceremony,
    });
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("credential_options", options),
                ("wan_state", Value::String(token)),
            ],
        )
        .await;
    }
    let options = options.to_string();
    let next = f.text("next").unwrap_or_default();
    let hidden = [("next", next.as_str())];
    let running = Ceremony {
        options: &options,
        state: &token,
        hidden: &hidden,
    };
    page(&ctx, Vec::new(), Some(&running)).await
}

/// `POST /wan-verify/<wan_state> {credential, next?}`.
pub(crate) async fn post_state(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user, wan) = match caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let refuse = |e: Errors| common::refuse(&ctx, e, |m| page(&ctx, m, None));
    let next = f.text("next").or_else(|| ctx.query.get("next").cloned());
    if let Some(n) = next.as_deref()
        && !redirect::allowed(&ctx.sec, &ctx.headers, n)
    {
        return refuse(one("next", ctx.msg("INVALID_REDIRECT"))).await;
    }
    let within = ctx.sec.config().wan.signin_within_secs;
    let state = match common::claim(&ctx, &wan, &token, Kind::Verify, within).await {
        Ok(s) if s.user.as_deref() == Some(user.fs_uniquifier.as_str()) => s,
        Ok(_) => return refuse(one("", ctx.msg("API_ERROR"))).await,
        Err(p) => return refuse(one("", common::state_message(&ctx, p, within))).await,
    };
    let usages = usages(&ctx);
    if let Err(r) = wan_assert::check(&ctx, &wan, &f, &state, &usages, Some(&*user), None).await {
        return match r {
            Refusal::Errors(e) => refuse(e).await,
            Refusal::Response(r) => r,
        };
    }
    if user.via == Mechanism::Session
        && let Err(e) = ctx.session.reauthenticated().await
    {
        return account::backend(e);
    }
    tracing::info!(user_id = user.id, "user re-authenticated with a passkey");
    if ctx.json {
        let payload = account::user_payload(&ctx, &user, account::wants_token(&ctx));
        return account::json_ok(&ctx, vec![("user", payload)]).await;
    }
    let target = next.map_or_else(
        || ctx.sec.config().post_verify_view.clone(),
        |n| redirect::quote_location(&n),
    );
    handlers::found(&target)
}
