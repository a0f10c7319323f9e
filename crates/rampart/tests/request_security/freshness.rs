//! Freshness inside, at the edge of and past the window and the grace period, for session,
//! token and Basic callers; `/verify` for JSON and browsers.

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use base64::Engine as _;
use rampart::datastore::UserDatastore as _;
use rampart::extract::{AnyMechanism, FreshWithin};
use rampart::freshness::FS_GEXP;
use rampart::session::{AuthSession, now_f64};
use rampart::{FreshRequired, SecurityConfig};
use serde_json::{Value, json};
use tower_sessions::Session;

use crate::support::{App, Jar, PW, Req, Resp, USER, app, config, login, user};

#[derive(serde::Deserialize)]
struct Set {
    /// Seconds since primary authentication.
    paa_age: Option<f64>,
    /// Seconds from now to the end of the grace period (`none` removes it).
    gexp: Option<String>,
}

/// Test-only session surgery: moves `fs_paa` and `fs_gexp` relative to now.
async fn set(session: Session, Query(q): Query<Set>) -> &'static str {
    if let Some(age) = q.paa_age {
        AuthSession(session.clone())
            .set_fs_paa(now_f64() - age)
            .await
            .unwrap();
    }
    match q.gexp.as_deref() {
        None => {}
        Some("none") => {
            let _ = session.remove_value(FS_GEXP).await.unwrap();
        }
        Some(n) => {
            #[allow(clippy::cast_possible_truncation)]
            let now = now_f64().floor() as i64;
            let gexp = now + n.parse::<i64>().unwrap();
            session.insert(FS_GEXP, gexp).await.unwrap();
        }
    }
    "ok"
}

async fn gexp(session: Session) -> String {
    session
        .get::<i64>(FS_GEXP)
        .await
        .unwrap()
        .map_or_else(|| "none".to_owned(), |g| g.to_string())
}

fn routes() -> Router {
    Router::new()
        .route("/set", get(set))
        .route("/gexp", get(gexp))
        .route("/fresh", get(|_: FreshWithin<300, 60>| async { "fresh" }))
        .route("/fresh0", get(|_: FreshWithin<300, 0>| async { "fresh" }))
        .route(
            "/fresh-any",
            get(|_: FreshWithin<300, 0, AnyMechanism>| async { "fresh" }),
        )
        .route("/configured", get(|_: FreshRequired| async { "fresh" }))
}

async fn fresh_app(tweak: impl FnOnce(&mut SecurityConfig)) -> App {
    let mut c = config();
    c.freshness_secs = 300;
    c.freshness_grace_period_secs = 120;
    tweak(&mut c);
    app(c, |b| b, routes()).await
}

async fn get_with(app: &App, path: &str, jar: &Jar) -> Resp {
    Req::new("GET", path)
        .accept_json()
        .jar(jar)
        .send(&app.router)
        .await
}

fn now_secs() -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let n = now_f64().floor() as i64;
    n
}

fn is_reauth(r: &Resp) -> bool {
    r.status == 401
        && r.json["response"]["reauth_required"] == json!(true)
        && r.errors() == ["You must reauthenticate to access this endpoint"]
}

