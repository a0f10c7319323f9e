//! Rampart: the security layer for axum applications.
//!
//! Rampart is to an axum application what Flask-Security-Too is to a Flask application, and it
//! speaks the same JSON API and reads the same database, so a Flask back end can move to Rust
//! without touching its front end or asking users to reset their passwords.
//!
//! The pieces so far:
//! - [`config`]: typed configuration with Flask-Security's `SECURITY_*` names;
//! - [`password`]: normalization, policy and Flask-Security-compatible hashing;
//! - [`datastore`] and [`model`]: the user datastore trait and Flask-Security's data model;
//! - [`sql`]: the datastore on SQLite (embedded default) and PostgreSQL;
//! - [`accounts`]: account administration shared by the CLI and the views;
//! - [`envelope`]: Flask-Security's JSON detection and response envelope;
//! - [`tokens`]: Flask-Security auth tokens (issue, verify, authenticate).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod accounts;
pub mod authn;
pub mod config;
pub mod csrf;
pub mod envelope;
pub mod extract;
pub mod messages;
pub mod redirect;
pub mod security;
pub mod session;
pub mod tokens;
mod views;

pub use authn::{CurrentUser, Mechanism};
pub use axum;
pub use config::SecurityConfig;
pub use extract::{
    AnonymousRequired, AuthRequired, AuthTokenRequired, FreshRequired, HttpAuthRequired,
    OptionalUser, PermissionsAccepted, PermissionsRequired, RolesAccepted, RolesRequired,
};
pub use rampart_core::{datastore, model};
pub use rampart_password as password;
pub use rampart_sqlx as sql;
pub use security::Security;
