//! Rampart's SQL user datastore: Flask-Security's tables on SQLite or PostgreSQL, through sqlx.
//!
//! [`SqlDatastore`] implements [`rampart_core::UserDatastore`] on the schema of
//! Flask-Security-Too 5.9's packaged SQLAlchemy models (`fsqla_v3`/`fsqla_v4`), so it opens a
//! database that Flask-Security created and Flask-Security can read what Rampart writes:
//!
//! - tables `user`, `role`, `roles_users`, and `webauthn` or Flask-Security's usual `web_authn`
//!   (detected at connect time);
//! - `fs_token_uniquifier` used only where the column exists (never added to an existing
//!   table);
//! - datetimes as naive UTC, on SQLite as SQLAlchemy's text `YYYY-MM-DD HH:MM:SS.ffffff`
//!   ([`datetime::DbDateTime`]); lists (`permissions`, `mf_recovery_codes`, `transports`) as
//!   comma-joined text; booleans as 0/1 on SQLite.
//!
//! Rampart adds only its migration table `rampart_migrations`, case-insensitive unique
//! indexes on `lower(email)` and `lower(username)`, and the server-side session table
//! `rampart_session` of [`SqlSessionStore`], the throttle counters `rampart_throttle` of
//! [`SqlThrottleStore`] (see the `migrate` step list in
//! [`SqlDatastore::connect`]). Email and username look-ups are case-insensitive, and unique
//! violations come back as [`DatastoreError::AlreadyExists`](rampart_core::DatastoreError)
//! naming the column, also under concurrent writers.
//!
//! # Example
//! ```
//! # async fn demo() -> Result<(), rampart_core::DatastoreError> {
//! use rampart_core::{NewRole, NewUser, UserDatastore};
//! use rampart_sqlx::{SqlDatastore, SqlOptions};
//!
//! let store = SqlDatastore::connect("sqlite::memory:", SqlOptions::default()).await?;
//! store.create_role(NewRole { name: "admin".into(), ..NewRole::default() }).await?;
//! let user = store
//!     .create_user(NewUser {
//!         email: "ann@example.com".into(),
//!         active: true,
//!         roles: vec!["admin".into()],
//!         ..NewUser::default()
//!     })
//!     .await?;
//! assert_eq!(store.roles_of(user.id).await?[0].name, "admin");
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod datastore;
pub mod datetime;
mod ddl;
mod dialect;
mod error;
mod migrate;
mod roles;
mod schema;
pub mod sessions;
pub mod throttle;
mod users;
mod webauthn;

pub use connect::SqlOptions;
pub use datastore::{Backend, SqlDatastore};
pub use sessions::SqlSessionStore;
pub use throttle::SqlThrottleStore;
