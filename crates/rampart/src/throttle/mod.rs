//! Throttling of password guessing, reset requests, one-time code checks and passkey
//! assertions, per account and per client address: a slowing throttle, never a lock that an
//! attacker can hold.
//!
//! Every attempt is counted against two keys before it is verified: the account it names
//! (whether or not the account exists, so the throttle tells nothing about which accounts
//! exist) and the client address ([`ClientAddr`], which honours `X-Forwarded-For` only behind
//! `SECURITY_TRUSTED_PROXIES`; IPv6 addresses count per /64). A refused attempt is answered
//! `429 Too Many Requests` with `Retry-After` before any user look-up or password hashing, so a
//! flood cannot use up the hashing capacity. See [the rules](#the-rules) below and
//! [`ThrottleConfig`] for the settings and their defaults.
//!
//! # The rules
//! - **Rate** (a sliding GCRA window): per account 10 attempts per 15 minutes in a burst, then
//!   one every 90 s; per address 100 per 15 minutes, then one every 9 s.
//! - **Back-off** (accounts, for login, code checks and passkey assertions): after 10
//!   consecutive failures the wait after each further failure doubles, 90 s, 3 min, 6 min …
//!   up to 1 hour.
//! - **Hard limit** (accounts, login, code checks and passkey assertions): after 100
//!   consecutive failures, the NIST SP 800-63B ceiling, nothing is let through until 24 hours
//!   have passed since the last one, or until the counters are cleared: call
//!   [`Throttle::clear_user`] (or [`Throttle::clear_account`]) when the owner proves control
//!   another way (a completed password reset).
//! - Attempts refused by the throttle are not counted; a success gives its attempt back and
//!   starts the account's consecutive failures from zero. Password reset requests are limited
//!   by rate only, so an attacker cannot stop the owner from resetting.
//!
//! # Using it from an endpoint
//! ```
//! # async fn demo(sec: rampart::Security, addr: rampart::authn::ClientAddr) {
//! use rampart::throttle::{Action, ThrottleError};
//!
//! match sec.throttle().attempt(Action::Code, Some("ann@example.com"), addr).await {
//!     Ok(permit) => {
//!         let code_ok = true; // … verify the code …
//!         if code_ok {
//!             let _ = permit.succeeded().await;
//!         } // dropping the permit leaves the failure counted
//!     }
//!     Err(ThrottleError::Throttled { retry_after }) => { /* 429, Retry-After */ }
//!     Err(other) => { /* the counter store failed: 503 */ }
//! }
//! # }
//! ```
//!
//! # Storage
//! Counters live in a [`ThrottleStore`]: the SQL database (`rampart_sqlx::SqlThrottleStore`,
//! table `rampart_throttle`), Redis ([`RedisThrottleStore`], so several instances share them)
//! or memory ([`MemoryThrottleStore`], the default of [`Security::builder`]). Keys carry the
//! action, the scope and a SHA-256 digest of the normalized account identity, so the store
//! holds no email addresses.
//!
//! [`Security::builder`]: crate::Security::builder

mod clock;
mod config;
pub(crate) mod policy;
mod redis;
mod refusals;
mod response;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ThrottleConfig;
pub use rampart_core::throttle::{MemoryThrottleStore, ThrottleRecord, ThrottleStore};
pub use redis::RedisThrottleStore;
pub(crate) use response::mark_throttled;
pub use response::{THROTTLED_MESSAGE, throttled_json};

use rampart_core::DatastoreError;
use sha2::{Digest, Sha256};

use crate::authn::ClientAddr;
use policy::Policy;

/// What is being attempted; each action has its own counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A password login (`/login`, and Basic auth where an application wants it).
    Login,
    /// A password reset request (`/reset`): every request counts, by rate only.
    Reset,
    /// A one-time code check (two-factor, unified sign-in, recovery codes).
    Code,
    /// A WebAuthn assertion (`/wan-signin/<state>`, `/wan-verify/<state>`): counted against
    /// the credential's owner (or the pending or signed-in user) and the address.
    Passkey,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Reset => "reset",
            Self::Code => "code",
            Self::Passkey => "passkey",
        }
    }
}

/// Why an attempt may not go ahead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// Too many attempts: answer 429 with `Retry-After`.
    #[error("too many attempts; retry after {} s", retry_after.as_secs())]
    Throttled {
        /// How long to wait (whole seconds, at least 1).
        retry_after: Duration,
    },
    /// The counter store failed: answer 503 (the attempt is refused, never let through
    /// uncounted).
    #[error("throttle store: {0}")]
    Backend(#[from] DatastoreError),
}

/// The throttle: limits, counter store and clock. Cheap to clone.
#[derive(Clone)]
pub struct Throttle {
    inner: Arc<Inner>,
}

