//! The files Rampart serves to browsers (its stylesheet, and scripts of the pages that need
//! one), under `SECURITY_STATIC_FOLDER_URL` (Flask-Security's key, default `/fs-static`), so
//! they never clash with an application's own `/static`. Each is embedded in the binary and
//! served with its content type and a one-day cache lifetime; templates link them with
//! `static_url('rampart.css')`, which adds a version query that changes with the content.
//!
//! To add a file: put it in `crates/rampart/static/` and add a line to [`FILES`].

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

/// One served file.
#[derive(Debug)]
pub struct StaticFile {
    /// The file name (the URL is `SECURITY_STATIC_FOLDER_URL/NAME`).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its content.
    pub body: &'static [u8],
}

impl StaticFile {
    /// The first 10 hex digits of the content's SHA-256 (the `?v=` of `static_url`).
    pub fn version(&self) -> &'static str {
        static VERSIONS: OnceLock<Vec<String>> = OnceLock::new();
        let all = VERSIONS.get_or_init(|| {
            FILES
                .iter()
                .map(|f| {
                    Sha256::digest(f.body)
                        .iter()
                        .take(5)
                        .map(|b| format!("{b:02x}"))
                        .collect()
                })
                .collect()
        });
        FILES
            .iter()
            .position(|f| f.name == self.name)
            .and_then(|i| all.get(i))
            .map_or("", String::as_str)
    }
}

/// Every served file.
pub const FILES: &[StaticFile] = &[StaticFile {
    name: "rampart.css",
    content_type: "text/css; charset=utf-8",
    body: include_bytes!("../static/rampart.css"),
}];

/// The file of that name.
pub fn find(name: &str) -> Option<&'static StaticFile> {
    FILES.iter().find(|f| f.name == name)
}

/// `GET PREFIX/NAME` for every file.
pub(crate) fn routes(prefix: &str) -> Router {
    let mut r = Router::new();
    for file in FILES {
        r = r.route(
            &format!("{prefix}/{}", file.name),
            get(move || async move { serve(file) }),
        );
    }
    r
}

fn serve(file: &'static StaticFile) -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        file.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_have_versions() {
        let css = find("rampart.css");
        assert!(css.is_some_and(|f| f.version().len() == 10 && !f.body.is_empty()));
        assert!(find("nope.js").is_none());
    }
}
