//! Security headers on every response (Flask-Talisman's set, which Flask-Security leaves to the
//! application): a typed Content-Security-Policy with a fresh nonce per request (report-only
//! mode and report endpoints), frame and content-type protection, referrer, permissions and
//! opener policies, HSTS on HTTPS requests (max-age, `includeSubDomains`, `preload`), an
//! optional redirect of plain HTTP to HTTPS, `Secure` and `SameSite` on every cookie of an
//! HTTPS response, and per-route overrides ([`RouteHeaders`]).
//!
//! HTTPS is recognised from the request URI, or from `X-Forwarded-Proto` only when
//! `SECURITY_TRUSTED_PROXIES` is set: a client cannot claim HTTPS by sending the header.
//!
//! The layer also catches panics of the handlers inside it and answers them with a 500
//! envelope that still carries every header (tower-http's `CatchPanicLayer`).
//!
//! The nonce of the current request is the [`CspNonce`] extractor, for handlers and templates
//! that need an inline `<script nonce="…">`. It is made when a handler first asks for it: a
//! response whose handler never did (JSON, redirects, errors) gets the policy without any
//! nonce source ([`ContentSecurityPolicy::without_nonce`]), which is stricter and costs no
//! random bytes.
//!
//! # Configuration (Rampart-only keys, read by [`SecurityConfig`](crate::SecurityConfig))
//! | key | default |
//! | --- | --- |
//! | `SECURITY_HEADERS` | `true` (false: no header layer, e.g. when a proxy sets them) |
//! | `SECURITY_FORCE_HTTPS`, `SECURITY_FORCE_HTTPS_PERMANENT` | `false`, `false` (302/307; permanent: 301/308) |
//! | `SECURITY_HSTS_MAX_AGE`, `SECURITY_HSTS_INCLUDE_SUBDOMAINS`, `SECURITY_HSTS_PRELOAD` | `31536000`, `true`, `false` |
//! | `SECURITY_CSP` | [`ContentSecurityPolicy::strict`]; a table `directive = "sources"` (or a list) replaces it, `false` sends none |
//! | `SECURITY_CSP_NONCE_IN` | `["script-src", "style-src"]` |
//! | `SECURITY_CSP_REPORT_ONLY`, `SECURITY_CSP_REPORT_URI`, `SECURITY_CSP_REPORT_TO` | `false`, none, none |
//! | `SECURITY_FRAME_OPTIONS` | `DENY` (`SAMEORIGIN`, or `""` for none) |
//! | `SECURITY_REFERRER_POLICY` | `strict-origin-when-cross-origin` |
//! | `SECURITY_PERMISSIONS_POLICY` | `camera=(), microphone=(), geolocation=(), payment=(), usb=()` |
//! | `SECURITY_CROSS_ORIGIN_OPENER_POLICY` | `same-origin` |
//!
//! # Example
//! ```
//! use axum::{Router, routing::get};
//! use rampart::headers::{ContentSecurityPolicy, CspNonce, SecurityHeaders};
//!
//! async fn page(CspNonce(nonce): CspNonce) -> String {
//!     format!("<script nonce=\"{nonce}\">console.log('ok')</script>")
//! }
//! let headers = SecurityHeaders::default().with_csp(Some(
//!     ContentSecurityPolicy::strict().report_uri("/csp-report"),
//! ));
//! let app: Router = headers.wrap(Router::new().route("/", get(page)));
//! ```

mod csp;
mod route;

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::RngExt as _;
use tower_http::catch_panic::CatchPanicLayer;

pub use csp::{ContentSecurityPolicy, NONCE};
pub use route::{RouteHeaders, RouteHeadersLayer, RouteHeadersService};

/// The nonce of the current request's Content-Security-Policy (base64 of 16 random bytes).
///
/// Extracting it makes the nonce and puts it in the response's policy; outside the header
/// layer it is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CspNonce {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(CspNonce(request_nonce(&parts.extensions)))
    }
}

