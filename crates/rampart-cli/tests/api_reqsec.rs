//! Black-box request security of the demo server: the CSRF table over endpoints × mechanisms
//! × token places × failures with the state checked unchanged after every refusal (document
//! title in the database, logout still signed in, freshness not renewed); the XSRF-TOKEN
//! cookie; the cross-site check; `/verify`; the redirect corpus through `/verify` and logout;
//! and the security header set on every kind of response, 500 included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "api/harness.rs"]
mod harness;
mod support;

use rampart_core::signing::{SecretKeys, UrlSafeTimedSerializer};
use reqwest::Method;
use serde_json::{Value, json};

use harness::*;
use support::Db;

const MISSING: &str = "The CSRF token is missing.";
const INVALID: &str = "The CSRF token is invalid.";
const EXPIRED: &str = "The CSRF token has expired.";
const MISMATCH: &str = "The CSRF tokens do not match.";
const CROSS_SITE: &str = "The referrer does not match the host.";

/// The title of a document, read from the database (the state a refusal must not change).
async fn doc_title(db: &Db, id: i64) -> String {
    let store = db.store().await;
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query_scalar("SELECT title FROM document WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap()
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::query_scalar("SELECT title FROM document WHERE id = $1")
            .bind(i32::try_from(id).unwrap())
            .fetch_one(pool)
            .await
            .unwrap()
    }
}

/// The session's own CSRF token re-signed two hours in the past (the demo's time limit is
/// Flask-WTF's 3600 s): genuine, but expired.
fn expired(token: &str) -> String {
    let s = UrlSafeTimedSerializer::new(SecretKeys::new(TEST_SECRET).unwrap());
    let (raw, issued): (String, u64) = s.loads(token, "wtf-csrf-token", None).unwrap();
    s.dumps_at(&raw, "wtf-csrf-token", issued - 7200).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Place {
    XCsrfToken,
    XCsrfTokenDash,
    XXsrfToken,
    JsonKey,
    /// Not read by Rampart: always "missing".
    Query,
}

const PLACES: [Place; 5] = [
    Place::XCsrfToken,
    Place::XCsrfTokenDash,
    Place::XXsrfToken,
    Place::JsonKey,
    Place::Query,
];

/// A state-changing endpoint, its body and how to see that nothing changed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    PatchDoc,
    Mutate,
    Fresh,
    Verify,
    Logout,
}

impl Target {
    fn request(self) -> (Method, &'static str, Value) {
        match self {
            Self::PatchDoc => (Method::PATCH, "/api/docs/1", json!({"title": "forged"})),
            Self::Mutate => (Method::POST, "/api/mutate", json!({})),
            Self::Fresh => (Method::POST, "/api/fresh", json!({})),
            Self::Verify => (Method::POST, "/verify", json!({"password": USER.1})),
            Self::Logout => (Method::POST, "/logout", json!({})),
        }
    }
}

async fn send(
    app: &App,
    t: Target,
    s: &Session,
    with_token: Option<&str>,
    place: Place,
    csrf: Option<&str>,
) -> Resp {
    let (method, path, mut body) = t.request();
    let path = match (place, csrf) {
        (Place::Query, Some(c)) => format!("{path}?csrf_token={}", pct(c)),
        _ => path.to_owned(),
    };
    if let (Place::JsonKey, Some(c)) = (place, csrf) {
        body["csrf_token"] = Value::String(c.to_owned());
    }
    let cred = match with_token {
        Some(tok) => Cred::SessionAndToken(s.clone(), tok.to_owned()),
        None => Cred::SessionNoCsrf(s.clone()),
    };
    let mut req = app.req(method, &path).accept_json().json(body).cred(&cred);
    if let Some(c) = csrf {
        req = match place {
            Place::XCsrfToken => req.header("X-CSRFToken", c),
            Place::XCsrfTokenDash => req.header("X-CSRF-Token", c),
            Place::XXsrfToken => req.header("X-XSRF-Token", c),
            Place::JsonKey | Place::Query => req,
        };
    }
    req.send().await
}

/// The state of every target, compared before and after a refusal.
async fn state(app: &App, s: &Session) -> (String, u16, u16) {
    let title = doc_title(&app.db, 1).await;
    let me = app.me(&Cred::SessionNoCsrf(s.clone())).await.status;
    let fresh = app
        .post("/api/fresh")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await
        .status;
    (title, me, fresh)
}

