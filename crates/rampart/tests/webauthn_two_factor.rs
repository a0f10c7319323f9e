//! WebAuthn and two-factor in process, through the `TwoFactorHook` with a stand-in two-factor
//! module (session keys `tf_user_id` / `tf_state` set by a test route, as a password step
//! would): a `secondary` passkey completes the pending login, only the pending user's
//! credentials count, first-factor sign-ins without user verification go to the hook, and
//! `SECURITY_WAN_ALLOW_AS_FIRST_FACTOR = false` leaves `/wan-signin` to second factors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../rampart-cli/tests/webauthn/authenticator.rs"]
mod authenticator;
#[allow(dead_code)]
#[path = "request_security/support.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rampart::Security;
use rampart::datastore::UserDatastore as _;
use rampart::model::User;
use rampart::session::{AuthSession, SessionError};
use rampart::webauthn::{PendingSecondFactor, TwoFactorHook};
use serde_json::{Value, json};

use authenticator::{Authenticator, b64};
use support::*;

const ORIGIN: &str = "https://app.example.com";

#[derive(Default)]
struct StandIn {
    completed: AtomicUsize,
    entered: AtomicUsize,
}

#[async_trait::async_trait]
impl TwoFactorHook for StandIn {
    async fn pending(
        &self,
        _: &Security,
        session: &AuthSession,
    ) -> Result<Option<PendingSecondFactor>, SessionError> {
        let user = session.0.get::<String>("tf_user_id").await.ok().flatten();
        let state = session.0.get::<String>("tf_state").await.ok().flatten();
        Ok(user
            .filter(|_| state.as_deref() == Some("ready"))
            .map(|uniquifier| PendingSecondFactor {
                uniquifier,
                remember: false,
            }))
    }

    async fn complete(
        &self,
        _: &Security,
        session: &AuthSession,
        _: &User,
    ) -> Result<Option<axum::http::HeaderValue>, SessionError> {
        self.completed.fetch_add(1, Ordering::SeqCst);
        let _ = session.0.remove::<String>("tf_user_id").await;
        let _ = session.0.remove::<String>("tf_state").await;
        Ok(None)
    }

    async fn enter(
        &self,
        _: &Security,
        _: &AuthSession,
        _: &User,
        _: bool,
        _: bool,
    ) -> Option<Response> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let body = json!({"meta": {"code": 200}, "response": {"tf_required": true}});
        Some((StatusCode::OK, axum::Json(body)).into_response())
    }
}

/// The password step of a two-factor login: the session waits for `uniquifier`.
async fn pending(
    session: tower_sessions::Session,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> &'static str {
    session
        .insert("tf_user_id", q.get("u").cloned().unwrap_or_default())
        .await
        .unwrap();
    session.insert("tf_state", "ready").await.unwrap();
    "ok"
}

async fn whoami(user: rampart::AuthRequired) -> String {
    user.email.clone()
}

async fn start(first_factor: bool) -> (App, Arc<StandIn>) {
    let mut c = config();
    c.webauthn = true;
    c.wan.rp_id = Some("app.example.com".into());
    c.wan.origins = vec![ORIGIN.into()];
    c.wan.allow_as_first_factor = first_factor;
    let hook = Arc::new(StandIn::default());
    let h = hook.clone();
    let routes = Router::new()
        .route("/test/pending", post(pending))
        .route("/whoami", get(whoami));
    let app = app(c, move |b| b.webauthn_two_factor(h), routes).await;
    (app, hook)
}

