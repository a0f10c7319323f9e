//! Request security in process (HTTP in, HTTP out through the real router, layers and SQLite
//! store): freshness and `/verify`, the CSRF cookie, `UnauthCsrf` and the cross-site check,
//! the redirect allow-list options through every endpoint that takes `next`, and the security
//! headers (forced HTTPS, CSP options, per-route overrides, panics answered with the headers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "request_security/corpus.rs"]
mod corpus;
#[path = "request_security/csrf.rs"]
mod csrf;
#[path = "request_security/csrf_cookie.rs"]
mod csrf_cookie;
#[path = "request_security/freshness.rs"]
mod freshness;
#[path = "request_security/headers.rs"]
mod headers;
#[path = "request_security/redirects.rs"]
mod redirects;
#[allow(dead_code)]
#[path = "request_security/support.rs"]
mod support;
