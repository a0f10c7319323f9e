//! `/us-setup` (fresh: set up or remove unified sign-in methods) and `/us-setup/<state>`
//! (the code that proves the new method works).

use axum::extract::{FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use rampart_core::model::User;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::mfa_page;
use super::two_factor::{throttled, username};
use crate::events::Event;
use crate::extract::FreshRequired;
use crate::mail::EmailKind;
use crate::security::handlers;
use crate::two_factor as tf;
use crate::unified_signin as us;

/// Flask-Security's `us-setup-salt`.
const SETUP_SALT: &str = "us-setup-salt";

/// The signed state of a setup (Flask-Security's payload plus the user it was issued to).
#[derive(Debug, Serialize, Deserialize)]
struct SetupState {
    uid: String,
    totp_secret: String,
    chosen_method: String,
    phone_number: Option<String>,
}

async fn fresh_caller(parts: &mut axum::http::request::Parts) -> Result<(Ctx, User), Response> {
    let user = FreshRequired::from_request_parts(parts, &())
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((account::context(parts).await?, (*user.user.user).clone()))
}

fn phone_of(ctx: &Ctx, user: &User) -> Value {
    if us::enabled(&ctx.sec).iter().any(|m| m == "sms") {
        json!(user.us_phone_number)
    } else {
        Value::Null
    }
}

fn identity_attributes(ctx: &Ctx) -> Value {
    if ctx.sec.config().username_enable {
        json!(["email", "username"])
    } else {
        json!(["email"])
    }
}

async fn page(ctx: &Ctx, user: &User, errors: &[(&str, String)]) -> Response {
    mfa_page::us_setup(
        ctx,
        &us::setup_methods(&ctx.sec),
        &us::active_methods(&ctx.sec, user),
        None,
        None,
        errors,
    )
    .await
}

/// `GET /us-setup`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let (ctx, user) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("identity_attributes", identity_attributes(&ctx)),
                ("available_methods", json!(us::enabled(&ctx.sec))),
                ("active_methods", json!(us::active_methods(&ctx.sec, &user))),
                ("setup_methods", json!(us::setup_methods(&ctx.sec))),
                ("phone", phone_of(&ctx, &user)),
            ],
        )
        .await;
    }
    page(&ctx, &user, &[]).await
}

async fn fail(ctx: &Ctx, user: &User, errors: Errors) -> Response {
    if ctx.json {
        return errors.into_json();
    }
    page(ctx, user, &errors.pairs()).await
}

/// `POST /us-setup {chosen_method?, phone?, delete_method?}`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let (ctx, user) = match fresh_caller(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let chosen = f.text("chosen_method");
    let delete = f.list("delete_method");
    let mut errors = Errors::default();
    if chosen.is_none() && delete.is_empty() {
        errors.add("", ctx.msg("API_ERROR"));
        return fail(&ctx, &user, errors).await;
    }
    let active = us::active_methods(&ctx.sec, &user);
    if delete
        .iter()
        .any(|m| m == "password" || !active.contains(m))
    {
        errors.add("delete_method", ctx.msg("US_METHOD_NOT_AVAILABLE"));
        return fail(&ctx, &user, errors).await;
    }
    let phone = match (&chosen, f.text("phone")) {
        (Some(m), p) if m == "sms" => match p.filter(|p| tf::sms::phone_ok(p)) {
            Some(p) => Some(tf::sms::normalize_phone(&p)),
            None => {
                errors.add("phone", ctx.msg("PHONE_INVALID"));
                return fail(&ctx, &user, errors).await;
            }
        },
        _ => None,
    };
    if let Some(m) = &chosen
        && !us::setup_methods(&ctx.sec).contains(m)
    {
        errors.add("chosen_method", ctx.msg("US_METHOD_NOT_AVAILABLE"));
        return fail(&ctx, &user, errors).await;
    }
    let mut user = user;
    if !delete.is_empty() {
        let mut secrets = us::secrets_of(&user);
        for m in &delete {
            secrets.remove(m);
            if m == "sms" {
                user.us_phone_number = None;
            }
        }
        us::set_secrets(&mut user, &secrets);
        user = match ctx.sec.store().update_user(&user).await {
            Ok(u) => u,
            Err(e) => return account::backend(e),
        };
        ctx.sec.events().emit(Event::UsProfileChanged {
            user_id: user.id,
            methods: us::active_methods(&ctx.sec, &user),
        });
    }
    let Some(method) = chosen else {
        if ctx.json {
            return account::json_ok(&ctx, vec![]).await;
        }
        return page(&ctx, &user, &[]).await;
    };
    add(&ctx, &user, &method, phone).await
}