struct Inner {
    config: ThrottleConfig,
    store: Arc<dyn ThrottleStore>,
    clock: Arc<dyn Clock>,
    refused: refusals::Refusals,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// An attempt let through and counted as a failure until [`Permit::succeeded`] or
/// [`Permit::not_attempted`] says otherwise. Dropping it keeps the failure counted.
#[derive(Debug)]
#[must_use = "an unused permit counts as a failure; call succeeded() on success"]
pub struct Permit {
    throttle: Throttle,
    taken: Vec<(String, Policy, bool)>,
}

impl Permit {
    /// The credentials were right: gives the attempt back and clears the account's
    /// consecutive failures (the address keeps its count of other failures).
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails.
    pub async fn succeeded(self) -> Result<(), ThrottleError> {
        self.give_back(true).await
    }

    /// Nothing was verified after all (for example the request failed validation later):
    /// gives the attempt back without clearing anything.
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails.
    pub async fn not_attempted(self) -> Result<(), ThrottleError> {
        self.give_back(false).await
    }

    async fn give_back(mut self, success: bool) -> Result<(), ThrottleError> {
        let taken = std::mem::take(&mut self.taken);
        self.throttle.release(&taken, success).await
    }
}

impl Throttle {
    /// A throttle over `store` with the system clock.
    pub fn new(config: ThrottleConfig, store: Arc<dyn ThrottleStore>) -> Self {
        Self::with_clock(config, store, Arc::new(SystemClock))
    }

