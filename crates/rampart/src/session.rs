//! Server-side sessions: the session keys Flask-Security and Flask-Login keep, on top of
//! `tower-sessions` with any [`SessionStore`]: the SQL store of `rampart::sql`, or
//! [`RedisSessionStore`] to share sessions between instances.
//!
//! Rampart keeps sessions on the server rather than in a signed cookie (a deliberate difference
//! from Flask): they can be revoked and listed, and nothing secret (such as a two-factor setup
//! secret) is ever sent to the browser. The cookie carries only a random session id.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use rampart_core::cache::TtlMap;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store;
use tower_sessions::{Session, SessionStore};

pub(crate) mod layer;
mod redis;
pub(crate) use layer::session_cookie;
pub use layer::{SessionCookie, SessionLayer, SessionService};
pub use redis::RedisSessionStore;

/// Flask-Login's key for the signed-in user: the user's `fs_uniquifier`.
pub const USER_ID: &str = "_user_id";
/// Flask-Login's freshness flag: `true` after a login with a password, `false` after a
/// remember-me login.
pub const FRESH: &str = "_fresh";
/// Flask-Security's time of primary authentication (float epoch seconds).
pub const FS_PAA: &str = "fs_paa";
/// Flask-WTF's raw CSRF secret.
pub const CSRF_TOKEN: &str = "csrf_token";

/// A session store behind an `Arc`, so that the security layer is not generic over it, with an
/// optional in-process read cache (`SECURITY_AUTH_CACHE_TTL`): records saved or deleted by
/// this process are seen at once; changes made by another instance after at most the TTL.
#[derive(Clone)]
pub struct DynSessionStore {
    store: Arc<dyn SessionStore>,
    cache: Option<Arc<TtlMap<Id, Option<Record>>>>,
}

impl DynSessionStore {
    /// Wraps any store.
    pub fn new(store: impl SessionStore) -> Self {
        Self {
            store: Arc::new(store),
            cache: None,
        }
    }

    /// Caches loaded records for `ttl` (no cache when zero).
    #[must_use]
    pub fn with_cache(mut self, ttl: std::time::Duration) -> Self {
        self.cache = (!ttl.is_zero()).then(|| Arc::new(TtlMap::new(ttl)));
        self
    }

    fn remember(&self, id: Id, record: Option<Record>) {
        if let Some(cache) = &self.cache {
            cache.put(id, record);
        }
    }
}

impl fmt::Debug for DynSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynSessionStore")
    }
}

#[async_trait]
impl SessionStore for DynSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.store.create(record).await?;
        self.remember(record.id, Some(record.clone()));
        Ok(())
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.store.save(record).await?;
        self.remember(record.id, Some(record.clone()));
        Ok(())
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(id)) {
            let live = hit.filter(|r| r.expiry_date > OffsetDateTime::now_utc());
            return Ok(live);
        }
        let record = self.store.load(id).await?;
        self.remember(*id, record.clone());
        Ok(record)
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        if let Some(cache) = &self.cache {
            cache.remove(id);
        }
        self.store.delete(id).await
    }
}

/// A session operation failed (the store is unreachable or returned garbage).
#[derive(Debug, thiserror::Error)]
#[error("session store: {0}")]
pub struct SessionError(String);

impl From<tower_sessions::session::Error> for SessionError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self(e.to_string())
    }
}

/// The authentication view of a session.
#[derive(Clone, Debug)]
pub struct AuthSession(pub Session);

impl AuthSession {
    /// The signed-in user's `fs_uniquifier`, if any.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn user_id(&self) -> Result<Option<String>, SessionError> {
        Ok(self.0.get::<String>(USER_ID).await?)
    }

    /// The primary-authentication time (epoch seconds).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn fs_paa(&self) -> Result<Option<f64>, SessionError> {
        Ok(self.0.get::<f64>(FS_PAA).await?)
    }

    /// Signs a user in: a **new session id** (the pre-login id dies: no session fixation),
    /// the user's uniquifier, freshness and the primary-authentication time.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn login(&self, uniquifier: &str, fresh: bool) -> Result<(), SessionError> {
        self.0.cycle_id().await?;
        self.0.insert(USER_ID, uniquifier).await?;
        self.0.insert(FRESH, fresh).await?;
        if fresh {
            self.0.insert(FS_PAA, now_f64()).await?;
        } else {
            let _ = self.0.remove_value(FS_PAA).await?;
        }
        // A new login starts without a grace period and with a new CSRF secret (token
        // rotation on login).
        let _ = self.0.remove_value(crate::freshness::FS_GEXP).await?;
        let _ = self.0.remove_value(CSRF_TOKEN).await?;
        Ok(())
    }

    /// Signs out: deletes the session record and clears its data.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn logout(&self) -> Result<(), SessionError> {
        Ok(self.0.flush().await?)
    }

    /// Records a re-authentication (`/verify`): the primary-authentication time becomes now.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn reauthenticated(&self) -> Result<(), SessionError> {
        self.0.insert(FRESH, true).await?;
        Ok(self.0.insert(FS_PAA, now_f64()).await?)
    }

    /// Moves the recorded authentication time (test hooks and freshness tests).
    ///
    /// # Errors
    /// When the store fails.
    pub async fn set_fs_paa(&self, value: f64) -> Result<(), SessionError> {
        Ok(self.0.insert(FS_PAA, value).await?)
    }

    /// The raw CSRF secret if the session has one.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn existing_csrf_secret(&self) -> Result<Option<String>, SessionError> {
        Ok(self.0.get::<String>(CSRF_TOKEN).await?)
    }

    /// The raw CSRF secret, created when missing.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn csrf_secret(&self) -> Result<String, SessionError> {
        if let Some(raw) = self.0.get::<String>(CSRF_TOKEN).await? {
            return Ok(raw);
        }
        let raw = crate::csrf::new_raw_token();
        self.0.insert(CSRF_TOKEN, &raw).await?;
        Ok(raw)
    }
}

/// Now as float epoch seconds, as Flask-Security stores `fs_paa`.
pub fn now_f64() -> f64 {
    let now = OffsetDateTime::now_utc();
    now.unix_timestamp() as f64 + f64::from(now.microsecond()) / 1e6
}
