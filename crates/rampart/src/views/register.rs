//! `/register` (`SECURITY_REGISTERABLE`): JSON or form registration, the welcome email (with
//! the confirmation link when confirmable), auto-login when confirmation is off, and the
//! generic-response variant for taken addresses and usernames.

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use rampart_core::model::{NewUser, User};
use serde_json::{Value, json};

use super::account::{self, Ctx, Errors};
use super::account_rules as rules;
use super::form::Fields;
use crate::events::Event;
use crate::extract::Rejection;
use crate::lifecycle::{SendError, format_within, user_context};
use crate::mail::EmailKind;
use crate::pages::{Field, Form, Page};
use crate::security::handlers;

fn not_anonymous(ctx: &Ctx) -> Response {
    Rejection::NotAnonymous {
        message: ctx.sec.messages().text("ANONYMOUS_USER_REQUIRED"),
        wants_json: ctx.json,
        post_login_view: ctx.sec.config().post_login_view.clone(),
    }
    .into_response()
}

/// `GET /register`.
pub(crate) async fn get(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return not_anonymous(&ctx);
    }
    if ctx.json {
        return account::json_ok(&ctx, vec![]).await;
    }
    page(&ctx, "", "", &Errors::default()).await
}

/// `security/register_user.html` with the form `register_user_form`.
async fn page(ctx: &Ctx, email: &str, username: &str, errors: &Errors) -> Response {
    let c = ctx.sec.config();
    let mut form = Form::new();
    if c.username_enable {
        form = form
            .field(Field::email("Email Address", email))
            .field(Field::text("username", "Username", username).autocomplete("username"));
    } else {
        form = form.field(Field::identity_email("Email Address", email));
    }
    form = form.field(Field::password("password", "Password", "new-password"));
    if c.lifecycle.password_confirm_required {
        form = form.field(Field::password(
            "password_confirm",
            "Retype Password",
            "new-password",
        ));
    }
    if let Some(next) = ctx.query.get("next") {
        form = form.field(Field::hidden("next", next));
    }
    let form = form.submit("Register").errors(errors.pairs());
    ctx.render(Page::new("security/register_user.html").form("register_user_form", &form))
        .await
}

/// What the form holds once validated (or the errors and the existing accounts found).
struct Checked {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    existing_email: Option<User>,
    existing_username: Option<User>,
    errors: Errors,
}

async fn check(ctx: &Ctx, f: &Fields) -> Result<Checked, Response> {
    let sec = &ctx.sec;
    let mut errors = Errors::default();
    let email = rules::email(ctx, f, "email", &mut errors);
    let existing_email = match &email {
        Some(e) => sec
            .store()
            .find_user_by_email(e)
            .await
            .map_err(account::backend)?,
        None => None,
    };
    if existing_email.is_some() {
        let e = email.clone().unwrap_or_default();
        errors.add(
            "email",
            ctx.msg_with("EMAIL_ALREADY_ASSOCIATED", &[("email", &e)]),
        );
    }
    let mut username = None;
    let mut existing_username = None;
    if sec.config().username_enable {
        match f.text("username") {
            None if sec.config().lifecycle.username_required => {
                errors.add("username", ctx.msg("USERNAME_NOT_PROVIDED"));
            }
            None => {}
            Some(raw) => match rules::username(ctx, &raw) {
                Err(m) => errors.add("username", m),
                Ok(name) => {
                    existing_username = sec
                        .store()
                        .find_user_by_username(&name)
                        .await
                        .map_err(account::backend)?;
                    if existing_username.is_some() {
                        errors.add(
                            "username",
                            ctx.msg_with("USERNAME_ALREADY_ASSOCIATED", &[("username", &name)]),
                        );
                    }
                    username = Some(name);
                }
            },
        }
    }
    let confirm = sec
        .config()
        .lifecycle
        .password_confirm_required
        .then_some("password_confirm");
    let mut inputs: Vec<&str> = email.iter().map(String::as_str).collect();
    inputs.extend(username.as_deref());
    let password = rules::new_password(ctx, f, ("password", confirm), &inputs, &mut errors).await;
    rules::next(ctx, f, &mut errors);
    Ok(Checked {
        email,
        username,
        password,
        existing_email,
        existing_username,
        errors,
    })
}

