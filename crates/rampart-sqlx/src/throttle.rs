//! Throttle counters in the datastore's database: [`SqlThrottleStore`], a
//! [`ThrottleStore`] on SQLite or PostgreSQL.
//!
//! Records live in table `rampart_throttle`, created by migration step 4:
//!
//! | column       | type                   | meaning                                         |
//! |--------------|------------------------|-------------------------------------------------|
//! | `key`        | `TEXT` primary key     | action, scope and subject, e.g. `login:ip:…`    |
//! | `tat_ms`     | `BIGINT`               | [`ThrottleRecord::tat_ms`]                      |
//! | `failures`   | `BIGINT`               | [`ThrottleRecord::failures`]                    |
//! | `last_ms`    | `BIGINT`               | [`ThrottleRecord::last_ms`]                     |
//! | `expires_ms` | `BIGINT`, indexed      | [`ThrottleRecord::expires_ms`]                  |
//!
//! [`ThrottleStore::update`] runs in one transaction that holds the key's row lock (SQLite:
//! `BEGIN IMMEDIATE`, which serializes writers; PostgreSQL: the row is inserted if missing,
//! then read `FOR UPDATE`), so concurrent updates of one key, from any number of processes,
//! are applied one after the other and none is lost.

use async_trait::async_trait;
use rampart_core::DatastoreError;
use rampart_core::throttle::{ThrottleRecord, ThrottleStore, ThrottleUpdate};
use sqlx::{Postgres, Row, Sqlite};

use crate::SqlDatastore;
use crate::dialect::{Dialect, Pool, with_pool};
use crate::error::map_err;

/// Throttle records in table `rampart_throttle`, on the datastore's pool.
///
/// Get one with [`SqlDatastore::throttle_store`]. Cloning is cheap: clones share the pool.
#[derive(Debug, Clone)]
pub struct SqlThrottleStore {
    pool: Pool,
}

impl SqlDatastore {
    /// A [`ThrottleStore`] on this datastore's database and connection pool.
    ///
    /// Its table, `rampart_throttle`, is created by [`SqlDatastore::connect`]'s migrations
    /// (step 4); with [`SqlOptions::migrate`](crate::SqlOptions::migrate) off it must already
    /// exist.
    pub fn throttle_store(&self) -> SqlThrottleStore {
        SqlThrottleStore {
            pool: self.pool.clone(),
        }
    }
}

/// The DDL and the per-backend statements of table `rampart_throttle`.
pub(crate) trait ThrottleTable {
    /// Creates the table and its expiry index when missing (migration step 4).
    const CREATE: &'static [&'static str];
    /// Reads the row of `$1` under the lock that serializes its updates.
    const SELECT_LOCKED: &'static str;
    /// Makes sure a row exists to lock (PostgreSQL); `None` where the transaction already
    /// serializes writers (SQLite).
    const ENSURE_ROW: Option<&'static str>;
}

const EXPIRY_INDEX: &str = "CREATE INDEX IF NOT EXISTS ix_rampart_throttle_expires_ms \
                            ON rampart_throttle (expires_ms)";

impl ThrottleTable for Sqlite {
    const CREATE: &'static [&'static str] = &[
        "CREATE TABLE IF NOT EXISTS rampart_throttle (key TEXT NOT NULL PRIMARY KEY, \
         tat_ms BIGINT NOT NULL, failures BIGINT NOT NULL, last_ms BIGINT NOT NULL, \
         expires_ms BIGINT NOT NULL)",
        EXPIRY_INDEX,
    ];
    const SELECT_LOCKED: &'static str = "SELECT tat_ms, failures, last_ms, expires_ms \
                                         FROM rampart_throttle WHERE key = $1";
    const ENSURE_ROW: Option<&'static str> = None;
}

impl ThrottleTable for Postgres {
    const CREATE: &'static [&'static str] = <Sqlite as ThrottleTable>::CREATE;
    const SELECT_LOCKED: &'static str = "SELECT tat_ms, failures, last_ms, expires_ms \
                                         FROM rampart_throttle WHERE key = $1 FOR UPDATE";
    const ENSURE_ROW: Option<&'static str> = Some(
        "INSERT INTO rampart_throttle (key, tat_ms, failures, last_ms, expires_ms) \
         VALUES ($1, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
    );
}

const UPSERT: &str = "INSERT INTO rampart_throttle (key, tat_ms, failures, last_ms, expires_ms) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET \
                      tat_ms = excluded.tat_ms, failures = excluded.failures, \
                      last_ms = excluded.last_ms, expires_ms = excluded.expires_ms";

fn record<R: Row>(row: &R) -> Result<ThrottleRecord, sqlx::Error>
where
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(ThrottleRecord {
        tat_ms: row.try_get("tat_ms")?,
        failures: row.try_get("failures")?,
        last_ms: row.try_get("last_ms")?,
        expires_ms: row.try_get("expires_ms")?,
    })
}

#[async_trait]
impl ThrottleStore for SqlThrottleStore {
    async fn update(
        &self,
        key: &str,
        now_ms: i64,
        f: ThrottleUpdate<'_>,
    ) -> Result<Option<ThrottleRecord>, DatastoreError> {
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            if let Some(sql) = <DB as ThrottleTable>::ENSURE_ROW {
                sqlx::query(sql).bind(key).execute(&mut *tx).await.map_err(map_err)?;
            }
            let old = sqlx::query(<DB as ThrottleTable>::SELECT_LOCKED)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .map(|row| record(&row))
                .transpose()
                .map_err(map_err)?
                .filter(|r| r.is_live(now_ms));
            let Some(new) = f(old) else {
                tx.commit().await.map_err(map_err)?;
                return Ok(old);
            };
            sqlx::query(UPSERT)
                .bind(key)
                .bind(new.tat_ms)
                .bind(new.failures)
                .bind(new.last_ms)
                .bind(new.expires_ms)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(Some(new))
        })
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError> {
        with_pool!(&self.pool, p, DB => {
            let row = sqlx::query(
                "SELECT tat_ms, failures, last_ms, expires_ms FROM rampart_throttle WHERE key = $1",
            )
            .bind(key)
            .fetch_optional(p)
            .await
            .map_err(map_err)?;
            Ok(row
                .map(|r| record(&r))
                .transpose()
                .map_err(map_err)?
                .filter(|r| r.is_live(now_ms)))
        })
    }

    async fn delete(&self, key: &str) -> Result<(), DatastoreError> {
        with_pool!(&self.pool, p, DB => {
            sqlx::query("DELETE FROM rampart_throttle WHERE key = $1")
                .bind(key)
                .execute(p)
                .await
                .map_err(map_err)?;
            Ok(())
        })
    }

    async fn delete_expired(&self, now_ms: i64) -> Result<u64, DatastoreError> {
        with_pool!(&self.pool, p, DB => {
            let done = sqlx::query("DELETE FROM rampart_throttle WHERE expires_ms <= $1")
                .bind(now_ms)
                .execute(p)
                .await
                .map_err(map_err)?;
            Ok(done.rows_affected())
        })
    }
}
