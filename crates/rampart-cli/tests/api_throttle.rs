//! Black-box throttling of `POST /login` (and `POST /reset`) through the demo server (security-testing.md C10):
//! wrong passwords until `429` with `Retry-After`, `X-Forwarded-For` rotation without trusted
//! proxies changes nothing, another account from the same address works until the address
//! limit, unknown accounts are throttled exactly like known ones, and once the wait is over
//! the right password works again. Counters in SQLite, in PostgreSQL and in Redis (shared by
//! two servers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use std::time::Duration;

use serde_json::json;

use harness::*;
use support::Db;

const MSG_THROTTLED: &str = "Too many attempts. Please wait and try again later.";

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await;
            }
            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await;
            }
        }
    )*};
}

on_both_backends!(
    wrong_passwords_until_429,
    forwarded_for_rotation_does_not_evade,
    other_accounts_until_the_address_limit,
    right_password_works_after_the_wait,
    flood_lets_exactly_the_limit_through_and_429s_are_quick,
    refusals_are_held_for_the_refusal_delay,
    trusted_proxy_addresses_count_separately,
    basic_auth_obeys_the_same_throttle,
    reset_requests_until_429,
);

async fn attempt(app: &App, email: &str, password: &str, xff: Option<&str>) -> Resp {
    let mut req = app
        .post("/login")
        .accept_json()
        .json(json!({"email": email, "password": password}));
    if let Some(x) = xff {
        req = req.header("X-Forwarded-For", x);
    }
    req.send().await
}

/// `Retry-After` in seconds; panics when missing or not a number.
fn retry_after(resp: &Resp) -> u64 {
    resp.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After:\n{resp}"))
}

#[track_caller]
fn assert_throttled(resp: &Resp, max_wait: u64) {
    assert!(is_envelope(resp, 429), "{resp}");
    assert_eq!(resp.errors(), vec![MSG_THROTTLED.to_owned()], "{resp}");
    let wait = retry_after(resp);
    assert!(
        (1..=max_wait).contains(&wait),
        "Retry-After {wait}:\n{resp}"
    );
}

/// Ten wrong passwords are verified (400); the eleventh attempt, even with the right password,
/// is refused with 429 and a Retry-After of about 90 s; a browser gets the form with the
/// message, also 429.
async fn wrong_passwords_until_429(db: Db) {
    let app = App::start(db).await;
    for i in 0..10 {
        let resp = attempt(&app, USER.0, "wrong-password-1", None).await;
        assert_eq!(resp.status, 400, "attempt {i}:\n{resp}");
        assert!(resp.header("retry-after").is_none(), "{resp}");
    }
    let resp = attempt(&app, USER.0, "wrong-password-1", None).await;
    assert_throttled(&resp, 90);
    assert!(retry_after(&resp) >= 85, "{resp}");
    let right = attempt(&app, USER.0, USER.1, None).await;
    assert_throttled(&right, 90);
    assert!(right.cookie("remember_token").is_none(), "{right}");
    // Case and spaces in the address do not make another account.
    let upper = attempt(&app, " USER@example.com", USER.1, None).await;
    assert_throttled(&upper, 90);
    let form = app
        .post("/login")
        .browser()
        .form(&[("email", USER.0), ("password", USER.1)])
        .send()
        .await;
    assert_eq!(form.status, 429, "{form}");
    assert!(form.text.contains(MSG_THROTTLED), "{form}");
    assert!(form.text.contains("<form"), "{form}");
    assert!(retry_after(&form) >= 1);
    // The session is still not signed in.
    assert_eq!(app.me(&Cred::Anon).await.status, 401);
    app.server.stop().await;
}

