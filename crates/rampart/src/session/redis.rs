//! Sessions in Redis: [`RedisSessionStore`], a tower-sessions [`SessionStore`] shared by every
//! instance of an application.
//!
//! Each session is one key `<prefix><session id>` (prefix `rampart:session:` by default)
//! holding the whole tower-sessions [`Record`] as JSON, with a Redis expiry at the record's
//! expiry (`PXAT`), so Redis drops dead sessions by itself and
//! [`ExpiredDeletion::delete_expired`] has nothing to do.
//!
//! - [`SessionStore::create`] never overwrites (`SET … NX`): on an id collision it draws a new
//!   id and retries.
//! - [`SessionStore::load`] never returns an expired record, even if Redis has not yet
//!   collected it.
//! - [`SessionStore::save`] replaces the record and its expiry in one command; saving an
//!   already expired record deletes the key.
//! - Failures come back as [`session_store::Error::Backend`] naming the operation and Redis's
//!   reason, never the session id or contents; the security layer answers them with 503.

use async_trait::async_trait;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{ExpiredDeletion, SessionStore};

use crate::redis_pool::{RedisPool, map_err};

/// How many fresh ids [`SessionStore::create`] tries before giving up (128-bit random ids: a
/// single collision is already practically impossible).
const CREATE_ATTEMPTS: usize = 8;

/// Session records in Redis; see the [module documentation](self).
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use rampart::redis_pool::{RedisOptions, RedisPool};
/// use rampart::session::RedisSessionStore;
///
/// let pool = RedisPool::connect("redis://127.0.0.1:6379/0", &RedisOptions::default()).await?;
/// let sessions = RedisSessionStore::new(pool);
/// // Security::builder(config, users, sessions)…
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RedisSessionStore {
    pool: RedisPool,
    prefix: String,
}

impl RedisSessionStore {
    /// Sessions on the connections of `pool`, under the prefix `rampart:session:`.
    pub fn new(pool: RedisPool) -> Self {
        Self {
            pool,
            prefix: "rampart:session:".to_owned(),
        }
    }

    /// Puts the keys under another prefix (several applications on one Redis database,
    /// tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, id: &Id) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Writes `record` (only if absent with `only_new`); `Ok(false)` when `only_new` and the
    /// id is taken.
    async fn write(&self, record: &Record, only_new: bool, op: &str) -> Result<bool, Error> {
        let Some(expiry_ms) = live_expiry_ms(record) else {
            // Already expired: nothing loadable may remain under the id.
            if !only_new {
                self.delete(&record.id).await?;
            }
            return Ok(true);
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&record.id))
            .arg(encode(record)?)
            .arg("PXAT")
            .arg(expiry_ms);
        if only_new {
            cmd.arg("NX");
        }
        let mut conn = self.pool.get();
        let done: Option<String> = cmd
            .query_async(&mut conn)
            .await
            .map_err(|e| backend(op, e))?;
        Ok(done.is_some())
    }
}

type Error = session_store::Error;

/// The record's expiry in epoch milliseconds, or `None` when it has passed.
fn live_expiry_ms(record: &Record) -> Option<i64> {
    let now = OffsetDateTime::now_utc();
    (record.expiry_date > now).then(|| {
        let ms = record.expiry_date.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(ms).unwrap_or(i64::MAX)
    })
}

/// A Redis failure during `operation`, without the session id or data.
fn backend(operation: &str, e: redis::RedisError) -> Error {
    Error::Backend(format!("session store {operation}: {}", map_err(e)))
}

fn encode(record: &Record) -> Result<String, Error> {
    serde_json::to_string(record).map_err(|e| {
        // serde_json's message may quote the data: give only its category.
        Error::Encode(format!(
            "session record cannot be encoded ({:?})",
            e.classify()
        ))
    })
}

fn decode(text: &str) -> Result<Record, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::Decode(format!(
            "stored session record is not a valid record ({:?} at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            if self.write(record, true, "create").await? {
                return Ok(());
            }
            tracing::debug!("session id collision, drawing a new id");
            record.id = Id::default();
        }
        Err(Error::Backend(format!(
            "session store create: no free session id after {CREATE_ATTEMPTS} attempts"
        )))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, false, "save").await.map(drop)
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.pool.get();
        let raw: Option<String> = redis::cmd("GET")
            .arg(self.key(session_id))
            .query_async(&mut conn)
            .await
            .map_err(|e| backend("load", e))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let record = decode(&raw)?;
        if record.expiry_date <= OffsetDateTime::now_utc() {
            return Ok(None);
        }
        // The key is authoritative (a record is stored under its own id).
        Ok(Some(Record {
            id: *session_id,
            ..record
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        let mut conn = self.pool.get();
        redis::cmd("DEL")
            .arg(self.key(session_id))
            .query_async::<i64>(&mut conn)
            .await
            .map_err(|e| backend("delete", e))?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for RedisSessionStore {
    /// Nothing to do: Redis expires the keys itself.
    async fn delete_expired(&self) -> session_store::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_do_not_quote_the_data() {
        let msg = decode(r#"{"id": "secret-value"}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!msg.is_empty());
        assert!(!msg.contains("secret-value"), "{msg}");
    }

    #[test]
    fn expired_records_have_no_expiry() {
        let mut r = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc() - time::Duration::seconds(1),
        };
        assert_eq!(live_expiry_ms(&r), None);
        r.expiry_date = OffsetDateTime::now_utc() + time::Duration::seconds(10);
        let ms = live_expiry_ms(&r).unwrap_or_default();
        let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
        assert!((now_ms + 9_000..=now_ms + 11_000).contains(&ms), "{ms}");
    }
}