/// The nonce of the request these extensions belong to, made now if no one asked before (so
/// the response's policy carries it); empty outside the header layer.
pub(crate) fn request_nonce(ext: &axum::http::Extensions) -> String {
    ext.get::<NonceSlot>()
        .map(|slot| slot.0.get_or_init(new_nonce).clone())
        .unwrap_or_default()
}

/// The request's nonce, made on first use and shared with the response step.
#[derive(Clone, Default)]
struct NonceSlot(Arc<OnceLock<String>>);

/// The request's nonce slot, kept past the handler (for a page rendered from its answer, such
/// as the CSRF refusal page). Taking it makes no nonce.
#[derive(Clone, Default)]
pub(crate) struct NonceHandle(Option<NonceSlot>);

impl NonceHandle {
    /// The nonce, made now if no one asked before; empty outside the header layer.
    pub(crate) fn nonce(&self) -> String {
        self.0
            .as_ref()
            .map(|slot| slot.0.get_or_init(new_nonce).clone())
            .unwrap_or_default()
    }
}

/// Which headers to send. `Default` is Talisman's secure default set with a strict CSP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct SecurityHeaders {
    /// The Content-Security-Policy; `None` sends none.
    pub csp: Option<ContentSecurityPolicy>,
    /// `Strict-Transport-Security` max-age in seconds on HTTPS requests (0: none).
    pub hsts_max_age: u64,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: bool,
    /// Add `preload` to HSTS.
    pub hsts_preload: bool,
    /// Redirect plain-HTTP requests to HTTPS.
    pub force_https: bool,
    /// Make that redirect permanent (301/308 instead of 302/307).
    pub force_https_permanent: bool,
    /// `X-Frame-Options` (`DENY` or `SAMEORIGIN`).
    pub frame_options: Option<String>,
    /// `Referrer-Policy`.
    pub referrer_policy: Option<String>,
    /// `Permissions-Policy`.
    pub permissions_policy: Option<String>,
    /// `Cross-Origin-Opener-Policy`.
    pub cross_origin_opener_policy: Option<String>,
    /// Number of trusted proxies whose `X-Forwarded-Proto` tells HTTPS (0: never trusted).
    pub trusted_proxies: usize,
    /// The host the HTTPS redirect goes to (`SERVER_NAME`); the request's `Host` otherwise.
    pub server_name: Option<String>,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        Self {
            csp: Some(ContentSecurityPolicy::strict()),
            hsts_max_age: 31_536_000,
            hsts_include_subdomains: true,
            hsts_preload: false,
            force_https: false,
            force_https_permanent: false,
            frame_options: Some("DENY".to_owned()),
            referrer_policy: Some("strict-origin-when-cross-origin".to_owned()),
            permissions_policy: Some(
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()".to_owned(),
            ),
            cross_origin_opener_policy: Some("same-origin".to_owned()),
            trusted_proxies: 0,
            server_name: None,
        }
    }
}

impl SecurityHeaders {
    /// Sets the CSP, or `None` for no CSP.
    pub fn with_csp(mut self, csp: Option<ContentSecurityPolicy>) -> Self {
        self.csp = csp;
        self
    }

    /// Trusts `X-Forwarded-Proto` from this many proxies (for HSTS, the HTTPS redirect and
    /// `Secure` cookies).
    pub fn with_trusted_proxies(mut self, n: usize) -> Self {
        self.trusted_proxies = n;
        self
    }

    /// Redirects plain HTTP to HTTPS (permanently or not).
    pub fn with_force_https(mut self, on: bool, permanent: bool) -> Self {
        self.force_https = on;
        self.force_https_permanent = permanent;
        self
    }

    /// HSTS: max-age in seconds (0: none), `includeSubDomains`, `preload`.
    pub fn with_hsts(mut self, max_age: u64, include_subdomains: bool, preload: bool) -> Self {
        self.hsts_max_age = max_age;
        self.hsts_include_subdomains = include_subdomains;
        self.hsts_preload = preload;
        self
    }

    /// Wraps every route of `router` (and its fallback) with the headers, and answers panics
    /// inside it with a 500 envelope that carries them too.
    pub fn wrap<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        router
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::from_fn_with_state(self.prepare(), apply))
    }

    /// The headers turned into header values, for a layer to apply.
    pub(crate) fn prepare(self) -> Arc<Prepared> {
        Arc::new(Prepared::from(self))
    }
}

