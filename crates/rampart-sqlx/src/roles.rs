//! The `role` and `roles_users` tables.

use rampart_core::datastore::DatastoreResult;
use rampart_core::model::naive_utcnow;
use rampart_core::{DatastoreError, NewRole, Role};

use crate::datastore::SqlDatastore;
use crate::datetime::DbDateTime;
use crate::dialect::{Dialect, RowExt, with_pool};
use crate::error::map_err;
use crate::users::asa_list_value;

impl SqlDatastore {
    /// Creates a role.
    pub(crate) async fn insert_role(&self, new: NewRole) -> DatastoreResult<Role> {
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            sqlx::query(
                "INSERT INTO role (name, description, permissions, update_datetime) \
                 VALUES ($1, $2, $3, $4) \
                 RETURNING id, name, description, permissions, update_datetime",
            )
            .bind(&new.name)
            .bind(&new.description)
            .bind(asa_list_value(&new.permissions))
            .bind(now)
            .fetch_one(p)
            .await
            .and_then(|row| row.role())
            .map_err(map_err)
        })
    }

    /// A role by exact name.
    pub(crate) async fn role_by_name(&self, name: &str) -> DatastoreResult<Option<Role>> {
        with_pool!(&self.pool, p, DB => {
            let row = sqlx::query(
                "SELECT id, name, description, permissions, update_datetime FROM role \
                 WHERE name = $1",
            )
            .bind(name)
            .fetch_optional(p)
            .await
            .map_err(map_err)?;
            row.map(|r| r.role()).transpose().map_err(map_err)
        })
    }

    /// Every role ordered by name.
    pub(crate) async fn all_roles(&self) -> DatastoreResult<Vec<Role>> {
        with_pool!(&self.pool, p, DB => {
            let rows = sqlx::query(
                "SELECT id, name, description, permissions, update_datetime FROM role \
                 ORDER BY name",
            )
            .fetch_all(p)
            .await
            .map_err(map_err)?;
            rows.iter().map(|r| r.role().map_err(map_err)).collect()
        })
    }

    /// Writes a role's description and permissions.
    pub(crate) async fn write_role(&self, role: &Role) -> DatastoreResult<Role> {
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            let row = sqlx::query(
                "UPDATE role SET description = $2, permissions = $3, update_datetime = $4 \
                 WHERE id = $1 RETURNING id, name, description, permissions, update_datetime",
            )
            .bind(role.id)
            .bind(&role.description)
            .bind(asa_list_value(&role.permissions))
            .bind(now)
            .fetch_optional(p)
            .await
            .map_err(map_err)?;
            match row {
                Some(row) => row.role().map_err(map_err),
                None => Err(DatastoreError::NotFound("role")),
            }
        })
    }

    /// Deletes a role and its links.
    pub(crate) async fn remove_role(&self, name: &str) -> DatastoreResult<()> {
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let role_id = match sqlx::query("SELECT id FROM role WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
            {
                Some(row) => row.int("id").map_err(map_err)?,
                None => return Err(DatastoreError::NotFound("role")),
            };
            sqlx::query("DELETE FROM roles_users WHERE role_id = $1")
                .bind(role_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            sqlx::query("DELETE FROM role WHERE id = $1")
                .bind(role_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(())
        })
    }

    /// Grants a role; `false` when already granted.
    pub(crate) async fn link_role(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let user = sqlx::query("SELECT id FROM \"user\" WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if user.is_none() {
                return Err(DatastoreError::NotFound("user"));
            }
            let role_id = match sqlx::query("SELECT id FROM role WHERE name = $1")
                .bind(role)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
            {
                Some(row) => row.int("id").map_err(map_err)?,
                None => return Err(DatastoreError::NotFound("role")),
            };
            let linked = sqlx::query(
                "SELECT user_id FROM roles_users WHERE user_id = $1 AND role_id = $2",
            )
            .bind(user_id)
            .bind(role_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if linked.is_some() {
                return Ok(false);
            }
            sqlx::query("INSERT INTO roles_users (user_id, role_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(role_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(true)
        })
    }

    /// Revokes a role; `false` when not granted.
    pub(crate) async fn unlink_role(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let role_id = match sqlx::query("SELECT id FROM role WHERE name = $1")
                .bind(role)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
            {
                Some(row) => row.int("id").map_err(map_err)?,
                None => return Err(DatastoreError::NotFound("role")),
            };
            let deleted = sqlx::query("DELETE FROM roles_users WHERE user_id = $1 AND role_id = $2")
                .bind(user_id)
                .bind(role_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected();
            tx.commit().await.map_err(map_err)?;
            Ok(deleted > 0)
        })
    }

    /// A user's roles ordered by name.
    pub(crate) async fn user_roles(&self, user_id: i64) -> DatastoreResult<Vec<Role>> {
        with_pool!(&self.pool, p, DB => {
            let rows = sqlx::query(
                "SELECT id, name, description, permissions, update_datetime FROM role \
                 WHERE id IN (SELECT role_id FROM roles_users WHERE user_id = $1) ORDER BY name",
            )
            .bind(user_id)
            .fetch_all(p)
            .await
            .map_err(map_err)?;
            rows.iter().map(|r| r.role().map_err(map_err)).collect()
        })
    }
}
