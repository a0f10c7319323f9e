//! The demo application's own endpoints (demo-contract.md), protected with Rampart's
//! extractors the way a real application would use them.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampart::extract::SessionOnly;
use rampart::session::{AuthSession, now_f64};
use rampart::{AuthRequired, FreshRequired, HttpAuthRequired, PermissionsRequired, RolesRequired};
use rampart_sqlx::SqlDatastore;
use serde_json::{Value, json};

use crate::documents;
use crate::openapi as ops;
use rampart::openapi::{ApiRouter, Verb};

rampart::names!(pub Admin = ["admin"]);
rampart::names!(pub AdminWrite = ["admin-write"]);

/// The demo's state: its database and, with `REDIS_URL`, its Redis connections.
#[derive(Clone)]
pub struct Demo {
    /// The SQL datastore (documents live beside the users).
    pub store: SqlDatastore,
    /// The Redis pool of the sessions and throttle counters, when `REDIS_URL` is set.
    pub redis: Option<rampart::redis_pool::RedisPool>,
}

/// The demo's home page template (`demo/index.html`).
pub const HOME_TEMPLATE: &str = include_str!("../templates/demo/index.html");

/// `GET /`: who is signed in, and a link to each flow.
async fn home(page: rampart::pages::PageContext) -> axum::response::Response {
    page.render(rampart::pages::Page::new("demo/index.html"))
        .await
}

/// The demo's routes, each with its OpenAPI description; `test_hooks` adds
/// `POST /api/test/stale`, `/api/test/panic` and `GET /api/test/slow`.
pub fn routes(demo: Demo, test_hooks: bool) -> ApiRouter {
    let mut r = ApiRouter::new()
        .route(ops::home(), home)
        .route(ops::healthz(), crate::health::healthz)
        .route(ops::public(), public)
        .route(ops::me(), me)
        .route(ops::admin(), admin)
        .route(ops::perm(), perm)
        .route(ops::basic(), basic)
        .route(ops::update_doc(), update_doc)
        .route(ops::fresh(), fresh)
        .route(ops::mutate(), mutate);
    #[cfg(feature = "scan-control")]
    {
        tracing::warn!(
            "scan build: the deliberately injectable {} is mounted",
            crate::scan_control::PATH
        );
        r = r.route(
            crate::scan_control::operation(),
            crate::scan_control::handler,
        );
    }
    if test_hooks {
        r = r
            .route(ops::stale(), stale)
            .route(ops::panic(Verb::Get), panic_hook)
            .route(ops::panic(Verb::Post), panic_hook)
            .route(ops::slow(), slow_hook);
    }
    r.with_state(demo)
}

/// Test hook: a handler bug, to show that a panic is answered with a 500 envelope that carries
/// the security headers (and that the server keeps serving).
#[allow(clippy::unused_async)]
async fn panic_hook() -> Response {
    panic!("test hook: deliberate panic")
}

/// Test hook: a request that takes 1.5 s, to show that SIGTERM lets in-flight requests
/// finish.
async fn slow_hook() -> Json<Value> {
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    Json(json!({"ok": true, "slow": true}))
}

/// The demo's replaced unauthorized answer ("Security Patterns"): always this JSON.
pub fn forbidden() -> Response {
    msgs(StatusCode::FORBIDDEN, "Not permitted with your privileges")
}

fn msgs(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"status": status.as_u16(), "msgs": [message]})),
    )
        .into_response()
}

async fn public() -> Json<Value> {
    Json(json!({"ok": true}))
}

/// The body of `GET /api/me`.
#[derive(serde::Serialize)]
struct Me<'a> {
    email: &'a str,
    roles: Vec<&'a str>,
    login_count: i32,
}

async fn me(user: AuthRequired) -> Response {
    let roles = match user.roles().await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let mut names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    Json(Me {
        email: &user.email,
        roles: names,
        login_count: user.login_count.unwrap_or(0),
    })
    .into_response()
}

async fn admin(_: AuthRequired, _: RolesRequired<Admin>) -> Json<Value> {
    Json(json!({"ok": true, "area": "admin"}))
}

async fn perm(_: AuthRequired, _: PermissionsRequired<AdminWrite>) -> Json<Value> {
    Json(json!({"ok": true, "permission": "admin-write"}))
}

async fn basic(user: HttpAuthRequired) -> Json<Value> {
    Json(json!({"email": user.email}))
}

async fn fresh(_: FreshRequired) -> Json<Value> {
    Json(json!({"ok": true, "fresh": true}))
}

async fn mutate(_: AuthRequired) -> Json<Value> {
    Json(json!({"ok": true, "mutated": true}))
}

async fn stale(user: AuthRequired<SessionOnly>, session: tower_sessions::Session) -> Response {
    let _ = &user;
    match AuthSession(session).set_fs_paa(now_f64() - 3600.0).await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => server_error(e),
    }
}

async fn update_doc(
    user: AuthRequired,
    State(demo): State<Demo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, Response> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(msgs(StatusCode::NOT_FOUND, "No such document"));
    };
    let title = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("title")?.as_str().map(str::to_owned))
        .filter(|t| !t.trim().is_empty() && t.chars().count() <= 255)
        .ok_or_else(|| {
            msgs(
                StatusCode::BAD_REQUEST,
                "A JSON body with a title (1 to 255 characters) is required",
            )
        })?;
    let doc = documents::find(&demo.store, id)
        .await
        .map_err(server_error)?
        .ok_or_else(|| msgs(StatusCode::NOT_FOUND, "No such document"))?;
    let is_admin = user.has_role("admin").await.map_err(server_error)?;
    if doc.owner_id != user.id && !is_admin {
        return Err(msgs(
            StatusCode::FORBIDDEN,
            "You can only update docs you own",
        ));
    }
    documents::set_title(&demo.store, id, &title)
        .await
        .map_err(server_error)?;
    let owner = if doc.owner_id == user.id {
        user.email.clone()
    } else {
        owner_email(&demo, doc.owner_id).await?
    };
    Ok(Json(json!({"id": doc.id, "title": title, "owner": owner})))
}

async fn owner_email(demo: &Demo, id: i64) -> Result<String, Response> {
    use rampart::datastore::UserDatastore as _;
    demo.store
        .find_user_by_id(id)
        .await
        .map_err(server_error)?
        .map(|u| u.email)
        .ok_or_else(|| msgs(StatusCode::NOT_FOUND, "No such document"))
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "demo endpoint failed");
    msgs(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service temporarily unavailable",
    )
}
