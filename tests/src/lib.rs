//! Shared helpers for Rampart's integration tests.
//!
//! - [`sqlite_store`] and [`postgres_store`] give a fresh, migrated [`SqlDatastore`] and a guard
//!   that removes the database when dropped.
//! - [`throttle_store_conformance!`] applies the [`throttle`] suite to a throttle store, and
//!   [`redis_server_url`] gives a Redis server for the Redis store.
//! - [`datastore_conformance!`] applies the [`conformance`] suite of
//!   [`UserDatastore`](rampart_core::UserDatastore) to a store constructor.
//!
//! PostgreSQL comes from `RAMPART_TEST_POSTGRES_URL` or, when unset, from
//! `scripts/start-postgres.sh` (run once per test process). Every test gets its own database.
//! When PostgreSQL cannot be had the test fails, never skips.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conformance;
mod cookie;
mod postgres;
mod redis;
pub mod sessions;
mod temp;
pub mod throttle;

pub use cookie::SetCookie;
pub use postgres::{PostgresDatabase, fresh_postgres_database, postgres_server_url};
pub use redis::{redis_server_url, unique_prefix};
pub use temp::TempDir;

/// Re-exported for [`datastore_conformance!`].
pub use rampart_core;

use rampart_sqlx::{SqlDatastore, SqlOptions};

/// Keeps a test database alive; dropping it removes the database.
#[derive(Debug)]
pub enum StoreGuard {
    /// A temporary directory holding a SQLite file.
    Sqlite(TempDir),
    /// A PostgreSQL database made for one test.
    Postgres(PostgresDatabase),
}

/// A migrated store on a new SQLite file in a temporary directory.
///
/// # Panics
/// When the directory or the database cannot be created.
pub async fn sqlite_store() -> (SqlDatastore, StoreGuard) {
    let dir = TempDir::new("rampart-sqlite").unwrap_or_else(|e| panic!("temp dir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
    let store = SqlDatastore::connect(&url, SqlOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    (store, StoreGuard::Sqlite(dir))
}

/// A migrated store on a new PostgreSQL database.
///
/// # Panics
/// When PostgreSQL cannot be started or reached: the test fails with the reason.
pub async fn postgres_store() -> (SqlDatastore, StoreGuard) {
    let db = fresh_postgres_database().await;
    let store = SqlDatastore::connect(db.url(), SqlOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", db.url()));
    (store, StoreGuard::Postgres(db))
}
