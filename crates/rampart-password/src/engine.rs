//! [`PasswordEngine`]: validation, hashing and verification as Flask-Security does them.

use std::sync::{Arc, OnceLock};

use crate::breached::BreachedClient;
use crate::config::{BreachedMode, ComplexityChecker, ConfigError, HashScheme, PasswordConfig};
use crate::error::PasswordError;
use crate::messages::{PASSWORD_BREACHED, PASSWORD_BREACHED_SITE_ERROR, PasswordIssue};
use crate::policy;
use crate::pool::HashPool;
use crate::prehash::{BCRYPT_MAX_SECRET, prehash};
use crate::schemes::{Scheme, argon2};

/// The outcome of [`PasswordEngine::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Verification {
    /// The password matches the stored hash.
    pub ok: bool,
    /// The password matched, but the hash is not the configured scheme with the
    /// configured parameters: store [`PasswordEngine::hash`] of the password now.
    pub needs_rehash: bool,
}

impl Verification {
    const FAILED: Self = Self {
        ok: false,
        needs_rehash: false,
    };
}

/// The password engine. Cheap to clone (an `Arc` inside); share one per application.
///
/// # Example
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use rampart_password::{Argon2Params, PasswordConfig, PasswordEngine};
///
/// let engine = PasswordEngine::new(PasswordConfig {
///     salt: Some("change-me".into()),
///     argon2: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }, // doc-test speed
///     ..PasswordConfig::default()
/// })?;
/// assert!(engine.validate("correct horse battery staple", &[]).await.is_ok());
/// let stored = engine.hash("correct horse battery staple").await?;
/// let v = engine.verify("correct horse battery staple", &stored).await?;
/// assert!(v.ok && !v.needs_rehash);
/// assert!(!engine.verify("wrong", &stored).await?.ok);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PasswordEngine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PasswordConfig,
    pool: HashPool,
    breached: Option<BreachedClient>,
    /// A well-formed hash of no password, with the configured scheme and parameters.
    /// argon2: random salt and digest, made for free at construction; other schemes:
    /// a real hash, made on the first dummy verification.
    dummy_hash: OnceLock<String>,
}

impl PasswordEngine {
    /// Builds the engine after [`PasswordConfig::validate`].
    ///
    /// # Errors
    /// The configuration error, naming its `SECURITY_*` key; or a failure to set up the
    /// HTTPS client of the breached-password check.
    pub fn new(config: PasswordConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let breached = match config.check_breached {
            Some(_) => Some(BreachedClient::new(
                &config.hibp_base_url,
                config.hibp_timeout,
            )?),
            None => None,
        };
        let pool = HashPool::new(config.max_concurrency);
        let dummy_hash = OnceLock::new();
        if config.hash_scheme == HashScheme::Argon2 {
            let _ = dummy_hash.set(argon2::dummy(&config.argon2));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                pool,
                breached,
                dummy_hash,
            }),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &PasswordConfig {
        &self.inner.config
    }

    /// The bounded pool hashing runs on.
    #[must_use]
    pub fn pool(&self) -> &HashPool {
        &self.inner.pool
    }

    /// Normalises `password` with the configured form (NFKD by default).
    #[must_use]
    pub fn normalize(&self, password: &str) -> String {
        self.inner.config.normalize_form.apply(password)
    }

    /// The scheme of a stored value, as [`verify`](Self::verify) would pick it.
    #[must_use]
    pub fn identify(&self, stored: &str) -> Option<Scheme> {
        Scheme::identify(stored, self.inner.config.allow_plaintext)
    }