/// `POST /register`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match account::context(&mut parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if ctx.current.is_some() {
        return not_anonymous(&ctx);
    }
    let f = match account::fields(&ctx, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Err(e) = account::unauth_csrf(&ctx, &f).await {
        let mut errors = Errors::default();
        errors.add("csrf_token", e);
        return fail(&ctx, &f, errors).await;
    }
    let checked = match check(&ctx, &f).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !checked.errors.is_empty() {
        if ctx.sec.config().return_generic_responses {
            let rest = checked.errors.without(if checked.existing_email.is_some() {
                "email"
            } else {
                ""
            });
            let rest = rest.without(if checked.existing_username.is_some() {
                "username"
            } else {
                ""
            });
            if rest.is_empty() {
                return register_existing(
                    &ctx,
                    checked.existing_email,
                    checked.existing_username,
                    checked.email,
                    checked.username,
                )
                .await;
            }
            return fail(&ctx, &f, rest).await;
        }
        return fail(&ctx, &f, checked.errors).await;
    }
    let (Some(email), Some(password)) = (checked.email, checked.password) else {
        return fail(&ctx, &f, Errors::default()).await;
    };
    register(&ctx, &f, email, checked.username, &password).await
}

async fn fail(ctx: &Ctx, f: &Fields, errors: Errors) -> Response {
    if ctx.json {
        return errors.into_json();
    }
    page(
        ctx,
        &f.text("email").unwrap_or_default(),
        &f.text("username").unwrap_or_default(),
        &errors,
    )
    .await
}

async fn register(
    ctx: &Ctx,
    f: &Fields,
    email: String,
    username: Option<String>,
    password: &str,
) -> Response {
    let sec = &ctx.sec;
    let hash = match sec.passwords().hash(password).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "password hashing failed");
            return account::backend(rampart_core::DatastoreError::Backend(e.to_string()));
        }
    };
    let new = NewUser {
        email: email.clone(),
        username,
        password_hash: Some(hash),
        active: true,
        confirmed_at: None,
        roles: Vec::new(),
    };
    let user = match sec.store().create_user(new).await {
        Ok(u) => u,
        Err(rampart_core::DatastoreError::AlreadyExists { field }) => {
            // Lost a race with another registration of the same identity.
            let mut errors = Errors::default();
            let field = if field == "username" {
                "username"
            } else {
                "email"
            };
            errors.add(
                field,
                ctx.msg_with("EMAIL_ALREADY_ASSOCIATED", &[("email", &email)]),
            );
            return fail(ctx, f, errors).await;
        }
        Err(e) => return account::backend(e),
    };
    let c = sec.config();
    let mut confirmation_sent = false;
    if c.lifecycle.send_register_email {
        if let Err(e) = welcome(ctx, &user) {
            return account::mail_failed(ctx, &e);
        }
        confirmation_sent = c.confirmable;
    }
    tracing::info!(user_id = user.id, "user registered");
    sec.events().emit(Event::UserRegistered {
        user_id: user.id,
        email: user.email.clone(),
        confirmation_sent,
    });
    if !c.confirmable || c.login_without_confirmation {
        // A user who must set up two-factor enters its flow instead of being signed in
        // (Flask-Security's tf_enter).
        if let Some(r) = crate::two_factor::enter(
            &super::two_factor::done(ctx),
            &user,
            false,
            "register",
            None,
        )
        .await
        {
            return r;
        }
        if let Err(e) = ctx.session.login(&user.fs_uniquifier, true).await {
            return account::backend(e);
        }
        sec.events().emit(Event::UserAuthenticated {
            user_id: user.id,
            authn_via: "register".into(),
        });
        if ctx.json {
            let payload = account::user_payload(ctx, &user, account::wants_token(ctx));
            return account::json_ok(
                ctx,
                vec![("user", payload), ("tf_required", Value::Bool(false))],
            )
            .await;
        }
        return handlers::found(&post_register_view(ctx));
    }
    if !ctx.json {
        if confirmation_sent {
            let m = ctx.msg_with("CONFIRM_REGISTRATION", &[("email", &user.email)]);
            ctx.flash(crate::messages::category("CONFIRM_REGISTRATION"), &m)
                .await;
        }
        return handlers::found(&post_register_view(ctx));
    }
    if c.return_generic_responses {
        // Identical to the answer for a taken address (Flask-Security adds `user` here).
        return account::json_ok(ctx, vec![]).await;
    }
    account::json_ok(ctx, vec![("user", json!({}))]).await
}

