//! `/wan-register` and `/wan-delete` (`SECURITY_WEBAUTHN`): list, register and delete the
//! signed-in user's passkeys. Both need a fresh authentication, as in Flask-Security;
//! `/wan-register/<state>` only an authenticated one (by the user the state was issued to).

use axum::extract::{FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde_json::Value;
use webauthn_rs_core::proto::RegisterPublicKeyCredential;

use super::account::{self, Ctx, Errors};
use super::wan_common::{self as common, one};
use super::wan_page::{self, Ceremony};
use crate::authn::CurrentUser;
use crate::events::Event;
use crate::extract::{AuthRequired, FreshRequired};
use crate::security::handlers;
use crate::webauthn::{self, Kind, WanState, names};

async fn fresh_caller(parts: &mut Parts) -> Result<(Ctx, CurrentUser), Response> {
    let user = FreshRequired::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?
        .user;
    Ok((account::context(parts).await?, user))
}

/// `security/wan_register.html` with the user's passkeys.
async fn page(
    ctx: &Ctx,
    user: &User,
    errors: Vec<String>,
    running: Option<&Ceremony<'_>>,
) -> Response {
    let creds = match ctx.sec.store().webauthn_of(user.id).await {
        Ok(c) => c,
        Err(e) => return account::backend(e),
    };
    wan_page::register(ctx, &common::listing(&creds), &errors, running).await
}

/// `GET /wan-register` (and `GET /wan-delete`): `registered_credentials`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        let creds = match ctx.sec.store().webauthn_of(user.id).await {
            Ok(c) => c,
            Err(e) => return account::backend(e),
        };
        return account::json_ok(
            &ctx,
            vec![
                ("user", account::user_payload(&ctx, &user, false)),
                ("registered_credentials", common::listing(&creds)),
            ],
        )
        .await;
    }
    page(&ctx, &user, Vec::new(), None).await
}

/// Gives the user a WebAuthn user handle if they have none yet (Flask-Security sets it on
/// first registration so that adding the column needs no data migration).
async fn with_handle(ctx: &Ctx, user: &User) -> Result<User, Response> {
    if user.fs_webauthn_user_handle.is_some() {
        return Ok(user.clone());
    }
    let mut u = user.clone();
    u.fs_webauthn_user_handle = Some(rampart_core::model::new_uniquifier());
    ctx.sec
        .store()
        .update_user(&u)
        .await
        .map_err(account::backend)
}

/// `POST /wan-register {name, usage}`: `credential_options` and `wan_state`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, current) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (wan, f) = match common::ceremony_input(&ctx, body).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let c = &ctx.sec.config().wan;
    let name = match names::check(f.text("name").as_deref(), c.name_max_length) {
        Ok(n) => n,
        Err(p) => {
            let e = one("name", ctx.msg(p.key()));
            return common::refuse(&ctx, e, |m| page(&ctx, &current, m, None)).await;
        }
    };
    let existing = match ctx.sec.store().webauthn_of(current.id).await {
        Ok(c) => c,
        Err(e) => return account::backend(e),
    };
    if existing.iter().any(|c| c.name == name) {
        let e = one(
            "name",
            ctx.msg_with("WEBAUTHN_NAME_INUSE", &[("name", &name)]),
        );
        return common::refuse(&ctx, e, |m| page(&ctx, &current, m, None)).await;
    }
    let usage = match f.text("usage").as_deref() {
        _ if !c.allow_as_first_factor => "secondary",
        None | Some("secondary") => "secondary",
        Some("first") => "first",
        Some(_) => {
            let e = one("usage", ctx.msg("API_ERROR"));
            return common::refuse(&ctx, e, |m| page(&ctx, &current, m, None)).await;
        }
    };
    let user = match with_handle(&ctx, &current).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let who = webauthn::Registrant {
        handle: user.fs_webauthn_user_handle.as_deref().unwrap_or_default(),
        name: user.username.as_deref().unwrap_or(&user.email),
        exclude: existing.iter().map(|c| c.credential_id.clone()).collect(),
    };
    let started = webauthn::start_registration(
        &wan.core,
        &who,
        usage,
        c.allow_user_hints,
        c.register_timeout_ms,
    );
    let (options, ceremony) = match started {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot start a WebAuthn registration");
            let e = one("", ctx.msg("API_ERROR"));
            return common::refuse(&ctx, e, |m| page(&ctx, &current, m, None)).await;
        }
    };
    let token = wan.states.issue(WanState {
        nonce: String::new(),
        kind: Kind::Register,
        user: Some(user.fs_uniquifier.clone()),
        name,
        usage: usage.to_owned(),
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
    let running = Ceremony {
        options: &options,
        state: &token,
        hidden: &[],
    };
    page(&ctx, &user, Vec::new(), Some(&running)).await
}

/// `POST /wan-register/<wan_state> {credential}`: verifies and stores the new credential.
pub(crate) async fn post_state(Path(token): Path<String>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let current =
        match AuthRequired::<crate::extract::SessionOrToken>::from_request_parts(&mut parts, &())
            .await
        {
            Ok(a) => a.user,
            Err(r) => return r.into_response(),
        };
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (wan, f) = match common::ceremony_input(&ctx, body).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let within = ctx.sec.config().wan.register_within_secs;
    let refuse = |e: Errors| common::refuse(&ctx, e, |m| page(&ctx, &current, m, None));
    let state = match common::claim(&ctx, &wan, &token, Kind::Register, within).await {
        Ok(s) if s.user.as_deref() == Some(current.fs_uniquifier.as_str()) => s,
        Ok(_) => return refuse(one("", ctx.msg("API_ERROR"))).await,
        Err(p) => return refuse(one("", common::state_message(&ctx, p, within))).await,
    };
    match register(&ctx, &wan, &current, &f, &state).await {
        Ok(()) => {}
        Err(Refusal::Errors(e)) => return refuse(e).await,
        Err(Refusal::Response(r)) => return r,
    }
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![("user", account::user_payload(&ctx, &current, false))],
        )
        .await;
    }
    handlers::found(&ctx.sec.config().wan.post_register_view)
}

