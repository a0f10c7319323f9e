//! The account lifecycle in process (HTTP in, HTTP out through the real router and a real
//! SQLite store): events arrive for registration, confirmation and login; the builder refuses
//! mail features without a mailer or `SERVER_NAME`; templates and subjects can be replaced in
//! code. Emails go to a capturing [`Mailer`] (a unit-level stand-in; the black-box suite
//! drives a real SMTP exchange).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rampart::events::Event;
use rampart::mail::{Email, EmailKind, MailError, Mailer, Templates};
use rampart::password::{Argon2Params, PasswordConfig, SingleHash};
use rampart::security::BuildError;
use rampart::{Security, SecurityConfig};
use tower::ServiceExt as _;

#[derive(Default)]
struct Capture(Mutex<Vec<Email>>);

#[async_trait::async_trait]
impl Mailer for Capture {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
    fn describe(&self) -> String {
        "capture".into()
    }
}

fn config() -> SecurityConfig {
    let mut c = SecurityConfig::default();
    c.secret_key = Some(rampart::config::Secret::new("lifecycle-test-key"));
    c.password = PasswordConfig {
        single_hash: SingleHash::All,
        argon2: Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..PasswordConfig::default()
    };
    c.registerable = true;
    c.confirmable = true;
    c.csrf_ignore_unauth_endpoints = true;
    c.lifecycle.server_name = Some("app.example.test".into());
    c
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "application/json");
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        location.unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
    )
}

