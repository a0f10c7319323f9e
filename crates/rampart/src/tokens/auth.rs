//! [`AuthTokens`]: issue, decode and authenticate Flask-Security auth tokens.

use std::sync::Arc;
use std::time::Duration;

use rampart_core::cache::TtlMap;
use rampart_core::datastore::UserDatastore;
use rampart_core::model::User;
use rampart_core::signing::{SecretKeys, SigningError, UrlSafeTimedSerializer, unix_now};
use serde_json::Value;

use super::claims::{self, PayloadV5, TokenClaims};
use super::error::TokenError;

/// `SECURITY_REMEMBER_SALT`'s default, the salt of auth tokens.
pub const DEFAULT_SALT: &str = "remember-salt";

/// `SECURITY_TOKEN_MAX_AGE`'s default since Flask-Security 5.9: 15 minutes.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(15 * 60);

/// Maps `SECURITY_TOKEN_MAX_AGE` in seconds to a maximum age: `0` means tokens never expire by
/// age (`None`), as Rampart's configuration documents it.
///
/// Flask-Security 5.9.2 itself differs here: it turns `0` into `timedelta(0)` and passes
/// `max_age=0.0` to itsdangerous, so a token is only accepted within the second it was issued
/// (verified against the installed package). Give `Some(Duration::ZERO)` to
/// [`AuthTokens::with_max_age`] to reproduce that.
///
/// ```
/// use std::time::Duration;
/// use rampart::tokens::max_age_from_secs;
///
/// assert_eq!(max_age_from_secs(0), None);
/// assert_eq!(max_age_from_secs(900), Some(Duration::from_secs(900)));
/// ```
pub fn max_age_from_secs(secs: u64) -> Option<Duration> {
    (secs != 0).then(|| Duration::from_secs(secs))
}

/// Issues and verifies Flask-Security auth tokens (`Authentication-Token`).
///
/// Cheap to clone (the keys are shared). Defaults: salt `remember-salt`, maximum age 15
/// minutes ([`DEFAULT_MAX_AGE`]), as Flask-Security 5.9.
///
/// # Example
/// ```
/// use rampart::tokens::{AuthTokens, SecretKeys, TokenError};
/// # fn user() -> rampart::model::User {
/// #     let t = time::macros::datetime!(2024-11-23 05:47:58);
/// #     rampart::model::User { id: 1, email: "a@example.com".into(), username: None,
/// #         password: None, active: true, fs_uniquifier: "a11ce".into(),
/// #         fs_token_uniquifier: None, fs_webauthn_user_handle: None, confirmed_at: None,
/// #         last_login_at: None, current_login_at: None, last_login_ip: None,
/// #         current_login_ip: None, login_count: None, tf_primary_method: None,
/// #         tf_totp_secret: None, tf_phone_number: None, us_totp_secrets: None,
/// #         us_phone_number: None, mf_recovery_codes: Vec::new(), create_datetime: t,
/// #         update_datetime: t }
/// # }
///
/// let keys = SecretKeys::new("new secret").expect("non-empty")
///     .with_fallbacks(["old secret"]).expect("non-empty");
/// let tokens = AuthTokens::new(keys);
///
/// let now = 1_732_340_878;
/// let token = tokens.issue_at(&user(), false, 1_732_340_878.5, None, now)?;
/// let claims = tokens.decode_at(&token, now + 60)?;
/// assert_eq!((claims.uid.as_str(), claims.version), ("a11ce", 5));
///
/// // 15 minutes and a second later the token has expired.
/// assert!(matches!(tokens.decode_at(&token, now + 901), Err(TokenError::Expired)));
/// # Ok::<(), TokenError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AuthTokens {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    serializer: UrlSafeTimedSerializer,
    max_age: Option<Duration>,
    salt: String,
    /// Tokens already verified, by their text: skips the signature check and payload
    /// decoding on repeat (age and `exp` are checked again every time).
    verified: Option<Arc<TtlMap<String, Arc<TokenClaims>>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("max_age", &self.max_age)
            .field("salt", &self.salt)
            .field("verified_cache", &self.verified.is_some())
            .finish_non_exhaustive()
    }
}

impl AuthTokens {
    /// Tokens signed with `keys` (primary signs, every key verifies), salt `remember-salt` and
    /// a maximum age of 15 minutes.
    pub fn new(keys: SecretKeys) -> Self {
        Self {
            inner: Arc::new(Inner {
                serializer: UrlSafeTimedSerializer::new(keys),
                max_age: Some(DEFAULT_MAX_AGE),
                salt: DEFAULT_SALT.to_owned(),
                verified: None,
            }),
        }
    }

