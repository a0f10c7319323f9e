//! Security headers on every response (Flask-Talisman's set, which Flask-Security leaves to the
//! application): Content-Security-Policy with a fresh nonce per request, frame and content-type
//! protection, referrer, permissions and opener policies, and HSTS on HTTPS requests.
//!
//! The nonce of the current request is in its extensions as [`CspNonce`], for handlers and
//! templates that need an inline `<script nonce="…">`.
//!
//! # Example
//! ```
//! use axum::{Router, routing::get};
//! use rampart::headers::{CspNonce, SecurityHeaders};
//!
//! async fn page(CspNonce(nonce): CspNonce) -> String {
//!     format!("<script nonce=\"{nonce}\">console.log('ok')</script>")
//! }
//! let app: Router = SecurityHeaders::default().wrap(Router::new().route("/", get(page)));
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use rand::RngExt as _;

/// The nonce of the current request's Content-Security-Policy (base64 of 16 random bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CspNonce {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(parts
            .extensions
            .get::<CspNonce>()
            .cloned()
            .unwrap_or_else(|| CspNonce(String::new())))
    }
}

/// Which headers to send. `Default` is Talisman's secure default set with a strict CSP.
#[derive(Debug, Clone)]
#[must_use]
pub struct SecurityHeaders {
    /// CSP directives; `{nonce}` is replaced by the request's nonce. `None` sends no CSP.
    pub csp: Option<String>,
    /// Send the CSP as `Content-Security-Policy-Report-Only`.
    pub csp_report_only: bool,
    /// `Strict-Transport-Security` max-age in seconds on HTTPS requests (0: none).
    pub hsts_max_age: u64,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Add `preload` to HSTS.
    pub hsts_preload: bool,
    /// `X-Frame-Options` (`DENY` or `SAMEORIGIN`).
    pub frame_options: Option<&'static str>,
    /// `Referrer-Policy`.
    pub referrer_policy: Option<&'static str>,
    /// `Permissions-Policy`.
    pub permissions_policy: Option<String>,
    /// `Cross-Origin-Opener-Policy`.
    pub cross_origin_opener_policy: Option<&'static str>,
    /// Number of trusted proxies whose `X-Forwarded-Proto` tells HTTPS (0: never trusted).
    pub trusted_proxies: usize,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self {
            csp: Some(
                "default-src 'self'; script-src 'self' 'nonce-{nonce}'; \
                 style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; object-src 'none'; \
                 base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
                    .to_owned(),
            ),
            csp_report_only: false,
            hsts_max_age: 31_536_000,
            hsts_include_subdomains: true,
            hsts_preload: false,
            frame_options: Some("DENY"),
            referrer_policy: Some("strict-origin-when-cross-origin"),
            permissions_policy: Some(
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()".to_owned(),
            ),
            cross_origin_opener_policy: Some("same-origin"),
            trusted_proxies: 0,
        }
    }
}

impl SecurityHeaders {
    /// Sets the CSP (with `{nonce}` placeholders), or `None` for no CSP.
    pub fn with_csp(mut self, csp: Option<&str>) -> Self {
        self.csp = csp.map(str::to_owned);
        self
    }

    /// Trusts `X-Forwarded-Proto` from this many proxies (for HSTS).
    pub fn with_trusted_proxies(mut self, n: usize) -> Self {
        self.trusted_proxies = n;
        self
    }

    /// Wraps every route of `router` (and its fallback) with the headers.
    pub fn wrap<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self.prepare(), apply))
    }

    /// The headers turned into header values, for a layer to apply.
    pub(crate) fn prepare(self) -> Arc<Prepared> {
        Arc::new(Prepared::from(self))
    }
}

/// The headers turned into header values once, so a request only formats its CSP.
pub(crate) struct Prepared {
    /// The CSP split around `{nonce}`.
    csp_parts: Option<Vec<String>>,
    csp_name: HeaderName,
    fixed: Vec<(HeaderName, HeaderValue)>,
    hsts: Option<HeaderValue>,
    trusted_proxies: usize,
}

