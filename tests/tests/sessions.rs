//! Session store tests: the conformance suite on SQLite, PostgreSQL and Redis, Redis's key
//! expiry, the table the
//! migration creates, and tower-sessions' middleware over the store in a tiny axum app.
#![allow(clippy::unwrap_used)]

use std::str::FromStr;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use rampart_sqlx::{SqlDatastore, SqlSessionStore};
use rampart_tests::StoreGuard;
use sqlx::Row;
use time::Duration;
use tower::ServiceExt;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::{ExpiredDeletion, Session, SessionManagerLayer, SessionStore};

rampart_tests::session_store_conformance!(sqlite, rampart_tests::sessions::sqlite_session_store);
rampart_tests::session_store_conformance!(
    postgres,
    rampart_tests::sessions::postgres_session_store
);
rampart_tests::session_store_conformance!(redis, crate::redis_session_store);

#[path = "sessions/redis_store.rs"]
mod redis_store;

/// A [`RedisSessionStore`](rampart::session::RedisSessionStore) on the test Redis server under a
/// prefix of its own (its keys are deleted when the guard drops).
pub(crate) async fn redis_session_store() -> (
    rampart::session::RedisSessionStore,
    redis_store::PrefixGuard,
) {
    redis_store::store(&rampart_tests::unique_prefix("sessions")).await
}

/// Rows of `rampart_session` with `id` (or all rows when `None`).
async fn rows(ds: &SqlDatastore, id: Option<&str>) -> i64 {
    let sql = "SELECT count(*) FROM rampart_session WHERE $1 IS NULL OR id = $1";
    let sql_pg = "SELECT count(*) FROM rampart_session WHERE $1::text IS NULL OR id = $1";
    if let Some(pool) = ds.sqlite_pool() {
        sqlx::query(sql)
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0)
    } else {
        let pool = ds.postgres_pool().unwrap();
        sqlx::query(sql_pg)
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
            .get(0)
    }
}

// ---------------------------------------------------------------------------------------------
// The table: expired rows are deleted by `delete_expired`, live ones stay.

async fn table_rows_follow_the_store(ds: SqlDatastore) {
    let store = ds.session_store();
    let mut live = rampart_tests::sessions::record("live", Duration::hours(1));
    let mut dead = rampart_tests::sessions::record("dead", Duration::seconds(-1));
    store.create(&mut live).await.unwrap();
    store.create(&mut dead).await.unwrap();
    assert_eq!(rows(&ds, None).await, 2);
    assert_eq!(store.load(&dead.id).await.unwrap(), None);
    assert_eq!(rows(&ds, None).await, 2, "load does not delete");
    store.delete_expired().await.unwrap();
    assert_eq!(rows(&ds, None).await, 1);
    assert_eq!(rows(&ds, Some(&live.id.to_string())).await, 1);
    store.delete(&live.id).await.unwrap();
    assert_eq!(rows(&ds, None).await, 0);
}

#[tokio::test]
async fn sqlite_table_rows_follow_the_store() {
    let (ds, _guard) = rampart_tests::sqlite_store().await;
    table_rows_follow_the_store(ds).await;
}

#[tokio::test]
async fn postgres_table_rows_follow_the_store() {
    let (ds, _guard) = rampart_tests::postgres_store().await;
    table_rows_follow_the_store(ds).await;
}

