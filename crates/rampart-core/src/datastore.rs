//! The user datastore: Flask-Security's `UserDatastore` as an async trait.
//!
//! Every method is one atomic operation. Email and username lookups are case-insensitive;
//! uniqueness is enforced by the database, so concurrent creation of the same email yields one
//! user and [`DatastoreError::AlreadyExists`] for the others.

use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{NewRole, NewUser, NewWebAuthn, Role, User, WebAuthnCredential};

/// Why a datastore operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatastoreError {
    /// A unique value (email, username, role name, credential id …) is already taken.
    #[error("{field} already exists")]
    AlreadyExists {
        /// The column whose value is taken (`email`, `username`, `name`, …).
        field: &'static str,
    },
    /// The user, role or credential named does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database cannot be reached right now (connection refused, pool timeout …).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database schema is not one Rampart can use (missing table or column).
    #[error("database schema: {0}")]
    Schema(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Backend(String),
}

/// Result of datastore operations.
pub type DatastoreResult<T> = Result<T, DatastoreError>;

/// Storage of users, roles and WebAuthn credentials.
///
/// Implemented by `rampart_sqlx::SqlDatastore` for SQLite and PostgreSQL; applications may
/// implement it for other stores. The conformance tests in the `rampart-tests` crate describe
/// the expected behaviour precisely.
#[async_trait]
pub trait UserDatastore: Send + Sync + 'static {
    /// Creates a user with a fresh `fs_uniquifier` (and `fs_token_uniquifier` where the column
    /// exists) and grants the named roles.
    ///
    /// # Errors
    /// [`DatastoreError::AlreadyExists`] when the email (case-insensitively) or username is
    /// taken, [`DatastoreError::NotFound`] when a named role does not exist.
    async fn create_user(&self, new: NewUser) -> DatastoreResult<User>;

    /// Writes every mutable column of `user` (matched by `id`) and bumps `update_datetime`.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown id, [`DatastoreError::AlreadyExists`] when a
    /// changed unique value is taken.
    async fn update_user(&self, user: &User) -> DatastoreResult<User>;

    /// [`update_user`](Self::update_user) as a compare-and-set: writes only while the stored
    /// row still has the `fs_uniquifier`, `password`, confirmation state and `email` of `seen`
    /// (the row as read before deciding to write), in one atomic statement. Single-use links
    /// (reset, confirmation, change of email) consume themselves with it, so of concurrent
    /// uses exactly one wins.
    ///
    /// Returns `None`, writing nothing, when the row changed in between.
    ///
    /// # Errors
    /// As [`update_user`](Self::update_user).
    async fn update_user_if_unchanged(
        &self,
        user: &User,
        seen: &User,
    ) -> DatastoreResult<Option<User>>;

    /// Deletes a user with their role links and WebAuthn credentials.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown id.
    async fn delete_user(&self, id: i64) -> DatastoreResult<()>;

    /// Finds a user by primary key.
    ///
    /// # Errors
    /// Only on database failure; an unknown id gives `Ok(None)`.
    async fn find_user_by_id(&self, id: i64) -> DatastoreResult<Option<User>>;

    /// Finds a user by email, case-insensitively.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_email(&self, email: &str) -> DatastoreResult<Option<User>>;

    /// Finds a user by username, case-insensitively.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_username(&self, username: &str) -> DatastoreResult<Option<User>>;

    /// Finds a user by `fs_uniquifier` (exact match).
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_uniquifier(&self, uniquifier: &str) -> DatastoreResult<Option<User>>;

    /// Finds a user by `fs_token_uniquifier` when that column exists, else by `fs_uniquifier`.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_token_uniquifier(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<User>>;

    /// [`find_user_by_uniquifier`](Self::find_user_by_uniquifier) as a shared row: a caching
    /// store hands out its copy instead of cloning it (the per-request authentication path).
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_uniquifier_shared(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<Arc<User>>> {
        Ok(self
            .find_user_by_uniquifier(uniquifier)
            .await?
            .map(Arc::new))
    }

    /// The answer of [`find_user_by_uniquifier_shared`](Self::find_user_by_uniquifier_shared)
    /// when this store already holds it in memory (a caching store's live entry), without a
    /// query or an asynchronous call; `None`: ask that method. The default holds nothing.
    fn cached_user_by_uniquifier(&self, _uniquifier: &str) -> Option<Option<Arc<User>>> {
        None
    }

    /// [`cached_user_by_uniquifier`](Self::cached_user_by_uniquifier) for
    /// [`find_user_by_token_uniquifier_shared`](Self::find_user_by_token_uniquifier_shared).
    fn cached_user_by_token_uniquifier(&self, _uniquifier: &str) -> Option<Option<Arc<User>>> {
        None
    }

    /// [`find_user_by_token_uniquifier`](Self::find_user_by_token_uniquifier) as a shared row.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_token_uniquifier_shared(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<Arc<User>>> {
        Ok(self
            .find_user_by_token_uniquifier(uniquifier)
            .await?
            .map(Arc::new))
    }

    /// Finds a user by WebAuthn user handle.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_user_by_webauthn_handle(&self, handle: &str) -> DatastoreResult<Option<User>>;

    /// Lists all users ordered by id.
    ///
    /// # Errors
    /// Only on database failure.
    async fn list_users(&self) -> DatastoreResult<Vec<User>>;

    /// Whether the store has a `fs_token_uniquifier` column.
    fn has_token_uniquifier(&self) -> bool;

    /// Creates a role.
    ///
    /// # Errors
    /// [`DatastoreError::AlreadyExists`] when the name is taken.
    async fn create_role(&self, new: NewRole) -> DatastoreResult<Role>;

    /// Finds a role by exact name.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_role(&self, name: &str) -> DatastoreResult<Option<Role>>;

    /// Lists all roles ordered by name.
    ///
    /// # Errors
    /// Only on database failure.
    async fn list_roles(&self) -> DatastoreResult<Vec<Role>>;

    /// Writes a role's description and permissions (matched by `id`).
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown id.
    async fn update_role(&self, role: &Role) -> DatastoreResult<Role>;

    /// Deletes a role and its links to users.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown name.
    async fn delete_role(&self, name: &str) -> DatastoreResult<()>;

    /// Grants a role; `Ok(false)` when the user already had it.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown user or role.
    async fn add_role_to_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool>;

    /// Revokes a role; `Ok(false)` when the user did not have it.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown role.
    async fn remove_role_from_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool>;

    /// The user's roles ordered by name.
    ///
    /// # Errors
    /// Only on database failure.
    async fn roles_of(&self, user_id: i64) -> DatastoreResult<Vec<Role>>;

    /// [`cached_user_by_uniquifier`](Self::cached_user_by_uniquifier) for
    /// [`roles_of_shared`](Self::roles_of_shared).
    fn cached_roles_of(&self, _user_id: i64) -> Option<Arc<[Role]>> {
        None
    }

    /// [`roles_of`](Self::roles_of) as a shared list (see
    /// [`find_user_by_uniquifier_shared`](Self::find_user_by_uniquifier_shared)).
    ///
    /// # Errors
    /// Only on database failure.
    async fn roles_of_shared(&self, user_id: i64) -> DatastoreResult<Arc<[Role]>> {
        Ok(self.roles_of(user_id).await?.into())
    }

    /// Stores a WebAuthn credential.
    ///
    /// # Errors
    /// [`DatastoreError::AlreadyExists`] when the credential id is taken.
    async fn create_webauthn(&self, new: NewWebAuthn) -> DatastoreResult<WebAuthnCredential>;

    /// Finds a credential by its credential id.
    ///
    /// # Errors
    /// Only on database failure.
    async fn find_webauthn(
        &self,
        credential_id: &[u8],
    ) -> DatastoreResult<Option<WebAuthnCredential>>;

    /// The user's credentials ordered by id.
    ///
    /// # Errors
    /// Only on database failure.
    async fn webauthn_of(&self, user_id: i64) -> DatastoreResult<Vec<WebAuthnCredential>>;

    /// Records a use of a credential: new sign count and `lastuse_datetime`.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown id.
    async fn touch_webauthn(&self, id: i64, sign_count: i64) -> DatastoreResult<()>;

    /// Records a successful assertion atomically: the sign count only moves forward (an
    /// authenticator without a counter reports 0 and stays at 0), the backup state and the
    /// last use are written. `Ok(false)` when the stored count is already at or past
    /// `sign_count` (a concurrent use, or a cloned authenticator), leaving the row unchanged.
    ///
    /// The default implementation is [`touch_webauthn`](Self::touch_webauthn), which is not
    /// atomic with the check; stores should override it.
    ///
    /// # Errors
    /// Only on database failure (and as `touch_webauthn` for the default).
    async fn advance_webauthn(
        &self,
        id: i64,
        sign_count: i64,
        backup_state: bool,
    ) -> DatastoreResult<bool> {
        let _ = backup_state;
        self.touch_webauthn(id, sign_count).await.map(|()| true)
    }

    /// Deletes a credential.
    ///
    /// # Errors
    /// [`DatastoreError::NotFound`] for an unknown id.
    async fn delete_webauthn(&self, id: i64) -> DatastoreResult<()>;

    /// Checks that the database answers (for readiness probes).
    ///
    /// # Errors
    /// [`DatastoreError::Unavailable`] when it does not.
    async fn ping(&self) -> DatastoreResult<()>;
}

/// [`UserDatastore::find_user_by_uniquifier_shared`], answered from the store's memory when it
/// holds the row ([`UserDatastore::cached_user_by_uniquifier`]), without the boxed call: the
/// look-up of every session-authenticated request.
///
/// # Errors
/// Only on database failure.
pub async fn user_by_uniquifier(
    store: &dyn UserDatastore,
    uniquifier: &str,
) -> DatastoreResult<Option<Arc<User>>> {
    match store.cached_user_by_uniquifier(uniquifier) {
        Some(hit) => Ok(hit),
        None => store.find_user_by_uniquifier_shared(uniquifier).await,
    }
}

/// [`user_by_uniquifier`] for [`UserDatastore::find_user_by_token_uniquifier_shared`]: the
/// look-up of every token-authenticated request.
///
/// # Errors
/// Only on database failure.
pub async fn user_by_token_uniquifier(
    store: &dyn UserDatastore,
    uniquifier: &str,
) -> DatastoreResult<Option<Arc<User>>> {
    match store.cached_user_by_token_uniquifier(uniquifier) {
        Some(hit) => Ok(hit),
        None => store.find_user_by_token_uniquifier_shared(uniquifier).await,
    }
}
