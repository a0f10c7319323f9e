//! `GET /healthz`: whether this instance can reach its database (and Redis when it uses one),
//! for load balancers and orchestrators.
//!
//! `200 {"ok": true, "database": "ok", "redis": "ok"|"unused"}` when every backend answers
//! within a second, else `503` with the envelope
//! `{"status": 503, "msgs": ["Service temporarily unavailable"], "database": …, "redis": …}`
//! where each backend is `"ok"`, `"unused"` or `"unavailable"`. The reasons go to the log,
//! never to the answer. No authentication: it tells nothing about users.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::Demo;

/// How long each backend may take to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The handler of `GET /healthz`.
pub async fn healthz(State(demo): State<Demo>) -> Response {
    let (database, redis) = tokio::join!(database(&demo), redis(&demo));
    let healthy = database != "unavailable" && redis != "unavailable";
    if healthy {
        return Json(json!({"ok": true, "database": database, "redis": redis})).into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": 503,
            "msgs": ["Service temporarily unavailable"],
            "database": database,
            "redis": redis,
        })),
    )
        .into_response()
}

async fn database(demo: &Demo) -> &'static str {
    let probe = async {
        if let Some(pool) = demo.store.sqlite_pool() {
            sqlx::query("SELECT 1").execute(pool).await.map(drop)
        } else if let Some(pool) = demo.store.postgres_pool() {
            sqlx::query("SELECT 1").execute(pool).await.map(drop)
        } else {
            Ok(())
        }
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            "unavailable"
        }
    }
}

async fn redis(demo: &Demo) -> &'static str {
    let Some(pool) = &demo.redis else {
        return "unused";
    };
    match tokio::time::timeout(PROBE_TIMEOUT, pool.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: Redis unavailable");
            "unavailable"
        }
        Err(_) => {
            tracing::warn!("health check: Redis did not answer in time");
            "unavailable"
        }
    }
}
