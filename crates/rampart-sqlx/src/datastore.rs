//! [`SqlDatastore`]: the [`UserDatastore`] on SQLite or PostgreSQL.

use async_trait::async_trait;
use rampart_core::datastore::DatastoreResult;
use rampart_core::{
    DatastoreError, NewRole, NewUser, NewWebAuthn, Role, User, UserDatastore, WebAuthnCredential,
};

use crate::connect::{SqlOptions, open_pool};
use crate::dialect::{Pool, with_pool};
use crate::error::map_err;
use crate::migrate;
use crate::schema::Schema;

/// Which database a [`SqlDatastore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (a file, or in memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Flask-Security's user, role and WebAuthn tables on SQLite or PostgreSQL.
///
/// Cloning is cheap: clones share the connection pool.
///
/// # Example
/// ```
/// # async fn demo() -> Result<(), rampart_core::DatastoreError> {
/// use rampart_core::{NewUser, UserDatastore};
/// use rampart_sqlx::{SqlDatastore, SqlOptions};
///
/// let store = SqlDatastore::connect("sqlite::memory:", SqlOptions::default()).await?;
/// let user = store
///     .create_user(NewUser { email: "ann@example.com".into(), active: true, ..NewUser::default() })
///     .await?;
/// assert_eq!(store.find_user_by_email("ANN@example.com").await?, Some(user));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqlDatastore {
    pub(crate) pool: Pool,
    pub(crate) schema: Schema,
}

impl SqlDatastore {
    /// Connects to `url`, applies Rampart's migrations (unless
    /// [`SqlOptions::migrate`] is off) and checks the schema.
    ///
    /// Accepted URLs: `sqlite://PATH`, `sqlite:PATH` (the file is created when missing; WAL
    /// journal, `synchronous=FULL`, foreign keys on, a busy timeout), `sqlite::memory:`, and
    /// `postgres://…` / `postgresql://…`.
    ///
    /// A database that Flask-Security created is used as it is: the WebAuthn table may be
    /// `webauthn` or `web_authn`, and `fs_token_uniquifier` is used only where it exists.
    ///
    /// # Errors
    /// [`DatastoreError::Schema`] for an unsupported or malformed URL or a schema lacking
    /// tables or columns Rampart uses; [`DatastoreError::Unavailable`] when the database cannot
    /// be reached (with the cause).
    pub async fn connect(url: &str, options: SqlOptions) -> Result<Self, DatastoreError> {
        let pool = open_pool(url, &options).await?;
        if options.migrate {
            migrate::run(&pool).await?;
        }
        let schema = Schema::inspect(&pool).await?;
        tracing::debug!(
            webauthn_table = schema.webauthn_table,
            token_uniquifier = schema.token_uniquifier,
            "datastore connected"
        );
        Ok(Self { pool, schema })
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The name of the WebAuthn table in use: `webauthn` or `web_authn`.
    pub fn webauthn_table(&self) -> &'static str {
        self.schema.webauthn_table
    }

    /// The SQLite pool, when the backend is SQLite (for other stores sharing the database).
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, when the backend is PostgreSQL (for other stores sharing the
    /// database).
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// The versions of Rampart's migrations recorded as applied, ascending.
    ///
    /// # Errors
    /// Only on database failure.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, DatastoreError> {
        use crate::dialect::RowExt;
        with_pool!(&self.pool, p, DB => {
            let rows = sqlx::query("SELECT version FROM rampart_migrations ORDER BY version")
                .fetch_all(p)
                .await
                .map_err(map_err)?;
            rows.iter().map(|r| r.int("version").map_err(map_err)).collect()
        })
    }

    /// Closes every connection; later operations fail with [`DatastoreError::Unavailable`].
    pub async fn close(&self) {
        with_pool!(&self.pool, p, DB => p.close().await)
    }
}

#[async_trait]
impl UserDatastore for SqlDatastore {
    async fn create_user(&self, new: NewUser) -> DatastoreResult<User> {
        self.insert_user(new).await
    }

