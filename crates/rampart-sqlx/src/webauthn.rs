//! The WebAuthn credential table (`webauthn`, or Flask-Security's usual `web_authn`).

use rampart_core::datastore::DatastoreResult;
use rampart_core::model::naive_utcnow;
use rampart_core::{DatastoreError, NewWebAuthn, WebAuthnCredential};

use crate::datastore::SqlDatastore;
use crate::datetime::DbDateTime;
use crate::dialect::{Dialect, RowExt, with_pool};
use crate::error::map_err;
use crate::users::{asa_list_value, sql};

impl SqlDatastore {
    /// Stores a credential of an existing user.
    pub(crate) async fn insert_webauthn(
        &self,
        new: NewWebAuthn,
    ) -> DatastoreResult<WebAuthnCredential> {
        let queries = &self.schema.sql;
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            let mut tx = <DB as Dialect>::begin_write(p).await.map_err(map_err)?;
            let user = sqlx::query("SELECT id FROM \"user\" WHERE id = $1")
                .bind(new.user_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            if user.is_none() {
                return Err(DatastoreError::NotFound("user"));
            }
            let cred = sqlx::query(sql(&queries.webauthn_insert))
                .bind(&new.credential_id)
                .bind(&new.public_key)
                .bind(new.sign_count)
                .bind(asa_list_value(&new.transports))
                .bind(new.backup_state)
                .bind(&new.device_type)
                .bind(&new.extensions)
                .bind(now)
                .bind(&new.name)
                .bind(&new.usage)
                .bind(new.user_id)
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.webauthn())
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            Ok(cred)
        })
    }

    /// A credential by credential id.
    pub(crate) async fn webauthn_by_credential(
        &self,
        credential_id: &[u8],
    ) -> DatastoreResult<Option<WebAuthnCredential>> {
        with_pool!(&self.pool, p, DB => {
            let row = sqlx::query(sql(&self.schema.sql.webauthn_by_credential))
                .bind(credential_id)
                .fetch_optional(p)
                .await
                .map_err(map_err)?;
            row.map(|r| r.webauthn()).transpose().map_err(map_err)
        })
    }

    /// A user's credentials ordered by id.
    pub(crate) async fn user_webauthn(
        &self,
        user_id: i64,
    ) -> DatastoreResult<Vec<WebAuthnCredential>> {
        with_pool!(&self.pool, p, DB => {
            let rows = sqlx::query(sql(&self.schema.sql.webauthn_of_user))
                .bind(user_id)
                .fetch_all(p)
                .await
                .map_err(map_err)?;
            rows.iter().map(|r| r.webauthn().map_err(map_err)).collect()
        })
    }

    /// Records a use: sign count and last-use time.
    pub(crate) async fn touch_credential(&self, id: i64, sign_count: i64) -> DatastoreResult<()> {
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            let n = sqlx::query(sql(&self.schema.sql.webauthn_touch))
                .bind(id)
                .bind(sign_count)
                .bind(now)
                .execute(p)
                .await
                .map_err(map_err)?
                .rows_affected();
            if n == 0 { Err(DatastoreError::NotFound("webauthn")) } else { Ok(()) }
        })
    }

    /// Records an assertion: the count only moves forward (see
    /// `UserDatastore::advance_webauthn`).
    pub(crate) async fn advance_credential(
        &self,
        id: i64,
        sign_count: i64,
        backup_state: bool,
    ) -> DatastoreResult<bool> {
        let now = DbDateTime(naive_utcnow());
        with_pool!(&self.pool, p, DB => {
            let n = sqlx::query(sql(&self.schema.sql.webauthn_advance))
                .bind(id)
                .bind(sign_count)
                .bind(backup_state)
                .bind(now)
                .execute(p)
                .await
                .map_err(map_err)?
                .rows_affected();
            Ok(n > 0)
        })
    }

    /// Deletes a credential.
    pub(crate) async fn remove_webauthn(&self, id: i64) -> DatastoreResult<()> {
        with_pool!(&self.pool, p, DB => {
            let n = sqlx::query(sql(&self.schema.sql.webauthn_delete))
                .bind(id)
                .execute(p)
                .await
                .map_err(map_err)?
                .rows_affected();
            if n == 0 { Err(DatastoreError::NotFound("webauthn")) } else { Ok(()) }
        })
    }
}
