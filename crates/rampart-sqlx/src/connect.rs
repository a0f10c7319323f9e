//! Connecting: URL parsing, pool options and SQLite pragmas.

use std::str::FromStr;
use std::time::Duration;

use rampart_core::DatastoreError;
use sqlx::Connection;
use sqlx::pool::PoolOptions;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::dialect::Pool;
use crate::error::{is_busy_error, map_err};

/// Connection pool settings for [`SqlDatastore::connect`](crate::SqlDatastore::connect).
///
/// # Example
/// ```
/// use std::time::Duration;
/// use rampart_sqlx::SqlOptions;
///
/// let options = SqlOptions::default()
///     .with_max_connections(20)
///     .with_acquire_timeout(Duration::from_secs(5));
/// assert_eq!(options.max_connections, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlOptions {
    /// Most connections the pool opens (default 10; an in-memory SQLite database always uses
    /// one).
    pub max_connections: u32,
    /// Connections kept open when idle (default 0).
    pub min_connections: u32,
    /// How long an operation waits for a free connection before failing with
    /// [`DatastoreError::Unavailable`] (default 30 s).
    pub acquire_timeout: Duration,
    /// How long [`SqlDatastore::connect`](crate::SqlDatastore::connect) waits for the first
    /// connection (default 10 s).
    pub connect_timeout: Duration,
    /// How long a SQLite writer waits for the write lock held by another (default 30 s).
    pub busy_timeout: Duration,
    /// Idle connections are closed after this long (default 10 minutes).
    pub idle_timeout: Option<Duration>,
    /// Whether `connect` applies Rampart's migrations (default `true`). When `false` the schema
    /// is still checked.
    pub migrate: bool,
}

impl Default for SqlOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
            migrate: true,
        }
    }
}

impl SqlOptions {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`min_connections`](Self::min_connections).
    #[must_use]
    pub fn with_min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// Sets [`acquire_timeout`](Self::acquire_timeout).
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`busy_timeout`](Self::busy_timeout).
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`migrate`](Self::migrate).
    #[must_use]
    pub fn with_migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}

/// The scheme of a database URL, for messages that must not show credentials.
fn scheme_of(url: &str) -> &str {
    match url.find(':') {
        Some(i) => &url[..i],
        None => "(none)",
    }
}

/// Opens the pool for `url`.
pub(crate) async fn open_pool(url: &str, options: &SqlOptions) -> Result<Pool, DatastoreError> {
    if url.starts_with("sqlite:") {
        open_sqlite(url, options).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        open_postgres(url, options).await
    } else {
        Err(DatastoreError::Schema(format!(
            "unsupported database URL scheme {:?}: expected sqlite://PATH, sqlite::memory: or \
             postgres://USER@HOST/DB",
            scheme_of(url)
        )))
    }
}

fn pool_options<DB: sqlx::Database>(options: &SqlOptions) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .idle_timeout(options.idle_timeout)
}

async fn with_connect_timeout<T>(
    options: &SqlOptions,
    what: &str,
    fut: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DatastoreError> {
    match tokio::time::timeout(options.connect_timeout, fut).await {
        Ok(Ok(pool)) => Ok(pool),
        Ok(Err(err)) => Err(match map_err(err) {
            // At connect time a server-side refusal (unknown database, bad password …) also
            // means "cannot use the database now".
            DatastoreError::Backend(msg) => {
                DatastoreError::Unavailable(format!("cannot connect to {what}: {msg}"))
            }
            DatastoreError::Unavailable(msg) => {
                DatastoreError::Unavailable(format!("cannot connect to {what}: {msg}"))
            }
            other => other,
        }),
        Err(_) => Err(DatastoreError::Unavailable(format!(
            "cannot connect to {what}: no connection within {:?}",
            options.connect_timeout
        ))),
    }
}

async fn open_sqlite(url: &str, options: &SqlOptions) -> Result<Pool, DatastoreError> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(|e| DatastoreError::Schema(format!("invalid SQLite URL: {e}")))?;
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    let in_memory = path == ":memory:" || rest.contains("mode=memory");
    if path.is_empty() && !in_memory {
        return Err(DatastoreError::Schema(
            "invalid SQLite URL: no file path (use sqlite://PATH or sqlite::memory:)".into(),
        ));
    }
    let connect = connect
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout)
        .synchronous(SqliteSynchronous::Full);
    let (connect, pool) = if in_memory {
        // Every connection to a shared in-memory database sees the same data, but it lives
        // only while a connection is open: keep exactly one, forever.
        let pool = pool_options(options)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        (connect, pool)
    } else {
        (
            connect.journal_mode(SqliteJournalMode::Wal),
            pool_options(options),
        )
    };
    let what = format!("SQLite database {path}");
    // Switching a new database to WAL needs an exclusive lock, which SQLite may refuse without
    // waiting for the busy timeout when several processes or pools open it at once: retry.
    let attempts = async {
        loop {
            match pool.clone().connect_with(connect.clone()).await {
                Err(e) if is_busy_error(&e) => {
                    tracing::debug!("{what}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                other => return other,
            }
        }
    };
    let pool = with_connect_timeout(options, &what, attempts).await?;
    Ok(Pool::Sqlite(pool))
}

async fn open_postgres(url: &str, options: &SqlOptions) -> Result<Pool, DatastoreError> {
    let connect = PgConnectOptions::from_str(url)
        .map_err(|e| DatastoreError::Schema(format!("invalid PostgreSQL URL: {e}")))?;
    let what = format!(
        "PostgreSQL at {}:{}/{}",
        connect.get_host(),
        connect.get_port(),
        connect.get_database().unwrap_or_default()
    );
    // The pool retries refused connections until its timeout and then reports only the
    // timeout: one direct attempt first fails fast and tells why (refused, unknown database,
    // authentication …).
    let probe = with_connect_timeout(options, &what, PgConnection::connect_with(&connect)).await?;
    let _ = probe.close().await;
    let pool =
        with_connect_timeout(options, &what, pool_options(options).connect_with(connect)).await?;
    Ok(Pool::Postgres(pool))
}