    async fn update_user(&self, user: &User) -> DatastoreResult<User> {
        self.write_user(user).await
    }

    async fn update_user_if_unchanged(
        &self,
        user: &User,
        seen: &User,
    ) -> DatastoreResult<Option<User>> {
        self.write_user_if(user, Some(seen)).await
    }

    async fn delete_user(&self, id: i64) -> DatastoreResult<()> {
        self.remove_user(id).await
    }

    async fn find_user_by_id(&self, id: i64) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_id.clone();
        self.user_where(sql, UserKey::Id(id)).await
    }

    async fn find_user_by_email(&self, email: &str) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_email.clone();
        self.user_where(sql, UserKey::Text(email)).await
    }

    async fn find_user_by_username(&self, username: &str) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_username.clone();
        self.user_where(sql, UserKey::Text(username)).await
    }

    async fn find_user_by_uniquifier(&self, uniquifier: &str) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_uniquifier.clone();
        self.user_where(sql, UserKey::Text(uniquifier)).await
    }

    async fn find_user_by_token_uniquifier(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_token_uniquifier.clone();
        self.user_where(sql, UserKey::Text(uniquifier)).await
    }

    async fn find_user_by_webauthn_handle(&self, handle: &str) -> DatastoreResult<Option<User>> {
        let sql = self.schema.sql.user_by_webauthn_handle.clone();
        self.user_where(sql, UserKey::Text(handle)).await
    }

    async fn list_users(&self) -> DatastoreResult<Vec<User>> {
        self.all_users().await
    }

    fn has_token_uniquifier(&self) -> bool {
        self.schema.token_uniquifier
    }

    async fn create_role(&self, new: NewRole) -> DatastoreResult<Role> {
        self.insert_role(new).await
    }

    async fn find_role(&self, name: &str) -> DatastoreResult<Option<Role>> {
        self.role_by_name(name).await
    }

    async fn list_roles(&self) -> DatastoreResult<Vec<Role>> {
        self.all_roles().await
    }

    async fn update_role(&self, role: &Role) -> DatastoreResult<Role> {
        self.write_role(role).await
    }

    async fn delete_role(&self, name: &str) -> DatastoreResult<()> {
        self.remove_role(name).await
    }

    async fn add_role_to_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        self.link_role(user_id, role).await
    }

    async fn remove_role_from_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        self.unlink_role(user_id, role).await
    }

    async fn roles_of(&self, user_id: i64) -> DatastoreResult<Vec<Role>> {
        self.user_roles(user_id).await
    }

    async fn create_webauthn(&self, new: NewWebAuthn) -> DatastoreResult<WebAuthnCredential> {
        self.insert_webauthn(new).await
    }

    async fn find_webauthn(
        &self,
        credential_id: &[u8],
    ) -> DatastoreResult<Option<WebAuthnCredential>> {
        self.webauthn_by_credential(credential_id).await
    }

    async fn webauthn_of(&self, user_id: i64) -> DatastoreResult<Vec<WebAuthnCredential>> {
        self.user_webauthn(user_id).await
    }

    async fn touch_webauthn(&self, id: i64, sign_count: i64) -> DatastoreResult<()> {
        self.touch_credential(id, sign_count).await
    }

    async fn advance_webauthn(
        &self,
        id: i64,
        sign_count: i64,
        backup_state: bool,
    ) -> DatastoreResult<bool> {
        self.advance_credential(id, sign_count, backup_state).await
    }

    async fn delete_webauthn(&self, id: i64) -> DatastoreResult<()> {
        self.remove_webauthn(id).await
    }

    async fn ping(&self) -> DatastoreResult<()> {
        with_pool!(&self.pool, p, DB => {
            sqlx::query("SELECT 1").execute(p).await.map(|_| ()).map_err(|e| match map_err(e) {
                DatastoreError::Backend(msg) => DatastoreError::Unavailable(msg),
                other => other,
            })
        })
    }
}

/// The value a user lookup binds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UserKey<'a> {
    /// An id.
    Id(i64),
    /// A string column.
    Text(&'a str),
}
