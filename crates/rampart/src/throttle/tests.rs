//! The throttle over the memory store with a manual clock.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::*;

fn throttle(mut config: ThrottleConfig) -> (Throttle, ManualClock) {
    // The refusal delay has its own test; the rules' tests need no real waiting.
    config.refusal_delay_ms = 0;
    let clock = ManualClock::new(1_700_000_000_000);
    let t = Throttle::with_clock(
        config,
        Arc::new(MemoryThrottleStore::default()),
        Arc::new(clock.clone()),
    );
    (t, clock)
}

fn ip(s: &str) -> ClientAddr {
    ClientAddr(s.parse::<IpAddr>().ok())
}

async fn fail(t: &Throttle, action: Action, who: &str, from: &str) -> Result<(), Duration> {
    match t.attempt(action, Some(who), ip(from)).await {
        Ok(permit) => {
            drop(permit);
            Ok(())
        }
        Err(ThrottleError::Throttled { retry_after }) => Err(retry_after),
        Err(e) => panic!("backend: {e}"),
    }
}

#[tokio::test]
async fn account_limit_then_retry_after_then_success_clears() {
    let (t, clock) = throttle(ThrottleConfig::default());
    for i in 0..10 {
        assert!(
            fail(&t, Action::Login, "Ann@Example.com", "192.0.2.1")
                .await
                .is_ok(),
            "{i}"
        );
    }
    let wait = fail(&t, Action::Login, "ann@example.com ", "192.0.2.9").await;
    assert_eq!(
        wait,
        Err(Duration::from_secs(90)),
        "same account, normalized"
    );
    // Another account from the same address is unaffected.
    assert!(
        fail(&t, Action::Login, "bob@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    // Other actions have their own counters.
    assert!(
        fail(&t, Action::Code, "ann@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    clock.advance(Duration::from_secs(90));
    let permit = t
        .attempt(Action::Login, Some("ann@example.com"), ip("192.0.2.1"))
        .await;
    let Ok(permit) = permit else {
        panic!("allowed after the wait: {permit:?}")
    };
    assert!(permit.succeeded().await.is_ok());
    // Consecutive failures start again: no back-off now, the rate rule lets one through.
    clock.advance(Duration::from_secs(90));
    assert!(
        fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn address_limit_trips_on_spraying_and_ipv6_counts_per_64() {
    let config = ThrottleConfig {
        address_limit: 20,
        ..ThrottleConfig::default()
    };
    let (t, _clock) = throttle(config);
    for i in 0..20 {
        let from = format!("2001:db8:0:1::{i:x}");
        assert!(
            fail(&t, Action::Login, &format!("u{i}@example.com"), &from)
                .await
                .is_ok(),
            "{i}"
        );
    }
    let wait = fail(&t, Action::Login, "u99@example.com", "2001:db8:0:1:ffff::1").await;
    assert_eq!(wait, Err(Duration::from_secs(45)), "15 min / 20");
    // A refused address leaves the account untouched.
    assert!(
        fail(&t, Action::Login, "u99@example.com", "2001:db8:0:2::1")
            .await
            .is_ok()
    );
    // IPv4-mapped IPv6 counts as the IPv4 address.
    assert!(
        fail(&t, Action::Login, "x@example.com", "::ffff:198.51.100.7")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn refused_account_gives_the_address_count_back() {
    let config = ThrottleConfig {
        address_limit: 12,
        ..ThrottleConfig::default()
    };
    let (t, _clock) = throttle(config);
    for _ in 0..10 {
        assert!(
            fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
                .await
                .is_ok()
        );
    }
    for _ in 0..50 {
        assert!(
            fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
                .await
                .is_err()
        );
    }
    // The 50 refusals did not use the address's two remaining attempts.
    assert!(
        fail(&t, Action::Login, "bob@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    assert!(
        fail(&t, Action::Login, "bob@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    assert!(
        fail(&t, Action::Login, "bob@example.com", "192.0.2.1")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn hard_limit_is_lifted_by_clear_account_and_reset_never_backs_off() {
    let config = ThrottleConfig {
        account_limit: 3,
        hard_limit: 5,
        address_limit: 1000,
        ..ThrottleConfig::default()
    };
    let (t, clock) = throttle(config);
    let mut allowed = 0;
    for _ in 0..50 {
        match fail(&t, Action::Login, "ann@example.com", "192.0.2.1").await {
            Ok(()) => allowed += 1,
            Err(wait) if wait <= Duration::from_secs(3600) => clock.advance(wait),
            Err(_) => break,
        }
    }
    assert_eq!(allowed, 5, "hard limit");
    let wait = fail(&t, Action::Login, "ann@example.com", "192.0.2.1").await;
    assert!(
        wait.is_err_and(|w| w > Duration::from_secs(3600)),
        "{wait:?}"
    );
    // The owner can still ask for a reset, and a completed reset clears the counters.
    assert!(
        fail(&t, Action::Reset, "ann@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    assert!(t.clear_account("ANN@example.com").await.is_ok());
    assert!(
        fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    // Reset requests: rate only, never the back-off or the hard limit.
    let mut resets = 0;
    for _ in 0..40 {
        match fail(&t, Action::Reset, "bob@example.com", "192.0.2.1").await {
            Ok(()) => resets += 1,
            Err(wait) => {
                assert_eq!(wait, Duration::from_secs(300), "15 min / 3, never longer");
                clock.advance(wait);
            }
        }
    }
    assert!(resets >= 15, "{resets}");
}

#[tokio::test]
async fn disabled_throttle_lets_everything_through_and_not_attempted_gives_back() {
    let (t, _) = throttle(ThrottleConfig {
        enabled: false,
        ..ThrottleConfig::default()
    });
    for _ in 0..50 {
        assert!(
            fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
                .await
                .is_ok()
        );
    }
    let (t, _) = throttle(ThrottleConfig::default());
    for _ in 0..50 {
        let permit = t.attempt(Action::Login, Some("ann@example.com"), ip("192.0.2.1"));
        let Ok(permit) = permit.await else {
            panic!("not_attempted gives every attempt back")
        };
        assert!(permit.not_attempted().await.is_ok());
    }
}

#[test]
fn keys_hold_no_identity_and_no_full_ipv6() {
    let k = account_key(Action::Login, " Ann@Example.COM");
    assert_eq!(k, account_key(Action::Login, "ann@example.com"));
    assert!(k.starts_with("login:acct:") && !k.contains("ann"), "{k}");
    assert_eq!(k.len(), "login:acct:".len() + 32);
    assert_eq!(
        address_key(Action::Code, ip("2001:db8:aa:bb:1:2:3:4")),
        "code:ip:2001:db8:aa:bb::/64"
    );
    assert_eq!(
        address_key(Action::Reset, ClientAddr(None)),
        "reset:ip:unknown"
    );
}

#[tokio::test]
async fn clear_user_clears_email_and_username() {
    let (t, _clock) = throttle(ThrottleConfig::default());
    for who in ["ann@example.com", "ann"] {
        for _ in 0..10 {
            assert!(fail(&t, Action::Login, who, "192.0.2.1").await.is_ok());
        }
        assert!(fail(&t, Action::Login, who, "192.0.2.1").await.is_err());
    }
    let now = rampart_core::model::naive_utcnow();
    let user = rampart_core::User {
        username: Some("Ann".to_owned()),
        ..rampart_core::User::detached(1, "Ann@example.com", "u", now)
    };
    assert!(t.clear_user(&user).await.is_ok());
    for who in ["ann@example.com", "ann"] {
        assert!(
            fail(&t, Action::Login, who, "192.0.2.1").await.is_ok(),
            "{who}"
        );
    }
}

#[tokio::test]
async fn claim_once_is_single_use_under_concurrency_and_expires() {
    let (t, clock) = throttle(ThrottleConfig {
        enabled: false,
        ..ThrottleConfig::default()
    });
    let ttl = Duration::from_secs(60);
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { t.claim_once("wan:n1", ttl).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        if matches!(task.await, Ok(Ok(true))) {
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one claim of 32 succeeds");
    assert!(matches!(t.claim_once("wan:n2", ttl).await, Ok(true)));
    clock.advance(Duration::from_secs(61));
    assert!(
        matches!(t.claim_once("wan:n1", ttl).await, Ok(true)),
        "forgotten after its lifetime (the state itself has expired by then)"
    );
}

/// The memory store, counting the updates it is asked for.
#[derive(Default)]
struct Counting {
    inner: MemoryThrottleStore,
    updates: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl ThrottleStore for Counting {
    async fn update(
        &self,
        key: &str,
        now_ms: i64,
        f: rampart_core::throttle::ThrottleUpdate<'_>,
    ) -> Result<Option<ThrottleRecord>, DatastoreError> {
        self.updates
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.update(key, now_ms, f).await
    }
    async fn get(&self, key: &str, now_ms: i64) -> Result<Option<ThrottleRecord>, DatastoreError> {
        self.inner.get(key, now_ms).await
    }
    async fn delete(&self, key: &str) -> Result<(), DatastoreError> {
        self.inner.delete(key).await
    }
    async fn delete_expired(&self, now_ms: i64) -> Result<u64, DatastoreError> {
        self.inner.delete_expired(now_ms).await
    }
}

#[tokio::test]
async fn refusals_are_answered_from_memory_for_a_short_time() {
    let store = Arc::new(Counting::default());
    let clock = ManualClock::new(1_700_000_000_000);
    let config = ThrottleConfig {
        refusal_delay_ms: 0,
        ..ThrottleConfig::default()
    };
    let t = Throttle::with_clock(config, store.clone(), Arc::new(clock.clone()));
    for _ in 0..10 {
        assert!(
            fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
                .await
                .is_ok()
        );
    }
    let refused = || fail(&t, Action::Login, "ann@example.com", "192.0.2.1");
    assert_eq!(refused().await, Err(Duration::from_secs(90)));
    let count = || store.updates.load(std::sync::atomic::Ordering::SeqCst);
    let after_first = count();
    clock.advance(Duration::from_millis(500));
    for _ in 0..50 {
        // The store's wait, counting down, without asking the store for the account key.
        assert_eq!(refused().await, Err(Duration::from_secs(90)));
    }
    // Refused before anything is counted: not even the address key is touched.
    assert_eq!(count(), after_first, "the store was not asked again");
    clock.advance(Duration::from_millis(refusals::MEMO_MS as u64));
    let before = count();
    assert!(refused().await.is_err());
    assert_eq!(
        count() - before,
        3,
        "past the memo time the store decides again"
    );
    // A cleared account is let through at once on this instance.
    assert!(t.clear_account("ann@example.com").await.is_ok());
    assert!(refused().await.is_ok());
}

#[tokio::test]
async fn a_refused_attempt_is_held_for_the_refusal_delay() {
    let clock = ManualClock::new(1_700_000_000_000);
    let config = ThrottleConfig {
        account_limit: 1,
        hard_limit: 0,
        refusal_delay_ms: 150,
        ..ThrottleConfig::default()
    };
    let t = Throttle::with_clock(
        config,
        Arc::new(MemoryThrottleStore::default()),
        Arc::new(clock),
    );
    let started = std::time::Instant::now();
    assert!(
        fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
            .await
            .is_ok()
    );
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "a permitted attempt is not held"
    );
    let started = std::time::Instant::now();
    assert!(
        fail(&t, Action::Login, "ann@example.com", "192.0.2.1")
            .await
            .is_err()
    );
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}
