//! What differs between SQLite and PostgreSQL, and the macro that writes a query body once for
//! both.

use std::future::Future;

use rampart_core::model::{Role, User, WebAuthnCredential, asa_list_split};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite, Transaction};

use crate::datetime::DbDateTime;
use crate::ddl;

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    /// SQLite.
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL.
    Postgres(sqlx::PgPool),
}

/// Expands `$body` once per backend, with `$pool` bound to the concrete pool and `$db` to the
/// concrete `sqlx::Database`, so SQL and decoding are written once.
macro_rules! with_pool {
    ($pool_enum:expr, $pool:ident, $db:ident => $body:expr) => {
        match $pool_enum {
            $crate::dialect::Pool::Sqlite($pool) => {
                #[allow(dead_code)]
                type $db = ::sqlx::Sqlite;
                $body
            }
            $crate::dialect::Pool::Postgres($pool) => {
                #[allow(dead_code)]
                type $db = ::sqlx::Postgres;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// Backend-specific SQL and transaction start.
pub(crate) trait Dialect: sqlx::Database {
    /// One row (the name) when table `$1` exists.
    const TABLE_EXISTS: &'static str;
    /// The column names of table `$1`.
    const COLUMNS: &'static str;
    /// Creates the migration bookkeeping table.
    const CREATE_MIGRATIONS: &'static str;
    /// Serializes migrations between processes (inside the step's transaction), if needed.
    const MIGRATION_LOCK: Option<&'static str>;
    /// The full Flask-Security schema for an empty database (fsqla_v4 plus
    /// `fs_token_uniquifier`).
    const FRESH_SCHEMA: &'static [&'static str];
    /// Creates table `webauthn` (for a Flask-Security database without a WebAuthn table).
    const CREATE_WEBAUTHN: &'static [&'static str];
    /// Creates `role` and `roles_users` when missing.
    const CREATE_ROLES: &'static [&'static str];

    /// Begins a transaction that will write. On SQLite this takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers wait for the busy timeout instead of failing
    /// with "database is locked" when upgrading a read transaction.
    fn begin_write(
        pool: &sqlx::Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send;
}

impl Dialect for Sqlite {
    const TABLE_EXISTS: &'static str =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1";
    const COLUMNS: &'static str = "SELECT name FROM pragma_table_info($1)";
    const CREATE_MIGRATIONS: &'static str = ddl::sqlite::MIGRATIONS;
    const MIGRATION_LOCK: Option<&'static str> = None;
    const FRESH_SCHEMA: &'static [&'static str] = &[
        ddl::sqlite::ROLE,
        ddl::sqlite::USER,
        ddl::sqlite::ROLES_USERS,
        ddl::sqlite::WEBAUTHN,
        ddl::WEBAUTHN_INDEX,
        ddl::sqlite::REFRESH,
    ];
    const CREATE_WEBAUTHN: &'static [&'static str] = &[ddl::sqlite::WEBAUTHN, ddl::WEBAUTHN_INDEX];
    const CREATE_ROLES: &'static [&'static str] = &[ddl::sqlite::ROLE, ddl::sqlite::ROLES_USERS];

    fn begin_write(
        pool: &sqlx::Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send {
        pool.begin_with("BEGIN IMMEDIATE")
    }
}

impl Dialect for Postgres {
    const TABLE_EXISTS: &'static str = "SELECT table_name::text FROM information_schema.tables \
        WHERE table_schema = current_schema() AND table_name = $1";
    const COLUMNS: &'static str = "SELECT column_name::text FROM information_schema.columns \
        WHERE table_schema = current_schema() AND table_name = $1";
    const CREATE_MIGRATIONS: &'static str = ddl::postgres::MIGRATIONS;
    // An arbitrary constant key shared by every Rampart instance.
    const MIGRATION_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(7233184874926580)");
    const FRESH_SCHEMA: &'static [&'static str] = &[
        ddl::postgres::ROLE,
        ddl::postgres::USER,
        ddl::postgres::ROLES_USERS,
        ddl::postgres::WEBAUTHN,
        ddl::WEBAUTHN_INDEX,
        ddl::postgres::REFRESH,
    ];
    const CREATE_WEBAUTHN: &'static [&'static str] =
        &[ddl::postgres::WEBAUTHN, ddl::WEBAUTHN_INDEX];
    const CREATE_ROLES: &'static [&'static str] =
        &[ddl::postgres::ROLE, ddl::postgres::ROLES_USERS];

    fn begin_write(
        pool: &sqlx::Pool<Self>,
    ) -> impl Future<Output = Result<Transaction<'static, Self>, sqlx::Error>> + Send {
        pool.begin()
    }
}