/// A record whose `data` column is not a record fails with a decode error that does not quote
/// the stored data.
async fn corrupt_row_is_a_decode_error(ds: SqlDatastore) {
    let store = ds.session_store();
    let id = Id::default();
    let sql = "INSERT INTO rampart_session (id, data, expiry_date) \
               VALUES ($1, '{\"secret\": \"hunter2\"}', '2999-01-01 00:00:00')";
    if let Some(pool) = ds.sqlite_pool() {
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(pool)
            .await
            .unwrap();
    } else {
        let pool = ds.postgres_pool().unwrap();
        sqlx::query(sql)
            .bind(id.to_string())
            .execute(pool)
            .await
            .unwrap();
    }
    let err = store.load(&id).await.err().unwrap();
    assert!(
        matches!(err, tower_sessions::session_store::Error::Decode(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn sqlite_corrupt_row_is_a_decode_error() {
    let (ds, _guard) = rampart_tests::sqlite_store().await;
    corrupt_row_is_a_decode_error(ds).await;
}

#[tokio::test]
async fn postgres_corrupt_row_is_a_decode_error() {
    let (ds, _guard) = rampart_tests::postgres_store().await;
    corrupt_row_is_a_decode_error(ds).await;
}

/// Database failures are `Backend` errors, no panic.
#[tokio::test]
async fn closed_pool_is_a_backend_error() {
    let (ds, _guard) = rampart_tests::sqlite_store().await;
    let store = ds.session_store();
    ds.close().await;
    let mut rec = rampart_tests::sessions::record("x", Duration::hours(1));
    for err in [
        store.create(&mut rec).await.err(),
        store.save(&rec).await.err(),
        store.load(&rec.id).await.err(),
        store.delete(&rec.id).await.err(),
        store.delete_expired().await.err(),
    ] {
        let err = err.unwrap();
        assert!(
            matches!(err, tower_sessions::session_store::Error::Backend(_)),
            "{err:?}"
        );
        assert!(!err.to_string().contains(&rec.id.to_string()), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP: tower-sessions' middleware over the store.

async fn count(session: Session) -> String {
    let n: i64 = session.get("count").await.unwrap().unwrap_or(0) + 1;
    session.insert("count", n).await.unwrap();
    n.to_string()
}

async fn cycle(session: Session) -> &'static str {
    session.cycle_id().await.unwrap();
    "cycled"
}

async fn flush(session: Session) -> &'static str {
    session.flush().await.unwrap();
    "flushed"
}

fn app(store: SqlSessionStore) -> Router {
    let layer = SessionManagerLayer::new(store)
        .with_http_only(true)
        .with_same_site(SameSite::Lax);
    Router::new()
        .route("/count", get(count))
        .route("/cycle", get(cycle))
        .route("/flush", get(flush))
        .layer(layer)
}

/// The response's body and its `Set-Cookie` header, if any.
async fn get_with(app: &Router, path: &str, cookie: Option<&str>) -> (String, Option<String>) {
    let mut req = Request::get(path);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let set_cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (String::from_utf8(body.to_vec()).unwrap(), set_cookie)
}

/// `name=value` of a `Set-Cookie` header.
fn pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().trim()
}

fn session_id(pair: &str) -> Id {
    Id::from_str(pair.split_once('=').unwrap().1).unwrap()
}

async fn load(store: &SqlSessionStore, id: &Id) -> Option<Record> {
    store.load(id).await.unwrap()
}

async fn http_session(ds: SqlDatastore) {
    let store = ds.session_store();
    let app = app(store.clone());

    // First request: a new session and its cookie.
    let (body, set_cookie) = get_with(&app, "/count", None).await;
    assert_eq!(body, "1");
    let set_cookie = set_cookie.unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = pair(&set_cookie).to_owned();
    let first_id = session_id(&cookie);
    assert_eq!(rows(&ds, Some(&first_id.to_string())).await, 1);

    // The count persists across requests carrying the cookie.
    for want in ["2", "3"] {
        let (body, set_cookie) = get_with(&app, "/count", Some(&cookie)).await;
        assert_eq!(body, want);
        if let Some(c) = set_cookie {
            assert_eq!(pair(&c), cookie, "same session id");
        }
    }
    let rec = load(&store, &first_id).await.unwrap();
    assert_eq!(rec.data.get("count"), Some(&serde_json::json!(3)));

    // cycle_id: a new cookie value; the old id no longer loads, the data moved.
    let (_, set_cookie) = get_with(&app, "/cycle", Some(&cookie)).await;
    let cycled = pair(&set_cookie.unwrap()).to_owned();
    assert_ne!(cycled, cookie, "cycle_id changes the cookie value");
    let cycled_id = session_id(&cycled);
    assert_ne!(cycled_id, first_id);
    assert_eq!(load(&store, &first_id).await, None, "old id gone");
    assert_eq!(rows(&ds, Some(&first_id.to_string())).await, 0);
    let (body, _) = get_with(&app, "/count", Some(&cycled)).await;
    assert_eq!(body, "4", "count survives cycle_id");

    // The old cookie starts from nothing.
    let (body, stale) = get_with(&app, "/count", Some(&cookie)).await;
    assert_eq!(body, "1");
    let stale_id = session_id(pair(&stale.unwrap()));
    assert_ne!(stale_id, first_id, "an unknown id is never reused");

    // flush: the record is deleted from the table and the cookie removed.
    assert_eq!(rows(&ds, Some(&cycled_id.to_string())).await, 1);
    let (_, set_cookie) = get_with(&app, "/flush", Some(&cycled)).await;
    let removal = set_cookie.unwrap();
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_eq!(rows(&ds, Some(&cycled_id.to_string())).await, 0);
    assert_eq!(load(&store, &cycled_id).await, None);
    let (body, _) = get_with(&app, "/count", Some(&cycled)).await;
    assert_eq!(body, "1", "flushed session is gone");
}

#[tokio::test]
async fn sqlite_http_session() {
    let (ds, _guard): (SqlDatastore, StoreGuard) = rampart_tests::sqlite_store().await;
    http_session(ds).await;
}

#[tokio::test]
async fn postgres_http_session() {
    let (ds, _guard) = rampart_tests::postgres_store().await;
    http_session(ds).await;
}
