//! The one layer [`Security::install`] puts around every route, in this order: security headers
//! outermost (so every response carries them, the HTTPS redirect and panics included), the
//! session, the readable CSRF cookie when configured, then authentication (cross-site check,
//! client address, auth token, remember-me). A panic of the handler becomes a 500 envelope.
//!
//! The steps are also available as separate layers ([`crate::headers::SecurityHeaders`],
//! [`crate::session::SessionLayer`], [`crate::authn::middleware`]). Installed together they run
//! in one service, because axum wraps each route in every layer separately and clones the
//! whole stack below a layer on every call: one combined layer costs a fraction of several.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

use super::Security;
use crate::headers::{Pending, Prepared};
use crate::session::{DynSessionStore, SessionCookie, layer as session};

/// Layer of [`SecurityService`]; built by [`Security::install`].
#[derive(Clone)]
#[must_use]
pub(crate) struct SecurityLayer {
    shared: Arc<Shared>,
}

struct Shared {
    sec: Security,
    store: Arc<DynSessionStore>,
    cookie: SessionCookie,
    headers: Option<Arc<Prepared>>,
}

impl SecurityLayer {
    pub(crate) fn new(sec: &Security) -> Self {
        let c = sec.config();
        Self {
            shared: Arc::new(Shared {
                sec: sec.clone(),
                store: Arc::new(sec.inner.sessions.clone()),
                cookie: SessionCookie {
                    name: c.session_cookie_name.clone(),
                    secure: c.session_cookie_secure,
                    lifetime: time::Duration::seconds(c.session_lifetime_secs),
                },
                headers: sec.inner.headers.clone().map(|h| h.prepare()),
            }),
        }
    }
}

impl<S> Layer<S> for SecurityLayer {
    type Service = SecurityService<S>;
    fn layer(&self, inner: S) -> SecurityService<S> {
        SecurityService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service of [`SecurityLayer`].
#[derive(Clone)]
pub(crate) struct SecurityService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for SecurityService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        // Only the service that was polled ready may be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (pending, redirect) = match &shared.headers {
                Some(h) => {
                    let (p, r) = h.begin(&mut req);
                    (Some(p), r)
                }
                None => (None, None),
            };
            let mut response = match redirect {
                Some(response) => response,
                None => guarded(call(&shared, &mut inner, req)).await,
            };
            if let Some(refused) = response
                .extensions()
                .get::<crate::csrf::CsrfPage>()
                .copied()
            {
                // A browser's CSRF refusal: the template's page in place of the plain one.
                let nonce = pending
                    .as_ref()
                    .map(Pending::nonce_handle)
                    .unwrap_or_default();
                // Boxed: rendering a page is far off the hot path, and inline its state would
                // be part of every request's future again.
                Box::pin(crate::pages::csrf_page(
                    &shared.sec,
                    &nonce,
                    refused.0,
                    &mut response,
                ))
                .await;
            }
            if let (Some(h), Some(p)) = (&shared.headers, pending) {
                response = h.finish(p, response);
            }
            Ok(response)
        })
    }
}

/// The session, CSRF-cookie and authentication steps around the handler.
async fn call<S>(shared: &Shared, inner: &mut S, mut req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let limit = shared.sec.config().max_body_size;
    if declares_more_than(limit, &req) {
        use axum::response::IntoResponse as _;
        return crate::envelope::Envelope::error(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            .with_error("Request body too large")
            .into_response();
    }
    // A body known to be empty (every GET of the hot path) cannot pass the limit: it is left
    // as it is instead of being boxed into a `Limited` on every request.
    let empty = axum::body::HttpBody::size_hint(req.body()).exact() == Some(0);
    if !empty {
        req = req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    }
    let (session, had_cookie) = session::start(&shared.store, &shared.cookie, &mut req);
    let csrf_sent = crate::csrf_cookie::sent(&shared.sec, &req);
    let mut response = match crate::authn::prepare(&shared.sec, req).await {
        Ok((req, restored)) => {
            let Ok(mut response) = inner.call(req).await;
            crate::authn::after(&shared.sec, restored, &mut response);
            response
        }
        Err(response) => response,
    };
    if shared.sec.config().csrf_cookie.is_some() {
        let auth = crate::session::AuthSession(session.clone());
        // Boxed, like the other steps off the hot path, to keep this future small.
        Box::pin(crate::csrf_cookie::finish(
            &shared.sec,
            csrf_sent.as_deref(),
            &auth,
            &mut response,
        ))
        .await;
    }
    session::finish(&session, had_cookie, &shared.cookie, &mut response).await;
    response
}

/// `SECURITY_MAX_BODY_SIZE`: a declared `Content-Length` above the limit is answered 413 at
/// once; any other body is cut off at the limit (the `Limited` wrapper in [`call`]), so whoever
/// reads it past the limit gets an error (413 from Rampart's readers and from axum's
/// extractors) instead of the bytes.
fn declares_more_than(limit: usize, req: &Request) -> bool {
    req.headers()
        .get_all(axum::http::header::CONTENT_LENGTH)
        .iter()
        .filter_map(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .any(|n| n > limit as u64)
}

/// The response, or the 500 envelope when something inside panics. A plain function rather
/// than an `async fn`: that would hold `call` twice (as its argument and inside the
/// `CatchUnwind`) and double the size of every request's future.
fn guarded(call: impl Future<Output = Response>) -> impl Future<Output = Response> {
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(call)
        .catch_unwind()
        .map(|outcome| outcome.unwrap_or_else(crate::headers::panic_response))
}
