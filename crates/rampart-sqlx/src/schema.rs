//! Inspection of the database schema at connect time: which WebAuthn table and optional
//! columns exist, whether every column Rampart uses is there, and the SQL built from that.

use std::collections::BTreeSet;
use std::sync::Arc;

use rampart_core::DatastoreError;
use sqlx::Row;

use crate::dialect::{Dialect, Pool, with_pool};
use crate::error::map_err;

/// Table names Rampart may use for WebAuthn credentials, in order of preference: its own
/// (`webauthn`) and the one of Flask-Security's usual `class WebAuthn` (`web_authn`).
pub(crate) const WEBAUTHN_TABLES: [&str; 2] = ["webauthn", "web_authn"];

/// Columns of `user` that Rampart reads and writes (all but `fs_token_uniquifier`).
pub(crate) const USER_COLUMNS: [&str; 21] = [
    "id",
    "email",
    "username",
    "password",
    "active",
    "fs_uniquifier",
    "fs_webauthn_user_handle",
    "confirmed_at",
    "last_login_at",
    "current_login_at",
    "last_login_ip",
    "current_login_ip",
    "login_count",
    "tf_primary_method",
    "tf_totp_secret",
    "tf_phone_number",
    "us_totp_secrets",
    "us_phone_number",
    "mf_recovery_codes",
    "create_datetime",
    "update_datetime",
];

/// Columns of `role`.
pub(crate) const ROLE_COLUMNS: [&str; 5] = [
    "id",
    "name",
    "description",
    "permissions",
    "update_datetime",
];

/// Columns of `roles_users`.
pub(crate) const ROLES_USERS_COLUMNS: [&str; 2] = ["user_id", "role_id"];

/// Columns of the WebAuthn table.
pub(crate) const WEBAUTHN_COLUMNS: [&str; 13] = [
    "id",
    "credential_id",
    "public_key",
    "sign_count",
    "transports",
    "backup_state",
    "device_type",
    "extensions",
    "create_datetime",
    "lastuse_datetime",
    "name",
    "usage",
    "user_id",
];

/// Whether table `name` exists.
pub(crate) async fn table_exists(pool: &Pool, name: &str) -> Result<bool, DatastoreError> {
    with_pool!(pool, p, DB => {
        let row = sqlx::query(<DB as Dialect>::TABLE_EXISTS)
            .bind(name)
            .fetch_optional(p)
            .await
            .map_err(map_err)?;
        Ok(row.is_some())
    })
}

/// The column names of table `name` (empty when the table does not exist).
pub(crate) async fn columns(pool: &Pool, name: &str) -> Result<BTreeSet<String>, DatastoreError> {
    with_pool!(pool, p, DB => {
        let rows = sqlx::query(<DB as Dialect>::COLUMNS)
            .bind(name)
            .fetch_all(p)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(map_err))
            .collect()
    })
}

/// What the connected database looks like.
#[derive(Debug, Clone)]
pub(crate) struct Schema {
    /// `webauthn` or `web_authn` (one of [`WEBAUTHN_TABLES`]).
    pub(crate) webauthn_table: &'static str,
    /// Whether `user.fs_token_uniquifier` exists.
    pub(crate) token_uniquifier: bool,
    /// Whether table `fs_refresh` exists (its rows are deleted with their user).
    pub(crate) refresh_table: bool,
    /// SQL built for this schema.
    pub(crate) sql: Arc<Queries>,
}

impl Schema {
    /// Inspects the database and checks that every table and column Rampart uses exists.
    ///
    /// # Errors
    /// [`DatastoreError::Schema`] naming the missing tables or columns.
    pub(crate) async fn inspect(pool: &Pool) -> Result<Self, DatastoreError> {
        let mut webauthn_table = None;
        for name in WEBAUTHN_TABLES {
            if table_exists(pool, name).await? {
                webauthn_table = Some(name);
                break;
            }
        }
        let Some(webauthn_table) = webauthn_table else {
            return Err(DatastoreError::Schema(
                "no WebAuthn table (neither webauthn nor web_authn)".into(),
            ));
        };
        let user = columns(pool, "user").await?;
        require("user", &user, &USER_COLUMNS)?;
        require("role", &columns(pool, "role").await?, &ROLE_COLUMNS)?;
        require(
            "roles_users",
            &columns(pool, "roles_users").await?,
            &ROLES_USERS_COLUMNS,
        )?;
        require(
            webauthn_table,
            &columns(pool, webauthn_table).await?,
            &WEBAUTHN_COLUMNS,
        )?;
        let token_uniquifier = user.contains("fs_token_uniquifier");
        let refresh_table = table_exists(pool, "fs_refresh").await?;
        Ok(Self {
            webauthn_table,
            token_uniquifier,
            refresh_table,
            sql: Arc::new(Queries::new(webauthn_table, token_uniquifier)),
        })
    }
}

fn require(table: &str, have: &BTreeSet<String>, want: &[&str]) -> Result<(), DatastoreError> {
    if have.is_empty() {
        return Err(DatastoreError::Schema(format!("table {table} is missing")));
    }
    let missing: Vec<&str> = want
        .iter()
        .copied()
        .filter(|c| !have.contains(*c))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DatastoreError::Schema(format!(
            "table {table} lacks columns: {}",
            missing.join(", ")
        )))
    }
}

