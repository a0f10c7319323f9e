//! The conformance suite of [`ThrottleStore`]: every throttle store Rampart ships (SQLite,
//! PostgreSQL, Redis, memory) must pass it.
//!
//! Each `pub async fn` is one test case taking a fresh, empty store;
//! [`throttle_store_conformance!`](crate::throttle_store_conformance) turns them into
//! `#[tokio::test]`s for a store constructor. Failures panic (these are tests).

use std::sync::Arc;

use rampart_core::throttle::{MemoryThrottleStore, ThrottleRecord, ThrottleStore};
use rampart_sqlx::SqlThrottleStore;
use tokio::sync::Barrier;

use crate::StoreGuard;

/// How many tasks the concurrency cases run at once.
pub const TASKS: usize = 16;
/// How many updates each task makes in the concurrency cases.
pub const ROUNDS: i64 = 8;

/// Applies the throttle store conformance suite to a constructor `async fn() -> (S, G)` where
/// `S: ThrottleStore` and `G` keeps the backend alive.
#[macro_export]
macro_rules! throttle_store_conformance {
    ($name:ident, $ctor:path) => {
        mod $name {
            $crate::throttle_store_conformance!(@cases $ctor;
                update_inserts_and_reads_back, declined_update_changes_nothing,
                expired_records_are_absent, delete_forgets, keys_are_independent,
                concurrent_updates_lose_nothing, concurrent_updates_of_many_keys
            );
        }
    };
    (@cases $ctor:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _guard) = $ctor().await;
                $crate::throttle::$case(store).await;
            }
        )*
    };
}

/// A [`SqlThrottleStore`] on a fresh, migrated SQLite database.
///
/// # Panics
/// When the database cannot be created.
pub async fn sqlite_throttle_store() -> (SqlThrottleStore, StoreGuard) {
    let (store, guard) = crate::sqlite_store().await;
    (store.throttle_store(), guard)
}

/// A [`SqlThrottleStore`] on a fresh, migrated PostgreSQL database.
///
/// # Panics
/// When PostgreSQL cannot be started or reached.
pub async fn postgres_throttle_store() -> (SqlThrottleStore, StoreGuard) {
    let (store, guard) = crate::postgres_store().await;
    (store.throttle_store(), guard)
}

/// A [`MemoryThrottleStore`] (nothing to keep alive).
pub async fn memory_throttle_store() -> (MemoryThrottleStore, ()) {
    (MemoryThrottleStore::default(), ())
}

const NOW: i64 = 1_700_000_000_000;
const LATER: i64 = NOW + 3_600_000;

fn rec(failures: i64) -> ThrottleRecord {
    ThrottleRecord {
        tat_ms: NOW + 90_000,
        failures,
        last_ms: NOW,
        expires_ms: LATER,
    }
}

/// Adds one failure (a fresh record when there is none).
fn bump(old: Option<ThrottleRecord>) -> Option<ThrottleRecord> {
    let mut r = old.unwrap_or_else(|| rec(0));
    r.failures += 1;
    r.tat_ms += 1;
    Some(r)
}

async fn get<S: ThrottleStore>(store: &S, key: &str, now: i64) -> Option<ThrottleRecord> {
    store
        .get(key, now)
        .await
        .unwrap_or_else(|e| panic!("get {key}: {e}"))
}

async fn update<S: ThrottleStore>(
    store: &S,
    key: &str,
    now: i64,
    f: &(dyn Fn(Option<ThrottleRecord>) -> Option<ThrottleRecord> + Send + Sync),
) -> Option<ThrottleRecord> {
    store
        .update(key, now, f)
        .await
        .unwrap_or_else(|e| panic!("update {key}: {e}"))
}

/// An update of an absent key sees `None` and stores its result; later reads and updates see
/// exactly that record, with every field intact (including large and negative values).
pub async fn update_inserts_and_reads_back<S: ThrottleStore>(store: S) {
    let key = "login:acct:0123456789abcdef0123456789abcdef";
    assert_eq!(get(&store, key, NOW).await, None);
    let seen = std::sync::Mutex::new(Vec::new());
    let first = |old: Option<ThrottleRecord>| {
        if let Ok(mut s) = seen.lock() {
            s.push(old);
        }
        Some(ThrottleRecord {
            tat_ms: i64::MAX / 2,
            failures: -3,
            last_ms: NOW - 1,
            expires_ms: LATER,
        })
    };
    let stored = update(&store, key, NOW, &first).await;
    assert!(seen.lock().is_ok_and(|s| s.iter().all(Option::is_none)));
    let want = ThrottleRecord {
        tat_ms: i64::MAX / 2,
        failures: -3,
        last_ms: NOW - 1,
        expires_ms: LATER,
    };
    assert_eq!(stored, Some(want));
    assert_eq!(get(&store, key, NOW).await, Some(want));
    let after = update(&store, key, NOW + 1, &bump).await;
    assert_eq!(after.map(|r| r.failures), Some(-2));
    assert_eq!(get(&store, key, NOW + 2).await, after);
}