    /// Checks a new password as Flask-Security's `PasswordUtil.validate` does, stopping
    /// at the first failure: normalise; length (in code points, `length_min..=128`);
    /// breached (when configured); complexity (when configured, with `user_inputs`
    /// such as the e-mail and username).
    ///
    /// # Errors
    /// The issues found (one, since validation stops at the first).
    pub async fn validate(
        &self,
        password: &str,
        user_inputs: &[&str],
    ) -> Result<(), Vec<PasswordIssue>> {
        let config = &self.inner.config;
        let normalized = self.normalize(password);
        if let Some(issue) = policy::check_length(&normalized, config.length_min, config.length_max)
        {
            return Err(vec![issue]);
        }
        if let (Some(mode), Some(client)) = (config.check_breached, &self.inner.breached) {
            match client.count(&normalized).await {
                Ok(count) if count >= config.breached_count => {
                    return Err(vec![PasswordIssue::from_key(PASSWORD_BREACHED)]);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "breached-password check failed");
                    if mode == BreachedMode::Strict {
                        return Err(vec![PasswordIssue::from_key(PASSWORD_BREACHED_SITE_ERROR)]);
                    }
                }
            }
        }
        if config.complexity_checker == Some(ComplexityChecker::Zxcvbn) {
            let inputs: Vec<String> = user_inputs.iter().map(|s| (*s).to_owned()).collect();
            let min = config.zxcvbn_minimum_score;
            let issue = self
                .inner
                .pool
                .run(move || {
                    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    policy::check_complexity(&normalized, &refs, min)
                })
                .await
                .unwrap_or_else(|_| {
                    Some(PasswordIssue::from_key(
                        crate::messages::PASSWORD_TOO_SIMPLE,
                    ))
                });
            if let Some(issue) = issue {
                return Err(vec![issue]);
            }
        }
        Ok(())
    }

    /// Hashes a password for storage: normalise, pre-hash (unless the scheme is
    /// single-hashed), then the configured scheme (argon2id
    /// `$argon2id$v=19$m=65536,t=3,p=4$…` by default). Runs on the bounded pool.
    ///
    /// # Errors
    /// [`PasswordError`] if the salt is missing or hashing fails.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let engine = self.clone();
        let password = password.to_owned();
        self.inner
            .pool
            .run(move || engine.hash_blocking(&password))
            .await?
    }

    /// [`hash`](Self::hash) on the current thread, without the pool. For the CLI and
    /// tests; never call it from async code.
    ///
    /// # Errors
    /// [`PasswordError`] if the salt is missing or hashing fails.
    pub fn hash_blocking(&self, password: &str) -> Result<String, PasswordError> {
        let config = &self.inner.config;
        let scheme = config.hash_scheme.scheme();
        let secret = self.secret(scheme, &self.normalize(password))?;
        scheme.hash(&secret, config)
    }

    /// Checks a password against a stored hash of any supported format. Runs on the
    /// bounded pool.
    ///
    /// A stored value of no known format (or malformed) gives `ok: false`, after the
    /// same work as a real check; it is never an error.
    ///
    /// # Errors
    /// [`PasswordError`] if the stored hash needs the pre-hash and no salt is
    /// configured, or the hashing task fails.
    pub async fn verify(
        &self,
        password: &str,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        let engine = self.clone();
        let password = password.to_owned();
        let stored = stored.to_owned();
        self.inner
            .pool
            .run(move || engine.verify_blocking(&password, &stored))
            .await?
    }

    /// [`verify`](Self::verify) on the current thread, without the pool. For the CLI
    /// and tests; never call it from async code.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_blocking(
        &self,
        password: &str,
        stored: &str,
    ) -> Result<Verification, PasswordError> {
        let Some(scheme) = self.identify(stored) else {
            self.dummy_verify_blocking();
            return Ok(Verification::FAILED);
        };
        let secret = self.secret(scheme, &self.normalize(password))?;
        if !scheme.verify(&secret, stored) {
            return Ok(Verification::FAILED);
        }
        Ok(Verification {
            ok: true,
            needs_rehash: scheme.needs_rehash(stored, &self.inner.config),
        })
    }

    /// Spends the time of one real verification against a hash with the configured
    /// argon2 parameters, and fails. Call it when the user does not exist (login,
    /// generic responses) so that answer takes as long as a wrong password.
    pub async fn dummy_verify(&self) {
        let engine = self.clone();
        // A task failure only loses the timing equalisation; nothing to report.
        let _ = self
            .inner
            .pool
            .run(move || engine.dummy_verify_blocking())
            .await;
    }

    /// [`dummy_verify`](Self::dummy_verify) on the current thread.
    pub fn dummy_verify_blocking(&self) {
        let config = &self.inner.config;
        let scheme = config.hash_scheme.scheme();
        let stored = self.inner.dummy_hash.get_or_init(|| {
            let secret = crate::schemes::random_bytes::<32>();
            // Falls back to argon2 if the configured scheme cannot hash (never expected).
            scheme
                .hash(&secret, config)
                .unwrap_or_else(|_| argon2::dummy(&config.argon2))
        });
        let Ok(secret) = self.secret(scheme, "rampart-dummy-password") else {
            return;
        };
        let _ = scheme.verify(&secret, stored);
    }

    /// The bytes handed to the scheme: the normalised password when the scheme is
    /// single-hashed, else its HMAC pre-hash (cut to 72 characters for bcrypt).
    fn secret(&self, scheme: Scheme, normalized: &str) -> Result<Vec<u8>, PasswordError> {
        let config = &self.inner.config;
        if config.single_hash.is_single(scheme.name()) {
            return Ok(normalized.as_bytes().to_vec());
        }
        let salt = config.effective_salt().ok_or(ConfigError::MissingSalt {
            scheme: scheme.name(),
        })?;
        let mut secret = prehash(salt, normalized).into_bytes();
        if scheme == Scheme::Bcrypt {
            secret.truncate(BCRYPT_MAX_SECRET);
        }
        Ok(secret)
    }
}