/// SQL whose text depends on the schema (the WebAuthn table name and whether
/// `fs_token_uniquifier` exists). Built only from the constants above, never from input.
#[derive(Debug)]
pub(crate) struct Queries {
    pub(crate) user_by_id: Arc<str>,
    pub(crate) user_by_email: Arc<str>,
    pub(crate) user_by_username: Arc<str>,
    pub(crate) user_by_uniquifier: Arc<str>,
    pub(crate) user_by_token_uniquifier: Arc<str>,
    pub(crate) user_by_webauthn_handle: Arc<str>,
    pub(crate) users_all: Arc<str>,
    pub(crate) user_insert: Arc<str>,
    pub(crate) user_update: Arc<str>,
    /// `user_update` that only matches while `fs_uniquifier`, `password` and the
    /// confirmation state are still the ones read (the compare-and-set).
    pub(crate) user_update_guarded: Arc<str>,
    pub(crate) webauthn_insert: Arc<str>,
    pub(crate) webauthn_by_credential: Arc<str>,
    pub(crate) webauthn_of_user: Arc<str>,
    pub(crate) webauthn_touch: Arc<str>,
    pub(crate) webauthn_advance: Arc<str>,
    pub(crate) webauthn_delete: Arc<str>,
    pub(crate) webauthn_delete_of_user: Arc<str>,
}

impl Queries {
    fn new(webauthn: &'static str, token: bool) -> Self {
        let mut cols = USER_COLUMNS.join(", ");
        if token {
            cols.push_str(", fs_token_uniquifier");
        }
        let select = format!("SELECT {cols} FROM \"user\"");
        let by = |cond: &str| -> Arc<str> { format!("{select} WHERE {cond}").into() };
        let token_col = if token {
            "fs_token_uniquifier"
        } else {
            "fs_uniquifier"
        };
        let (insert_extra_col, insert_extra_val) = if token {
            (", fs_token_uniquifier", ", $8")
        } else {
            ("", "")
        };
        let update_extra = if token {
            ", fs_token_uniquifier = $21"
        } else {
            ""
        };
        let user_update = format!(
            "UPDATE \"user\" SET email = $2, username = $3, password = $4, active = $5, \
             fs_uniquifier = $6, fs_webauthn_user_handle = $7, confirmed_at = $8, \
             last_login_at = $9, current_login_at = $10, last_login_ip = $11, \
             current_login_ip = $12, login_count = $13, tf_primary_method = $14, \
             tf_totp_secret = $15, tf_phone_number = $16, us_totp_secrets = $17, \
             us_phone_number = $18, mf_recovery_codes = $19, \
             update_datetime = $20{update_extra} WHERE id = $1"
        );
        // The guard's parameters follow the update's (PostgreSQL wants them numbered
        // without gaps).
        let g = if token { 22 } else { 21 };
        let user_update_guarded = format!(
            "{user_update} AND fs_uniquifier = ${g} AND password IS NOT DISTINCT FROM ${} \
             AND (confirmed_at IS NULL) = ${} AND email = ${}",
            g + 1,
            g + 2,
            g + 3
        );
        let wa_cols = WEBAUTHN_COLUMNS.join(", ");
        Self {
            user_by_id: by("id = $1"),
            user_by_email: by("lower(email) = lower($1)"),
            user_by_username: by("lower(username) = lower($1)"),
            user_by_uniquifier: by("fs_uniquifier = $1"),
            user_by_token_uniquifier: by(&format!("{token_col} = $1")),
            user_by_webauthn_handle: by("fs_webauthn_user_handle = $1"),
            users_all: format!("{select} ORDER BY id").into(),
            user_insert: format!(
                "INSERT INTO \"user\" (email, username, password, active, fs_uniquifier, \
                 confirmed_at, create_datetime, update_datetime{insert_extra_col}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7{insert_extra_val}) RETURNING id"
            )
            .into(),
            user_update: user_update.into(),
            user_update_guarded: user_update_guarded.into(),
            webauthn_insert: format!(
                "INSERT INTO {webauthn} (credential_id, public_key, sign_count, transports, \
                 backup_state, device_type, extensions, create_datetime, lastuse_datetime, name, \
                 usage, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11) \
                 RETURNING {wa_cols}"
            )
            .into(),
            webauthn_by_credential: format!(
                "SELECT {wa_cols} FROM {webauthn} WHERE credential_id = $1"
            )
            .into(),
            webauthn_of_user: format!(
                "SELECT {wa_cols} FROM {webauthn} WHERE user_id = $1 ORDER BY id"
            )
            .into(),
            webauthn_touch: format!(
                "UPDATE {webauthn} SET sign_count = $2, lastuse_datetime = $3 WHERE id = $1"
            )
            .into(),
            webauthn_advance: format!(
                "UPDATE {webauthn} SET sign_count = $2, backup_state = $3, lastuse_datetime = $4 \
                 WHERE id = $1 AND (sign_count IS NULL OR sign_count < $2 OR $2 = 0)"
            )
            .into(),
            webauthn_delete: format!("DELETE FROM {webauthn} WHERE id = $1").into(),
            webauthn_delete_of_user: format!("DELETE FROM {webauthn} WHERE user_id = $1").into(),
        }
    }
}
