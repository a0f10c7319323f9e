//! Rampart: the security layer for axum applications.
//!
//! Rampart is to an axum application what Flask-Security-Too is to a Flask application, and it
//! speaks the same JSON API and reads the same database, so a Flask back end can move to Rust
//! without touching its front end or asking users to reset their passwords.
//!
//! # Securing an axum application
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::{get, post}};
//! use rampart::sql::{SqlDatastore, SqlOptions};
//! use rampart::{AuthRequired, FreshRequired, RolesRequired, Security, SecurityConfig};
//!
//! rampart::names!(Admin = ["admin"]);
//!
//! // `@auth_required()`: a session cookie or an auth token.
//! async fn me(user: AuthRequired) -> String {
//!     format!("hello {}", user.email)
//! }
//!
//! // `@auth_required()` + `@roles_required("admin")`: 401 for anonymous callers, 403 for others.
//! async fn admin(_: AuthRequired, _: RolesRequired<Admin>) -> &'static str {
//!     "admin area"
//! }
//!
//! // Re-authentication within SECURITY_FRESHNESS for sensitive actions.
//! async fn close_account(user: FreshRequired) -> String {
//!     format!("closing {}", user.email)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Settings keep Flask-Security's names: SECRET_KEY, SECURITY_PASSWORD_SALT, …
//! let config = SecurityConfig::load(None)?.config;
//! // Users, roles and sessions in SQLite (or postgres://…), on Flask-Security's schema.
//! let store = SqlDatastore::connect("sqlite://app.db", SqlOptions::default()).await?;
//! let security = Security::builder(config, Arc::new(store.clone()), store.session_store())
//!     // The "custom 403" pattern of Flask-Security's Security Patterns, in three lines.
//!     .unauthz_handler(|_| {
//!         let body = serde_json::json!({"status": 403, "msgs": ["Not permitted with your privileges"]});
//!         (StatusCode::FORBIDDEN, Json(body)).into_response()
//!     })
//!     .build()?;
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(admin))
//!     .route("/close", post(close_account));
//! // Adds /login and /logout and the session and authentication layers, in the right order.
//! let app = security.install(app);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! [`Security::wrap`] does the same with the layers around the finished router as one service
//! (nothing can be routed past them later, and each request costs one boxed call less); serve
//! it with `axum::ServiceExt::into_make_service_with_connect_info`.
//!
//! A JSON client then signs in with `POST /login {"email", "password"}` (add
//! `?include_auth_token` for a token in `response.user.authentication_token`) and calls `/me`
//! with the session cookie or the `Authentication-Token` header; browsers get the login form and
//! are redirected to `/login?next=…` when they are not signed in.
//!
//! # Modules
//! - [`config`]: typed configuration with Flask-Security's `SECURITY_*` names;
//! - [`security`]: the composed entry point and the replaceable handlers;
//! - [`extract`]: the extractors (`AuthRequired`, `RolesRequired`, …);
//! - [`authn`]: the token, session and Basic mechanisms, remember-me, client addresses;
//! - [`session`]: server-side sessions and their Flask-Security keys;
//! - [`tokens`]: Flask-Security auth tokens (issue, verify, authenticate);
//! - [`throttle`]: throttling of logins, reset requests and code checks (SQL or Redis counters);
//! - [`csrf`]: Flask-WTF-compatible CSRF tokens, [`csrf::UnauthCsrf`] and the cross-site check;
//! - [`csrf_cookie`]: the optional readable `XSRF-TOKEN` cookie for SPAs;
//! - [`headers`]: security headers (CSP with nonces, HSTS, frame and referrer policies …);
//! - [`redirect`]: open-redirect protection of `next`;
//! - [`freshness`]: recent re-authentication for sensitive actions, and `/verify`;
//! - [`envelope`]: Flask-Security's JSON detection and response envelope;
//! - [`messages`]: every `SECURITY_MSG_*` text;
//! - [`password`]: normalization, policy and Flask-Security-compatible hashing;
//! - [`datastore`] and [`model`]: the user datastore trait and Flask-Security's data model;
//! - [`sql`]: the datastore and session store on SQLite and PostgreSQL;
//! - [`accounts`]: account administration shared by the CLI and the views;
//! - [`pages`], [`static_files`]: the HTML pages (Flask-Security's templates, overridable
//!   from `SECURITY_TEMPLATE_DIR`), flashed messages, and the stylesheet;
//! - [`lifecycle`], [`mail`], [`events`]: registration, confirmation, reset and change
//!   flows, their emails (SMTP or an outbox directory, from a background queue) and
//!   Flask-Security's signals as typed events;
//! - [`webauthn`]: WebAuthn passkeys as first or second factor and for re-verification.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accounts;
pub mod authn;
pub mod config;
pub mod csrf;
pub mod csrf_cookie;
pub mod envelope;
pub mod events;
pub mod extract;
pub mod freshness;
#[doc(hidden)]
pub mod fuzzing;
pub mod headers;
pub mod lifecycle;
pub mod mail;
pub mod messages;
pub mod openapi;
pub mod pages;
pub mod redirect;
pub mod redis_pool;
pub mod security;
pub mod session;
pub mod static_files;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod unified_signin;
mod views;
pub mod webauthn;

pub use authn::{CurrentUser, Mechanism};
pub use axum;
pub use config::SecurityConfig;
pub use extract::{
    AnonymousRequired, AuthRequired, AuthTokenRequired, FreshRequired, FreshWithin,
    HttpAuthRequired, OptionalUser, PermissionsAccepted, PermissionsRequired, RolesAccepted,
    RolesRequired,
};
pub use rampart_core::{datastore, model};
pub use rampart_password as password;
pub use rampart_sqlx as sql;
pub use security::{Secured, Security};