/// An update returning `None` changes nothing and returns the live record (or `None`).
pub async fn declined_update_changes_nothing<S: ThrottleStore>(store: S) {
    let key = "login:ip:192.0.2.1";
    let decline = |_: Option<ThrottleRecord>| None;
    assert_eq!(update(&store, key, NOW, &decline).await, None);
    assert_eq!(get(&store, key, NOW).await, None, "nothing stored");
    update(&store, key, NOW, &bump).await;
    let before = get(&store, key, NOW).await;
    assert_eq!(update(&store, key, NOW, &decline).await, before);
    assert_eq!(get(&store, key, NOW).await, before);
}

/// A record is absent from its `expires_ms` on, for reads and updates alike, and
/// `delete_expired` leaves live records alone.
pub async fn expired_records_are_absent<S: ThrottleStore>(store: S) {
    update(&store, "a", NOW, &bump).await;
    let short = |_: Option<ThrottleRecord>| {
        Some(ThrottleRecord {
            expires_ms: NOW + 50,
            ..rec(7)
        })
    };
    update(&store, "b", NOW, &short).await;
    assert_eq!(
        get(&store, "b", NOW + 49).await.map(|r| r.failures),
        Some(7)
    );
    assert_eq!(
        get(&store, "b", NOW + 50).await,
        None,
        "expired at expires_ms"
    );
    // An update after expiry starts from nothing.
    let seen = update(&store, "b", NOW + 60, &bump).await;
    assert_eq!(seen.map(|r| r.failures), Some(1));
    let shorter = |_: Option<ThrottleRecord>| {
        Some(ThrottleRecord {
            expires_ms: NOW + 10,
            ..rec(1)
        })
    };
    update(&store, "c", NOW, &shorter).await;
    store
        .delete_expired(NOW + 100)
        .await
        .unwrap_or_else(|e| panic!("delete_expired: {e}"));
    assert_eq!(get(&store, "c", NOW + 100).await, None);
    assert!(
        get(&store, "a", NOW + 100).await.is_some(),
        "live record kept"
    );
    assert!(
        get(&store, "b", NOW + 100).await.is_some(),
        "live record kept"
    );
}

/// `delete` forgets a key; deleting an absent key is fine.
pub async fn delete_forgets<S: ThrottleStore>(store: S) {
    update(&store, "k", NOW, &bump).await;
    store
        .delete("k")
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert_eq!(get(&store, "k", NOW).await, None);
    store
        .delete("never-stored")
        .await
        .unwrap_or_else(|e| panic!("delete absent: {e}"));
    assert_eq!(
        update(&store, "k", NOW, &bump).await.map(|r| r.failures),
        Some(1)
    );
}

/// Keys that differ only slightly (case, prefix, punctuation, non-ASCII) are independent.
pub async fn keys_are_independent<S: ThrottleStore>(store: S) {
    let keys = [
        "login:ip:192.0.2.1",
        "login:ip:192.0.2.10",
        "LOGIN:ip:192.0.2.1",
        "code:ip:192.0.2.1",
        "login:ip:2001:db8::/64",
        "login:acct:é🔒",
    ];
    for (i, key) in keys.iter().enumerate() {
        for _ in 0..=i {
            update(&store, key, NOW, &bump).await;
        }
    }
    for (i, key) in keys.iter().enumerate() {
        let want = i64::try_from(i).unwrap_or(0) + 1;
        assert_eq!(
            get(&store, key, NOW).await.map(|r| r.failures),
            Some(want),
            "{key}"
        );
    }
}

/// Concurrent updates of one key are applied one after the other: none is lost.
pub async fn concurrent_updates_lose_nothing<S: ThrottleStore>(store: S) {
    let store = Arc::new(store);
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (store, barrier) = (store.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..ROUNDS {
                update(store.as_ref(), "hot", NOW, &bump).await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("task: {e}"));
    }
    let total = i64::try_from(TASKS).unwrap_or(0) * ROUNDS;
    let r = get(store.as_ref(), "hot", NOW).await;
    assert_eq!(r.map(|r| r.failures), Some(total));
    assert_eq!(r.map(|r| r.tat_ms), Some(NOW + 90_000 + total));
}

/// Concurrent updates of many keys: each key ends with exactly its own count.
pub async fn concurrent_updates_of_many_keys<S: ThrottleStore>(store: S) {
    let store = Arc::new(store);
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let (store, barrier) = (store.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            for r in 0..ROUNDS {
                // Task t writes keys t and t+1: every key but the first has two writers.
                let key = format!("k{}", t + usize::from(r % 2 == 1));
                update(store.as_ref(), &key, NOW, &bump).await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("task: {e}"));
    }
    for k in 0..=TASKS {
        let writers = i64::from(k > 0) + i64::from(k < TASKS);
        let want = writers * ROUNDS / 2;
        let got = get(store.as_ref(), &format!("k{k}"), NOW)
            .await
            .map(|r| r.failures);
        assert_eq!(got, Some(want), "k{k}");
    }
}