impl From<SecurityHeaders> for Prepared {
    fn from(h: SecurityHeaders) -> Self {
        let mut fixed = vec![(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )];
        let mut add = |name: HeaderName, value: Option<&str>| {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
                fixed.push((name, v));
            }
        };
        add(header::X_FRAME_OPTIONS, h.frame_options);
        add(header::REFERRER_POLICY, h.referrer_policy);
        add(
            HeaderName::from_static("permissions-policy"),
            h.permissions_policy.as_deref(),
        );
        add(
            HeaderName::from_static("cross-origin-opener-policy"),
            h.cross_origin_opener_policy,
        );
        let hsts = (h.hsts_max_age > 0).then(|| {
            let mut v = format!("max-age={}", h.hsts_max_age);
            if h.hsts_include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if h.hsts_preload {
                v.push_str("; preload");
            }
            v
        });
        Self {
            csp_parts: h
                .csp
                .map(|c| c.split("{nonce}").map(str::to_owned).collect()),
            csp_name: if h.csp_report_only {
                header::CONTENT_SECURITY_POLICY_REPORT_ONLY
            } else {
                header::CONTENT_SECURITY_POLICY
            },
            fixed,
            hsts: hsts.and_then(|v| HeaderValue::from_str(&v).ok()),
            trusted_proxies: h.trusted_proxies,
        }
    }
}

fn new_nonce() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn is_https(req: &Request, trusted_proxies: usize) -> bool {
    if req.uri().scheme_str() == Some("https") {
        return true;
    }
    trusted_proxies > 0
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

async fn apply(
    axum::extract::State(h): axum::extract::State<Arc<Prepared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let pending = h.begin(&mut req);
    let mut response = next.run(req).await;
    h.finish(pending, &mut response);
    response
}

/// What [`Prepared::begin`] decided for a request, applied by [`Prepared::finish`].
pub(crate) struct Pending {
    nonce: String,
    https: bool,
}

impl Prepared {
    /// Before the handler: a fresh nonce, in the request's extensions.
    pub(crate) fn begin(&self, req: &mut Request) -> Pending {
        let nonce = new_nonce();
        let https = is_https(req, self.trusted_proxies);
        req.extensions_mut().insert(CspNonce(nonce.clone()));
        Pending { nonce, https }
    }

    /// The CSP with `nonce` in place of each `{nonce}`, built in one allocation.
    fn csp_value(&self, nonce: &str) -> Option<HeaderValue> {
        let parts = self.csp_parts.as_ref()?;
        let len = parts.iter().map(String::len).sum::<usize>() + nonce.len() * parts.len();
        let mut value = Vec::with_capacity(len);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                value.extend_from_slice(nonce.as_bytes());
            }
            value.extend_from_slice(part.as_bytes());
        }
        HeaderValue::from_maybe_shared(axum::body::Bytes::from(value)).ok()
    }

    /// After the handler: the headers, on whatever the response is.
    pub(crate) fn finish(&self, pending: Pending, response: &mut Response) {
        let headers = response.headers_mut();
        // One growth of the map for all the headers, instead of one per insert.
        headers.reserve(self.fixed.len() + 2);
        if let Some(v) = self.csp_value(&pending.nonce) {
            headers.insert(self.csp_name.clone(), v);
        }
        for (name, value) in &self.fixed {
            headers.insert(name.clone(), value.clone());
        }
        if pending.https
            && let Some(v) = &self.hsts
        {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    async fn get_with(app: &Router, proto: Option<&str>) -> Response {
        let mut b = Request::builder().uri("/");
        if let Some(p) = proto {
            b = b.header("x-forwarded-proto", p);
        }
        app.clone()
            .oneshot(b.body(Body::empty()).unwrap_or_default())
            .await
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn headers_nonce_and_hsts() {
        let app = SecurityHeaders::default()
            .wrap(Router::new().route("/", get(|CspNonce(n): CspNonce| async move { n })));
        let a = get_with(&app, None).await;
        let b = get_with(&app, None).await;
        let csp = |r: &Response| {
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        assert_ne!(csp(&a), csp(&b), "a fresh nonce per request");
        assert!(csp(&a).contains("'nonce-") && csp(&a).contains("object-src 'none'"));
        assert_eq!(a.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(a.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            a.headers().get(header::STRICT_TRANSPORT_SECURITY).is_none(),
            "no HSTS over http"
        );
        // X-Forwarded-Proto is ignored unless a proxy is trusted.
        assert!(
            get_with(&app, Some("https"))
                .await
                .headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .is_none()
        );
        let trusted = SecurityHeaders::default()
            .with_trusted_proxies(1)
            .wrap(Router::new().route("/", get(|| async { "x" })));
        let r = get_with(&trusted, Some("https")).await;
        assert_eq!(
            r.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains"
        );
        // The handler sees the nonce that is in the header.
        let body = axum::body::to_bytes(a.into_body(), 1024)
            .await
            .unwrap_or_default();
        let nonce = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(nonce.len(), 24);
    }
}