async fn register(app: &App, email: &str, usage: &str) -> Authenticator {
    let (s, _) = login(&app.router, email, &Jar::default()).await;
    let r = Req::new("POST", "/wan-register")
        .jar(&s.jar)
        .header("X-CSRF-Token", &s.csrf)
        .json(&json!({"name": format!("{usage} key"), "usage": usage}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut auth = Authenticator::new("app.example.com", ORIGIN);
    let credential = auth.create(&r.json["response"]["credential_options"]);
    let state = r.json["response"]["wan_state"].as_str().unwrap();
    let r = Req::new("POST", &format!("/wan-register/{state}"))
        .jar(&s.jar)
        .header("X-CSRF-Token", &s.csrf)
        .json(&json!({"credential": credential.to_string()}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    auth
}

/// A browser that gave its password: a session waiting for the second factor of `email`.
async fn pending_session(app: &App, email: &str) -> Jar {
    let u = user(app, email).await.fs_uniquifier;
    let r = Req::new("POST", &format!("/test/pending?u={u}"))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let mut jar = Jar::default();
    jar.absorb(&r);
    jar
}

async fn signin(app: &App, jar: &Jar, auth: &mut Authenticator) -> (Resp, Value) {
    let r = Req::new("POST", "/wan-signin")
        .jar(jar)
        .json(&json!({}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let options = r.json["response"]["credential_options"].clone();
    let state = r.json["response"]["wan_state"].as_str().unwrap();
    let done = Req::new("POST", &format!("/wan-signin/{state}"))
        .jar(jar)
        .json(&json!({"credential": auth.get(&options).to_string()}))
        .send(&app.router)
        .await;
    (done, r.json)
}

#[tokio::test]
async fn secondary_passkey_completes_the_pending_login() {
    let (app, hook) = start(true).await;
    let mut second = register(&app, USER, "secondary").await;
    let mut others = register(&app, OTHER, "secondary").await;

    let jar = pending_session(&app, USER).await;
    let r = Req::new("GET", "/wan-signin")
        .jar(&jar)
        .accept_json()
        .send(&app.router)
        .await;
    assert_eq!(r.json["response"]["is_secondary"], true, "{r:?}");

    // Another user's secondary passkey does not complete USER's login.
    let (done, start) = signin(&app, &jar, &mut others).await;
    assert_eq!(
        start["response"]["credential_options"]["allowCredentials"][0]["id"],
        b64(&second.cred_id),
        "the pending user's credentials are offered"
    );
    assert_eq!(done.status, 400, "{done:?}");
    assert_eq!(hook.completed.load(Ordering::SeqCst), 0);

    let (done, _) = signin(&app, &jar, &mut second).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(hook.completed.load(Ordering::SeqCst), 1);
    let mut jar = jar;
    jar.absorb(&done);
    let me = Req::new("GET", "/whoami")
        .jar(&jar)
        .accept_json()
        .send(&app.router)
        .await;
    assert_eq!(me.status, 200, "signed in after the second factor: {me:?}");
}

#[tokio::test]
async fn first_factor_without_user_verification_asks_two_factor() {
    let (app, hook) = start(true).await;
    let mut first = register(&app, USER, "first").await;
    first.uv = false;
    let (done, _) = signin(&app, &Jar::default(), &mut first).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.json["response"]["tf_required"], true, "{done:?}");
    assert_eq!(hook.entered.load(Ordering::SeqCst), 1);
    let mut jar = Jar::default();
    jar.absorb(&done);
    let me = Req::new("GET", "/whoami")
        .jar(&jar)
        .accept_json()
        .send(&app.router)
        .await;
    assert_eq!(me.status, 401, "not signed in yet: {me:?}");

    // With user verification the passkey is multi-factor: signed in at once.
    first.uv = true;
    let (done, _) = signin(&app, &Jar::default(), &mut first).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.json["response"]["tf_required"], false, "{done:?}");
    assert_eq!(hook.entered.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn first_factor_off_leaves_second_factors() {
    let (app, _) = start(false).await;
    let r = Req::new("POST", "/wan-signin")
        .json(&json!({}))
        .send(&app.router)
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    let mut second = register(&app, USER, "first").await;
    let rows = app
        .store
        .webauthn_of(user(&app, USER).await.id)
        .await
        .unwrap();
    assert_eq!(rows[0].usage, "secondary", "forced to secondary");
    let jar = pending_session(&app, USER).await;
    let (done, _) = signin(&app, &jar, &mut second).await;
    assert_eq!(done.status, 200, "{done:?}");
}