#[tokio::test]
async fn events_templates_and_build_checks() {
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let capture = Arc::new(Capture::default());
    let templates = Templates::default()
        .with_template(
            "welcome.txt",
            "Hi {{ user.email }}: {{ confirmation_link }}",
        )
        .unwrap()
        .with_subject(EmailKind::Welcome, "Hello from the app");
    let security = Security::builder(config(), Arc::new(store.clone()), store.session_store())
        .mailer(capture.clone())
        .email_templates(templates)
        .build()
        .unwrap();
    let mut events = security.events().subscribe();
    let app = security.install(Router::new());

    let body = serde_json::json!({"email": "ev@example.com", "password": "correct-horse-9", "password_confirm": "correct-horse-9"});
    let (status, text) = send(&app, "POST", "/register", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let Ok(Ok(Event::UserRegistered {
        email,
        confirmation_sent,
        ..
    })) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await
    else {
        panic!("no UserRegistered event")
    };
    assert_eq!(email, "ev@example.com");
    assert!(confirmation_sent);

    // The capturing mailer got the overridden template and subject.
    let mut mail = None;
    for _ in 0..200 {
        mail = capture.0.lock().unwrap().first().cloned();
        if mail.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mail = mail.expect("no email");
    assert_eq!(mail.subject, "Hello from the app");
    let text = mail.text.unwrap_or_default();
    let link = text
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        link.starts_with("http://app.example.test/confirm/"),
        "{text}"
    );

    let (status, location) = send(
        &app,
        "GET",
        link.trim_start_matches("http://app.example.test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FOUND, "{location}");
    let Ok(Ok(Event::UserConfirmed { .. })) =
        tokio::time::timeout(Duration::from_secs(5), events.recv()).await
    else {
        panic!("no UserConfirmed event")
    };
    let body = serde_json::json!({"email": "ev@example.com", "password": "correct-horse-9"});
    let (status, text) = send(&app, "POST", "/login", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let Ok(Ok(Event::UserAuthenticated { authn_via, .. })) =
        tokio::time::timeout(Duration::from_secs(5), events.recv()).await
    else {
        panic!("no UserAuthenticated event")
    };
    assert_eq!(authn_via, "password");

    // Mail features need a mailer and SERVER_NAME.
    let no_mailer =
        Security::builder(config(), Arc::new(store.clone()), store.session_store()).build();
    assert!(
        matches!(no_mailer, Err(BuildError::MissingMailer(_))),
        "{no_mailer:?}"
    );
    let mut c = config();
    c.lifecycle.server_name = None;
    let no_host = Security::builder(c, Arc::new(store.clone()), store.session_store())
        .mailer(capture.clone())
        .build();
    assert!(
        matches!(no_host, Err(BuildError::MissingServerName(_))),
        "{no_host:?}"
    );
    // Without the features, none of their routes exist.
    let mut c = config();
    c.registerable = false;
    c.confirmable = false;
    let plain = Security::builder(c, Arc::new(store.clone()), store.session_store())
        .build()
        .unwrap()
        .install(Router::new());
    assert_eq!(
        send(&plain, "GET", "/register", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn configuration_keys() {
    let loaded = SecurityConfig::from_toml_and_env(
        Some(
            "SECURITY_PASSWORD_SINGLE_HASH = true\nSERVER_NAME = \"example.com:8443\"\n\
             PREFERRED_URL_SCHEME = \"https\"\nSECURITY_REDIRECT_BEHAVIOR = \"spa\"\n\
             SECURITY_POST_CONFIRM_VIEW = \"https://ui.example.com/confirmed\"\n\
             SECURITY_MSG_INVALID_PASSWORD = [\"Wrong password\", \"error\"]\n\
             SECURITY_EMAIL_SUBJECT_REGISTER = \"Hi\"\nSECURITY_CONFIRM_EMAIL_WITHIN = \"3 days\"",
        ),
        [],
    )
    .unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let l = &loaded.config.lifecycle;
    assert_eq!(
        l.external_base().as_deref(),
        Some("https://example.com:8443")
    );
    assert!(l.redirect_spa);
    assert_eq!(
        l.view("POST_CONFIRM_VIEW"),
        Some("https://ui.example.com/confirmed")
    );
    assert_eq!(
        l.messages.get("INVALID_PASSWORD").map(String::as_str),
        Some("Wrong password")
    );
    assert_eq!(
        l.email_subjects
            .get("SECURITY_EMAIL_SUBJECT_REGISTER")
            .map(String::as_str),
        Some("Hi")
    );
    assert_eq!(l.confirm_email_within_secs, 3 * 86_400);
    for (toml, key) in [
        ("SERVER_NAME = \"http://x\"", "SERVER_NAME"),
        (
            "SECURITY_REDIRECT_BEHAVIOR = \"redirect\"",
            "SECURITY_REDIRECT_BEHAVIOR",
        ),
        (
            "SECURITY_RESET_VIEW = \"javascript:alert(1)\"",
            "SECURITY_RESET_VIEW",
        ),
        (
            "SECURITY_RESET_PASSWORD_WITHIN = 0",
            "SECURITY_RESET_PASSWORD_WITHIN",
        ),
    ] {
        let text = format!("SECURITY_PASSWORD_SINGLE_HASH = true\n{toml}");
        match SecurityConfig::from_toml_and_env(Some(&text), []) {
            Err(rampart::config::ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{toml}: {other:?}"),
        }
    }
}

/// Without `SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS`, the anonymous endpoints want the CSRF token
/// (Flask-Security's `unauth_csrf`), from the JSON body or a header.
#[tokio::test]
async fn unauthenticated_endpoints_check_csrf() {
    let (store, _guard) = rampart_tests::sqlite_store().await;
    let mut c = config();
    c.recoverable = true;
    c.csrf_ignore_unauth_endpoints = false;
    let security = Security::builder(c, Arc::new(store.clone()), store.session_store())
        .mailer(Arc::new(Capture::default()))
        .build()
        .unwrap();
    let app = security.install(Router::new());
    let body = serde_json::json!({"email": "nobody@example.com"});
    let (status, text) = send(&app, "POST", "/reset", Some(body.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["response"]["field_errors"]["csrf_token"][0],
        "The CSRF token is missing."
    );

    // The token from GET /reset, with its session cookie, passes.
    let req = Request::get("/reset")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let cookie = resp
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let token = v["response"]["csrf_token"].as_str().unwrap().to_owned();
    let req = Request::post("/reset")
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, cookie)
        .header("X-CSRF-Token", token)
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // Past CSRF: now the ordinary "no such user" answer.
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        v["response"]["field_errors"]["email"][0],
        "Specified user does not exist"
    );
}
