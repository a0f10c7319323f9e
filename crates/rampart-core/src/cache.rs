//! A short-lived in-process cache in front of a [`UserDatastore`] for the look-ups every
//! authenticated request makes (user by uniquifier, user by token uniquifier, roles of a user).
//!
//! **Trade-off.** Every write made through the cached store clears the cache, so revocations
//! done by this process (password change, deactivation, `reset-access`, role changes) apply to
//! the next request. Writes made by *another* process (a second instance, the admin CLI) are
//! seen after at most the time-to-live. That is why the cache is off unless configured
//! (`SECURITY_USER_CACHE_TTL`, seconds), and why a deployment should keep the TTL at a few
//! seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::datastore::{DatastoreResult, UserDatastore};
use crate::model::{NewRole, NewUser, NewWebAuthn, Role, User, WebAuthnCredential};

/// Most entries kept per map; beyond that the map is emptied (simple and bounded).
const MAX_ENTRIES: usize = 50_000;

/// A bounded map of values that expire after a fixed time-to-live.
///
/// Keys are hashed with foldhash (randomly seeded per process) rather than SipHash: only
/// values that already passed verification (signed tokens, uniquifiers of real users) are
/// inserted, and the map is bounded, so a fast hash costs no flooding resistance that matters.
pub struct TtlMap<K, V> {
    ttl: Duration,
    /// Each value with the instant it expires (a comparison per read, not a subtraction).
    entries: Mutex<HashMap<K, (Instant, V), foldhash::fast::RandomState>>,
}

impl<K: std::hash::Hash + Eq, V: Clone> TtlMap<K, V> {
    /// An empty map whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::with_hasher(foldhash::fast::RandomState::default())),
        }
    }

    /// The live value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let map = self.entries.lock().ok()?;
        let (expires, v) = map.get(key)?;
        (Instant::now() < *expires).then(|| v.clone())
    }

    /// Stores a value (the whole map is emptied when it is full).
    pub fn put(&self, key: K, value: V) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            // A time-to-live past what `Instant` can hold caches nothing rather than panicking.
            if let Some(expires) = Instant::now().checked_add(self.ttl) {
                map.insert(key, (expires, value));
            }
        }
    }

    /// Removes one key.
    pub fn remove(&self, key: &K) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }

    /// Removes everything.
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

/// A [`UserDatastore`] with a read cache; see the module documentation.
pub struct CachedDatastore {
    inner: Arc<dyn UserDatastore>,
    by_uniquifier: TtlMap<String, Option<Arc<User>>>,
    by_token: TtlMap<String, Option<Arc<User>>>,
    roles: TtlMap<i64, Arc<[Role]>>,
}