/// The answer to a handler panic: a 500 envelope (`Internal Server Error`); the panic message
/// is logged, never sent.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a handler panicked");
    crate::envelope::Envelope::error(StatusCode::INTERNAL_SERVER_ERROR)
        .with_error("Internal Server Error")
        .into_response()
}

/// The CSP split around `{nonce}`, the value without a nonce, and its header name.
struct PreparedCsp {
    parts: Vec<String>,
    without_nonce: Option<HeaderValue>,
    name: HeaderName,
}

impl PreparedCsp {
    fn new(csp: &ContentSecurityPolicy) -> Self {
        Self {
            parts: csp.template().split("{nonce}").map(str::to_owned).collect(),
            without_nonce: HeaderValue::from_str(&csp.without_nonce()).ok(),
            name: if csp.is_report_only() {
                header::CONTENT_SECURITY_POLICY_REPORT_ONLY
            } else {
                header::CONTENT_SECURITY_POLICY
            },
        }
    }

    /// Inserts the CSP: with the nonce when the handler made one, else without.
    fn insert(&self, headers: &mut HeaderMap, nonce: Option<&str>) {
        match nonce {
            Some(nonce) => self.insert_nonce(headers, nonce),
            None => {
                if let Some(v) = &self.without_nonce {
                    headers.insert(self.name.clone(), v.clone());
                }
            }
        }
    }

    /// Inserts the CSP with `nonce` in place of each `{nonce}`, built in one allocation.
    fn insert_nonce(&self, headers: &mut HeaderMap, nonce: &str) {
        let len =
            self.parts.iter().map(String::len).sum::<usize>() + nonce.len() * self.parts.len();
        let mut value = Vec::with_capacity(len);
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                value.extend_from_slice(nonce.as_bytes());
            }
            value.extend_from_slice(part.as_bytes());
        }
        if let Ok(v) = HeaderValue::from_maybe_shared(axum::body::Bytes::from(value)) {
            headers.insert(self.name.clone(), v);
        }
    }
}

const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");
const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// The headers turned into header values once, so a request only formats its CSP.
pub(crate) struct Prepared {
    csp: Option<PreparedCsp>,
    fixed: Vec<(HeaderName, HeaderValue)>,
    /// `fixed` and the CSP without a nonce as a ready map: a response without a nonce or
    /// route overrides (every JSON answer) starts from a copy of it, which costs a fraction
    /// of hashing and inserting each header again.
    base: HeaderMap,
    hsts: Option<HeaderValue>,
    trusted_proxies: usize,
    force_https: Option<(StatusCode, StatusCode)>,
    server_name: Option<String>,
}

fn value(v: Option<&str>) -> Option<HeaderValue> {
    v.and_then(|v| HeaderValue::from_str(v).ok())
}

impl From<SecurityHeaders> for Prepared {
    fn from(h: SecurityHeaders) -> Self {
        let mut fixed = vec![(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )];
        for (name, v) in [
            (header::X_FRAME_OPTIONS, h.frame_options.as_deref()),
            (header::REFERRER_POLICY, h.referrer_policy.as_deref()),
            (PERMISSIONS_POLICY, h.permissions_policy.as_deref()),
            (COOP, h.cross_origin_opener_policy.as_deref()),
        ] {
            if let Some(v) = value(v) {
                fixed.push((name, v));
            }
        }
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
        let force_https = h.force_https.then_some(if h.force_https_permanent {
            (
                StatusCode::MOVED_PERMANENTLY,
                StatusCode::PERMANENT_REDIRECT,
            )
        } else {
            (StatusCode::FOUND, StatusCode::TEMPORARY_REDIRECT)
        });
        let csp = h.csp.as_ref().map(PreparedCsp::new);
        Self {
            base: base_map(csp.as_ref(), &fixed),
            csp,
            fixed,
            hsts: value(hsts.as_deref()),
            trusted_proxies: h.trusted_proxies,
            force_https,
            server_name: h.server_name,
        }
    }
}

