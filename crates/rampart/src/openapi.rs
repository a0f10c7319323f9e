//! An OpenAPI 3.1 document of the JSON API, generated from the routes themselves so it cannot
//! drift: every route is mounted through [`ApiRouter::route`], which takes the route's typed
//! [`Operation`] together with its handler. What is mounted is what is described.
//!
//! Rampart's own endpoints come from [`crate::Security::operations`]; an application mounts its
//! routes the same way and serves [`document`] of both (the demo serves `/openapi.json`).
//!
//! # Example
//! ```
//! use rampart::openapi::{ApiRouter, Field, Operation, Verb, document};
//! use serde_json::json;
//!
//! let api: ApiRouter = ApiRouter::new().route(
//!     Operation::new(Verb::Post, "/notes", "Create a note")
//!         .body(&[Field::text("title").required()])
//!         .answers(200, "The note", json!({"type": "object"})),
//!     || async { "ok" },
//! );
//! let doc = document("Notes", "1.0", api.operations());
//! assert!(doc["paths"]["/notes"]["post"].is_object());
//! ```

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use serde_json::{Map, Value, json};

/// The HTTP methods an operation can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET (axum answers HEAD with it too).
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 5] = [Self::Get, Self::Post, Self::Put, Self::Patch, Self::Delete];

    /// The lower-case name OpenAPI uses as the key of a path item.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }

    /// The method, for HTTP clients.
    #[must_use]
    pub fn method(self) -> axum::http::Method {
        use axum::http::Method;
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
            Self::Put => Method::PUT,
            Self::Patch => Method::PATCH,
            Self::Delete => Method::DELETE,
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Put => MethodFilter::PUT,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// The JSON type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Text,
    /// A string that is a secret (OpenAPI `format: password`).
    Secret,
    /// A boolean (forms also accept `y`, `on`, `true`, `1`).
    Flag,
}

/// A query parameter or a field of a JSON (or form) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name.
    pub name: &'static str,
    /// The type.
    pub kind: Kind,
    /// Whether the request is refused without it.
    pub required: bool,
}

impl Field {
    /// An optional string field.
    #[must_use]
    pub const fn text(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Text,
            required: false,
        }
    }

    /// An optional secret field.
    #[must_use]
    pub const fn secret(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Secret,
            required: false,
        }
    }

    /// An optional boolean field.
    #[must_use]
    pub const fn flag(name: &'static str) -> Self {
        Self {
            name,
            kind: Kind::Flag,
            required: false,
        }
    }

    /// The same field, required.
    #[must_use]
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    fn schema(&self) -> Value {
        match self.kind {
            Kind::Text => json!({"type": "string"}),
            Kind::Secret => json!({"type": "string", "format": "password"}),
            Kind::Flag => json!({"type": "boolean"}),
        }
    }
}

/// One documented answer of an operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// What it means.
    pub description: &'static str,
    /// JSON schema of the body; `None` for an answer without a JSON body (a redirect).
    pub schema: Option<Value>,
    /// Whether browsers get an HTML page with this status instead.
    pub html: bool,
    /// The media type of that non-JSON answer (`text/html` unless set).
    pub media_type: &'static str,
}

/// One method on one path: what it takes and what it answers.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Operation {
    /// The method.
    pub verb: Verb,
    /// The path in axum's syntax (`/reset/{token}`), which is also OpenAPI's.
    pub path: String,
    /// One line.
    pub summary: &'static str,
    /// Group in the document (`authentication`, `account`, the application's name …).
    pub tag: &'static str,
    /// Query parameters.
    pub query: Vec<Field>,
    /// Fields of the JSON (or form) body; `None`: no body.
    pub body: Option<Vec<Field>>,
    /// Documented answers.
    pub answers: Vec<Answer>,
}

impl Operation {
    /// An operation with no parameters and no answers yet.
    pub fn new(verb: Verb, path: impl Into<String>, summary: &'static str) -> Self {
        Self {
            verb,
            path: path.into(),
            summary,
            tag: "application",
            query: Vec::new(),
            body: None,
            answers: Vec::new(),
        }
    }

    /// Sets the group.
    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    /// Adds query parameters.
    pub fn query(mut self, fields: &[Field]) -> Self {
        self.query.extend_from_slice(fields);
        self
    }

    /// Sets the body's fields (a JSON object; forms carry the same names).
    pub fn body(mut self, fields: &[Field]) -> Self {
        self.body = Some(fields.to_vec());
        self
    }

    /// Adds a JSON answer.
    pub fn answers(mut self, status: u16, description: &'static str, schema: Value) -> Self {
        self.answers.push(Answer {
            status,
            description,
            schema: Some(schema),
            html: false,
            media_type: "text/html",
        });
        self
    }

    /// Adds an answer that is JSON for JSON clients and an HTML page for browsers.
    pub fn answers_or_page(
        mut self,
        status: u16,
        description: &'static str,
        schema: Value,
    ) -> Self {
        self.answers.push(Answer {
            status,
            description,
            schema: Some(schema),
            html: true,
            media_type: "text/html",
        });
        self
    }