impl CachedDatastore {
    /// Caches `inner`'s reads for `ttl`.
    pub fn new(inner: Arc<dyn UserDatastore>, ttl: Duration) -> Self {
        Self {
            inner,
            by_uniquifier: TtlMap::new(ttl),
            by_token: TtlMap::new(ttl),
            roles: TtlMap::new(ttl),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &Arc<dyn UserDatastore> {
        &self.inner
    }

    /// Forgets everything cached.
    pub fn invalidate(&self) {
        self.by_uniquifier.clear();
        self.by_token.clear();
        self.roles.clear();
    }

    fn after_write<T>(&self, result: DatastoreResult<T>) -> DatastoreResult<T> {
        self.invalidate();
        result
    }
}

#[async_trait]
impl UserDatastore for CachedDatastore {
    async fn create_user(&self, new: NewUser) -> DatastoreResult<User> {
        let r = self.inner.create_user(new).await;
        self.after_write(r)
    }
    async fn update_user(&self, user: &User) -> DatastoreResult<User> {
        let r = self.inner.update_user(user).await;
        self.after_write(r)
    }
    async fn update_user_if_unchanged(
        &self,
        user: &User,
        seen: &User,
    ) -> DatastoreResult<Option<User>> {
        let r = self.inner.update_user_if_unchanged(user, seen).await;
        self.after_write(r)
    }
    async fn delete_user(&self, id: i64) -> DatastoreResult<()> {
        let r = self.inner.delete_user(id).await;
        self.after_write(r)
    }
    async fn find_user_by_id(&self, id: i64) -> DatastoreResult<Option<User>> {
        self.inner.find_user_by_id(id).await
    }
    async fn find_user_by_email(&self, email: &str) -> DatastoreResult<Option<User>> {
        self.inner.find_user_by_email(email).await
    }
    async fn find_user_by_username(&self, username: &str) -> DatastoreResult<Option<User>> {
        self.inner.find_user_by_username(username).await
    }
    async fn find_user_by_uniquifier(&self, uniquifier: &str) -> DatastoreResult<Option<User>> {
        Ok(self
            .find_user_by_uniquifier_shared(uniquifier)
            .await?
            .map(|u| User::clone(&u)))
    }
    async fn find_user_by_token_uniquifier(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<User>> {
        Ok(self
            .find_user_by_token_uniquifier_shared(uniquifier)
            .await?
            .map(|u| User::clone(&u)))
    }
    fn cached_user_by_uniquifier(&self, uniquifier: &str) -> Option<Option<Arc<User>>> {
        self.by_uniquifier.get(uniquifier)
    }
    fn cached_user_by_token_uniquifier(&self, uniquifier: &str) -> Option<Option<Arc<User>>> {
        self.by_token.get(uniquifier)
    }
    fn cached_roles_of(&self, user_id: i64) -> Option<Arc<[Role]>> {
        self.roles.get(&user_id)
    }
    async fn find_user_by_uniquifier_shared(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<Arc<User>>> {
        if let Some(hit) = self.by_uniquifier.get(uniquifier) {
            return Ok(hit);
        }
        let user = self
            .inner
            .find_user_by_uniquifier_shared(uniquifier)
            .await?;
        self.by_uniquifier.put(uniquifier.to_owned(), user.clone());
        Ok(user)
    }
    async fn find_user_by_token_uniquifier_shared(
        &self,
        uniquifier: &str,
    ) -> DatastoreResult<Option<Arc<User>>> {
        if let Some(hit) = self.by_token.get(uniquifier) {
            return Ok(hit);
        }
        let user = self
            .inner
            .find_user_by_token_uniquifier_shared(uniquifier)
            .await?;
        self.by_token.put(uniquifier.to_owned(), user.clone());
        Ok(user)
    }
    async fn find_user_by_webauthn_handle(&self, handle: &str) -> DatastoreResult<Option<User>> {
        self.inner.find_user_by_webauthn_handle(handle).await
    }
    async fn list_users(&self) -> DatastoreResult<Vec<User>> {
        self.inner.list_users().await
    }
    fn has_token_uniquifier(&self) -> bool {
        self.inner.has_token_uniquifier()
    }
    async fn create_role(&self, new: NewRole) -> DatastoreResult<Role> {
        let r = self.inner.create_role(new).await;
        self.after_write(r)
    }
    async fn find_role(&self, name: &str) -> DatastoreResult<Option<Role>> {
        self.inner.find_role(name).await
    }
    async fn list_roles(&self) -> DatastoreResult<Vec<Role>> {
        self.inner.list_roles().await
    }
    async fn update_role(&self, role: &Role) -> DatastoreResult<Role> {
        let r = self.inner.update_role(role).await;
        self.after_write(r)
    }
    async fn delete_role(&self, name: &str) -> DatastoreResult<()> {
        let r = self.inner.delete_role(name).await;
        self.after_write(r)
    }
    async fn add_role_to_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        let r = self.inner.add_role_to_user(user_id, role).await;
        self.after_write(r)
    }
    async fn remove_role_from_user(&self, user_id: i64, role: &str) -> DatastoreResult<bool> {
        let r = self.inner.remove_role_from_user(user_id, role).await;
        self.after_write(r)
    }
    async fn roles_of(&self, user_id: i64) -> DatastoreResult<Vec<Role>> {
        Ok(self.roles_of_shared(user_id).await?.to_vec())
    }
    async fn roles_of_shared(&self, user_id: i64) -> DatastoreResult<Arc<[Role]>> {
        if let Some(hit) = self.roles.get(&user_id) {
            return Ok(hit);
        }
        let roles = self.inner.roles_of_shared(user_id).await?;
        self.roles.put(user_id, Arc::clone(&roles));
        Ok(roles)
    }
    async fn create_webauthn(&self, new: NewWebAuthn) -> DatastoreResult<WebAuthnCredential> {
        self.inner.create_webauthn(new).await
    }
    async fn find_webauthn(
        &self,
        credential_id: &[u8],
    ) -> DatastoreResult<Option<WebAuthnCredential>> {
        self.inner.find_webauthn(credential_id).await
    }
    async fn webauthn_of(&self, user_id: i64) -> DatastoreResult<Vec<WebAuthnCredential>> {
        self.inner.webauthn_of(user_id).await
    }
    async fn touch_webauthn(&self, id: i64, sign_count: i64) -> DatastoreResult<()> {
        self.inner.touch_webauthn(id, sign_count).await
    }
    async fn advance_webauthn(
        &self,
        id: i64,
        sign_count: i64,
        backup_state: bool,
    ) -> DatastoreResult<bool> {
        self.inner
            .advance_webauthn(id, sign_count, backup_state)
            .await
    }
    async fn delete_webauthn(&self, id: i64) -> DatastoreResult<()> {
        self.inner.delete_webauthn(id).await
    }
    async fn ping(&self) -> DatastoreResult<()> {
        self.inner.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let m: TtlMap<&str, u32> = TtlMap::new(Duration::from_millis(30));
        m.put("a", 1);
        assert_eq!(m.get(&"a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(m.get(&"a"), None);
        m.put("b", 2);
        m.clear();
        assert_eq!(m.get(&"b"), None);
    }
}
