//! Rampart's core: the data model of Flask-Security's packaged SQLAlchemy models and the
//! [`UserDatastore`] trait that storage adapters (SQLite, PostgreSQL, …) implement.
//!
//! It also holds [`signing`]: tokens byte-compatible with Python's itsdangerous, as
//! Flask-Security and Flask-WTF mint them (auth, CSRF and email-link tokens).
//!
//! This crate changes rarely; adapters live in their own crates (`rampart-sqlx`) and the web
//! layer in `rampart`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod datastore;
pub mod model;
pub mod signing;
pub mod throttle;

pub use datastore::{DatastoreError, UserDatastore};
pub use model::{NewRole, NewUser, NewWebAuthn, Role, User, WebAuthnCredential};