/// The headers every nonce-less response gets, with room for the response's own few.
fn base_map(csp: Option<&PreparedCsp>, fixed: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut base = HeaderMap::with_capacity(fixed.len() + 8);
    if let Some(csp) = csp {
        csp.insert(&mut base, None);
    }
    for (name, v) in fixed {
        base.insert(name.clone(), v.clone());
    }
    base
}

fn new_nonce() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Whether the request came over HTTPS: its URI says so, or (behind trusted proxies only) the
/// last `X-Forwarded-Proto` value does.
pub fn is_https(uri: &axum::http::Uri, headers: &HeaderMap, trusted_proxies: usize) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    trusted_proxies > 0
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next_back())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The HTTPS URL of a plain-HTTP request, on `SERVER_NAME` or the request's (well-formed)
/// `Host` without port 80.
fn https_location(h: &Prepared, req: &Request) -> Option<String> {
    let host = match &h.server_name {
        Some(s) => s.as_str(),
        None => req.headers().get(header::HOST)?.to_str().ok()?,
    };
    let well_formed = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !well_formed {
        return None;
    }
    let host = host.strip_suffix(":80").unwrap_or(host);
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    Some(format!("https://{host}{path}"))
}

async fn apply(
    axum::extract::State(h): axum::extract::State<Arc<Prepared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let (pending, redirect) = h.begin(&mut req);
    let response = match redirect {
        Some(response) => response,
        None => next.run(req).await,
    };
    h.finish(pending, response)
}

/// What [`Prepared::begin`] decided for a request, applied by [`Prepared::finish`].
pub(crate) struct Pending {
    nonce: NonceSlot,
    https: bool,
}

impl Pending {
    /// The request's nonce slot, for a page rendered after the handler.
    pub(crate) fn nonce_handle(&self) -> NonceHandle {
        NonceHandle(Some(self.nonce.clone()))
    }
}

impl Prepared {
    /// Before the handler: the nonce slot in the request's extensions, or (HTTPS forced, plain
    /// HTTP request) the redirect to answer instead of calling the handler.
    pub(crate) fn begin(&self, req: &mut Request) -> (Pending, Option<Response>) {
        let nonce = NonceSlot::default();
        let https = is_https(req.uri(), req.headers(), self.trusted_proxies);
        let redirect = match self.force_https {
            Some((safe, unsafe_)) if !https => {
                let status = if matches!(*req.method(), Method::GET | Method::HEAD) {
                    safe
                } else {
                    unsafe_
                };
                Some(
                    match https_location(self, req).and_then(|l| HeaderValue::from_str(&l).ok()) {
                        Some(location) => (status, [(header::LOCATION, location)]).into_response(),
                        None => {
                            (StatusCode::BAD_REQUEST, "Bad Request: invalid Host").into_response()
                        }
                    },
                )
            }
            _ => {
                req.extensions_mut().insert(nonce.clone());
                None
            }
        };
        (Pending { nonce, https }, redirect)
    }

    /// After the handler: the headers, on whatever the response is.
    pub(crate) fn finish(&self, pending: Pending, response: Response) -> Response {
        finish(
            self,
            response,
            pending.nonce.0.get().map(String::as_str),
            pending.https,
        )
    }
}

fn finish(h: &Prepared, mut response: Response, nonce: Option<&str>, https: bool) -> Response {
    let overrides = response.extensions_mut().remove::<RouteHeaders>();
    let has_cookies = match (&overrides, nonce) {
        (None, None) => {
            let own = std::mem::replace(response.headers_mut(), h.base.clone());
            merge_over_base(&h.base, response.headers_mut(), own)
        }
        _ => {
            insert_each(h, response.headers_mut(), overrides.as_ref(), nonce);
            response.headers().contains_key(header::SET_COOKIE)
        }
    };
    let headers = response.headers_mut();
    if https && let Some(v) = &h.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
    }
    if has_cookies {
        harden_cookies(headers, https);
    }
    response
}

