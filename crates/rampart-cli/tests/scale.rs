//! Production shape, black-box: the demo server on private PostgreSQL and Redis servers that
//! the tests start and stop themselves.
//!
//! - start-up fails with one `error:` line and a non-zero exit when PostgreSQL or Redis is
//!   unreachable;
//! - an outage of Redis or PostgreSQL mid-run is answered 503 with the JSON envelope (never
//!   500, never a hang), `/healthz` says which backend is down, and the server recovers by
//!   itself when the backend returns;
//! - two instances behind a real nginx share PostgreSQL and Redis (`scale/balanced.rs`);
//! - SIGTERM lets in-flight requests finish (`scale/shutdown.rs`);
//! - `SECRET_KEY_FALLBACKS` keeps tokens and remember cookies alive across a key rotation
//!   (`scale/rotation.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

#[path = "scale/balanced.rs"]
mod balanced;
#[path = "scale/nginx.rs"]
mod nginx;
#[path = "scale/rotation.rs"]
mod rotation;
#[path = "scale/servers.rs"]
mod servers;
#[path = "scale/shutdown.rs"]
mod shutdown;

use std::time::{Duration, Instant};

use serde_json::json;

use harness::*;
use servers::{PrivatePostgres, PrivateRedis, free_port};
use support::{Db, serve_once};

/// The one line a failed start-up prints, checked for shape: exactly one `error:` line, the
/// last one, no panic, nothing secret.
#[track_caller]
fn assert_one_line_error(run: &support::Run, contains: &str, secret: &str) {
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(
        !run.stderr.contains(secret),
        "secret in the output: {run:#?}"
    );
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{run:#?}");
    assert_eq!(run.stderr.lines().last(), Some(errors[0]), "{run:#?}");
    assert!(errors[0].contains(contains), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_up_fails_clearly_when_postgres_is_unreachable() {
    let url = format!(
        "postgres://rampart:pg-s3cret@127.0.0.1:{}/demo",
        free_port()
    );
    let started = Instant::now();
    let run = serve_once(&[("DATABASE_URL", &url), ("SECRET_KEY", TEST_SECRET)]).await;
    assert_one_line_error(
        &run,
        "cannot open database postgres://rampart:***@",
        "pg-s3cret",
    );
    assert!(started.elapsed() < Duration::from_secs(20), "bounded wait");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_up_fails_clearly_when_redis_is_unreachable() {
    let db = Db::sqlite();
    let redis = format!("redis://:rd-s3cret@127.0.0.1:{}/0", free_port());
    let started = Instant::now();
    let run = serve_once(&[
        ("DATABASE_URL", &db.url),
        ("REDIS_URL", &redis),
        ("SECRET_KEY", TEST_SECRET),
    ])
    .await;
    assert_one_line_error(
        &run,
        "cannot connect to Redis at redis://:***@",
        "rd-s3cret",
    );
    assert!(started.elapsed() < Duration::from_secs(20), "bounded wait");
}

/// Flask-Security's envelope with status 503.
#[track_caller]
fn assert_503_envelope(resp: &Resp) {
    assert_eq!(resp.status, 503, "{resp}");
    assert_eq!(resp.json["meta"]["code"], 503, "{resp}");
    assert_eq!(
        resp.errors(),
        vec!["Service temporarily unavailable".to_owned()],
        "{resp}"
    );
}

/// Repeats `probe` until it gives `want` (bounded), for the recovery after an outage.
async fn eventually(what: &str, want: u16, mut probe: impl AsyncFnMut() -> Resp) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = probe().await;
        if resp.status == want || Instant::now() > deadline {
            assert_eq!(resp.status, want, "{what} did not recover:\n{resp}");
            return resp;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Time of one request, which must stay bounded during an outage.
async fn timed(fut: impl Future<Output = Resp>) -> Resp {
    let started = Instant::now();
    let resp = fut.await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered in {:?}: {resp}",
        started.elapsed()
    );
    resp
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_outage_is_503_and_the_server_recovers() {
    let mut redis = PrivateRedis::start();
    let url = redis.url();
    let app = App::start_with(
        Db::sqlite(),
        &[("REDIS_URL", &url), ("SECURITY_REDIS_TIMEOUT", "1")],
    )
    .await;
    assert!(
        app.server.log.contains("sessions in Redis"),
        "{}",
        app.server.log
    );
    let session = app.login(USER).await;
    let token = app.token(USER).await;
    assert_eq!(app.me(&Cred::Session(session.clone())).await.status, 200);
    let health = app.get("/healthz").send().await;
    assert_eq!(health.status, 200, "{health}");
    assert_eq!(health.json["redis"], "ok");

    redis.stop();
    let during = timed(app.me(&Cred::Session(session.clone()))).await;
    assert_503_envelope(&during);
    assert!(
        during.cookie("session").is_none(),
        "an outage must not delete the browser's session cookie: {during}"
    );
    // Logins need the throttle counters, in Redis too.
    let login = timed(app.login_resp(
        "",
        json!({"email": USER.0, "password": USER.1}),
        &Jar::default(),
    ))
    .await;
    assert_503_envelope(&login);
    // Tokens need no Redis: the database answers.
    assert_eq!(
        timed(app.me(&Cred::Header(token.clone()))).await.status,
        200
    );
    assert_eq!(app.get("/api/public").send().await.status, 200);
    let health = timed(app.get("/healthz").send()).await;
    assert_eq!(health.status, 503, "{health}");
    assert_eq!(health.json["redis"], "unavailable");
    assert_eq!(health.json["database"], "ok");

    redis.resume();
    // The session survived on the server (append-only file) and the connection heals.
    let me = eventually("session request", 200, async || {
        app.me(&Cred::Session(session.clone())).await
    })
    .await;
    assert_eq!(me.json["email"], USER.0, "{me}");
    app.login(ADMIN).await;
    assert_eq!(app.get("/healthz").send().await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_outage_is_503_and_the_server_recovers() {
    let mut pg = PrivatePostgres::start();
    let app = App::start_with(
        Db::at(pg.url()),
        &[
            ("SECURITY_DATABASE_POOL_TIMEOUT", "2"),
            ("SECURITY_DATABASE_POOL_SIZE", "4"),
        ],
    )
    .await;
    let token = app.token(USER).await;
    let session = app.login(ADMIN).await;
    assert_eq!(app.me(&Cred::Header(token.clone())).await.status, 200);

    pg.stop();
    assert_503_envelope(&timed(app.me(&Cred::Header(token.clone()))).await);
    let during = timed(app.me(&Cred::Session(session.clone()))).await;
    assert_503_envelope(&during);
    assert!(during.cookie("session").is_none(), "{during}");
    let login = timed(app.login_resp(
        "",
        json!({"email": USER.0, "password": USER.1}),
        &Jar::default(),
    ))
    .await;
    assert_503_envelope(&login);
    assert_eq!(app.get("/api/public").send().await.status, 200);
    let health = timed(app.get("/healthz").send()).await;
    assert_eq!(health.status, 503, "{health}");
    assert_eq!(health.json["database"], "unavailable");

    pg.resume();
    eventually("token request", 200, async || {
        app.me(&Cred::Header(token.clone())).await
    })
    .await;
    assert_eq!(app.me(&Cred::Session(session)).await.status, 200);
    app.login(USER).await;
    assert_eq!(app.get("/healthz").send().await.status, 200);
}
