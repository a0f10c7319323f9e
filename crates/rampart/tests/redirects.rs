//! The open-redirect corpus: every known bypass pattern is refused by `redirect::is_safe` and
//! through each carrier of `next` on `/login` (query, form, JSON), with Flask-Security's 400
//! field error for JSON and no redirect anywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use rampart::{Security, SecurityConfig};
use tower::ServiceExt as _;

#[path = "request_security/corpus.rs"]
mod corpus;
use corpus::BYPASSES;

const HOST: &str = "app.example.com";

#[test]
fn every_bypass_is_refused_by_the_validator() {
    assert!(BYPASSES.len() >= 40);
    let accepted: Vec<&&str> = BYPASSES
        .iter()
        .filter(|p| rampart::redirect::is_safe(p, Some(HOST)))
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
    for ok in [
        "/",
        "/dashboard",
        "/a/b?c=d#e",
        "/search?q=a%20b",
        "https://app.example.com/x",
    ] {
        assert!(rampart::redirect::is_safe(ok, Some(HOST)), "{ok}");
    }
}

async fn app() -> (Router, rampart_tests::StoreGuard) {
    let (store, guard) = rampart_tests::sqlite_store().await;
    let mut c = SecurityConfig::default();
    c.secret_key = Some(rampart::config::Secret::new("redirect-test-key"));
    c.password.single_hash = rampart::password::SingleHash::All;
    c.csrf_ignore_unauth_endpoints = true;
    let sec = Security::builder(c, Arc::new(store.clone()), store.session_store())
        .build()
        .unwrap();
    (sec.install(Router::new()), guard)
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn every_bypass_is_refused_through_each_carrier() {
    let (app, _guard) = app().await;
    let mut failures = Vec::new();
    for pattern in BYPASSES {
        for carrier in ["query", "form", "json"] {
            let mut uri = "/login".to_owned();
            let creds = "email=nobody%40example.com&password=whatever-123";
            let (ct, body) = match carrier {
                "query" => {
                    uri = format!("/login?next={}", urlencode(pattern));
                    ("application/json", serde_json::json!({"email": "nobody@example.com", "password": "whatever-123"}).to_string())
                }
                "form" => ("application/x-www-form-urlencoded", format!("{creds}&next={}", urlencode(pattern))),
                _ => ("application/json", serde_json::json!({"email": "nobody@example.com", "password": "whatever-123", "next": pattern}).to_string()),
            };
            let req = Request::builder()
                .method("POST")
                .uri(&uri)
                .header(header::HOST, HOST)
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body))
                .unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let location = resp.headers().get(header::LOCATION).cloned();
            let text = String::from_utf8_lossy(
                &axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap(),
            )
            .into_owned();
            let json_ok = carrier == "form"
                || (status == 400
                    && text
                        .contains(r#""next":["Redirections outside the domain are forbidden"]"#));
            let form_ok = carrier != "form"
                || (status == 200
                    && text.contains("Redirections outside the domain are forbidden"));
            if location.is_some() || !json_ok || !form_ok {
                failures.push(format!(
                    "{pattern:?} via {carrier}: {status} {location:?} {text}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
