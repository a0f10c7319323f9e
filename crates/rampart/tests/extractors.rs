//! Every extractor × every mechanism × caller state, in process (HTTP in, HTTP out through the
//! real router, layers and SQLite store), including the ones the demo does not use:
//! `RolesAccepted`, `PermissionsAccepted`, `AuthTokenRequired`, `AnonymousRequired`,
//! `OptionalUser`, a custom unauthenticated handler, and 403 for anonymous role checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use rampart::datastore::UserDatastore;
use rampart::extract::AnyMechanism;
use rampart::model::{NewRole, NewUser};
use rampart::password::{Argon2Params, PasswordConfig, PasswordEngine, SingleHash};
use rampart::{
    AnonymousRequired, AuthRequired, AuthTokenRequired, HttpAuthRequired, OptionalUser,
    PermissionsAccepted, PermissionsRequired, RolesAccepted, RolesRequired, Security,
    SecurityConfig,
};
use tower::ServiceExt as _;

rampart::names!(AdminOrEditor = ["admin", "editor"]);
rampart::names!(AdminAndEditor = ["admin", "editor"]);
rampart::names!(WriteOrRead = ["write", "read"]);
rampart::names!(Write = ["write"]);

const PW: &str = "correct-horse-battery-9";

fn config() -> SecurityConfig {
    let mut c = SecurityConfig::default();
    c.secret_key = Some(rampart::config::Secret::new("extractor-test-key"));
    c.password = PasswordConfig {
        single_hash: SingleHash::All,
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..PasswordConfig::default()
    };
    c.csrf_protect_mechanisms = vec![rampart::Mechanism::Session];
    c.csrf_ignore_unauth_endpoints = true;
    c
}

/// The application under test, as [`Security::install`] or [`Security::wrap`] made it.
type App = tower::util::BoxCloneSyncService<Request<Body>, axum::response::Response, Infallible>;

/// How the security layers are put around the routes.
#[derive(Clone, Copy, Debug)]
enum Mount {
    /// [`Security::install`]: around each route.
    Install,
    /// [`Security::wrap`]: around the whole router.
    Wrap,
}

async fn app_with(mount: Mount) -> (App, rampart_tests::StoreGuard) {
    let (store, guard) = rampart_tests::sqlite_store().await;
    let c = config();
    let engine = PasswordEngine::new(c.password.clone()).unwrap();
    for (name, perms) in [("admin", vec!["write", "read"]), ("editor", vec!["read"])] {
        let permissions = perms.into_iter().map(str::to_owned).collect();
        store
            .create_role(NewRole {
                name: name.into(),
                description: None,
                permissions,
            })
            .await
            .unwrap();
    }
    for (email, roles, active) in [
        ("admin@x.io", vec!["admin", "editor"], true),
        ("editor@x.io", vec!["editor"], true),
        ("plain@x.io", vec![], true),
        ("off@x.io", vec!["admin"], false),
    ] {
        let hash = engine.hash(PW).await.unwrap();
        store
            .create_user(NewUser {
                email: email.into(),
                password_hash: Some(hash),
                active,
                roles: roles.into_iter().map(str::to_owned).collect(),
                ..NewUser::default()
            })
            .await
            .unwrap();
    }
    let security = Security::builder(c, Arc::new(store.clone()), store.session_store())
        .unauthn_handler(|ctx| {
            (
                StatusCode::UNAUTHORIZED,
                format!("custom unauthn via {:?}", ctx.mechanisms),
            )
                .into_response()
        })
        .build()
        .unwrap();
    let routes = Router::new()
        .route(
            "/auth",
            get(|u: AuthRequired| async move { u.email.clone() }),
        )
        .route(
            "/any",
            get(|u: AuthRequired<AnyMechanism>| async move { u.email.clone() }),
        )
        .route(
            "/token",
            get(|u: AuthTokenRequired| async move { u.email.clone() }),
        )
        .route(
            "/basic",
            get(|u: HttpAuthRequired| async move { u.email.clone() }),
        )
        .route(
            "/roles-req",
            get(|_: RolesRequired<AdminAndEditor>| async { "ok" }),
        )
        .route(
            "/roles-acc",
            get(|_: RolesAccepted<AdminOrEditor>| async { "ok" }),
        )
        .route(
            "/perm-req",
            get(|_: PermissionsRequired<Write>| async { "ok" }),
        )
        .route(
            "/perm-acc",
            get(|_: PermissionsAccepted<WriteOrRead>| async { "ok" }),
        )
        .route("/anon", get(|_: AnonymousRequired| async { "anon" }))
        .route(
            "/maybe",
            get(|OptionalUser(u): OptionalUser| async move {
                u.map_or_else(|| "nobody".to_owned(), |u| u.email.clone())
            }),
        )
        .route(
            "/write",
            post(|u: AuthRequired| async move { u.email.clone() }),
        );
    let app = match mount {
        Mount::Install => App::new(security.install(routes)),
        Mount::Wrap => App::new(security.wrap(routes)),
    };
    (app, guard)
}