/// Without trusted proxies `X-Forwarded-For` is ignored: rotating it neither resets the
/// account's count nor makes another address.
async fn forwarded_for_rotation_does_not_evade(db: Db) {
    let app = App::start_with(db, &[("SECURITY_THROTTLE_ADDRESS_LIMIT", "15")]).await;
    for i in 0..10 {
        let xff = format!("203.0.113.{i}");
        let resp = attempt(&app, USER.0, "wrong-password-1", Some(&xff)).await;
        assert_eq!(resp.status, 400, "attempt {i}:\n{resp}");
    }
    let resp = attempt(&app, USER.0, "wrong-password-1", Some("198.51.100.77")).await;
    assert_throttled(&resp, 90);
    // The address count saw all ten, whatever the header said: five more and it trips.
    for i in 0..5 {
        let xff = format!("198.51.100.{i}");
        let resp = attempt(&app, ADMIN.0, "wrong-password-1", Some(&xff)).await;
        assert_eq!(resp.status, 400, "admin attempt {i}:\n{resp}");
    }
    let resp = attempt(&app, ADMIN.0, ADMIN.1, Some("192.0.2.200")).await;
    assert_throttled(&resp, 60);
    app.server.stop().await;
}

/// Another account (known or not) from the same address is unaffected by a throttled one,
/// until the address limit; unknown accounts get exactly the answers known ones get.
async fn other_accounts_until_the_address_limit(db: Db) {
    let app = App::start_with(db, &[("SECURITY_THROTTLE_ADDRESS_LIMIT", "25")]).await;
    for _ in 0..10 {
        assert_eq!(attempt(&app, USER.0, "wrong-1", None).await.status, 400);
    }
    assert_throttled(&attempt(&app, USER.0, USER.1, None).await, 90);
    // Another known account still signs in: a success does not use up the address.
    let ok = attempt(&app, ADMIN.0, ADMIN.1, None).await;
    assert_eq!(ok.status, 200, "{ok}");
    // An unknown account is counted like a known one: ten 400s, then 429.
    for _ in 0..10 {
        assert_eq!(
            attempt(&app, "nobody@example.com", "wrong-1", None)
                .await
                .status,
            400
        );
    }
    let unknown = attempt(&app, "nobody@example.com", "wrong-1", None).await;
    assert_throttled(&unknown, 90);
    // Spraying: the address has had 20 failures; five more accounts get one guess each.
    for i in 0..5 {
        let email = format!("spray{i}@example.com");
        assert_eq!(attempt(&app, &email, "Summer2026!", None).await.status, 400);
    }
    let tripped = attempt(&app, "spray9@example.com", "Summer2026!", None).await;
    assert_throttled(&tripped, 36);
    // Now even the right password of an untouched account waits.
    assert_throttled(&attempt(&app, ADMIN.0, ADMIN.1, None).await, 36);
    app.server.stop().await;
}

/// With a 3-attempt, 3-second window: three failures, the right password refused, then after
/// Retry-After the right password signs in and the failures start again from zero.
async fn right_password_works_after_the_wait(db: Db) {
    let env = [
        ("SECURITY_THROTTLE_ACCOUNT_LIMIT", "3"),
        ("SECURITY_THROTTLE_ACCOUNT_WINDOW", "3"),
    ];
    let app = App::start_with(db, &env).await;
    for _ in 0..3 {
        assert_eq!(attempt(&app, USER.0, "wrong-1", None).await.status, 400);
    }
    let refused = attempt(&app, USER.0, USER.1, None).await;
    assert_throttled(&refused, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ok = attempt(&app, USER.0, USER.1, None).await;
    assert_eq!(ok.status, 200, "{ok}");
    // The success cleared the consecutive failures: no back-off, only the (refilling) rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(attempt(&app, USER.0, "wrong-1", None).await.status, 400);
    app.server.stop().await;
}

/// Two demo servers on one Redis: the counters are shared, so the second server refuses the
/// attempt after the first counted ten.
#[tokio::test(flavor = "multi_thread")]
async fn redis_counters_are_shared_by_two_servers() {
    let redis = rampart_tests::redis_server_url().await;
    let prefix = rampart_tests::unique_prefix("demo");
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("SECURITY_THROTTLE_KEY_PREFIX", prefix.as_str()),
    ];
    // Each server has its own database (with the same seed accounts): only Redis is shared.
    let one = App::start_with(Db::sqlite(), &env).await;
    let two = App::start_with(Db::sqlite(), &env).await;
    assert!(
        one.server.log.contains("throttle counters in Redis"),
        "{}",
        one.server.log
    );
    for i in 0..10 {
        let resp = attempt(&one, USER.0, "wrong-1", None).await;
        assert_eq!(resp.status, 400, "attempt {i}:\n{resp}");
    }
    assert_throttled(&attempt(&two, USER.0, USER.1, None).await, 90);
    assert_throttled(&attempt(&one, USER.0, USER.1, None).await, 90);
    two.server.stop().await;
    one.server.stop().await;
}