async fn csrf_table(db: Db) {
    let app = App::start_with(db, &[("SECURITY_LOGOUT_CSRF", "true")]).await;
    let s = app.login(USER).await;
    let tok = app.token(USER).await;
    let other = app.login(ADMIN).await;
    // Make the session stale so that a refused /verify would show as renewed freshness.
    let r = app
        .post("/api/test/stale")
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    let before = state(&app, &s).await;
    assert_eq!(before.1, 200, "signed in");
    assert_eq!(before.2, 401, "stale");
    let old = expired(&s.csrf);
    let mut f = Failures::default();
    let mut total = 0;
    for target in [
        Target::PatchDoc,
        Target::Mutate,
        Target::Fresh,
        Target::Verify,
        Target::Logout,
    ] {
        for token in [None, Some(tok.as_str())] {
            for place in PLACES {
                let cases: [(&str, Option<&str>, &str); 4] = [
                    ("missing", None, MISSING),
                    ("wrong", Some("not-a-csrf-token"), INVALID),
                    ("expired", Some(&old), EXPIRED),
                    ("another session's", Some(&other.csrf), MISMATCH),
                ];
                for (what, csrf, msg) in cases {
                    total += 1;
                    let want = if matches!(place, Place::Query) {
                        MISSING
                    } else {
                        msg
                    };
                    let r = send(&app, target, &s, token, place, csrf).await;
                    let row = format!("{target:?} token={} {place:?} {what}", token.is_some());
                    f.check(
                        &row,
                        is_envelope(&r, 400) && r.errors() == [want],
                        &format!("400 [{want:?}]"),
                        &r,
                    );
                }
            }
        }
    }
    let after = state(&app, &s).await;
    assert_eq!(before, after, "state changed by a refused request");
    // The XSRF cookie alone (naive double submit) is no token either.
    let mut jar = s.jar.clone();
    jar.0.insert("XSRF-TOKEN".into(), s.csrf.clone());
    let r = app
        .req(Method::PATCH, "/api/docs/1")
        .accept_json()
        .json(json!({"title": "forged"}))
        .cred(&Cred::Cookies(jar))
        .send()
        .await;
    f.check(
        "cookie only",
        is_envelope(&r, 400) && r.errors() == [MISSING],
        "400 missing",
        &r,
    );
    f.finish(total + 1);
    assert_eq!(doc_title(&app.db, 1).await, before.0);

    // Positive controls: the session's own token changes the state.
    for place in [
        Place::XCsrfToken,
        Place::XCsrfTokenDash,
        Place::XXsrfToken,
        Place::JsonKey,
    ] {
        let r = send(&app, Target::Mutate, &s, None, place, Some(&s.csrf)).await;
        assert_eq!(r.status, 200, "{place:?}: {r}");
    }
    let r = send(
        &app,
        Target::PatchDoc,
        &s,
        None,
        Place::XCsrfTokenDash,
        Some(&s.csrf),
    )
    .await;
    assert_eq!(r.json["title"], json!("forged"), "{r}");
    assert_eq!(doc_title(&app.db, 1).await, "forged");
    // Token-only callers need no CSRF token (Security Patterns).
    let r = app
        .req(Method::PATCH, "/api/docs/1")
        .accept_json()
        .json(json!({"title": "by token"}))
        .cred(&Cred::Header(tok.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    // /verify with the token renews freshness; logout with the token signs out.
    let r = send(
        &app,
        Target::Verify,
        &s,
        None,
        Place::XCsrfTokenDash,
        Some(&s.csrf),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(state(&app, &s).await.2, 200, "fresh after /verify");
    let r = send(
        &app,
        Target::Logout,
        &s,
        None,
        Place::XCsrfTokenDash,
        Some(&s.csrf),
    )
    .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(app.me(&Cred::SessionNoCsrf(s.clone())).await.status, 401);
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_table_state_unchanged_on_sqlite() {
    csrf_table(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn csrf_table_state_unchanged_on_postgres() {
    csrf_table(Db::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_requests_and_the_xsrf_cookie() {
    let app = App::start_with(
        Db::sqlite(),
        &[
            ("SECURITY_CSRF_COOKIE_NAME", "XSRF-TOKEN"),
            ("SECURITY_CSRF_COOKIE", r#"{"secure": false}"#),
        ],
    )
    .await;
    // GET /login sets the readable cookie.
    let g = app.get("/login").accept_json().send().await;
    let c = g
        .cookie("XSRF-TOKEN")
        .unwrap_or_else(|| panic!("no XSRF-TOKEN:\n{g}"))
        .clone();
    assert_eq!(c.attr("SameSite"), Some("Strict"));
    assert!(c.attr("HttpOnly").is_none());
    // Login re-issues it; an SPA sends it back in X-XSRF-Token.
    let r = app
        .login_resp(
            "",
            json!({"email": USER.0, "password": USER.1}),
            &Jar::default(),
        )
        .await;
    let s = session_of(&r, Jar::default());
    let xsrf = r
        .cookie("XSRF-TOKEN")
        .unwrap_or_else(|| panic!("no XSRF-TOKEN on login:\n{r}"))
        .value
        .clone();
    let title = doc_title(&app.db, 1).await;
    // A browser-marked cross-site request is refused even with the right token …
    for (k, v) in [
        ("Sec-Fetch-Site", "cross-site"),
        ("Origin", "https://evil.example"),
    ] {
        let r = app
            .req(Method::PATCH, "/api/docs/1")
            .accept_json()
            .header(k, v)
            .header("X-XSRF-Token", &xsrf)
            .json(json!({"title": "cross"}))
            .cred(&Cred::SessionNoCsrf(s.clone()))
            .send()
            .await;
        assert!(
            is_envelope(&r, 400) && r.errors() == [CROSS_SITE],
            "{k}: {r}"
        );
        assert_eq!(doc_title(&app.db, 1).await, title);
    }
    // … and so is a cross-site login (login CSRF).
    let r = app
        .post("/login")
        .accept_json()
        .header("Sec-Fetch-Site", "cross-site")
        .json(json!({"email": USER.0, "password": USER.1}))
        .send()
        .await;
    assert!(is_envelope(&r, 400) && r.errors() == [CROSS_SITE], "{r}");
    assert!(session_cookie(&r).is_none());
    // Same-origin with the cookie's value: accepted.
    let r = app
        .req(Method::PATCH, "/api/docs/1")
        .accept_json()
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-XSRF-Token", &xsrf)
        .json(json!({"title": "spa"}))
        .cred(&Cred::SessionNoCsrf(s.clone()))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(doc_title(&app.db, 1).await, "spa");
    // Logout deletes the cookie.
    let r = app
        .post("/logout")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(
        r.cookie("XSRF-TOKEN").is_some_and(SetCookie::is_removal),
        "{r}"
    );
    app.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_restores_freshness() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    app.post("/api/test/stale")
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    let r = app
        .post("/api/fresh")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(
        is_envelope(&r, 401) && r.json["response"]["reauth_required"] == json!(true),
        "{r}"
    );
    // Browsers are sent to re-verify (/us-verify: the demo has unified sign-in on).
    let r = app
        .post("/api/fresh")
        .browser()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("/us-verify?next=/api/fresh")),
        "{r}"
    );
    let r = app
        .get("/verify")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(
        is_envelope(&r, 200) && nonempty_str(&r.json["response"]["csrf_token"]),
        "{r}"
    );
    assert_eq!(
        r.json["response"]["has_webauthn_verify_credential"],
        json!(false)
    );
    assert_eq!(r.header("cache-control"), Some("private, no-store"), "{r}");
    let r = app
        .post("/verify")
        .accept_json()
        .json(json!({"password": "Wrong-horse-1"}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(
        r.json["response"]["field_errors"]["password"],
        json!([MSG_INVALID_PASSWORD]),
        "{r}"
    );
    let r = app
        .post("/verify?include_auth_token")
        .accept_json()
        .json(json!({"password": USER.1}))
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert!(is_envelope(&r, 200), "{r}");
    let token = r.json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post("/api/fresh")
        .accept_json()
        .cred(&Cred::Session(s.clone()))
        .send()
        .await;
    assert_eq!(r.json, json!({"ok": true, "fresh": true}), "{r}");
    let r = app
        .post("/api/fresh")
        .accept_json()
        .cred(&Cred::Header(token))
        .send()
        .await;
    assert_eq!(r.status, 200, "{r}");
    // Anonymous: 401.
    let r = app.get("/verify").accept_json().send().await;
    assert_eq!(r.status, 401);
    app.server.stop().await;
}

/// A sample of the corpus (the whole corpus runs in process through every carrier): the
/// Location of every answer stays on the origin.
#[tokio::test(flavor = "multi_thread")]
async fn redirect_corpus_through_verify_and_logout() {
    const PATTERNS: &[&str] = &[
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "https:evil.example",
        "http:\\\\evil.example",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "/%09/evil.example",
        "https://127.0.0.1@evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "//evil%E3%80%82example",
        "https://localhost:1/",
        "\u{ff0f}\u{ff0f}evil.example",
    ];
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let tok = app.token(USER).await;
    let mut f = Failures::default();
    let host_ok = |loc: &str| {
        let base = url_base(&app);
        base.join(loc).is_ok_and(|u| u.origin() == base.origin())
    };
    for p in PATTERNS {
        let r = app
            .post("/verify")
            .accept_json()
            .json(json!({"password": USER.1, "next": p}))
            .cred(&Cred::Header(tok.clone()))
            .send()
            .await;
        f.check(
            p,
            r.json["response"]["field_errors"]["next"]
                == json!(["Redirections outside the domain are forbidden"]),
            "400 next error",
            &r,
        );
        let r = app
            .post(&format!("/verify?next={}", pct(p)))
            .browser()
            .form(&[("password", USER.1), ("csrf_token", &s.csrf)])
            .cred(&Cred::SessionNoCsrf(s.clone()))
            .send()
            .await;
        f.check(
            p,
            r.header("location").is_none_or(&host_ok),
            "no off-site Location",
            &r,
        );
        let r = app
            .post("/logout")
            .browser()
            .form(&[("next", p)])
            .send()
            .await;
        f.check(
            p,
            r.header("location").is_some_and(&host_ok),
            "same-origin Location",
            &r,
        );
    }
    f.finish(PATTERNS.len() * 3);
    app.server.stop().await;
}

fn url_base(app: &App) -> reqwest::Url {
    reqwest::Url::parse(&format!("http://127.0.0.1:{}/", app.server.port)).unwrap()
}

/// Every kind of demo response carries the header set: 200, 302, 400, 401, 403, 404, 405
/// and a handler panic's 500.
#[tokio::test(flavor = "multi_thread")]
async fn every_demo_response_carries_the_header_set() {
    let app = App::start(Db::sqlite()).await;
    let s = app.login(USER).await;
    let cases: Vec<(Req<'_>, u16)> = vec![
        (app.get("/api/public"), 200),
        (app.get("/login").browser(), 200),
        (app.get("/api/me").browser(), 302),
        (
            app.post("/login")
                .accept_json()
                .json(json!({"email": USER.0, "password": "x"})),
            400,
        ),
        (app.get("/api/me").accept_json(), 401),
        (app.get("/api/basic").accept_json(), 401),
        (
            app.get("/api/admin")
                .accept_json()
                .cred(&Cred::Session(s.clone())),
            403,
        ),
        (app.get("/no/such/page").accept_json(), 404),
        (app.get("/api/docs/999").accept_json(), 405),
        (
            app.req(Method::PATCH, "/api/docs/999")
                .accept_json()
                .json(json!({"title": "t"}))
                .cred(&Cred::Session(s.clone())),
            404,
        ),
        (app.get("/api/test/panic").accept_json(), 500),
        (app.post("/api/test/panic").browser(), 500),
        (
            app.post("/logout")
                .browser()
                .cred(&Cred::Session(s.clone())),
            302,
        ),
    ];
    let mut f = Failures::default();
    let total = cases.len();
    let mut nonces = std::collections::HashSet::new();
    for (req, want) in cases {
        let r = req.send().await;
        let csp = r
            .header("content-security-policy")
            .unwrap_or_default()
            .to_owned();
        let ok = r.status == want
            && csp.contains("object-src 'none'")
            && csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            // A nonce only where the handler asked for one, and never twice.
            && (!csp.contains("'nonce-") || nonces.insert(csp.clone()))
            && r.header("x-content-type-options") == Some("nosniff")
            && r.header("x-frame-options") == Some("DENY")
            && r.header("referrer-policy").is_some()
            && r.header("permissions-policy").is_some()
            && r.header("cross-origin-opener-policy") == Some("same-origin");
        f.check(
            &format!("{want}"),
            ok,
            &format!("{want} with the header set (any nonce fresh)"),
            &r,
        );
        if want == 500 {
            f.check("500 body", r.json == json!({"meta": {"code": 500}, "response": {"errors": ["Internal Server Error"]}}), "500 envelope", &r);
        }
    }
    f.finish(total);
    // Still serving after the panics; a JSON answer's policy carries no nonce at all (none was
    // asked for), and is the same on every request.
    let a = app.get("/api/public").accept_json().send().await;
    let b = app.get("/api/public").accept_json().send().await;
    assert_eq!(a.status, 200);
    let csp = a.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("nonce"),
        "{csp}"
    );
    assert_eq!(b.header("content-security-policy"), Some(csp));
    app.server.stop().await;
}
