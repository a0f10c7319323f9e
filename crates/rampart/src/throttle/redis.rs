//! Throttle counters in Redis: [`RedisThrottleStore`], so several instances share them.
//!
//! Each key `<prefix><action>:<scope>:<subject>` holds the record as the text
//! `tat_ms,failures,last_ms,expires_ms`, with a Redis expiry a minute after `expires_ms` (so
//! Redis drops dead counters by itself). [`ThrottleStore::update`] is an optimistic
//! compare-and-set: read, apply the update, then write only if the value is still the one read
//! (one Lua script, atomic on the server), retrying after a short random pause on a conflict.
//! Within one process, updates of a key are first serialized by a local lock (one of 64
//! stripes), so a flood on one key costs no retries; conflicts happen only between instances.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::DatastoreError;
use rampart_core::throttle::{ThrottleRecord, ThrottleStore, ThrottleUpdate};

use crate::redis_pool::{RedisOptions, RedisPool, map_err};

/// How often a conflicting update is retried before giving up with
/// [`DatastoreError::Unavailable`].
const MAX_ATTEMPTS: usize = 64;

/// Local lock stripes: updates of keys in one stripe are serialized in this process.
const STRIPES: usize = 64;

/// How long after `expires_ms` Redis drops a key.
const REDIS_SLACK_MS: i64 = 60_000;

/// Writes `ARGV[2]` with expiry `ARGV[3]` ms if the key still holds `ARGV[1]` (`''` = absent);
/// returns `{1, ''}`, or `{0, current}` on a conflict.
const COMPARE_AND_SET: &str = r"
local cur = redis.call('GET', KEYS[1])
if (cur == false and ARGV[1] == '') or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {1, ''}
end
return {0, cur or ''}
";

/// Throttle records in Redis.
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), rampart::datastore::DatastoreError> {
/// use rampart::throttle::RedisThrottleStore;
///
/// let store = RedisThrottleStore::connect("redis://127.0.0.1:6379/0").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisThrottleStore {
    pool: RedisPool,
    prefix: String,
    script: redis::Script,
    stripes: Arc<[tokio::sync::Mutex<()>]>,
}

impl std::fmt::Debug for RedisThrottleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisThrottleStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisThrottleStore {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, or `rediss://`) with the
    /// default [`RedisOptions`], with keys under the prefix `rampart:throttle:`. The
    /// connection is re-established by itself after a failure; each command times out after
    /// 2 s.
    ///
    /// # Errors
    /// [`DatastoreError::Unavailable`] when the URL is invalid or the server cannot be reached
    /// (the message never contains the URL's password).
    pub async fn connect(url: &str) -> Result<Self, DatastoreError> {
        Ok(Self::from_pool(
            RedisPool::connect(url, &RedisOptions::default()).await?,
        ))
    }

    /// Counters on the connections of `pool` (shared with the session store, for example),
    /// under the prefix `rampart:throttle:`.
    pub fn from_pool(pool: RedisPool) -> Self {
        Self {
            pool,
            prefix: "rampart:throttle:".to_owned(),
            script: redis::Script::new(COMPARE_AND_SET),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// Puts the keys under another prefix (several applications on one Redis database,
    /// tests).
    #[must_use]
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn stripe(&self, key: &str) -> &tokio::sync::Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let i = usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0);
        &self.stripes[i % self.stripes.len()]
    }

    async fn read(&self, key: &str) -> Result<Option<String>, DatastoreError> {
        let mut conn = self.pool.get();
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(map_err)
    }
}

fn encode(r: &ThrottleRecord) -> String {
    format!("{},{},{},{}", r.tat_ms, r.failures, r.last_ms, r.expires_ms)
}

fn decode(text: &str) -> Result<ThrottleRecord, DatastoreError> {
    let parts: Vec<i64> = text
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| DatastoreError::Backend("Redis: malformed throttle record".to_owned()))?;
    match parts[..] {
        [tat_ms, failures, last_ms, expires_ms] => Ok(ThrottleRecord {
            tat_ms,
            failures,
            last_ms,
            expires_ms,
        }),
        _ => Err(DatastoreError::Backend(
            "Redis: malformed throttle record".to_owned(),
        )),
    }
}

fn live(raw: Option<&str>, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError> {
    Ok(raw.map(decode).transpose()?.filter(|r| r.is_live(now_ms)))
}

#[async_trait]
impl ThrottleStore for RedisThrottleStore {
    async fn update(
        &self,
        key: &str,
        now_ms: i64,
        f: ThrottleUpdate<'_>,
    ) -> Result<Option<ThrottleRecord>, DatastoreError> {
        let key = self.key(key);
        let _serialized = self.stripe(&key).lock().await;
        let mut current = self.read(&key).await?;
        for attempt in 0..MAX_ATTEMPTS {
            let old = live(current.as_deref(), now_ms)?;
            let Some(new) = f(old) else {
                return Ok(old);
            };
            // Expiry is decided by `expires_ms` against the caller's clock; Redis only
            // collects the key, a minute late so that clocks a little apart never lose a live
            // record.
            let ttl = new
                .expires_ms
                .saturating_sub(now_ms)
                .max(0)
                .saturating_add(REDIS_SLACK_MS);
            let mut conn = self.pool.get();
            let (done, seen): (i64, String) = self
                .script
                .key(&key)
                .arg(current.as_deref().unwrap_or(""))
                .arg(encode(&new))
                .arg(ttl)
                .invoke_async(&mut conn)
                .await
                .map_err(map_err)?;
            if done == 1 {
                return Ok(Some(new));
            }
            current = (!seen.is_empty()).then_some(seen);
            // Another instance wrote in between: back off a random moment, longer each time.
            let ceiling = 1 + u64::try_from(attempt.min(20)).unwrap_or(20);
            let pause = rand::random_range(0..=ceiling * 500);
            tokio::time::sleep(Duration::from_micros(pause)).await;
        }
        Err(DatastoreError::Unavailable(
            "Redis: too many concurrent updates of one throttle key".to_owned(),
        ))
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError> {
        let raw = self.read(&self.key(key)).await?;
        live(raw.as_deref(), now_ms)
    }

    async fn delete(&self, key: &str) -> Result<(), DatastoreError> {
        let mut conn = self.pool.get();
        redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<i64>(&mut conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_expired(&self, _now_ms: i64) -> Result<u64, DatastoreError> {
        // Redis expires the keys by itself.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_an_error() {
        let r = ThrottleRecord {
            tat_ms: 1,
            failures: -2,
            last_ms: 3,
            expires_ms: 4,
        };
        assert_eq!(decode(&encode(&r)).ok(), Some(r));
        for bad in ["", "1,2,3", "1,2,3,4,5", "a,b,c,d"] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(live(Some("1,2,3,4"), 4).ok(), Some(None), "expired");
    }
}
