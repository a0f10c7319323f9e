//! The `user` table: creation with role links, updates, deletion and look-ups.

use std::sync::Arc;

use rampart_core::datastore::DatastoreResult;
use rampart_core::model::{asa_list_join, naive_utcnow, new_uniquifier};
use rampart_core::{DatastoreError, NewUser, User};
use sqlx::AssertSqlSafe;

use crate::datastore::{SqlDatastore, UserKey};
use crate::datetime::DbDateTime;
use crate::dialect::{Dialect, RowExt, with_pool};
use crate::error::map_err;

/// An `AsaList` value as stored: `NULL` for an empty list.
pub(crate) fn asa_list_value(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| asa_list_join(items))
}

/// Schema-dependent SQL (built by [`crate::schema::Queries`] from constants only).
pub(crate) fn sql(text: &Arc<str>) -> AssertSqlSafe<Arc<str>> {
    AssertSqlSafe(Arc::clone(text))
}

impl SqlDatastore {
    /// One user by a key, with schema-dependent SQL.
    pub(crate) async fn user_where(
        &self,
        query: Arc<str>,
        key: UserKey<'_>,
    ) -> DatastoreResult<Option<User>> {
        let token = self.schema.token_uniquifier;
        with_pool!(&self.pool, p, DB => {
            let q = sqlx::query(AssertSqlSafe(query));
            let q = match key {
                UserKey::Id(id) => q.bind(id),
                UserKey::Text(text) => q.bind(text),
            };
            let row = q.fetch_optional(p).await.map_err(map_err)?;
            row.map(|r| r.user(token)).transpose().map_err(map_err)
        })
    }

    /// Every user ordered by id.
    pub(crate) async fn all_users(&self) -> DatastoreResult<Vec<User>> {
        let token = self.schema.token_uniquifier;
        with_pool!(&self.pool, p, DB => {
            let rows = sqlx::query(sql(&self.schema.sql.users_all))
                .fetch_all(p)
                .await
                .map_err(map_err)?;
            rows.iter().map(|r| r.user(token).map_err(map_err)).collect()
        })
    }