    /// Adds an answer that is an HTML page for every client (no JSON).
    pub fn answers_page(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            schema: None,
            html: true,
            media_type: "text/html",
        });
        self
    }

    /// Adds an answer that is a file of `media_type` (a script, a stylesheet) for every client.
    pub fn answers_file(
        mut self,
        status: u16,
        description: &'static str,
        media_type: &'static str,
    ) -> Self {
        self.answers.push(Answer {
            status,
            description,
            schema: None,
            html: true,
            media_type,
        });
        self
    }

    /// Adds a redirect answer (no JSON body).
    pub fn redirects(mut self, status: u16, description: &'static str) -> Self {
        self.answers.push(Answer {
            status,
            description,
            schema: None,
            html: false,
            media_type: "text/html",
        });
        self
    }

    /// The path parameters (`{name}` segments).
    pub fn path_params(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }

    fn to_value(&self) -> Value {
        let mut params: Vec<Value> = self
            .path_params()
            .into_iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(self.query.iter().map(|f| {
            json!({"name": f.name, "in": "query", "required": f.required, "schema": f.schema()})
        }));
        let mut op = json!({
            "summary": self.summary,
            "tags": [self.tag],
            "operationId": operation_id(self.verb, &self.path),
            "responses": self.responses(),
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(fields) = &self.body {
            op["requestBody"] = request_body(fields);
        }
        op
    }

    fn responses(&self) -> Value {
        let mut out = Map::new();
        for a in &self.answers {
            let mut content = Map::new();
            if let Some(schema) = &a.schema {
                content.insert("application/json".into(), json!({ "schema": schema }));
            }
            if a.html {
                content.insert(a.media_type.into(), json!({"schema": {"type": "string"}}));
            }
            let mut r = json!({ "description": a.description });
            if !content.is_empty() {
                r["content"] = Value::Object(content);
            }
            out.insert(a.status.to_string(), r);
        }
        Value::Object(out)
    }
}

fn operation_id(verb: Verb, path: &str) -> String {
    let mut id = verb.key().to_owned();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(
            part.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

fn request_body(fields: &[Field]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|f| (f.name.to_owned(), f.schema()))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let mut schema = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    json!({
        "required": false,
        "content": {
            "application/json": {"schema": schema.clone()},
            "application/x-www-form-urlencoded": {"schema": schema},
        }
    })
}

/// The schema of Flask-Security's JSON envelope, `{"meta": {"code": N}, "response": {…}}`.
#[must_use]
pub fn envelope_schema() -> Value {
    json!({
        "type": "object",
        "required": ["meta", "response"],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["code"],
                "properties": {"code": {"type": "integer"}}
            },
            "response": {
                "type": "object",
                "properties": {
                    "errors": {"type": "array", "items": {"type": "string"}},
                    "field_errors": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}}
                    },
                    "csrf_token": {"type": "string"},
                    "user": {"type": "object"}
                }
            }
        }
    })
}

/// A router that records the [`Operation`] of every route it mounts.
#[derive(Debug)]
#[must_use]
pub struct ApiRouter<S = ()> {
    router: Router<S>,
    operations: Vec<Operation>,
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> ApiRouter<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            operations: Vec::new(),
        }
    }

    /// Mounts `handler` on the operation's method and path, and records the operation.
    ///
    /// # Panics
    /// Like [`Router::route`], when the same method and path are mounted twice.
    pub fn route<H, T>(mut self, op: Operation, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.route(&op.path, on(op.verb.filter(), handler));
        self.operations.push(op);
        self
    }

    /// Mounts both routers' routes.
    pub fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// The recorded operations.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The router and the operations.
    pub fn into_parts(self) -> (Router<S>, Vec<Operation>) {
        (self.router, self.operations)
    }

    /// Provides the state, like [`Router::with_state`].
    pub fn with_state<S2>(self, state: S) -> ApiRouter<S2> {
        ApiRouter {
            router: self.router.with_state(state),
            operations: self.operations,
        }
    }
}

/// The OpenAPI 3.1 document of `operations`.
#[must_use]
pub fn document(title: &str, version: &str, operations: &[Operation]) -> Value {
    let mut paths = Map::new();
    let mut tags: Vec<&str> = Vec::new();
    for op in operations {
        let item = paths
            .entry(op.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(op.verb.key().to_owned(), op.to_value());
        }
        if !tags.contains(&op.tag) {
            tags.push(op.tag);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "tags": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_has_paths_parameters_and_bodies() {
        let api: ApiRouter = ApiRouter::new()
            .route(
                Operation::new(Verb::Post, "/reset/{token}", "Reset")
                    .tag("account")
                    .query(&[Field::text("next")])
                    .body(&[Field::secret("password").required()])
                    .answers(200, "ok", envelope_schema())
                    .redirects(302, "browser"),
                || async { "x" },
            )
            .route(
                Operation::new(Verb::Get, "/reset/{token}", "Form"),
                || async { "y" },
            );
        let doc = document("t", "1", api.operations());
        let post = &doc["paths"]["/reset/{token}"]["post"];
        assert_eq!(post["operationId"], "post_reset__token_");
        assert_eq!(post["parameters"][0]["in"], "path");
        assert_eq!(post["parameters"][1]["name"], "next");
        let schema = &post["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["required"], json!(["password"]));
        assert_eq!(schema["properties"]["password"]["format"], "password");
        assert!(post["responses"]["302"].get("content").is_none());
        assert!(doc["paths"]["/reset/{token}"]["get"].is_object());
        assert_eq!(
            doc["tags"],
            json!([{"name": "account"}, {"name": "application"}])
        );
    }
}
