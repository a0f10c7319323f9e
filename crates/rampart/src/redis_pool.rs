//! Connections to Redis shared by the Redis-backed stores ([`RedisSessionStore`] and
//! [`RedisThrottleStore`]): [`RedisPool`], sized by [`RedisOptions`].
//!
//! Each connection is a multiplexed [`ConnectionManager`]: many requests pipeline their
//! commands over it at once, and it reconnects by itself after the server went away (the
//! command that met the failure fails; the next ones use the new connection). The pool hands
//! its connections out in turn, so `connections` bounds the sockets one process opens.
//!
//! [`RedisSessionStore`]: crate::session::RedisSessionStore
//! [`RedisThrottleStore`]: crate::throttle::RedisThrottleStore
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), rampart::datastore::DatastoreError> {
//! use std::time::Duration;
//! use rampart::redis_pool::{RedisOptions, RedisPool};
//!
//! let options = RedisOptions::default()
//!     .with_connections(4)
//!     .with_timeout(Duration::from_secs(1));
//! let pool = RedisPool::connect("redis://127.0.0.1:6379/0", &options).await?;
//! let sessions = rampart::session::RedisSessionStore::new(pool.clone());
//! let throttle = rampart::throttle::RedisThrottleStore::from_pool(pool);
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rampart_core::DatastoreError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Size and timeouts of a [`RedisPool`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Multiplexed connections opened (default 2, at least 1).
    pub connections: usize,
    /// How long a command may take, and how long a (re)connection may take, before it fails
    /// with [`DatastoreError::Unavailable`] (default 2 s).
    pub timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            connections: 2,
            timeout: Duration::from_secs(2),
        }
    }
}

impl RedisOptions {
    /// Sets [`connections`](Self::connections) (at least 1).
    #[must_use]
    pub fn with_connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Sets [`timeout`](Self::timeout).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// A fixed set of self-healing Redis connections, handed out in turn. Cloning is cheap.
#[derive(Clone)]
pub struct RedisPool {
    connections: Arc<[ConnectionManager]>,
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool")
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

impl RedisPool {
    /// Connects to `url` (`redis://[user:password@]host:port/db`, or `rediss://`), opening
    /// every connection now.
    ///
    /// # Errors
    /// [`DatastoreError::Unavailable`] when the URL is invalid or the server cannot be reached
    /// (the message never contains the URL's password).
    pub async fn connect(url: &str, options: &RedisOptions) -> Result<Self, DatastoreError> {
        let client = redis::Client::open(url).map_err(|e| {
            DatastoreError::Unavailable(format!("invalid Redis URL ({:?})", e.kind()))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let mut connections = Vec::with_capacity(options.connections.max(1));
        for _ in 0..options.connections.max(1) {
            let conn = ConnectionManager::new_with_config(client.clone(), config.clone())
                .await
                .map_err(map_err)?;
            connections.push(conn);
        }
        Ok(Self {
            connections: connections.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The next connection (a cheap handle on a shared, multiplexed connection).
    pub fn get(&self) -> ConnectionManager {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[i].clone()
    }

    /// How many connections the pool holds.
    pub fn size(&self) -> usize {
        self.connections.len()
    }

    /// Sends `PING`: `Ok` when the server answers.
    ///
    /// # Errors
    /// [`DatastoreError::Unavailable`] when it does not.
    pub async fn ping(&self) -> Result<(), DatastoreError> {
        let mut conn = self.get();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(map_err)
    }
}

/// A Redis failure as a datastore error: unreachable, timed out or dropped connections are
/// [`DatastoreError::Unavailable`] (answered 503), anything else
/// [`DatastoreError::Backend`].
pub(crate) fn map_err(e: redis::RedisError) -> DatastoreError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        DatastoreError::Unavailable(format!("Redis: {e}"))
    } else {
        DatastoreError::Backend(format!("Redis: {e}"))
    }
}
