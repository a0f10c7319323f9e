//! Throttle store tests: the conformance suite on SQLite, PostgreSQL, Redis (real servers) and
//! memory; several instances sharing counters through one database or one Redis.
#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::sync::Arc;

use rampart::authn::ClientAddr;
use rampart::throttle::{
    Action, RedisThrottleStore, Throttle, ThrottleConfig, ThrottleError, ThrottleStore,
};

rampart_tests::throttle_store_conformance!(sqlite, rampart_tests::throttle::sqlite_throttle_store);
rampart_tests::throttle_store_conformance!(
    postgres,
    rampart_tests::throttle::postgres_throttle_store
);
rampart_tests::throttle_store_conformance!(redis, crate::redis_store);
rampart_tests::throttle_store_conformance!(memory, rampart_tests::throttle::memory_throttle_store);

async fn redis_at(prefix: &str) -> RedisThrottleStore {
    let url = rampart_tests::redis_server_url().await;
    RedisThrottleStore::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
        .with_prefix(prefix)
}

/// A Redis store under a prefix of its own (the server is shared by every test).
async fn redis_store() -> (RedisThrottleStore, ()) {
    (
        redis_at(&rampart_tests::unique_prefix("conformance")).await,
        (),
    )
}

fn addr() -> ClientAddr {
    ClientAddr(Some(IpAddr::from([192, 0, 2, 1])))
}

/// Instance A lets the account's ten attempts through; instance B, with its own connection to
/// the same backend, then refuses the eleventh.
async fn instances_share(a: Arc<dyn ThrottleStore>, b: Arc<dyn ThrottleStore>) {
    let a = Throttle::new(ThrottleConfig::default(), a);
    let b = Throttle::new(ThrottleConfig::default(), b);
    for i in 0..10 {
        let p = a
            .attempt(Action::Login, Some("ann@example.com"), addr())
            .await;
        assert!(p.is_ok(), "attempt {i}: {p:?}");
    }
    match b
        .attempt(Action::Login, Some("ann@example.com"), addr())
        .await
    {
        Err(ThrottleError::Throttled { retry_after }) => {
            assert!(
                (89..=90).contains(&retry_after.as_secs()),
                "{retry_after:?}"
            );
        }
        other => panic!("the other instance must refuse: {other:?}"),
    }
    // A completed reset on instance B clears what instance A counted.
    b.clear_account("ann@example.com").await.unwrap();
    assert!(
        a.attempt(Action::Login, Some("ann@example.com"), addr())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn redis_instances_share_counters() {
    let prefix = rampart_tests::unique_prefix("share");
    let a: Arc<dyn ThrottleStore> = Arc::new(redis_at(&prefix).await);
    let b: Arc<dyn ThrottleStore> = Arc::new(redis_at(&prefix).await);
    instances_share(a, b).await;
}

#[tokio::test]
async fn postgres_instances_share_counters() {
    let db = rampart_tests::fresh_postgres_database().await;
    let opts = rampart_sqlx::SqlOptions::default();
    let one = rampart_sqlx::SqlDatastore::connect(db.url(), opts.clone())
        .await
        .unwrap();
    let two = rampart_sqlx::SqlDatastore::connect(db.url(), opts)
        .await
        .unwrap();
    instances_share(
        Arc::new(one.throttle_store()),
        Arc::new(two.throttle_store()),
    )
    .await;
}

#[tokio::test]
async fn sqlite_instances_share_counters() {
    let dir = rampart_tests::TempDir::new("throttle-share").unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let opts = rampart_sqlx::SqlOptions::default();
    let one = rampart_sqlx::SqlDatastore::connect(&url, opts.clone())
        .await
        .unwrap();
    let two = rampart_sqlx::SqlDatastore::connect(&url, opts)
        .await
        .unwrap();
    instances_share(
        Arc::new(one.throttle_store()),
        Arc::new(two.throttle_store()),
    )
    .await;
}

/// An unreachable Redis is an `Unavailable` error at connect time, and the message does not
/// carry the URL's password.
#[tokio::test]
async fn unreachable_redis_is_unavailable_without_the_password() {
    let err = RedisThrottleStore::connect("redis://:s3cret-pw@127.0.0.1:1/0")
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, rampart::datastore::DatastoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret-pw"), "{err}");
    let bad = RedisThrottleStore::connect("not a url")
        .await
        .err()
        .unwrap();
    assert!(!bad.to_string().is_empty());
}

/// Two Redis store instances (each with its own connection and local locks) updating one key
/// at once: the compare-and-set retries lose no update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_two_instances_lose_no_update() {
    use rampart::throttle::ThrottleRecord;
    let prefix = rampart_tests::unique_prefix("cas");
    let stores = [
        Arc::new(redis_at(&prefix).await),
        Arc::new(redis_at(&prefix).await),
    ];
    let bump = |old: Option<ThrottleRecord>| {
        let mut r = old.unwrap_or(ThrottleRecord {
            expires_ms: i64::MAX / 4,
            ..ThrottleRecord::default()
        });
        r.failures += 1;
        Some(r)
    };
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..8 {
                store.update("hot", 1, &bump).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = stores[0].get("hot", 1).await.unwrap();
    assert_eq!(r.map(|r| r.failures), Some(128));
}
