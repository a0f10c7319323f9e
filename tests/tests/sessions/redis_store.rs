//! The Redis session store beyond the conformance suite: the key's expiry is the session's
//! expiry, two instances see the same sessions, corrupt values and an unreachable server are
//! errors that quote neither the id nor the data.

use rampart::redis_pool::{RedisOptions, RedisPool};
use rampart::session::RedisSessionStore;
use time::Duration;
use tower_sessions::SessionStore;
use tower_sessions::session::Id;
use tower_sessions::session_store::Error;

/// Deletes every key under its prefix when dropped.
#[derive(Debug)]
pub struct PrefixGuard {
    url: String,
    prefix: String,
}

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut conn) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

/// A store under `prefix` on the test server, and the guard that cleans the prefix up.
pub async fn store(prefix: &str) -> (RedisSessionStore, PrefixGuard) {
    let url = rampart_tests::redis_server_url().await;
    let pool = RedisPool::connect(&url, &RedisOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    let guard = PrefixGuard {
        url,
        prefix: prefix.to_owned(),
    };
    (RedisSessionStore::new(pool).with_prefix(prefix), guard)
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn key_expires_with_the_session() {
    let prefix = rampart_tests::unique_prefix("session-ttl");
    let (store, guard) = store(&prefix).await;
    let mut rec = rampart_tests::sessions::record("ttl", Duration::minutes(10));
    store.create(&mut rec).await.unwrap();
    let mut conn = raw(&guard.url).await;
    let key = format!("{prefix}{}", rec.id);
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (590_000..=600_000).contains(&pttl),
        "PTTL {pttl} is the session's 10 minutes"
    );
    // A save with a later expiry moves the key's expiry.
    rec.expiry_date += Duration::hours(1);
    store.save(&rec).await.unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((4_190_000..=4_200_000).contains(&pttl), "PTTL {pttl}");
    // Saving it expired removes the key.
    rec.expiry_date = time::OffsetDateTime::now_utc() - Duration::seconds(1);
    store.save(&rec).await.unwrap();
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test]
async fn two_instances_share_sessions() {
    let prefix = rampart_tests::unique_prefix("session-shared");
    let (a, _guard) = store(&prefix).await;
    let (b, _guard_b) = store(&prefix).await;
    let mut rec = rampart_tests::sessions::record("shared", Duration::hours(1));
    a.create(&mut rec).await.unwrap();
    assert_eq!(b.load(&rec.id).await.unwrap(), Some(rec.clone()));
    b.delete(&rec.id).await.unwrap();
    assert_eq!(a.load(&rec.id).await.unwrap(), None);
}

#[tokio::test]
async fn corrupt_value_is_a_decode_error_without_the_data() {
    let prefix = rampart_tests::unique_prefix("session-corrupt");
    let (store, guard) = store(&prefix).await;
    let id = Id::default();
    let mut conn = raw(&guard.url).await;
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}{id}"))
        .arg(r#"{"secret": "hunter2"}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = store.load(&id).await.err().unwrap();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn unreachable_server_fails_to_connect_without_the_password() {
    let err = RedisPool::connect("redis://:s3cret-pw@127.0.0.1:1/0", &RedisOptions::default())
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, rampart::datastore::DatastoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret-pw"), "{err}");
}
