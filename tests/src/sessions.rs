//! The conformance suite of tower-sessions' [`SessionStore`] + [`ExpiredDeletion`]: every
//! session store Rampart ships must pass it.
//!
//! Each `pub async fn` is one test case taking a fresh, empty store;
//! [`session_store_conformance!`](crate::session_store_conformance) turns them into
//! `#[tokio::test]`s for a store constructor, like
//! [`datastore_conformance!`](crate::datastore_conformance).
//!
//! Failures panic (these are tests).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use rampart_sqlx::SqlSessionStore;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion, SessionStore};

use crate::StoreGuard;

/// How many tasks the concurrency cases run at once.
pub const TASKS: usize = 32;

/// Applies the session store conformance suite to a constructor `async fn() -> (S, G)` where
/// `S` implements [`SessionStore`] + [`ExpiredDeletion`] + `Clone` and `G` keeps the database
/// alive.
///
/// # Example
/// ```text
/// rampart_tests::session_store_conformance!(sqlite, rampart_tests::sessions::sqlite_session_store);
/// ```
#[macro_export]
macro_rules! session_store_conformance {
    ($name:ident, $ctor:path) => {
        mod $name {
            $crate::session_store_conformance!(@cases $ctor;
                create_and_load_round_trip, load_unknown_id, save_overwrites, save_inserts,
                delete_removes, expired_not_loaded_and_deleted, create_collision_keeps_both,
                concurrent_saves_same_id, concurrent_creates_distinct_ids
            );
        }
    };
    (@cases $ctor:path; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, _guard) = $ctor().await;
                $crate::sessions::$case(store).await;
            }
        )*
    };
}

/// A [`SqlSessionStore`] on a fresh, migrated SQLite database.
///
/// # Panics
/// When the database cannot be created.
pub async fn sqlite_session_store() -> (SqlSessionStore, StoreGuard) {
    let (store, guard) = crate::sqlite_store().await;
    (store.session_store(), guard)
}

/// A [`SqlSessionStore`] on a fresh, migrated PostgreSQL database.
///
/// # Panics
/// When PostgreSQL cannot be started or reached.
pub async fn postgres_session_store() -> (SqlSessionStore, StoreGuard) {
    let (store, guard) = crate::postgres_store().await;
    (store.session_store(), guard)
}

macro_rules! ok {
    ($e:expr) => {
        $e.await
            .unwrap_or_else(|e| panic!("{}: {e}", stringify!($e)))
    };
}

/// A record expiring `ttl` from now, with nested JSON data tagged `tag`.
pub fn record(tag: &str, ttl: Duration) -> Record {
    let data = [
        ("_user_id".to_owned(), json!(format!("uniquifier-{tag}"))),
        ("_fresh".to_owned(), json!(true)),
        (
            "tf_state".to_owned(),
            json!({
                "method": "authenticator",
                "codes": [1, 2, 3],
                "nested": { "deep": [ { "k": null }, { "k": 1.5 } ], "text": "é\u{1F512}\"'" },
            }),
        ),
    ]
    .into_iter()
    .collect();
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + ttl,
    }
}

/// `create` then `load` gives back the same record (id, nested data and expiry).
pub async fn create_and_load_round_trip<S: SessionStore>(store: S) {
    let mut rec = record("a", Duration::hours(1));
    let id = rec.id;
    ok!(store.create(&mut rec));
    assert_eq!(rec.id, id, "no collision: id kept");
    assert_eq!(ok!(store.load(&id)), Some(rec.clone()));
    // An expiry in another offset is the same instant.
    let mut other = record("b", Duration::minutes(5));
    other.expiry_date = other.expiry_date.to_offset(time::macros::offset!(+05:30));
    ok!(store.create(&mut other));
    let loaded = ok!(store.load(&other.id)).unwrap_or_else(|| panic!("record b loads"));
    assert_eq!(loaded.data, other.data);
    assert_eq!(loaded.expiry_date, other.expiry_date);
}

/// An id never stored loads as `None`.
pub async fn load_unknown_id<S: SessionStore>(store: S) {
    assert_eq!(ok!(store.load(&Id::default())), None);
    assert_eq!(ok!(store.load(&Id(0))), None);
}

/// `save` replaces data and expiry of an existing record.
pub async fn save_overwrites<S: SessionStore>(store: S) {
    let mut rec = record("first", Duration::hours(1));
    ok!(store.create(&mut rec));
    let mut changed = record("second", Duration::days(2));
    changed.id = rec.id;
    changed
        .data
        .insert("extra".into(), json!({"list": [true, false]}));
    ok!(store.save(&changed));
    assert_eq!(ok!(store.load(&rec.id)), Some(changed.clone()));
    // Saving the same record again is harmless.
    ok!(store.save(&changed));
    assert_eq!(ok!(store.load(&rec.id)), Some(changed));
}

/// `save` of an id never created inserts it.
pub async fn save_inserts<S: SessionStore>(store: S) {
    let rec = record("new", Duration::hours(1));
    ok!(store.save(&rec));
    assert_eq!(ok!(store.load(&rec.id)), Some(rec));
}