#[tokio::test]
async fn session_window_and_grace_table() {
    let app = fresh_app(|_| {}).await;
    // (row, seconds since fs_paa, grace end from now, route, fresh?)
    #[rustfmt::skip]
    let rows: &[(&str, f64, &str, &str, bool)] = &[
        ("just authenticated", 1.0, "none", "/fresh0", true),
        ("inside the window", 150.0, "none", "/fresh0", true),
        ("one second inside the edge", 299.0, "none", "/fresh0", true),
        ("at the edge (strict)", 300.0, "none", "/fresh0", false),
        ("past the window", 301.0, "none", "/fresh0", false),
        ("an hour past", 3600.0, "none", "/fresh0", false),
        ("small clock drift (paa in the future)", -10.0, "none", "/fresh0", true),
        ("paa far in the future", -301.0, "none", "/fresh0", false),
        ("stale, inside the grace period", 3600.0, "60", "/fresh0", true),
        ("stale, grace ends in 2 s", 3600.0, "2", "/fresh0", true),
        ("stale, grace ends now (edge)", 3600.0, "0", "/fresh0", false),
        ("stale, grace ended", 3600.0, "-1", "/fresh0", false),
        ("fresh, grace ended", 10.0, "-100", "/fresh0", true),
        ("configured window: inside", 299.0, "none", "/configured", true),
        ("configured window: past", 301.0, "none", "/configured", false),
        ("configured window: stale in grace", 3600.0, "30", "/configured", true),
    ];
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    let mut failures = Vec::new();
    for (row, age, grace, route, want) in rows {
        let set = get_with(&app, &format!("/set?paa_age={age}&gexp={grace}"), &s.jar).await;
        assert_eq!(set.status, 200, "{row}: {set:?}");
        let r = get_with(&app, route, &s.jar).await;
        let ok = if *want {
            r.status == 200
        } else {
            is_reauth(&r)
        };
        if !ok {
            failures.push(format!(
                "[{row}] want fresh={want}: {} {}",
                r.status, r.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn a_fresh_session_request_starts_and_slides_the_grace_period() {
    let app = fresh_app(|_| {}).await;
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    // A login starts with no grace period.
    assert_eq!(get_with(&app, "/gexp", &s.jar).await.text, "none");
    // A fresh request with grace 60 sets fs_gexp to now + 60 …
    get_with(&app, "/set?paa_age=10", &s.jar).await;
    let before = now_secs();
    assert_eq!(get_with(&app, "/fresh", &s.jar).await.status, 200);
    let g: i64 = get_with(&app, "/gexp", &s.jar).await.text.parse().unwrap();
    assert!((before + 60..=now_secs() + 60).contains(&g), "fs_gexp {g}");
    // … so the session stays fresh when its authentication goes stale.
    get_with(&app, "/set?paa_age=3600", &s.jar).await;
    assert_eq!(get_with(&app, "/fresh0", &s.jar).await.status, 200);
    // Each fresh request inside the grace period extends it (here to now + 60 again).
    get_with(&app, "/set?gexp=5", &s.jar).await;
    assert_eq!(get_with(&app, "/fresh", &s.jar).await.status, 200);
    let g: i64 = get_with(&app, "/gexp", &s.jar).await.text.parse().unwrap();
    assert!(g >= before + 60, "grace not extended: {g}");
    // With grace 0 a fresh request leaves no usable grace.
    get_with(&app, "/set?paa_age=10&gexp=none", &s.jar).await;
    assert_eq!(get_with(&app, "/fresh0", &s.jar).await.status, 200);
    get_with(&app, "/set?paa_age=3600", &s.jar).await;
    assert!(is_reauth(&get_with(&app, "/fresh0", &s.jar).await));
}

async fn token_with_paa(app: &App, age: f64) -> String {
    let u = user(app, USER).await;
    app.security
        .tokens()
        .issue(&u, app.store.has_token_uniquifier(), now_f64() - age, None)
        .unwrap()
}

#[tokio::test]
async fn tokens_carry_their_primary_authentication_time() {
    let app = fresh_app(|_| {}).await;
    for (row, age, want) in [
        ("token from a login 10 s ago", 10.0, true),
        ("token at the edge of the window", 299.0, true),
        ("token past the window", 301.0, false),
    ] {
        let t = token_with_paa(&app, age).await;
        let r = Req::new("GET", "/fresh")
            .accept_json()
            .header("Authentication-Token", &t)
            .send(&app.router)
            .await;
        assert_eq!(r.status == 200, want, "{row}: {r:?}");
        assert!(want || is_reauth(&r), "{row}: {r:?}");
        // The grace period lives only in the session: token callers get no session cookie.
        assert!(r.set_cookies.is_empty(), "{row}: {:?}", r.set_cookies);
    }
    // A stale token stays stale however often it is used (no grace for tokens).
    let t = token_with_paa(&app, 301.0).await;
    for _ in 0..2 {
        let r = Req::new("GET", "/fresh")
            .accept_json()
            .header("Authentication-Token", &t)
            .send(&app.router)
            .await;
        assert!(is_reauth(&r), "{r:?}");
    }
    // The token issued by login carries the login time: fresh.
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    let r = Req::new("GET", "/fresh")
        .accept_json()
        .header("Authentication-Token", &s.token)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");

    // SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN = false: a token never satisfies freshness.
    let strict = fresh_app(|c| c.freshness_allow_auth_token = false).await;
    let t = token_with_paa(&strict, 1.0).await;
    let r = Req::new("GET", "/fresh")
        .accept_json()
        .header("Authentication-Token", &t)
        .send(&strict.router)
        .await;
    assert!(is_reauth(&r), "{r:?}");
}

#[tokio::test]
async fn basic_is_always_fresh_and_negative_freshness_disables_checks() {
    let app = fresh_app(|_| {}).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PW}"));
    let r = Req::new("GET", "/fresh-any")
        .accept_json()
        .header("authorization", &format!("Basic {b64}"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Basic is not accepted by the session-or-token extractor at all.
    let r = Req::new("GET", "/fresh")
        .accept_json()
        .header("authorization", &format!("Basic {b64}"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 401, "{r:?}");
    assert_ne!(r.json["response"]["reauth_required"], json!(true));

    let off = fresh_app(|c| c.freshness_secs = -1).await;
    let (s, _) = login(&off.router, USER, &Jar::default()).await;
    get_with(&off, "/set?paa_age=999999", &s.jar).await;
    assert_eq!(get_with(&off, "/configured", &s.jar).await.status, 200);
    // … and /verify does not exist.
    assert_eq!(get_with(&off, "/verify", &s.jar).await.status, 404);
}

#[tokio::test]
async fn stale_browsers_are_sent_to_verify_with_next() {
    let app = fresh_app(|_| {}).await;
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    get_with(&app, "/set?paa_age=3600", &s.jar).await;
    let r = Req::new("GET", "/configured?x=1")
        .browser()
        .jar(&s.jar)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/verify?next=/configured%3Fx%3D1")
    );
}

async fn verify(app: &App, query: &str, jar: &Jar, csrf: &str, body: &Value) -> Resp {
    Req::new("POST", &format!("/verify{query}"))
        .accept_json()
        .header("X-CSRF-Token", csrf)
        .jar(jar)
        .json(body)
        .send(&app.router)
        .await
}

#[tokio::test]
async fn verify_json() {
    let app = fresh_app(|_| {}).await;
    // Anonymous callers are not authenticated.
    let r = get_with(&app, "/verify", &Jar::default()).await;
    assert_eq!(r.status, 401, "{r:?}");
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    let r = get_with(&app, "/verify", &s.jar).await;
    assert_eq!(r.status, 200, "{r:?}");
    let resp = &r.json["response"];
    assert!(resp["csrf_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(resp["has_webauthn_verify_credential"], json!(false));
    assert_eq!(resp["oauth_enabled"], json!(false));
    assert_eq!(resp["oauth_providers"], json!([]));
    assert!(resp["user"].is_object());

    get_with(&app, "/set?paa_age=3600&gexp=none", &s.jar).await;
    assert!(is_reauth(&get_with(&app, "/fresh0", &s.jar).await));
    // Field errors: missing and wrong password, bad next; nothing is renewed by them.
    for (body, field, msg) in [
        (json!({}), "password", "Password not provided"),
        (
            json!({"password": "wrong-password-1"}),
            "password",
            "Invalid password",
        ),
        (
            json!({"password": PW, "next": "https://evil.example/"}),
            "next",
            "Redirections outside the domain are forbidden",
        ),
    ] {
        let r = verify(&app, "", &s.jar, &s.csrf, &body).await;
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert_eq!(r.json["meta"]["code"], json!(400));
        assert_eq!(
            r.json["response"]["field_errors"][field],
            json!([msg]),
            "{r:?}"
        );
        assert!(is_reauth(&get_with(&app, "/fresh0", &s.jar).await));
    }
    // CSRF applies: a session POST without the token is refused and renews nothing.
    let r = verify(&app, "", &s.jar, "", &json!({"password": PW})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.errors(), ["The CSRF token is missing."]);
    assert!(is_reauth(&get_with(&app, "/fresh0", &s.jar).await));
    // Success renews fs_paa: fresh again; with include_auth_token a new, fresh token.
    let r = verify(
        &app,
        "?include_auth_token",
        &s.jar,
        &s.csrf,
        &json!({"password": PW}),
    )
    .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.json["response"]["csrf_token"].as_str().is_some());
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get_with(&app, "/fresh0", &s.jar).await.status, 200);
    let r = Req::new("GET", "/fresh0")
        .accept_json()
        .header("Authentication-Token", &token)
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    // Without include_auth_token no token is returned.
    let r = verify(&app, "", &s.jar, &s.csrf, &json!({"password": PW})).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["response"]["user"], json!({}));
}

#[tokio::test]
async fn verify_token_caller_gets_a_fresh_token() {
    let app = fresh_app(|_| {}).await;
    let stale = token_with_paa(&app, 3600.0).await;
    let r = Req::new("POST", "/verify?include_auth_token")
        .accept_json()
        .header("Authentication-Token", &stale)
        .json(&json!({"password": PW}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let fresh = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap();
    let call = |t: String| {
        let router = app.router.clone();
        async move {
            Req::new("GET", "/fresh0")
                .accept_json()
                .header("Authentication-Token", &t)
                .send(&router)
                .await
        }
    };
    assert!(is_reauth(&call(stale.clone()).await));
    assert_eq!(call(fresh.to_owned()).await.status, 200);
}

#[tokio::test]
async fn verify_browser_form() {
    let app = fresh_app(|_| {}).await;
    let (s, _) = login(&app.router, USER, &Jar::default()).await;
    get_with(&app, "/set?paa_age=3600&gexp=none", &s.jar).await;
    let page = Req::new("GET", "/verify?next=/configured")
        .browser()
        .jar(&s.jar)
        .send(&app.router)
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("name=\"password\"") && page.text.contains("value=\"/configured\""));
    let csrf = crate::support::Req::new("GET", "/login")
        .accept_json()
        .jar(&s.jar)
        .send(&app.router)
        .await
        .json["response"]["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = |pw: &str, next: &str| {
        format!(
            "password={}&next={}&csrf_token={}",
            pw,
            next.replace('/', "%2F").replace(':', "%3A"),
            csrf
        )
    };
    // A wrong password re-renders the form with the message.
    let r = Req::new("POST", "/verify")
        .browser()
        .jar(&s.jar)
        .form(&form("nope-nope-1", "/configured"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("Invalid password"), "{}", r.text);
    // An off-site next is refused, the form says why, and no redirect happens.
    let r = Req::new("POST", "/verify")
        .browser()
        .jar(&s.jar)
        .form(&form(PW, "https://evil.example/"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("location").is_none());
    assert!(
        r.text
            .contains("Redirections outside the domain are forbidden")
    );
    assert!(is_reauth(&get_with(&app, "/fresh0", &s.jar).await));
    // Success redirects to next.
    let r = Req::new("POST", "/verify")
        .browser()
        .jar(&s.jar)
        .form(&form(PW, "/configured"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 302, "{r:?}");
    assert_eq!(r.header("location"), Some("/configured"));
    assert_eq!(get_with(&app, "/configured", &s.jar).await.status, 200);
    // Without next: the post-verify view.
    let r = Req::new("POST", "/verify")
        .browser()
        .jar(&s.jar)
        .form(&format!("password={PW}&csrf_token={csrf}"))
        .send(&app.router)
        .await;
    assert_eq!(r.header("location"), Some("/"));
}
