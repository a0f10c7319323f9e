//! Server-side sessions in the datastore's database: [`SqlSessionStore`], a
//! [`SessionStore`] for tower-sessions 0.15 on SQLite or PostgreSQL.
//!
//! Sessions live in table `rampart_session`, created by migration step 3:
//!
//! | column        | SQLite                 | PostgreSQL                    |
//! |---------------|------------------------|-------------------------------|
//! | `id`          | `TEXT` primary key     | `TEXT` primary key            |
//! | `data`        | `TEXT` (JSON)          | `TEXT` (JSON)                 |
//! | `expiry_date` | `DATETIME` (naive UTC) | `TIMESTAMP WITHOUT TIME ZONE` |
//!
//! `id` is the session id as it appears in the cookie (22 characters of URL-safe base64),
//! `data` the whole tower-sessions [`Record`] as JSON (so a record loads exactly as it was
//! saved), and `expiry_date` the record's expiry in UTC, written like every other datetime of
//! the crate ([`DbDateTime`]) and indexed for [`ExpiredDeletion::delete_expired`].
//!
//! - [`SessionStore::create`] never overwrites: on an id collision it draws a new id and
//!   retries.
//! - [`SessionStore::load`] never returns an expired record, whether or not
//!   [`ExpiredDeletion::delete_expired`] has run.
//! - [`SessionStore::save`] inserts or replaces, atomically under concurrent writers.
//! - Database failures come back as [`session_store::Error::Backend`] naming the operation
//!   and the database's reason, never the session id or the session's contents.
//!
//! # Example
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use rampart_sqlx::sessions::{ExpiredDeletion, SessionStore};
//! use rampart_sqlx::{SqlDatastore, SqlOptions};
//! use tower_sessions_core::session::{Id, Record};
//!
//! let datastore = SqlDatastore::connect("sqlite::memory:", SqlOptions::default()).await?;
//! let sessions = datastore.session_store();
//! let mut record = Record {
//!     id: Id::default(),
//!     data: [("count".to_owned(), serde_json::json!(1))].into(),
//!     expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
//! };
//! sessions.create(&mut record).await?;
//! assert_eq!(sessions.load(&record.id).await?, Some(record.clone()));
//! sessions.delete_expired().await?;
//! // Sweep expired sessions every hour in the background:
//! // tokio::spawn(sessions.clone().continuously_delete_expired(Duration::from_secs(3600)));
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```

use async_trait::async_trait;
use sqlx::{Postgres, Row, Sqlite};
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store;

pub use tower_sessions_core::{ExpiredDeletion, SessionStore};

use crate::SqlDatastore;
use crate::datetime::DbDateTime;
use crate::dialect::{Pool, with_pool};
use crate::error::map_err;

/// How many fresh ids [`SessionStore::create`] tries before giving up. With 128-bit random ids
/// a single collision is already practically impossible; the bound only guards against a
/// broken random source.
const CREATE_ATTEMPTS: usize = 8;

/// Session records of tower-sessions in table `rampart_session`, on the datastore's pool.
///
/// Get one with [`SqlDatastore::session_store`]. Cloning is cheap: clones share the pool.
/// See the [module documentation](self) for the table and the guarantees.
#[derive(Debug, Clone)]
pub struct SqlSessionStore {
    pool: Pool,
}

impl SqlDatastore {
    /// A [`SessionStore`] on this datastore's database and connection pool.
    ///
    /// Its table, `rampart_session`, is created by [`SqlDatastore::connect`]'s migrations
    /// (step 3); with [`SqlOptions::migrate`](crate::SqlOptions::migrate) off it must already
    /// exist.
    pub fn session_store(&self) -> SqlSessionStore {
        SqlSessionStore {
            pool: self.pool.clone(),
        }
    }
}

/// The DDL of table `rampart_session`, per backend (migration step 3).
pub(crate) trait SessionTable {
    /// Creates the table and its expiry index when missing.
    const CREATE: &'static [&'static str];
}

const EXPIRY_INDEX: &str = "CREATE INDEX IF NOT EXISTS ix_rampart_session_expiry_date \
                            ON rampart_session (expiry_date)";

impl SessionTable for Sqlite {
    const CREATE: &'static [&'static str] = &[
        "CREATE TABLE IF NOT EXISTS rampart_session (id TEXT NOT NULL PRIMARY KEY, \
         data TEXT NOT NULL, expiry_date DATETIME NOT NULL)",
        EXPIRY_INDEX,
    ];
}

impl SessionTable for Postgres {
    const CREATE: &'static [&'static str] = &[
        "CREATE TABLE IF NOT EXISTS rampart_session (id TEXT NOT NULL PRIMARY KEY, \
         data TEXT NOT NULL, expiry_date TIMESTAMP WITHOUT TIME ZONE NOT NULL)",
        EXPIRY_INDEX,
    ];
}

/// `datetime` as naive UTC, the way the crate stores datetimes.
fn naive_utc(datetime: OffsetDateTime) -> DbDateTime {
    let utc = datetime.to_offset(UtcOffset::UTC);
    DbDateTime(PrimitiveDateTime::new(utc.date(), utc.time()))
}

fn now() -> DbDateTime {
    naive_utc(OffsetDateTime::now_utc())
}

/// A database failure during `operation`, without the session id or data.
fn backend(operation: &str, err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(format!("session store {operation}: {}", map_err(err)))
}

/// The record as stored in `data`.
fn encode(record: &Record) -> session_store::Result<String> {
    serde_json::to_string(record).map_err(|e| {
        // serde_json's message may quote the data: give only its category.
        session_store::Error::Encode(format!(
            "session record cannot be encoded ({:?})",
            e.classify()
        ))
    })
}

/// A record read back from `data`.
fn decode(text: &str) -> session_store::Result<Record> {
    serde_json::from_str(text).map_err(|e| {
        session_store::Error::Decode(format!(
            "stored session record is not a valid record ({:?} at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

impl SqlSessionStore {
    /// Inserts `record` unless its id is taken; `Ok(false)` when it is.
    async fn insert_new(&self, record: &Record) -> session_store::Result<bool> {
        let data = encode(record)?;
        let id = record.id.to_string();
        let expiry = naive_utc(record.expiry_date);
        with_pool!(&self.pool, p, DB => {
            let done = sqlx::query(
                "INSERT INTO rampart_session (id, data, expiry_date) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(data)
            .bind(expiry)
            .execute(p)
            .await
            .map_err(|e| backend("create", e))?;
            Ok(done.rows_affected() == 1)
        })
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            if self.insert_new(record).await? {
                return Ok(());
            }
            tracing::debug!("session id collision, drawing a new id");
            record.id = Id::default();
        }
        Err(session_store::Error::Backend(format!(
            "session store create: no free session id after {CREATE_ATTEMPTS} attempts"
        )))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let id = record.id.to_string();
        let expiry = naive_utc(record.expiry_date);
        with_pool!(&self.pool, p, DB => {
            sqlx::query(
                "INSERT INTO rampart_session (id, data, expiry_date) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE \
                 SET data = excluded.data, expiry_date = excluded.expiry_date",
            )
            .bind(id)
            .bind(data)
            .bind(expiry)
            .execute(p)
            .await
            .map_err(|e| backend("save", e))?;
        });
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let id = session_id.to_string();
        let data: Option<String> = with_pool!(&self.pool, p, DB => {
            sqlx::query("SELECT data FROM rampart_session WHERE id = $1 AND expiry_date > $2")
                .bind(id)
                .bind(now())
                .fetch_optional(p)
                .await
                .and_then(|row| row.map(|r| r.try_get::<String, _>(0)).transpose())
                .map_err(|e| backend("load", e))?
        });
        let Some(data) = data else {
            return Ok(None);
        };
        let record = decode(&data)?;
        // The row's id is authoritative (a record is stored under its own id).
        Ok(Some(Record {
            id: *session_id,
            ..record
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let id = session_id.to_string();
        with_pool!(&self.pool, p, DB => {
            sqlx::query("DELETE FROM rampart_session WHERE id = $1")
                .bind(id)
                .execute(p)
                .await
                .map_err(|e| backend("delete", e))?;
        });
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let deleted = with_pool!(&self.pool, p, DB => {
            sqlx::query("DELETE FROM rampart_session WHERE expiry_date <= $1")
                .bind(now())
                .execute(p)
                .await
                .map_err(|e| backend("delete_expired", e))?
                .rows_affected()
        });
        tracing::debug!(deleted, "deleted expired sessions");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn expiry_is_stored_as_naive_utc() {
        let t = datetime!(2030-01-02 03:04:05.123456789 +02:00);
        assert_eq!(naive_utc(t).0, datetime!(2030-01-02 01:04:05.123456789));
    }

    #[test]
    fn decode_errors_do_not_quote_the_data() {
        let err = decode(r#"{"id": "secret-value"}"#)
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(!msg.is_empty());
        assert!(!msg.contains("secret-value"), "{msg}");
    }
}