/// Adds the response's own headers to `headers` (a copy of `base`), except those `base`
/// sets: the security headers win, as [`insert_each`] makes them. Says whether there was a
/// `Set-Cookie`.
fn merge_over_base(base: &HeaderMap, headers: &mut HeaderMap, own: HeaderMap) -> bool {
    let mut has_cookies = false;
    let mut last: Option<HeaderName> = None;
    for (name, v) in own {
        if let Some(name) = name {
            last = Some(name);
        }
        let Some(name) = &last else { continue };
        // A linear scan of a handful of names: cheaper than hashing for `contains_key`.
        if base.keys().any(|k| k == name) {
            continue;
        }
        has_cookies |= name == header::SET_COOKIE;
        headers.append(name.clone(), v);
    }
    has_cookies
}

/// The headers inserted one by one over the response's own: the path of responses with a
/// nonce or route overrides.
fn insert_each(
    h: &Prepared,
    headers: &mut HeaderMap,
    overrides: Option<&RouteHeaders>,
    nonce: Option<&str>,
) {
    // One growth of the map for all the headers, instead of one per insert.
    headers.reserve(h.fixed.len() + 2);
    match overrides.and_then(|o| o.csp.as_ref()) {
        Some(Some(csp)) => PreparedCsp::new(csp).insert(headers, nonce),
        Some(None) => {}
        None => {
            if let Some(csp) = &h.csp {
                csp.insert(headers, nonce);
            }
        }
    }
    for (name, v) in &h.fixed {
        headers.insert(name.clone(), v.clone());
    }
    let Some(o) = overrides else { return };
    for (name, v) in [
        (header::X_FRAME_OPTIONS, &o.frame_options),
        (header::REFERRER_POLICY, &o.referrer_policy),
        (PERMISSIONS_POLICY, &o.permissions_policy),
        (COOP, &o.cross_origin_opener_policy),
    ] {
        if let Some(v) = v {
            match value(v.as_deref()) {
                Some(v) => {
                    headers.insert(name, v);
                }
                None => {
                    headers.remove(name);
                }
            }
        }
    }
}

/// Every `Set-Cookie` gets `SameSite=Lax` when it names no `SameSite`, and `Secure` on HTTPS
/// responses: secure defaults for Rampart's cookies and the application's alike.
fn harden_cookies(headers: &mut HeaderMap, https: bool) {
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for c in cookies {
        let Ok(text) = c.to_str() else {
            headers.append(header::SET_COOKIE, c);
            continue;
        };
        let attrs: Vec<String> = text
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        let mut out = text.to_owned();
        if !attrs.iter().any(|a| a.starts_with("samesite")) {
            out.push_str("; SameSite=Lax");
        }
        if https && !attrs.iter().any(|a| a == "secure") {
            out.push_str("; Secure");
        }
        headers.append(header::SET_COOKIE, HeaderValue::from_str(&out).unwrap_or(c));
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

    /// A nonce-less answer starts from the prepared map: the handler's own headers stay
    /// (repeated ones included), the security headers win over the handler's, and cookies
    /// are hardened.
    #[tokio::test]
    async fn own_headers_are_kept_and_security_headers_win() {
        let app = SecurityHeaders::default().wrap(Router::new().route(
            "/",
            get(|| async {
                (
                    axum::response::AppendHeaders([
                        (header::X_FRAME_OPTIONS, "ALLOWALL"),
                        (header::CACHE_CONTROL, "no-store"),
                        (header::SET_COOKIE, "a=1; Path=/"),
                        (header::SET_COOKIE, "b=2; SameSite=Strict"),
                    ]),
                    "x",
                )
            }),
        ));
        let r = get_with(&app, None).await;
        let h = r.headers();
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h.get_all(header::X_FRAME_OPTIONS).iter().count(), 1);
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        let cookies: Vec<_> = h.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(
            cookies,
            ["a=1; Path=/; SameSite=Lax", "b=2; SameSite=Strict"]
        );
        assert!(
            h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .is_ok_and(|v| !v.contains("nonce"))
        );
        for name in [
            "x-content-type-options",
            "referrer-policy",
            "permissions-policy",
        ] {
            assert!(h.contains_key(name), "{name} missing");
        }
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