fn post_register_view(ctx: &Ctx) -> String {
    let fallback = ctx.sec.config().post_login_view.clone();
    account::view_or(ctx, "POST_REGISTER_VIEW", &fallback)
}

/// The welcome email: with the confirmation link when confirmable.
fn welcome(ctx: &Ctx, user: &User) -> Result<(), SendError> {
    let c = ctx.sec.config();
    let life = ctx.sec.lifecycle();
    let mut context = json!({"user": user_context(user)});
    if c.confirmable {
        let (link, token) = life.confirm_link(c, user)?;
        context["confirmation_link"] = json!(link);
        context["confirmation_token"] = json!(token);
        context["within"] = json!(format_within(c.lifecycle.confirm_email_within_secs));
    }
    life.send(c, EmailKind::Welcome, &user.email, context)
}

/// Generic responses: the address or username is taken. Answer as a real registration would
/// (after the same amount of hashing) and tell the owner by email.
async fn register_existing(
    ctx: &Ctx,
    existing_email: Option<User>,
    existing_username: Option<User>,
    email: Option<String>,
    username: Option<String>,
) -> Response {
    let sec = &ctx.sec;
    let c = sec.config();
    // The real path hashes the new password once: so does this one.
    let _ = sec.passwords().hash("not-a-password-but-as-long").await;
    let life = sec.lifecycle();
    let sent = if let Some(user) = &existing_email {
        sec.events().emit(Event::UserNotRegistered {
            existing_user_id: Some(user.id),
        });
        if c.lifecycle.send_register_email {
            existing_email_mail(ctx, user)
        } else {
            Ok(())
        }
    } else if existing_username.is_some() {
        sec.events().emit(Event::UserNotRegistered {
            existing_user_id: None,
        });
        match (&email, c.lifecycle.send_register_email) {
            (Some(to), true) => life.send(
                c,
                EmailKind::WelcomeExistingUsername,
                to,
                json!({"email": to, "username": username}),
            ),
            _ => Ok(()),
        }
    } else {
        Ok(())
    };
    if let Err(e) = sent {
        return account::mail_failed(ctx, &e);
    }
    if ctx.json {
        return account::json_ok(ctx, vec![]).await;
    }
    handlers::found(&post_register_view(ctx))
}

fn existing_email_mail(ctx: &Ctx, user: &User) -> Result<(), SendError> {
    let c = ctx.sec.config();
    let life = ctx.sec.lifecycle();
    let mut context = json!({"user": user_context(user)});
    if c.recoverable {
        let (link, token) = life.reset_link(c, user)?;
        context["recovery_link"] = json!(life.external_url(&c.lifecycle.reset_url));
        context["reset_link"] = json!(link);
        context["reset_token"] = json!(token);
    }
    if rules::requires_confirmation(&ctx.sec, user) {
        let (link, token) = life.confirm_link(c, user)?;
        context["confirmation_link"] = json!(link);
        context["confirmation_token"] = json!(token);
    }
    life.send(c, EmailKind::WelcomeExisting, &user.email, context)
}
