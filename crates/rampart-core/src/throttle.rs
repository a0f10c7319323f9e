//! Storage of throttle counters: the [`ThrottleStore`] trait that the SQL and Redis backends
//! implement, the [`ThrottleRecord`] they keep per key, and [`MemoryThrottleStore`] for unit
//! tests and single-process applications.
//!
//! The throttling algorithm itself lives in `rampart::throttle`; a store only has to apply a
//! pure update function to one key atomically. Times are milliseconds since the Unix epoch and
//! always come from the caller (so an injected clock drives the stores too): a record whose
//! [`expires_ms`](ThrottleRecord::expires_ms) is not after `now_ms` counts as absent.
//!
//! # Example
//! ```
//! # async fn demo() -> Result<(), rampart_core::DatastoreError> {
//! use rampart_core::throttle::{MemoryThrottleStore, ThrottleRecord, ThrottleStore};
//!
//! let store = MemoryThrottleStore::default();
//! let bump = |old: Option<ThrottleRecord>| {
//!     let mut r = old.unwrap_or_default();
//!     r.failures += 1;
//!     r.expires_ms = 10_000;
//!     Some(r)
//! };
//! store.update("login:ip:192.0.2.1", 1_000, &bump).await?;
//! let r = store.update("login:ip:192.0.2.1", 2_000, &bump).await?;
//! assert_eq!(r.map(|r| r.failures), Some(2));
//! assert_eq!(store.get("login:ip:192.0.2.1", 10_000).await?, None, "expired");
//! # Ok(()) }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::DatastoreError;

/// What a throttle keeps for one key (an account or a client address, per action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRecord {
    /// The GCRA "theoretical arrival time" of the rate part, in ms since the epoch.
    pub tat_ms: i64,
    /// Failures counted since the last success (or since they were forgotten).
    pub failures: i64,
    /// When the last failure was counted, in ms since the epoch.
    pub last_ms: i64,
    /// When the record may be forgotten, in ms since the epoch.
    pub expires_ms: i64,
}

impl ThrottleRecord {
    /// Whether the record is still alive at `now_ms`.
    #[must_use]
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_ms > now_ms
    }
}

/// The update applied by [`ThrottleStore::update`]: given the live record (or `None`), the
/// record to store, or `None` to leave the key as it is. It may be called more than once
/// (optimistic backends retry), so it must be pure.
pub type ThrottleUpdate<'a> =
    &'a (dyn Fn(Option<ThrottleRecord>) -> Option<ThrottleRecord> + Send + Sync);

/// Atomic per-key storage of [`ThrottleRecord`]s.
///
/// Implemented by `rampart_sqlx::SqlThrottleStore` (SQLite, PostgreSQL), by
/// `rampart::throttle::RedisThrottleStore` and by [`MemoryThrottleStore`]. The conformance
/// suite in the `rampart-tests` crate describes the expected behaviour precisely; above all,
/// concurrent updates of one key never lose an update.
#[async_trait]
pub trait ThrottleStore: Send + Sync + 'static {
    /// Reads the live record of `key`, applies `f` and stores its result, atomically with
    /// respect to every other update of `key`, also from other processes sharing the backend.
    /// Returns the record as it is afterwards (the live old one, or `None`, when `f` returned
    /// `None`).
    ///
    /// # Errors
    /// [`DatastoreError::Unavailable`] or [`DatastoreError::Backend`] when the backend fails;
    /// nothing is changed then.
    async fn update(
        &self,
        key: &str,
        now_ms: i64,
        f: ThrottleUpdate<'_>,
    ) -> Result<Option<ThrottleRecord>, DatastoreError>;

    /// The live record of `key`, if any.
    ///
    /// # Errors
    /// Backend failures.
    async fn get(&self, key: &str, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError>;

    /// Forgets `key` (a no-op when it is absent).
    ///
    /// # Errors
    /// Backend failures.
    async fn delete(&self, key: &str) -> Result<(), DatastoreError>;

    /// Deletes every record expired at `now_ms`; returns how many went (backends that expire
    /// keys by themselves, like Redis, may return 0).
    ///
    /// # Errors
    /// Backend failures.
    async fn delete_expired(&self, now_ms: i64) -> Result<u64, DatastoreError>;
}

/// Throttle records in this process's memory: for unit tests and single-instance applications
/// that accept losing the counters on restart.
#[derive(Debug, Default)]
pub struct MemoryThrottleStore {
    records: Mutex<HashMap<String, ThrottleRecord>>,
}

impl MemoryThrottleStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ThrottleRecord>> {
        // A poisoned map only means a panicking update function: the data is still whole.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ThrottleStore for MemoryThrottleStore {
    async fn update(
        &self,
        key: &str,
        now_ms: i64,
        f: ThrottleUpdate<'_>,
    ) -> Result<Option<ThrottleRecord>, DatastoreError> {
        let mut map = self.lock();
        let old = map.get(key).copied().filter(|r| r.is_live(now_ms));
        match f(old) {
            Some(new) => {
                map.insert(key.to_owned(), new);
                Ok(Some(new))
            }
            None => Ok(old),
        }
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError> {
        Ok(self.lock().get(key).copied().filter(|r| r.is_live(now_ms)))
    }

    async fn delete(&self, key: &str) -> Result<(), DatastoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn delete_expired(&self, now_ms: i64) -> Result<u64, DatastoreError> {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, r| r.is_live(now_ms));
        Ok(u64::try_from(before - map.len()).unwrap_or(u64::MAX))
    }
}