    /// A throttle with an explicit clock (tests).
    pub fn with_clock(
        config: ThrottleConfig,
        store: Arc<dyn ThrottleStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                clock,
                refused: refusals::Refusals::default(),
            }),
        }
    }

    /// The limits.
    pub fn config(&self) -> &ThrottleConfig {
        &self.inner.config
    }

    /// Counts an attempt of `action` for `account` (the identity as submitted: email,
    /// username or phone; `None` when there is none) from `addr`, or refuses it.
    ///
    /// # Errors
    /// [`ThrottleError::Throttled`] with the wait, or [`ThrottleError::Backend`].
    pub async fn attempt(
        &self,
        action: Action,
        account: Option<&str>,
        addr: ClientAddr,
    ) -> Result<Permit, ThrottleError> {
        let mut permit = Permit {
            throttle: self.clone(),
            taken: Vec::new(),
        };
        if !self.inner.config.enabled {
            return Ok(permit);
        }
        let prefix = &self.inner.config.key_prefix;
        let mut keys = vec![(
            format!("{prefix}{}", address_key(action, addr)),
            self.address_policy(),
            false,
        )];
        if let Some(account) = account {
            keys.push((
                format!("{prefix}{}", account_key(action, account)),
                self.account_policy(action),
                true,
            ));
        }
        // A key refused moments ago refuses the attempt before anything is counted: a flood
        // on one account then costs the store nothing, not even the address key's count and
        // give-back.
        let now = self.inner.clock.now_ms();
        if let Some(wait) = keys
            .iter()
            .filter_map(|(key, _, _)| self.inner.refused.wait(key, now))
            .max()
        {
            self.tarpit().await;
            return Err(throttled(wait));
        }
        for (key, policy, is_account) in keys {
            match self.acquire(&key, &policy).await {
                Ok(()) => permit.taken.push((key, policy, is_account)),
                Err(e) => {
                    let taken = std::mem::take(&mut permit.taken);
                    if let Err(release) = self.release(&taken, false).await {
                        tracing::warn!(error = %release, "could not give back a throttle count");
                    }
                    if let ThrottleError::Throttled { retry_after } = &e {
                        tracing::debug!(
                            action = action.name(),
                            scope = if is_account { "account" } else { "address" },
                            retry_after = retry_after.as_secs(),
                            "attempt throttled"
                        );
                        self.tarpit().await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(permit)
    }

    /// Forgets the login, code-check and passkey counters of `account`: call it when its owner proved
    /// control another way, such as a completed password reset, so an attack on the account
    /// leaves nothing behind.
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails.
    pub async fn clear_account(&self, account: &str) -> Result<(), ThrottleError> {
        for action in [Action::Login, Action::Code, Action::Passkey] {
            let key = format!(
                "{}{}",
                self.inner.config.key_prefix,
                account_key(action, account)
            );
            self.inner.store.delete(&key).await?;
            self.inner.refused.forget(&key);
        }
        Ok(())
    }

    /// [`clear_account`](Self::clear_account) for every identity of `user`: its email and,
    /// when it has one, its username (logins may name either).
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails.
    pub async fn clear_user(&self, user: &rampart_core::User) -> Result<(), ThrottleError> {
        self.clear_account(&user.email).await?;
        if let Some(username) = &user.username {
            self.clear_account(username).await?;
        }
        Ok(())
    }

    /// The counter store (two-factor keeps its single-use marks and challenge tries there,
    /// so they are shared by every instance).
    pub(crate) fn store(&self) -> &Arc<dyn ThrottleStore> {
        &self.inner.store
    }

    /// The clock's now in ms.
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// `key` with the configured prefix.
    pub(crate) fn prefixed(&self, key: &str) -> String {
        format!("{}{key}", self.inner.config.key_prefix)
    }

    /// Marks `key` used for `ttl` and says whether this call was the first to do so: exactly
    /// one of any number of concurrent calls gets `true`, also across processes sharing the
    /// store (single-use WebAuthn ceremony states). Works whether or not throttling is on.
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails (treat the key as used then).
    pub async fn claim_once(&self, key: &str, ttl: Duration) -> Result<bool, ThrottleError> {
        let now = self.inner.clock.now_ms();
        let expires = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
        let key = format!("{}once:{key}", self.inner.config.key_prefix);
        let mark = move |old: Option<rampart_core::throttle::ThrottleRecord>| {
            let mut r = old.unwrap_or_default();
            r.failures = r.failures.saturating_add(1);
            r.last_ms = now;
            r.expires_ms = r.expires_ms.max(expires);
            Some(r)
        };
        let after = self.inner.store.update(&key, now, &mark).await?;
        Ok(after.is_some_and(|r| r.failures == 1))
    }

    /// Deletes expired counters (SQL stores; run it now and then, as the demo does).
    ///
    /// # Errors
    /// [`ThrottleError::Backend`] when the store fails.
    pub async fn delete_expired(&self) -> Result<u64, ThrottleError> {
        let now = self.inner.clock.now_ms();
        Ok(self.inner.store.delete_expired(now).await?)
    }

    fn account_policy(&self, action: Action) -> Policy {
        let c = &self.inner.config;
        let slowing = action != Action::Reset;
        Policy {
            limit: i64::from(c.account_limit.max(1)),
            window_ms: secs_to_ms(c.account_window_secs),
            backoff: slowing,
            max_delay_ms: secs_to_ms(c.max_delay_secs),
            hard_limit: if slowing { i64::from(c.hard_limit) } else { 0 },
            forget_ms: secs_to_ms(c.forget_after_secs),
        }
    }

    fn address_policy(&self) -> Policy {
        let c = &self.inner.config;
        Policy {
            limit: i64::from(c.address_limit.max(1)),
            window_ms: secs_to_ms(c.address_window_secs),
            backoff: false,
            max_delay_ms: 0,
            hard_limit: 0,
            forget_ms: secs_to_ms(c.address_window_secs),
        }
    }

    /// Holds a refused attempt for `SECURITY_THROTTLE_REFUSAL_DELAY_MS` before it is
    /// answered, so each flooding connection gets only a few answers a second.
    async fn tarpit(&self) {
        let ms = self.inner.config.refusal_delay_ms;
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    async fn acquire(&self, key: &str, policy: &Policy) -> Result<(), ThrottleError> {
        let now = self.inner.clock.now_ms();
        if let Some(wait) = self.inner.refused.wait(key, now) {
            return Err(throttled(wait));
        }
        let outcome = Mutex::new(Ok(()));
        let update = |old: Option<ThrottleRecord>| {
            let result = policy.acquire(old, now);
            let (stored, decision) = match result {
                Ok(new) => (Some(new), Ok(())),
                Err(wait) => (None, Err(wait)),
            };
            if let Ok(mut o) = outcome.lock() {
                *o = decision;
            }
            stored
        };
        self.inner.store.update(key, now, &update).await?;
        let decision = outcome
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        decision.map_err(|wait| {
            tracing::info!(
                key_scope = scope_of(key),
                "attempt refused by the throttle store"
            );
            self.inner.refused.remember(key, now, wait);
            throttled(wait)
        })
    }

    async fn release(
        &self,
        taken: &[(String, Policy, bool)],
        success: bool,
    ) -> Result<(), ThrottleError> {
        let now = self.inner.clock.now_ms();
        for (key, policy, is_account) in taken {
            let reset = success && *is_account;
            let update = |old: Option<ThrottleRecord>| policy.release(old, now, reset);
            self.inner.store.update(key, now, &update).await?;
        }
        Ok(())
    }
}

fn throttled(wait_ms: i64) -> ThrottleError {
    ThrottleError::Throttled {
        retry_after: Duration::from_secs(policy::retry_after_secs(wait_ms)),
    }
}

/// `account` or `address`, from a counter key (never the key itself: it names the account's
/// digest).
fn scope_of(key: &str) -> &'static str {
    if key.contains(":acct:") {
        "account"
    } else {
        "address"
    }
}

fn secs_to_ms(secs: i64) -> i64 {
    secs.max(1).saturating_mul(1000)
}

/// `action:acct:<digest>`: the identity trimmed and lower-cased (emails and usernames are
/// looked up case-insensitively), then hashed so the store keeps no addresses.
fn account_key(action: Action, account: &str) -> String {
    let normalized = account.trim().to_lowercase();
    let digest = Sha256::digest(normalized.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}:acct:{hex}", action.name())
}

/// `action:ip:<address>`; IPv6 addresses by their /64 prefix (one subscriber's allocation),
/// so rotating through a prefix does not evade the limit.
fn address_key(action: Action, addr: ClientAddr) -> String {
    let subject = match addr.0 {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    };
    format!("{}:ip:{subject}", action.name())
}

#[cfg(test)]
mod tests;