    /// Creates a user and their role links in one write transaction.
    pub(crate) async fn insert_user(&self, new: NewUser) -> DatastoreResult<User> {
        let token = self.schema.token_uniquifier;
        let queries = &self.schema.sql;
        let now = DbDateTime(naive_utcnow());
        let mut roles: Vec<&str> = Vec::with_capacity(new.roles.len());
        for name in &new.roles {
            if !roles.contains(&name.as_str()) {
                roles.push(name);
            }
        }
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let mut role_ids = Vec::with_capacity(roles.len());
            for name in &roles {
                let row = sqlx::query("SELECT id FROM role WHERE name = $1")
                    .bind(*name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_err)?;
                match row {
                    Some(row) => role_ids.push(row.int("id").map_err(map_err)?),
                    None => return Err(DatastoreError::NotFound("role")),
                }
            }
            // Checked here as well as by the unique indexes, so that a database whose
            // case-insensitive index could not be built still refuses case duplicates.
            let taken = sqlx::query("SELECT id FROM \"user\" WHERE lower(email) = lower($1)")
                .bind(&new.email)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if taken.is_some() {
                return Err(DatastoreError::AlreadyExists { field: "email" });
            }
            if let Some(username) = &new.username {
                let taken =
                    sqlx::query("SELECT id FROM \"user\" WHERE lower(username) = lower($1)")
                        .bind(username)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(map_err)?;
                if taken.is_some() {
                    return Err(DatastoreError::AlreadyExists { field: "username" });
                }
            }
            let mut insert = sqlx::query(sql(&queries.user_insert))
                .bind(&new.email)
                .bind(&new.username)
                .bind(&new.password_hash)
                .bind(new.active)
                .bind(new_uniquifier())
                .bind(new.confirmed_at.map(DbDateTime))
                .bind(now);
            if token {
                insert = insert.bind(new_uniquifier());
            }
            let id = insert
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.int("id"))
                .map_err(map_err)?;
            for role_id in role_ids {
                sqlx::query("INSERT INTO roles_users (user_id, role_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(role_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            let user = sqlx::query(sql(&queries.user_by_id))
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.user(token))
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(user)
        })
    }

    /// Writes every mutable column of `user` and bumps `update_datetime`.
    pub(crate) async fn write_user(&self, user: &User) -> DatastoreResult<User> {
        self.write_user_if(user, None)
            .await?
            .ok_or(DatastoreError::NotFound("user"))
    }

    /// [`write_user`](Self::write_user), guarded by the row `seen` when given: `None` when
    /// the stored row no longer has its uniquifier, password, confirmation state or email.
    pub(crate) async fn write_user_if(
        &self,
        user: &User,
        seen: Option<&User>,
    ) -> DatastoreResult<Option<User>> {
        let token = self.schema.token_uniquifier;
        let queries = &self.schema.sql;
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let exists = sqlx::query("SELECT id FROM \"user\" WHERE id = $1")
                .bind(user.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if exists.is_none() {
                return Err(DatastoreError::NotFound("user"));
            }
            let taken = sqlx::query(
                "SELECT id FROM \"user\" WHERE lower(email) = lower($1) AND id <> $2",
            )
            .bind(&user.email)
            .bind(user.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if taken.is_some() {
                return Err(DatastoreError::AlreadyExists { field: "email" });
            }
            if let Some(username) = &user.username {
                let taken = sqlx::query(
                    "SELECT id FROM \"user\" WHERE lower(username) = lower($1) AND id <> $2",
                )
                .bind(username)
                .bind(user.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
                if taken.is_some() {
                    return Err(DatastoreError::AlreadyExists { field: "username" });
                }
            }
            let text = if seen.is_some() {
                &queries.user_update_guarded
            } else {
                &queries.user_update
            };
            let mut update = sqlx::query(sql(text))
                .bind(user.id)
                .bind(&user.email)
                .bind(&user.username)
                .bind(&user.password)
                .bind(user.active)
                .bind(&user.fs_uniquifier)
                .bind(&user.fs_webauthn_user_handle)
                .bind(user.confirmed_at.map(DbDateTime))
                .bind(user.last_login_at.map(DbDateTime))
                .bind(user.current_login_at.map(DbDateTime))
                .bind(&user.last_login_ip)
                .bind(&user.current_login_ip)
                .bind(user.login_count)
                .bind(&user.tf_primary_method)
                .bind(&user.tf_totp_secret)
                .bind(&user.tf_phone_number)
                .bind(&user.us_totp_secrets)
                .bind(&user.us_phone_number)
                .bind(asa_list_value(&user.mf_recovery_codes))
                .bind(now);
            if token {
                update = update.bind(&user.fs_token_uniquifier);
            }
            if let Some(seen) = seen {
                update = update
                    .bind(&seen.fs_uniquifier)
                    .bind(&seen.password)
                    .bind(seen.confirmed_at.is_none())
                    .bind(&seen.email);
            }
            let written = update.execute(&mut *tx).await.map_err(map_err)?;
            if written.rows_affected() == 0 {
                // Only the guard can miss: the row exists (checked above, in this
                // transaction).
                return Ok(None);
            }
            let user = sqlx::query(sql(&queries.user_by_id))
                .bind(user.id)
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.user(token))
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(Some(user))
        })
    }

    /// Deletes a user with their role links, WebAuthn credentials and refresh trackers.
    pub(crate) async fn remove_user(&self, id: i64) -> DatastoreResult<()> {
        let queries = &self.schema.sql;
        let refresh = self.schema.refresh_table;
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            sqlx::query("DELETE FROM roles_users WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query(sql(&queries.webauthn_delete_of_user))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if refresh {
                sqlx::query("DELETE FROM fs_refresh WHERE user_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
            }
            let deleted = sqlx::query("DELETE FROM \"user\" WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
            if deleted == 0 {
                return Err(DatastoreError::NotFound("user"));
            }
            tx.commit().await.map_err(map_err)?;
            Ok(())
        })
    }
}