#[derive(Clone, Debug)]
enum Cred {
    None,
    Token(String),
    Session(String, String),
    Basic(&'static str, &'static str),
}

async fn call(app: &App, method: &str, path: &str, cred: &Cred, json: bool) -> (u16, String) {
    let mut req = Request::builder().method(method).uri(path);
    if json {
        req = req.header(header::ACCEPT, "application/json");
    }
    req = match cred {
        Cred::None => req,
        Cred::Token(t) => req.header("Authentication-Token", t),
        Cred::Session(cookie, _) => req.header(header::COOKIE, cookie),
        Cred::Basic(u, p) => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req.header(header::AUTHORIZATION, format!("Basic {b64}"))
        }
    };
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Logs in with JSON; returns the session cookie, its CSRF token and an auth token.
async fn login(app: &App, email: &str) -> (Cred, Cred) {
    let body = serde_json::json!({"email": email, "password": PW}).to_string();
    let req = Request::builder()
        .method("POST")
        .uri("/login?include_auth_token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "login {email}");
    let cookie = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("session cookie");
    let json: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    let csrf = json["response"]["csrf_token"].as_str().unwrap().to_owned();
    let token = json["response"]["user"]["authentication_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (Cred::Session(cookie, csrf), Cred::Token(token))
}

#[tokio::test]
async fn extractor_table() {
    extractor_table_with(Mount::Install).await;
}

/// The same decisions when the layers wrap the whole router instead of each route.
#[tokio::test]
async fn extractor_table_wrapped() {
    extractor_table_with(Mount::Wrap).await;
}

async fn extractor_table_with(mount: Mount) {
    let (app, _guard) = app_with(mount).await;
    let (admin_s, admin_t) = login(&app, "admin@x.io").await;
    let (editor_s, editor_t) = login(&app, "editor@x.io").await;
    let (plain_s, _) = login(&app, "plain@x.io").await;
    let admin_b = Cred::Basic("admin@x.io", PW);
    let off_b = Cred::Basic("off@x.io", PW);
    let wrong_b = Cred::Basic("admin@x.io", "wrong-password-123");
    let mut tampered = match &admin_t {
        Cred::Token(t) => t.clone(),
        _ => unreachable!(),
    };
    tampered.insert(5, 'x');
    let tampered = Cred::Token(tampered);
    let none = Cred::None;
    let custom = "custom unauthn";

    // (path, credentials, want status, body must contain)
    #[rustfmt::skip]
    let rows: Vec<(&str, &Cred, u16, &str)> = vec![
        ("/auth", &none, 401, custom),
        ("/auth", &admin_t, 200, "admin@x.io"),
        ("/auth", &editor_s, 200, "editor@x.io"),
        ("/auth", &admin_b, 401, custom),            // Basic is not a default mechanism
        ("/auth", &tampered, 401, custom),
        ("/any", &admin_b, 200, "admin@x.io"),
        ("/any", &off_b, 401, custom),               // inactive
        ("/any", &wrong_b, 401, custom),
        ("/any", &editor_t, 200, "editor@x.io"),
        ("/token", &admin_t, 200, "admin@x.io"),
        ("/token", &admin_s, 401, custom),           // session does not count
        ("/basic", &admin_b, 200, "admin@x.io"),
        ("/basic", &admin_t, 401, custom),
        ("/roles-req", &none, 403, "permission"),    // anonymous: 403, as Flask-Security
        ("/roles-req", &admin_t, 200, "ok"),
        ("/roles-req", &editor_t, 403, "permission"),
        ("/roles-acc", &editor_s, 200, "ok"),
        ("/roles-acc", &plain_s, 403, "permission"),
        ("/perm-req", &admin_s, 200, "ok"),
        ("/perm-req", &editor_s, 403, "permission"),
        ("/perm-acc", &editor_t, 200, "ok"),
        ("/perm-acc", &plain_s, 403, "permission"),
        ("/anon", &none, 200, "anon"),
        ("/anon", &admin_t, 400, "when not logged in"),
        ("/maybe", &none, 200, "nobody"),
        ("/maybe", &editor_t, 200, "editor@x.io"),
        ("/maybe", &tampered, 200, "nobody"),
    ];
    let mut failures = Vec::new();
    for (path, cred, want, needle) in &rows {
        let (status, body) = call(&app, "GET", path, cred, true).await;
        if status != *want || !body.contains(needle) {
            failures.push(format!(
                "{path} {cred:?}: want {want} {needle:?}, got {status} {body}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );

    // CSRF: the session mechanism needs the token on POST, the token mechanism does not.
    let (status, body) = call(&app, "POST", "/write", &admin_s, true).await;
    assert_eq!(
        (status, body.contains("The CSRF token is missing.")),
        (400, true),
        "{body}"
    );
    assert_eq!(call(&app, "POST", "/write", &admin_t, true).await.0, 200);
    let Cred::Session(cookie, csrf) = &admin_s else {
        unreachable!()
    };
    let req = Request::builder()
        .method("POST")
        .uri("/write")
        .header(header::COOKIE, cookie)
        .header("X-CSRF-Token", csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::OK
    );
}

/// Every response carries the security headers: success, 401, 403, 404, 400 and redirects.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    security_headers_on_every_response(Mount::Install).await;
}

/// The same when the layers wrap the whole router (the 404 of an unknown path included).
#[tokio::test]
async fn every_wrapped_response_carries_the_security_headers() {
    security_headers_on_every_response(Mount::Wrap).await;
}

async fn security_headers_on_every_response(mount: Mount) {
    let (app, _guard) = app_with(mount).await;
    let (session, _) = login(&app, "editor@x.io").await;
    let cases: Vec<(&str, &str, Cred, bool, u16)> = vec![
        ("GET", "/maybe", Cred::None, true, 200),
        ("GET", "/auth", Cred::None, true, 401),
        ("GET", "/roles-req", session.clone(), true, 403),
        ("GET", "/no-such-route", Cred::None, true, 404),
        ("POST", "/write", session.clone(), true, 400),
        // A browser's CSRF refusal: the template's page replaces the plain body.
        ("POST", "/write", session.clone(), false, 400),
        ("GET", "/login", Cred::None, false, 200),
        ("POST", "/logout", session, false, 302),
    ];
    let mut nonces = std::collections::HashSet::new();
    for (method, path, cred, json, want) in cases {
        let mut req = Request::builder().method(method).uri(path);
        if json {
            req = req.header(header::ACCEPT, "application/json");
        }
        if let Cred::Session(cookie, _) = &cred {
            req = req.header(header::COOKIE, cookie);
        }
        let resp = app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), want, "{method} {path}");
        let h = resp.headers();
        let csp = h
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
            "{method} {path}: {csp:?}"
        );
        assert!(
            !csp.contains("'nonce-") || nonces.insert(csp.to_owned()),
            "nonce reused on {method} {path}"
        );
        assert_eq!(
            h.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path}"
        );
        assert_eq!(
            h.get(header::X_FRAME_OPTIONS).map(|v| v.as_bytes()),
            Some(&b"DENY"[..]),
            "{path}"
        );
        assert!(h.get(header::REFERRER_POLICY).is_some(), "{path}");
        assert!(h.get("cross-origin-opener-policy").is_some(), "{path}");
        // A declared length must be the body's: a server cuts the connection otherwise.
        let declared = h
            .get(header::CONTENT_LENGTH)
            .map(|v| v.to_str().unwrap().parse::<usize>().unwrap());
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        if let Some(n) = declared {
            assert_eq!(
                n,
                body.len(),
                "Content-Length of {method} {path} (json {json})"
            );
        }
    }
}

/// Decisions of the login path seen from outside: a password stored with a deprecated scheme is
/// rehashed to argon2id at login, `X-Forwarded-For` is not trusted without configured proxies,
/// and a forged remember-me cookie signs nobody in and is deleted.
#[tokio::test]
async fn login_rehash_forwarded_for_and_forged_remember_cookie() {
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let c = config();
    let bcrypt = PasswordEngine::new(PasswordConfig {
        hash_scheme: rampart::password::HashScheme::Bcrypt,
        ..c.password.clone()
    })
    .unwrap();
    let old = store
        .create_user(NewUser {
            email: "old@x.io".into(),
            password_hash: Some(bcrypt.hash(PW).await.unwrap()),
            active: true,
            ..NewUser::default()
        })
        .await
        .unwrap();
    assert!(old.password.as_deref().unwrap().starts_with("$2b$"));
    let mut cfg = c.clone();
    cfg.trackable = true;
    let sec = Security::builder(cfg, Arc::new(store.clone()), store.session_store())
        .build()
        .unwrap();
    let app = sec.install(Router::new().route(
        "/auth",
        get(|u: AuthRequired| async move { u.email.clone() }),
    ));

    let body =
        serde_json::json!({"email": "old@x.io", "password": PW, "remember": true}).to_string();
    let req = Request::builder()
        .method("POST")
        .uri("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Forwarded-For", "6.6.6.6")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let remember = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("remember_token="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("remember cookie");
    let after = store.find_user_by_id(old.id).await.unwrap().unwrap();
    assert!(
        after.password.as_deref().unwrap().starts_with("$argon2id$"),
        "rehashed at login"
    );
    assert_ne!(
        after.current_login_ip.as_deref(),
        Some("6.6.6.6"),
        "X-Forwarded-For must not be trusted"
    );

    // The genuine cookie alone signs the user in again; a forged one does not and is deleted.
    let with = |cookie: &str| {
        Request::builder()
            .uri("/auth")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        app.clone().oneshot(with(&remember)).await.unwrap().status(),
        StatusCode::OK
    );
    let forged = format!("remember_token={}|{}", after.fs_uniquifier, "0".repeat(128));
    let resp = app.clone().oneshot(with(&forged)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let cleared = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("remember_token=;") && v.contains("Max-Age=0"));
    assert!(cleared, "a dead remember cookie is deleted");
}

/// `Security` and `ClientAddr` are extractors for the application's own handlers: the client
/// address honours `SECURITY_TRUSTED_PROXIES`, and without the layer `Security` is a wiring
/// error (500), not a panic.
#[tokio::test]
async fn security_and_client_addr_extractors() {
    use rampart::authn::ClientAddr;
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let handler = || {
        get(|sec: Security, ClientAddr(addr): ClientAddr| async move {
            format!("{} {addr:?}", sec.config().session_cookie_name)
        })
    };
    let text = |app: Router, forwarded: &'static str| async move {
        let req = Request::builder()
            .uri("/h")
            .header("X-Forwarded-For", forwarded)
            .body(Body::empty())
            .unwrap();
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 4096).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    };
    for (proxies, want) in [(0, "session None"), (1, "session Some(203.0.113.9)")] {
        let mut c = config();
        c.trusted_proxies = proxies;
        let sec = Security::builder(c, Arc::new(store.clone()), store.session_store())
            .build()
            .unwrap();
        let app = sec.install(Router::new().route("/h", handler()));
        assert_eq!(
            text(app, "203.0.113.9").await,
            (StatusCode::OK, want.to_owned())
        );
    }
    let bare = Router::new().route("/h", handler());
    assert_eq!(
        text(bare, "203.0.113.9").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