async fn add(ctx: &Ctx, user: &User, method: &str, phone: Option<String>) -> Response {
    let Some(secret) = tf::new_secret(&ctx.sec).await else {
        return tf::backend(rampart_core::DatastoreError::Backend(
            "cannot create a TOTP secret (SECURITY_TOTP_SECRETS)".to_owned(),
        ));
    };
    let st = SetupState {
        uid: user.fs_uniquifier.clone(),
        totp_secret: secret.clone(),
        chosen_method: method.to_owned(),
        phone_number: phone.clone(),
    };
    let token = ctx
        .sec
        .inner
        .mfa
        .tokens
        .sign(&st, SETUP_SALT)
        .unwrap_or_default();
    let mut target = user.clone();
    if method == "sms" {
        target.us_phone_number = phone.clone();
    }
    if let Err(e) = tf::send_code(
        &ctx.sec,
        &target,
        method,
        &secret,
        phone.as_deref(),
        EmailKind::UsInstructions,
        None,
    )
    .await
    {
        return tf::send_failed(&ctx.sec, ctx.json, &e);
    }
    let mut extra = vec![
        ("chosen_method", json!(method)),
        ("phone", json!(phone)),
        ("state", json!(token)),
    ];
    let authr = if method == "authenticator" {
        tf::decrypt(&ctx.sec, &secret)
            .await
            .ok()
            .map(|key| ctx.sec.inner.mfa.totp.setup_values(&key, &username(user)))
    } else {
        None
    };
    if let Some(a) = &authr {
        extra.push(("authr_key", json!(a.key)));
        extra.push(("authr_b32key", json!(a.b32key)));
        extra.push(("authr_username", json!(a.username)));
        extra.push(("authr_issuer", json!(a.issuer)));
        extra.push(("authr_uri", json!(a.uri)));
    }
    if ctx.json {
        return account::json_ok(ctx, extra).await;
    }
    let qr = authr.as_ref().and_then(|a| tf::totp::qr_svg(&a.uri));
    let view = authr.as_ref().map(|a| mfa_page::AuthrView {
        qr_svg: qr.as_deref(),
        key: &a.b32key,
        issuer: &a.issuer,
        username: &a.username,
    });
    let pending = mfa_page::UsPending {
        method,
        state: &token,
    };
    mfa_page::us_setup(
        ctx,
        &us::setup_methods(&ctx.sec),
        &us::active_methods(&ctx.sec, user),
        view.as_ref(),
        Some(&pending),
        &[],
    )
    .await
}

/// `POST /us-setup/<state> {passcode}`.
pub(crate) async fn validate(Path(token): Path<String>, req: Request) -> Response {
    let (ctx, f, user) = match super::two_factor::signed_in_post(req).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let within = ctx.sec.config().mfa.us_setup_within_secs;
    let tokens = &ctx.sec.inner.mfa.tokens;
    let Some(st) = tokens
        .open::<SetupState>(&token, SETUP_SALT, within)
        .filter(|s| s.uid == user.fs_uniquifier)
    else {
        let expired = tokens
            .open::<SetupState>(&token, SETUP_SALT, i64::from(u32::MAX))
            .is_some();
        let message = if expired {
            ctx.msg_with(
                "US_SETUP_EXPIRED",
                &[("within", &crate::lifecycle::format_within(within))],
            )
        } else {
            ctx.msg("API_ERROR")
        };
        let mut e = Errors::default();
        e.add("", message);
        return fail(&ctx, &user, e).await;
    };
    let passcode = f.text("passcode").unwrap_or_default();
    let window = ctx.sec.config().mfa.us_token_validity_secs;
    match tf::check_code(
        &ctx.sec,
        &user,
        &st.totp_secret,
        window,
        &passcode,
        None,
        ctx.addr,
    )
    .await
    {
        tf::Check::Accepted => {}
        tf::Check::Wrong => {
            let mut e = Errors::default();
            e.add("passcode", ctx.msg("INVALID_PASSWORD_CODE"));
            return fail(&ctx, &user, e).await;
        }
        tf::Check::Throttled(r) => return throttled(&ctx, r),
        tf::Check::Backend(r) => return r,
    }
    let mut u = user.clone();
    let mut secrets = us::secrets_of(&u);
    secrets.insert(st.chosen_method.clone(), st.totp_secret);
    us::set_secrets(&mut u, &secrets);
    if st.chosen_method == "sms" {
        u.us_phone_number = st.phone_number.clone();
    }
    let u = match ctx.sec.store().update_user(&u).await {
        Ok(u) => u,
        Err(rampart_core::DatastoreError::AlreadyExists { .. }) => {
            let phone = st.phone_number.unwrap_or_default();
            let mut e = Errors::default();
            e.add(
                "phone",
                ctx.msg_with(
                    "IDENTITY_ALREADY_ASSOCIATED",
                    &[("attr", "us_phone_number"), ("value", &phone)],
                ),
            );
            return fail(&ctx, &user, e).await;
        }
        Err(e) => return account::backend(e),
    };
    ctx.sec.events().emit(Event::UsProfileChanged {
        user_id: u.id,
        methods: us::active_methods(&ctx.sec, &u),
    });
    if ctx.json {
        return account::json_ok(
            &ctx,
            vec![
                ("chosen_method", json!(st.chosen_method)),
                ("phone", phone_of(&ctx, &u)),
            ],
        )
        .await;
    }
    handlers::found(&ctx.sec.config().mfa.us_post_setup_view)
}