/// A REDIS_URL that cannot be reached stops the demo at start-up with a clear message, not a
/// panic, and without the URL's password.
#[tokio::test]
async fn unreachable_redis_is_a_clear_start_up_error() {
    let db = Db::sqlite();
    let run = support::serve_once(&[
        ("DATABASE_URL", db.url.as_str()),
        ("SECRET_KEY", TEST_SECRET),
        ("REDIS_URL", "redis://:s3cret-pw@127.0.0.1:1/0"),
    ])
    .await;
    assert_ne!(run.status, Some(0), "{run:#?}");
    assert!(run.stderr.contains("Redis"), "{run:#?}");
    assert!(!run.stderr.contains("s3cret-pw"), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// 64 concurrent wrong-password requests for one fresh account: exactly 10 are verified (the
/// count is taken atomically before verification), the other 54 get 429; the refusals skip the
/// hashing, so they are answered much faster than a verified failure.
async fn flood_lets_exactly_the_limit_through_and_429s_are_quick(db: Db) {
    // Without the refusal delay (its own test below): this one compares the work done.
    let env = [("SECURITY_THROTTLE_REFUSAL_DELAY_MS", "0")];
    let app = std::sync::Arc::new(App::start_with(db, &env).await);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let start = std::time::Instant::now();
            let resp = attempt(&app, USER.0, "wrong-password-1", None).await;
            (resp.status, start.elapsed())
        }));
    }
    let mut verified = Vec::new();
    let mut refused = Vec::new();
    for t in tasks {
        let (status, took) = t.await.unwrap();
        match status {
            400 => verified.push(took),
            429 => refused.push(took),
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(verified.len(), 10, "exactly the limit is verified");
    assert_eq!(refused.len(), 54);
    // Sequentially now: a refusal against a verified failure of another account.
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut slow = Vec::new();
    let mut quick = Vec::new();
    for i in 0..9 {
        let start = std::time::Instant::now();
        let resp = attempt(&app, &format!("other{i}@example.com"), "wrong-1", None).await;
        assert_eq!(resp.status, 400, "{resp}");
        slow.push(start.elapsed());
        let start = std::time::Instant::now();
        let resp = attempt(&app, USER.0, "wrong-1", None).await;
        assert_eq!(resp.status, 429, "{resp}");
        quick.push(start.elapsed());
    }
    let (slow, quick) = (median(slow), median(quick));
    println!("verified failure {slow:?}, throttled refusal {quick:?} (medians of 9)");
    assert!(
        quick * 4 < slow,
        "refusals must not hash: {quick:?} vs {slow:?}"
    );
    match std::sync::Arc::try_unwrap(app) {
        Ok(app) => app.server.stop().await,
        Err(_) => panic!("tasks still hold the app"),
    }
}

/// A refused attempt is held for `SECURITY_THROTTLE_REFUSAL_DELAY_MS` before its 429 (so a
/// flooding connection gets few answers a second), and 24 refusals at once are held side by
/// side, not one after another.
async fn refusals_are_held_for_the_refusal_delay(db: Db) {
    let env = [
        ("SECURITY_THROTTLE_REFUSAL_DELAY_MS", "800"),
        ("SECURITY_THROTTLE_ACCOUNT_LIMIT", "2"),
    ];
    let app = std::sync::Arc::new(App::start_with(db, &env).await);
    for _ in 0..2 {
        assert_eq!(attempt(&app, USER.0, "wrong-1", None).await.status, 400);
    }
    let start = std::time::Instant::now();
    let refused = attempt(&app, USER.0, "wrong-1", None).await;
    assert_throttled(&refused, 450);
    assert!(
        start.elapsed() >= Duration::from_millis(800),
        "{:?}",
        start.elapsed()
    );
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            attempt(&app, USER.0, "wrong-1", None).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 429);
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(
        took < Duration::from_millis(800 * 6),
        "held one after another: {took:?}"
    );
    match std::sync::Arc::try_unwrap(app) {
        Ok(app) => app.server.stop().await,
        Err(_) => panic!("tasks still hold the app"),
    }
}

