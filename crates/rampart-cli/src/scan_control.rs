//! The injection scan's positive control (cargo feature `scan-control`, off by default):
//! `GET /api/scan-control?title=…` pastes `title` into SQL text (`… WHERE title <> '…'`, so
//! that a true and a false condition give different counts), the bug the scan must find.
//! `scripts/sqlmap-scan.sh` builds it in and fails unless sqlmap reports it injectable, so a
//! clean scan of the real endpoints means "tested", not "tested nothing". Never in a release:
//! `rampart check` reports a binary built with it as unsafe.

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use rampart::openapi::{Field, Operation, Verb};
use serde_json::json;

use crate::api::Demo;

/// The control's path.
pub const PATH: &str = "/api/scan-control";

/// Its OpenAPI description.
pub fn operation() -> Operation {
    Operation::new(
        Verb::Get,
        PATH,
        "Scan build only: a deliberately injectable query",
    )
    .tag("scan control")
    .query(&[Field::text("title")])
    .answers(
        200,
        "How many documents have another title",
        json!({"type": "object"}),
    )
    .answers(400, "The query failed", json!({"type": "object"}))
}

/// Query string of the control.
#[derive(serde::Deserialize)]
pub struct Params {
    title: Option<String>,
}

/// DELIBERATELY INJECTABLE: the title is concatenated into the SQL.
pub async fn handler(State(demo): State<Demo>, Query(p): Query<Params>) -> Response {
    let title = p.title.unwrap_or_default();
    let sql = format!("SELECT COUNT(*) FROM document WHERE title <> '{title}'");
    let count: Result<i64, sqlx::Error> = if let Some(pool) = demo.store.sqlite_pool() {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
    } else if let Some(pool) = demo.store.postgres_pool() {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
    } else {
        Ok(0)
    };
    match count {
        Ok(n) => Json(json!({"count": n})).into_response(),
        Err(_) => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "query failed"})),
        )
            .into_response(),
    }
}