/// `delete` removes a record; deleting an unknown id is not an error.
pub async fn delete_removes<S: SessionStore>(store: S) {
    let mut gone = record("gone", Duration::hours(1));
    let mut kept = record("kept", Duration::hours(1));
    ok!(store.create(&mut gone));
    ok!(store.create(&mut kept));
    ok!(store.delete(&gone.id));
    assert_eq!(ok!(store.load(&gone.id)), None);
    assert_eq!(ok!(store.load(&kept.id)), Some(kept));
    ok!(store.delete(&gone.id));
    ok!(store.delete(&Id::default()));
}

/// Expired records are never loaded, and `delete_expired` removes them while live ones stay.
pub async fn expired_not_loaded_and_deleted<S: SessionStore + ExpiredDeletion>(store: S) {
    let mut expired = record("expired", Duration::seconds(-5));
    let mut expired_long_ago = record("old", Duration::days(-400));
    let mut live = record("live", Duration::minutes(10));
    ok!(store.create(&mut expired));
    ok!(store.save(&expired_long_ago));
    ok!(store.create(&mut live));
    // A record that expires while stored.
    let mut short = record("short", Duration::seconds(1));
    ok!(store.create(&mut short));
    assert!(
        ok!(store.load(&short.id)).is_some(),
        "short-lived loads at first"
    );

    assert_eq!(ok!(store.load(&expired.id)), None, "expired not loaded");
    assert_eq!(ok!(store.load(&expired_long_ago.id)), None);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(ok!(store.load(&short.id)), None, "expired while stored");

    ok!(store.delete_expired());
    assert_eq!(
        ok!(store.load(&live.id)),
        Some(live.clone()),
        "live record kept"
    );
    // The expired rows are gone: creating under their ids keeps the ids (no collision).
    for old in [&mut expired, &mut expired_long_ago, &mut short] {
        let id = old.id;
        old.expiry_date = OffsetDateTime::now_utc() + Duration::hours(1);
        ok!(store.create(old));
        assert_eq!(old.id, id, "expired row was deleted");
    }
    ok!(store.delete_expired());
    assert_eq!(ok!(store.load(&live.id)), Some(live));
}

/// `create` with a taken id draws another id and leaves the existing record alone.
pub async fn create_collision_keeps_both<S: SessionStore>(store: S) {
    let mut first = record("first", Duration::hours(1));
    ok!(store.create(&mut first));
    let mut second = record("second", Duration::hours(2));
    second.id = first.id;
    ok!(store.create(&mut second));
    assert_ne!(second.id, first.id, "a new id was drawn");
    assert_eq!(ok!(store.load(&first.id)), Some(first));
    assert_eq!(ok!(store.load(&second.id)), Some(second));
}

/// [`TASKS`] concurrent saves to one id all succeed and leave one writer's record intact.
pub async fn concurrent_saves_same_id<S: SessionStore + Clone>(store: S) {
    let started = Instant::now();
    let mut base = record("base", Duration::hours(1));
    ok!(store.create(&mut base));
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::with_capacity(TASKS);
    let mut written = Vec::with_capacity(TASKS);
    for task in 0..TASKS {
        let mut rec = record(&format!("writer-{task}"), Duration::hours(1));
        rec.id = base.id;
        rec.data.insert("writer".into(), json!(task));
        written.push(rec.clone());
        let store = store.clone();
        let barrier = Arc::clone(&barrier);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.save(&rec).await
        }));
    }
    for handle in handles {
        match handle.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("concurrent save failed: {e}"),
            Err(join) => panic!("task panicked: {join}"),
        }
    }
    let loaded = ok!(store.load(&base.id)).unwrap_or_else(|| panic!("record still there"));
    assert!(
        written.contains(&loaded),
        "the stored record is one writer's record, intact: {loaded:?}"
    );
    eprintln!(
        "concurrent_saves_same_id: {TASKS} saves in {:.2?}",
        started.elapsed()
    );
}

/// [`TASKS`] concurrent creates, all starting from the same id, end with [`TASKS`] distinct
/// ids, each holding its own record.
pub async fn concurrent_creates_distinct_ids<S: SessionStore + Clone>(store: S) {
    let started = Instant::now();
    let shared = Id::default();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut handles = Vec::with_capacity(TASKS);
    for task in 0..TASKS {
        let mut rec = record(&format!("creator-{task}"), Duration::hours(1));
        rec.id = shared;
        let store = store.clone();
        let barrier = Arc::clone(&barrier);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.create(&mut rec).await.map(|()| rec)
        }));
    }
    let mut records = Vec::with_capacity(TASKS);
    for handle in handles {
        match handle.await {
            Ok(Ok(rec)) => records.push(rec),
            Ok(Err(e)) => panic!("concurrent create failed: {e}"),
            Err(join) => panic!("task panicked: {join}"),
        }
    }
    let ids: HashSet<Id> = records.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), TASKS, "distinct ids");
    assert!(ids.contains(&shared), "one create kept the shared id");
    for rec in records {
        assert_eq!(ok!(store.load(&rec.id)), Some(rec));
    }
    eprintln!(
        "concurrent_creates_distinct_ids: {TASKS} creates in {:.2?}",
        started.elapsed()
    );
}
