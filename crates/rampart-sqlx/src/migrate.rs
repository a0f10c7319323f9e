//! Rampart's tiny migrator.
//!
//! Applied steps are recorded in `rampart_migrations(version, description, applied_at)`. Each
//! step runs in its own transaction; on PostgreSQL the transaction first takes a
//! transaction-scoped advisory lock, so several instances starting together apply each step
//! once, one after the other. On SQLite the transaction is `BEGIN IMMEDIATE`, which serializes
//! writers the same way.
//!
//! 1. Flask-Security's tables, `CREATE TABLE IF NOT EXISTS`: an empty database gets the whole
//!    `fsqla_v4` schema plus `fs_token_uniquifier`; a database that Flask-Security created is
//!    left as it is, except that a missing `role`/`roles_users` or WebAuthn table is added (as
//!    `webauthn`). No column is ever added to an existing table.
//! 2. Case-insensitive unique indexes on `lower(email)` and `lower(username)`. When existing rows
//!    hold case-insensitive duplicates the index cannot be built: a warning is logged, the step
//!    is left unrecorded (so it is tried again at the next start) and Rampart carries on, still
//!    refusing new duplicates by checking before it writes.
//! 3. Table `rampart_session` (tower-sessions records of
//!    [`SqlSessionStore`](crate::sessions::SqlSessionStore)) and its index on `expiry_date`.
//! 4. Table `rampart_throttle` (counters of
//!    [`SqlThrottleStore`](crate::throttle::SqlThrottleStore)) and its index on `expires_ms`.

use rampart_core::DatastoreError;
use rampart_core::model::naive_utcnow;
use sqlx::Row;

use crate::datetime::DbDateTime;
use crate::dialect::{Dialect, Pool, with_pool};
use crate::error::map_err;

/// The migration steps: version and description.
pub(crate) const STEPS: [(i32, &str); 4] = [
    (1, "Flask-Security tables (fsqla_v4) if missing"),
    (
        2,
        "case-insensitive unique indexes on user email and username",
    ),
    (3, "server-side session table rampart_session"),
    (4, "throttle counter table rampart_throttle"),
];

/// Step 2: (column, query counting case-insensitive duplicate groups, index DDL).
const LOWER_INDEXES: [(&str, &str, &str); 2] = [
    (
        "email",
        "SELECT count(*) FROM (SELECT lower(email) FROM \"user\" \
         GROUP BY lower(email) HAVING count(*) > 1) AS d",
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_rampart_user_email_lower ON \"user\" (lower(email))",
    ),
    (
        "username",
        "SELECT count(*) FROM (SELECT lower(username) FROM \"user\" WHERE username IS NOT NULL \
         GROUP BY lower(username) HAVING count(*) > 1) AS d",
        "CREATE UNIQUE INDEX IF NOT EXISTS ix_rampart_user_username_lower \
         ON \"user\" (lower(username))",
    ),
];

/// Applies every step not yet recorded.
///
/// # Errors
/// Any database failure, mapped to [`DatastoreError`].
pub(crate) async fn run(pool: &Pool) -> Result<(), DatastoreError> {
    with_pool!(pool, p, DB => {
        for (version, description) in STEPS {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            if let Some(lock) = <DB as Dialect>::MIGRATION_LOCK {
                sqlx::query(lock).execute(&mut *tx).await.map_err(map_err)?;
            }
            sqlx::query(<DB as Dialect>::CREATE_MIGRATIONS)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            let done = sqlx::query("SELECT version FROM rampart_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .is_some();
            if done {
                tx.commit().await.map_err(map_err)?;
                continue;
            }
            let complete = match version {
                1 => {
                    let exists = |name: &'static str| sqlx::query(<DB as Dialect>::TABLE_EXISTS).bind(name);
                    let user_exists = exists("user").fetch_optional(&mut *tx).await.map_err(map_err)?.is_some();
                    let mut statements: Vec<&'static str> = Vec::new();
                    if !user_exists {
                        statements.extend(<DB as Dialect>::FRESH_SCHEMA);
                    } else {
                        statements.extend(<DB as Dialect>::CREATE_ROLES);
                        let mut has_webauthn = false;
                        for name in crate::schema::WEBAUTHN_TABLES {
                            has_webauthn |= exists(name)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(map_err)?
                                .is_some();
                        }
                        if !has_webauthn {
                            statements.extend(<DB as Dialect>::CREATE_WEBAUTHN);
                        }
                    }
                    for sql in statements {
                        sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
                    }
                    true
                }
                3 => {
                    for &sql in <DB as crate::sessions::SessionTable>::CREATE {
                        sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
                    }
                    true
                }
                4 => {
                    for &sql in <DB as crate::throttle::ThrottleTable>::CREATE {
                        sqlx::query(sql).execute(&mut *tx).await.map_err(map_err)?;
                    }
                    true
                }
                _ => {
                    let columns: Vec<String> = sqlx::query(<DB as Dialect>::COLUMNS)
                        .bind("user")
                        .fetch_all(&mut *tx)
                        .await
                        .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
                        .map_err(map_err)?;
                    let mut complete = true;
                    for (column, duplicates_sql, create_sql) in LOWER_INDEXES {
                        if !columns.iter().any(|c| c == column) {
                            // Reported by the schema check that follows.
                            complete = false;
                            continue;
                        }
                        let duplicates: i64 = sqlx::query(duplicates_sql)
                            .fetch_one(&mut *tx)
                            .await
                            .and_then(|row| row.try_get(0))
                            .map_err(map_err)?;
                        if duplicates > 0 {
                            tracing::warn!(
                                column,
                                duplicate_groups = duplicates,
                                "table user holds values of {column} that differ only in case; \
                                 the case-insensitive unique index on {column} was not created \
                                 (Rampart still refuses new duplicates, but concurrent writers \
                                 could race): merge or rename those accounts"
                            );
                            complete = false;
                        } else {
                            sqlx::query(create_sql).execute(&mut *tx).await.map_err(map_err)?;
                        }
                    }
                    complete
                }
            };
            if complete {
                sqlx::query(
                    "INSERT INTO rampart_migrations (version, description, applied_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(version)
                .bind(description)
                .bind(DbDateTime(naive_utcnow()))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                tracing::info!(version, description, "applied database migration");
            }
            tx.commit().await.map_err(map_err)?;
        }
        Ok(())
    })
}