    /// Sets the maximum age (`SECURITY_TOKEN_MAX_AGE`); `None` disables the age check (what
    /// `SECURITY_TOKEN_MAX_AGE = 0` means, see [`max_age_from_secs`]).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.inner).max_age = max_age;
        self
    }

    /// Remembers verified tokens for `ttl` (no cache when zero), so a client that sends the
    /// same token on every request pays for its signature once. A cached token is still
    /// refused once its age or `exp` runs out.
    #[must_use]
    pub fn with_verified_cache(mut self, ttl: Duration) -> Self {
        Arc::make_mut(&mut self.inner).verified =
            (!ttl.is_zero()).then(|| Arc::new(TtlMap::new(ttl)));
        self
    }

    /// Sets the salt (`SECURITY_REMEMBER_SALT`).
    #[must_use]
    pub fn with_salt(mut self, salt: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.inner).salt = salt.into();
        self
    }

    /// The maximum age; `None` when tokens never expire by age.
    pub fn max_age(&self) -> Option<Duration> {
        self.inner.max_age
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.inner.salt
    }

    /// Issues a version 5 token for `user`, as `UserMixin.get_auth_token()` does.
    ///
    /// `uses_token_uniquifier` tells whether the store has `fs_token_uniquifier`
    /// ([`UserDatastore::has_token_uniquifier`]); the token then carries it (when set), else
    /// `fs_uniquifier`. `fs_paa` is the time of primary authentication (float seconds since the
    /// Unix epoch, Flask-Security puts "now"), `exp` the embedded expiry from
    /// `SECURITY_TOKEN_EXPIRE_TIMESTAMP` (`None` or `Some(0)`: none).
    ///
    /// # Errors
    /// [`TokenError::CannotIssue`] when the user has no uniquifier or `fs_paa` is not finite.
    pub fn issue(
        &self,
        user: &User,
        uses_token_uniquifier: bool,
        fs_paa: f64,
        exp: Option<i64>,
    ) -> Result<String, TokenError> {
        self.issue_at(user, uses_token_uniquifier, fs_paa, exp, unix_now())
    }

    /// [`issue`](Self::issue) with the signed issue time `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// As [`issue`](Self::issue).
    pub fn issue_at(
        &self,
        user: &User,
        uses_token_uniquifier: bool,
        fs_paa: f64,
        exp: Option<i64>,
        now: u64,
    ) -> Result<String, TokenError> {
        let uid = token_uid(user, uses_token_uniquifier)
            .ok_or(TokenError::CannotIssue("the user has no uniquifier"))?;
        if !fs_paa.is_finite() {
            return Err(TokenError::CannotIssue("fs_paa is not a finite number"));
        }
        let payload = PayloadV5 {
            ver: "5",
            uid,
            fs_paa,
            exp: exp.unwrap_or(0),
        };
        self.inner
            .serializer
            .dumps_at(&payload, &self.inner.salt, now)
            .map_err(|_| TokenError::CannotIssue("the payload cannot be serialized"))
    }

    /// Verifies `token` now and returns its claims, as Flask-Security's `parse_auth_token`.
    ///
    /// # Errors
    /// As [`decode_at`](Self::decode_at).
    pub fn decode(&self, token: &str) -> Result<TokenClaims, TokenError> {
        self.decode_at(token, unix_now())
    }

    /// Verifies `token` as if the time were `now` (seconds since the Unix epoch): signature
    /// with every key, maximum age against the signed issue time, then the payload (version
    /// 5, 4 or 3) and its `exp`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for a token that is not genuine or not an auth token,
    /// [`TokenError::Expired`] for one older than the maximum age, dated after `now`, or
    /// with a non-zero `exp` before `now`.
    pub fn decode_at(&self, token: &str, now: u64) -> Result<TokenClaims, TokenError> {
        self.decode_shared_at(token, now).map(Arc::unwrap_or_clone)
    }

    /// [`decode_at`](Self::decode_at) with the claims shared with the verified-token cache
    /// (no copy of a cached token's claims on the per-request path).
    fn decode_shared_at(&self, token: &str, now: u64) -> Result<Arc<TokenClaims>, TokenError> {
        let Some(cache) = &self.inner.verified else {
            return self.verify_at(token, now).map(Arc::new);
        };
        if let Some(claims) = cache.get(token) {
            return self.still_valid(claims, now);
        }
        let claims = Arc::new(self.verify_at(token, now)?);
        cache.put(token.to_owned(), Arc::clone(&claims));
        Ok(claims)
    }

    /// The age and `exp` checks of a previously verified token, at `now`.
    fn still_valid(
        &self,
        claims: Arc<TokenClaims>,
        now: u64,
    ) -> Result<Arc<TokenClaims>, TokenError> {
        if claims.issued_at > now {
            return Err(TokenError::Expired);
        }
        if let Some(max) = self.inner.max_age
            && now - claims.issued_at > max.as_secs()
        {
            return Err(TokenError::Expired);
        }
        if claims
            .exp
            .is_some_and(|exp| exp < i64::try_from(now).unwrap_or(i64::MAX))
        {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<TokenClaims, TokenError> {
        let (value, issued_at): (Value, u64) = self
            .inner
            .serializer
            .loads_at(token, &self.inner.salt, self.inner.max_age, now)
            .map_err(signing_error)?;
        claims::parse(value, issued_at, now)
    }

    /// Verifies `token` now and loads its user, as the token part of Flask-Security's request
    /// loader: by `fs_token_uniquifier` first (where the column exists), then by
    /// `fs_uniquifier`; the user must be active.
    ///
    /// # Errors
    /// As [`authenticate_at`](Self::authenticate_at).
    pub async fn authenticate(
        &self,
        token: &str,
        store: &dyn UserDatastore,
    ) -> Result<User, TokenError> {
        self.authenticate_at(token, store, unix_now()).await
    }

    /// [`authenticate`](Self::authenticate) as if the time were `now`.
    ///
    /// # Errors
    /// Those of [`decode_at`](Self::decode_at); [`TokenError::Revoked`] when no user has the
    /// token's uniquifier (rotated or deleted), [`TokenError::Inactive`] when the user is not
    /// active, [`TokenError::Datastore`] when the lookup fails.
    pub async fn authenticate_at(
        &self,
        token: &str,
        store: &dyn UserDatastore,
        now: u64,
    ) -> Result<User, TokenError> {
        self.authenticate_claims_at(token, store, now)
            .await
            .map(|(user, _)| user)
    }

    /// Like [`AuthTokens::authenticate_at`], also returning the token's claims (for the
    /// primary-authentication time `fs_paa` that freshness checks read).
    ///
    /// # Errors
    /// As [`AuthTokens::authenticate_at`].
    pub async fn authenticate_claims_at(
        &self,
        token: &str,
        store: &dyn UserDatastore,
        now: u64,
    ) -> Result<(User, TokenClaims), TokenError> {
        let (user, claims) = self.authenticate_shared_at(token, store, now).await?;
        Ok((Arc::unwrap_or_clone(user), Arc::unwrap_or_clone(claims)))
    }

    /// [`AuthTokens::authenticate_claims_at`] with the user row and the claims shared (no copy
    /// of a cached row or of a cached token's claims on the per-request path).
    ///
    /// # Errors
    /// As [`AuthTokens::authenticate_at`].
    pub async fn authenticate_shared_at(
        &self,
        token: &str,
        store: &dyn UserDatastore,
        now: u64,
    ) -> Result<(Arc<User>, Arc<TokenClaims>), TokenError> {
        let claims = self.decode_shared_at(token, now)?;
        let mut user =
            rampart_core::datastore::user_by_token_uniquifier(store, &claims.uid).await?;
        if user.is_none() && store.has_token_uniquifier() {
            // Flask-Security falls back to fs_uniquifier so that tokens issued before the
            // column was added keep working.
            user = rampart_core::datastore::user_by_uniquifier(store, &claims.uid).await?;
        }
        let user = user.ok_or(TokenError::Revoked)?;
        if !user.active {
            return Err(TokenError::Inactive);
        }
        Ok((user, claims))
    }
}

/// The uniquifier a token for `user` carries.
fn token_uid(user: &User, uses_token_uniquifier: bool) -> Option<&str> {
    let token = user
        .fs_token_uniquifier
        .as_deref()
        .filter(|u| uses_token_uniquifier && !u.is_empty());
    token.or(Some(user.fs_uniquifier.as_str()).filter(|u| !u.is_empty()))
}

fn signing_error(error: SigningError) -> TokenError {
    if error.is_expired() {
        TokenError::Expired
    } else {
        TokenError::Invalid
    }
}