/// Behind one trusted proxy (`SECURITY_TRUSTED_PROXIES=1`) the address the proxy saw counts:
/// two clients behind it have separate address limits, and the proxy's own address is not
/// throttled as a whole.
async fn trusted_proxy_addresses_count_separately(db: Db) {
    let env = [
        ("SECURITY_TRUSTED_PROXIES", "1"),
        ("SECURITY_THROTTLE_ADDRESS_LIMIT", "3"),
    ];
    let app = App::start_with(db, &env).await;
    for i in 0..3 {
        let email = format!("a{i}@example.com");
        let resp = attempt(&app, &email, "wrong-1", Some("203.0.113.5")).await;
        assert_eq!(resp.status, 400, "{resp}");
    }
    let resp = attempt(&app, "a9@example.com", "wrong-1", Some("203.0.113.5")).await;
    assert_throttled(&resp, 300);
    // Another client behind the same proxy is unaffected.
    let resp = attempt(&app, "b@example.com", "wrong-1", Some("203.0.113.6")).await;
    assert_eq!(resp.status, 400, "{resp}");
    // A forged hop in front of the real one changes nothing: the proxy appends what it saw.
    let resp = attempt(
        &app,
        "c@example.com",
        "wrong-1",
        Some("198.51.100.1, 203.0.113.5"),
    )
    .await;
    assert_throttled(&resp, 300);
    app.server.stop().await;
}

/// HTTP Basic is no way around the throttle: wrong Basic passwords count against the account
/// like `/login` failures, and once throttled the right Basic password and `/login` both wait.
async fn basic_auth_obeys_the_same_throttle(db: Db) {
    let app = App::start(db).await;
    for i in 0..5 {
        let resp = app
            .get("/api/basic")
            .accept_json()
            .cred(&Cred::Basic(USER.0.into(), "wrong-1".into()))
            .send()
            .await;
        assert_eq!(resp.status, 401, "attempt {i}:\n{resp}");
    }
    for _ in 0..5 {
        assert_eq!(attempt(&app, USER.0, "wrong-1", None).await.status, 400);
    }
    let basic = app
        .get("/api/basic")
        .accept_json()
        .cred(&Cred::Basic(USER.0.into(), USER.1.into()))
        .send()
        .await;
    assert_throttled(&basic, 90);
    assert_throttled(&attempt(&app, USER.0, USER.1, None).await, 90);
    // Another account's right Basic password still works.
    let ok = app
        .get("/api/basic")
        .accept_json()
        .cred(&Cred::Basic(ADMIN.0.into(), ADMIN.1.into()))
        .send()
        .await;
    assert_eq!(ok.status, 200, "{ok}");
    app.server.stop().await;
}

async fn reset(app: &App, email: &str) -> Resp {
    app.post("/reset")
        .accept_json()
        .json(json!({ "email": email }))
        .send()
        .await
}

/// `POST /reset` counts every request by rate (per account and per address): ten go through
/// (mail is sent for the known account, the unknown one gets its field error), the eleventh
/// is a 429 with `Retry-After` for both alike, in JSON and in the browser form; logins of the
/// account are not affected by reset requests.
async fn reset_requests_until_429(db: Db) {
    let app = App::start(db).await;
    for (email, ok) in [(USER.0, 200), ("nobody-here@example.com", 400)] {
        for i in 0..10 {
            let resp = reset(&app, email).await;
            assert_eq!(resp.status, ok, "{email} request {i}:\n{resp}");
            assert!(resp.header("retry-after").is_none(), "{resp}");
        }
        assert_throttled(&reset(&app, email).await, 90);
    }
    let form = app
        .post("/reset")
        .browser()
        .form(&[("email", USER.0)])
        .send()
        .await;
    assert_eq!(form.status, 429, "{form}");
    assert!(form.text.contains(MSG_THROTTLED), "{form}");
    assert!(retry_after(&form) >= 1, "{form}");
    // Another account is not held back by these, and neither is the login of this one.
    assert_eq!(reset(&app, ADMIN.0).await.status, 200);
    assert_eq!(attempt(&app, USER.0, USER.1, None).await.status, 200);
    app.server.stop().await;
}
