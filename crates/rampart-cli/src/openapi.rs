//! The OpenAPI descriptions of the demo's own endpoints (demo-contract.md), and the document
//! of the whole server served at `GET /openapi.json`.

use std::sync::Arc;

use axum::Json;
use axum::response::IntoResponse;
use rampart::openapi::{ApiRouter, Field, Operation, Verb, envelope_schema};
use serde_json::{Value, json};

/// Where the document is served.
pub const PATH: &str = "/openapi.json";

/// `{"status": N, "msgs": [...]}`: the demo's own error answers.
fn msgs() -> Value {
    json!({
        "type": "object",
        "required": ["status", "msgs"],
        "properties": {
            "status": {"type": "integer"},
            "msgs": {"type": "array", "items": {"type": "string"}}
        }
    })
}

fn object(props: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": props, "required": required})
}

fn ok() -> Value {
    object(json!({"ok": {"const": true}}), &["ok"])
}

/// An endpoint behind `AuthRequired`: 401 for anonymous JSON callers, a redirect for browsers,
/// 400 for a failed CSRF check on state-changing session requests.
fn protected(verb: Verb, path: &str, summary: &'static str, body: Value) -> Operation {
    let op = Operation::new(verb, path, summary)
        .tag("demo")
        .query(&[Field::text("auth_token")])
        .answers(200, "Success", body)
        .answers(401, "Not signed in", envelope_schema())
        .answers(429, "Throttled", envelope_schema())
        .answers(503, "The database is unavailable", msgs())
        .redirects(302, "Browsers are sent to the login page");
    if verb == Verb::Get {
        op
    } else {
        op.answers(
            400,
            "CSRF failure (envelope) or an invalid body (the demo's answer)",
            json!({"anyOf": [envelope_schema(), msgs()]}),
        )
        .answers(413, "The body is too large", envelope_schema())
    }
}

pub fn public() -> Operation {
    Operation::new(Verb::Get, "/api/public", "Public endpoint")
        .tag("demo")
        .answers(200, "Always", ok())
}

pub fn me() -> Operation {
    let body = object(
        json!({
            "email": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
            "login_count": {"type": "integer"}
        }),
        &["email", "roles", "login_count"],
    );
    protected(Verb::Get, "/api/me", "The signed-in user", body)
}

pub fn admin() -> Operation {
    protected(Verb::Get, "/api/admin", "Role `admin` required", ok()).answers(
        403,
        "Not permitted with your privileges",
        msgs(),
    )
}

pub fn perm() -> Operation {
    protected(
        Verb::Get,
        "/api/perm",
        "Permission `admin-write` required",
        ok(),
    )
    .answers(403, "Not permitted with your privileges", msgs())
}

pub fn basic() -> Operation {
    Operation::new(Verb::Get, "/api/basic", "HTTP Basic authentication")
        .tag("demo")
        .answers(
            200,
            "The user",
            object(json!({"email": {"type": "string"}}), &["email"]),
        )
        .answers(
            401,
            "No or wrong credentials (WWW-Authenticate: Basic)",
            envelope_schema(),
        )
        .answers(429, "Throttled", envelope_schema())
        .answers(503, "The database is unavailable", msgs())
}

pub fn update_doc() -> Operation {
    let body = object(
        json!({"id": {"type": "integer"}, "title": {"type": "string"}, "owner": {"type": "string"}}),
        &["id", "title", "owner"],
    );
    protected(
        Verb::Patch,
        "/api/docs/{id}",
        "Rename a document (owner or admin)",
        body,
    )
    .body(&[Field::text("title").required()])
    .answers(403, "Not the owner", msgs())
    .answers(404, "No such document", msgs())
}

pub fn fresh() -> Operation {
    protected(
        Verb::Post,
        "/api/fresh",
        "Needs a fresh authentication (5 minutes)",
        ok(),
    )
}

pub fn mutate() -> Operation {
    protected(Verb::Post, "/api/mutate", "A state-changing endpoint", ok())
}

pub fn stale() -> Operation {
    protected(
        Verb::Post,
        "/api/test/stale",
        "Test hook: age the session's authentication",
        ok(),
    )
}

pub fn home() -> Operation {
    Operation::new(
        Verb::Get,
        "/",
        "The demo's home page: who is signed in, a link to each flow",
    )
    .tag("demo")
    .answers_page(200, "The page")
}

pub fn healthz() -> Operation {
    let backend = json!({"enum": ["ok", "unused", "unavailable"]});
    Operation::new(
        Verb::Get,
        "/healthz",
        "Health: the database and Redis answer",
    )
    .tag("demo")
    .answers(
        200,
        "Every backend answers",
        object(
            json!({"ok": {"const": true}, "database": backend, "redis": backend}),
            &["ok", "database", "redis"],
        ),
    )
    .answers(503, "A backend is unavailable", msgs())
}

pub fn slow() -> Operation {
    Operation::new(
        Verb::Get,
        "/api/test/slow",
        "Test hook: answers after 1.5 s",
    )
    .tag("test hooks")
    .answers(
        200,
        "Always",
        object(
            json!({"ok": {"const": true}, "slow": {"const": true}}),
            &["ok", "slow"],
        ),
    )
}

pub fn panic(verb: Verb) -> Operation {
    Operation::new(verb, "/api/test/panic", "Test hook: a handler that panics")
        .tag("test hooks")
        .answers(500, "The 500 envelope", envelope_schema())
}

fn document_operation() -> Operation {
    Operation::new(Verb::Get, PATH, "This OpenAPI document")
        .tag("demo")
        .answers(
            200,
            "OpenAPI 3.1",
            json!({"type": "object", "required": ["openapi", "paths"]}),
        )
}

/// Adds `GET /openapi.json`, the document of `rampart`'s operations, `app`'s and its own.
pub fn with_document(rampart: Vec<Operation>, app: ApiRouter) -> ApiRouter {
    let mut all = rampart;
    all.extend_from_slice(app.operations());
    all.push(document_operation());
    let doc = Arc::new(rampart::openapi::document(
        "Rampart demo",
        env!("CARGO_PKG_VERSION"),
        &all,
    ));
    app.route(document_operation(), move || async move {
        Json(doc.as_ref().clone()).into_response()
    })
}