/// Decoding of Rampart's rows, implemented for both backends' row types.
pub(crate) trait RowExt {
    /// An integer column, whether stored as `INTEGER` (PostgreSQL int4) or `BIGINT`.
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A `user` row (`token` tells whether `fs_token_uniquifier` was selected).
    fn user(&self, token: bool) -> Result<User, sqlx::Error>;
    /// A `role` row.
    fn role(&self) -> Result<Role, sqlx::Error>;
    /// A `webauthn` row.
    fn webauthn(&self) -> Result<WebAuthnCredential, sqlx::Error>;
}

fn out_of_range(col: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: col.to_owned(),
        source: "integer out of range".into(),
    }
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
                match self.try_get::<i64, _>(col) {
                    Ok(v) => Ok(v),
                    Err(sqlx::Error::ColumnDecode { .. }) => {
                        self.try_get::<i32, _>(col).map(i64::from)
                    }
                    Err(e) => Err(e),
                }
            }

            fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
                match self.try_get::<Option<i64>, _>(col) {
                    Ok(v) => Ok(v),
                    Err(sqlx::Error::ColumnDecode { .. }) => self
                        .try_get::<Option<i32>, _>(col)
                        .map(|v| v.map(i64::from)),
                    Err(e) => Err(e),
                }
            }

            fn user(&self, token: bool) -> Result<User, sqlx::Error> {
                let dt = |col: &str| -> Result<Option<time::PrimitiveDateTime>, sqlx::Error> {
                    Ok(self.try_get::<Option<DbDateTime>, _>(col)?.map(|d| d.0))
                };
                let login_count = match self.opt_int("login_count")? {
                    Some(n) => Some(i32::try_from(n).map_err(|_| out_of_range("login_count"))?),
                    None => None,
                };
                Ok(User {
                    id: self.int("id")?,
                    email: self.try_get("email")?,
                    username: self.try_get("username")?,
                    password: self.try_get("password")?,
                    active: self.try_get("active")?,
                    fs_uniquifier: self.try_get("fs_uniquifier")?,
                    fs_token_uniquifier: if token {
                        self.try_get("fs_token_uniquifier")?
                    } else {
                        None
                    },
                    fs_webauthn_user_handle: self.try_get("fs_webauthn_user_handle")?,
                    confirmed_at: dt("confirmed_at")?,
                    last_login_at: dt("last_login_at")?,
                    current_login_at: dt("current_login_at")?,
                    last_login_ip: self.try_get("last_login_ip")?,
                    current_login_ip: self.try_get("current_login_ip")?,
                    login_count,
                    tf_primary_method: self.try_get("tf_primary_method")?,
                    tf_totp_secret: self.try_get("tf_totp_secret")?,
                    tf_phone_number: self.try_get("tf_phone_number")?,
                    us_totp_secrets: self.try_get("us_totp_secrets")?,
                    us_phone_number: self.try_get("us_phone_number")?,
                    mf_recovery_codes: asa_list_split(
                        self.try_get::<Option<String>, _>("mf_recovery_codes")?
                            .as_deref(),
                    ),
                    create_datetime: self.try_get::<DbDateTime, _>("create_datetime")?.0,
                    update_datetime: self.try_get::<DbDateTime, _>("update_datetime")?.0,
                })
            }

            fn role(&self) -> Result<Role, sqlx::Error> {
                Ok(Role {
                    id: self.int("id")?,
                    name: self.try_get("name")?,
                    description: self.try_get("description")?,
                    permissions: asa_list_split(
                        self.try_get::<Option<String>, _>("permissions")?.as_deref(),
                    ),
                    update_datetime: self.try_get::<DbDateTime, _>("update_datetime")?.0,
                })
            }

            fn webauthn(&self) -> Result<WebAuthnCredential, sqlx::Error> {
                Ok(WebAuthnCredential {
                    id: self.int("id")?,
                    credential_id: self.try_get("credential_id")?,
                    public_key: self.try_get("public_key")?,
                    sign_count: self.opt_int("sign_count")?.unwrap_or(0),
                    transports: asa_list_split(
                        self.try_get::<Option<String>, _>("transports")?.as_deref(),
                    ),
                    backup_state: self.try_get("backup_state")?,
                    device_type: self.try_get("device_type")?,
                    extensions: self.try_get("extensions")?,
                    create_datetime: self.try_get::<DbDateTime, _>("create_datetime")?.0,
                    lastuse_datetime: self.try_get::<DbDateTime, _>("lastuse_datetime")?.0,
                    name: self.try_get("name")?,
                    usage: self.try_get("usage")?,
                    user_id: self.int("user_id")?,
                })
            }
        }
    };
}

impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);