enum Refusal {
    Errors(Errors),
    Response(Response),
}

async fn register(
    ctx: &Ctx,
    wan: &webauthn::WebAuthn,
    user: &User,
    f: &super::form::Fields,
    state: &WanState,
) -> Result<(), Refusal> {
    let Some((reg, raw)) = common::credential::<RegisterPublicKeyCredential>(f) else {
        return Err(Refusal::Errors(one("credential", ctx.msg("API_ERROR"))));
    };
    let existing = ctx
        .sec
        .store()
        .webauthn_of(user.id)
        .await
        .map_err(|e| Refusal::Response(account::backend(e)))?;
    if existing.iter().any(|c| c.name == state.name) {
        let m = ctx.msg_with("WEBAUTHN_NAME_INUSE", &[("name", &state.name)]);
        return Err(Refusal::Errors(one("credential", m)));
    }
    let extensions = common::client_extensions(&raw);
    let mut new = webauthn::finish_registration(&wan.core, &reg, extensions, &state.ceremony)
        .map_err(|e| {
            tracing::info!(user_id = user.id, error = %e, "WebAuthn registration refused");
            Refusal::Errors(one("credential", common::no_verify(ctx, &e.to_string())))
        })?;
    new.name = state.name.clone();
    new.usage = state.usage.clone();
    new.user_id = user.id;
    match ctx.sec.store().create_webauthn(new).await {
        Ok(_) => {}
        Err(rampart_core::DatastoreError::AlreadyExists { .. }) => {
            let m = ctx.msg("WEBAUTHN_CREDENTIAL_ID_INUSE");
            return Err(Refusal::Errors(one("credential", m)));
        }
        Err(e) => return Err(Refusal::Response(account::backend(e))),
    }
    tracing::info!(user_id = user.id, usage = %state.usage, "passkey registered");
    ctx.sec.events().emit(Event::WanRegistered {
        user_id: user.id,
        name: state.name.clone(),
    });
    Ok(())
}

/// `POST /wan-delete {name}`.
pub(crate) async fn delete(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, current) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let refuse = |e: Errors| common::refuse(&ctx, e, |m| page(&ctx, &current, m, None));
    let max = ctx.sec.config().wan.name_max_length;
    let name = match names::check(f.text("name").as_deref(), max) {
        Ok(n) => n,
        Err(names::NameProblem::Required) => {
            return refuse(one("name", ctx.msg("WEBAUTHN_NAME_REQUIRED"))).await;
        }
        Err(names::NameProblem::Disallowed) => f.text("name").unwrap_or_default(),
    };
    let creds = match ctx.sec.store().webauthn_of(current.id).await {
        Ok(c) => c,
        Err(e) => return account::backend(e),
    };
    let Some(cred) = creds.into_iter().find(|c| c.name == name) else {
        let m = ctx.msg_with("WEBAUTHN_NAME_NOT_FOUND", &[("name", &name)]);
        return refuse(one("name", m)).await;
    };
    if let Err(e) = ctx.sec.store().delete_webauthn(cred.id).await {
        return account::backend(e);
    }
    tracing::info!(user_id = current.id, "passkey deleted");
    ctx.sec.events().emit(Event::WanDeleted {
        user_id: current.id,
        name: cred.name.clone(),
    });
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![("user", account::user_payload(&ctx, &current, false))],
        )
        .await;
    }
    handlers::found(&ctx.sec.config().wan.register_url)
}
