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
        let (pending, redirect) = match &shared.headers {
            Some(h) => {
                let (p, r) = h.begin(&mut req);
                (Some(p), r)
            }
            None => (None, None),
        };
        if let Some(response) = redirect {
            return Box::pin(async move { Ok(finish_headers(&shared, pending, response).await) });
        }
        // The steps that need no waiting run here, so that a request with nothing to wait for
        // (every GET of the hot path) calls the handler now: its future then holds neither
        // their state nor a clone of the inner service.
        let before = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            before_handler(&shared, &mut req)
        }));
        let handler = match before {
            Ok(Before::Ready(after)) => (Handler::Called(self.inner.call(req)), Some(after)),
            Ok(Before::Wait(after)) => {
                // Only the service that was polled ready may be called.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let sec = shared.sec.clone();
                (
                    Handler::Boxed(Box::pin(prepared_call(sec, inner, req))),
                    Some(after),
                )
            }
            Ok(Before::Answer(response, after)) => (Handler::Answer(response), after),
            Err(panic) => (Handler::Answer(crate::headers::panic_response(panic)), None),
        };
        Box::pin(async move {
            let response = guarded(after_handler(&shared, handler.0, handler.1)).await;
            Ok(finish_headers(&shared, pending, response).await)
        })
    }
}

/// What [`before_handler`] decided.
enum Before {
    /// Call the handler with the request now.
    Ready(After),
    /// The request needs waiting before the handler (a body to read for tokens, a remember-me
    /// cookie to sign in with): [`prepared_call`].
    Wait(After),
    /// Answer this instead of calling the handler (with the session steps after it, when the
    /// session was started).
    Answer(Response, Option<After>),
}

/// The handler's part of a request.
enum Handler<F> {
    Called(F),
    Boxed(Pin<Box<dyn Future<Output = Response> + Send>>),
    Answer(Response),
}

/// What the steps after the handler need from the steps before it.
struct After {
    session: tower_sessions::Session,
    had_cookie: bool,
    csrf_sent: Option<String>,
}

/// The body limit, the session and the readable CSRF cookie, then the authentication steps
/// that need no waiting. The request is borrowed, not moved: each move copies it.
fn before_handler(shared: &Shared, req: &mut Request) -> Before {
    let limit = shared.sec.config().max_body_size;
    if declares_more_than(limit, req) {
        use axum::response::IntoResponse as _;
        let response = crate::envelope::Envelope::error(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            .with_error("Request body too large")
            .into_response();
        return Before::Answer(response, None);
    }
    // A body known to be empty (every GET of the hot path) cannot pass the limit: it is left
    // as it is instead of being boxed into a `Limited` on every request.
    let empty = axum::body::HttpBody::size_hint(req.body()).exact() == Some(0);
    if !empty {
        let body = std::mem::take(req.body_mut());
        *req.body_mut() = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    }
    let (session, had_cookie) = session::start(&shared.store, &shared.cookie, req);
    let csrf_sent = crate::csrf_cookie::sent(&shared.sec, req);
    let after = After {
        session,
        had_cookie,
        csrf_sent,
    };
    match crate::authn::prepare_now(&shared.sec, req) {
        crate::authn::Start::Ready => Before::Ready(after),
        crate::authn::Start::Wait => Before::Wait(after),
        crate::authn::Start::Refused(response) => Before::Answer(response, Some(after)),
    }
}

/// The handler of a request that [`before_handler`] could not prepare at once.
async fn prepared_call<S>(sec: Security, mut inner: S, req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match crate::authn::prepare_checked(&sec, req).await {
        Ok((req, restored)) => {
            let Ok(mut response) = inner.call(req).await;
            crate::authn::after(&sec, restored, &mut response);
            response
        }
        Err(response) => response,
    }
}

/// The handler's answer, then the readable CSRF cookie and the session's write-back.
async fn after_handler<F>(shared: &Shared, handler: Handler<F>, after: Option<After>) -> Response
where
    F: Future<Output = Result<Response, Infallible>>,
{
    let mut response = match handler {
        Handler::Called(f) => {
            let Ok(response) = f.await;
            response
        }
        Handler::Boxed(f) => f.await,
        Handler::Answer(response) => response,
    };
    let Some(after) = after else {
        return response;
    };
    if shared.sec.config().csrf_cookie.is_some() {
        let auth = crate::session::AuthSession(after.session.clone());
        // Boxed, like the other steps off the hot path, to keep this future small.
        Box::pin(crate::csrf_cookie::finish(
            &shared.sec,
            after.csrf_sent.as_deref(),
            &auth,
            &mut response,
        ))
        .await;
    }
    session::finish(
        &after.session,
        after.had_cookie,
        &shared.cookie,
        &mut response,
    )
    .await;
    response
}

/// The security headers on the answer; a browser's CSRF refusal gets the template's page.
async fn finish_headers(
    shared: &Shared,
    pending: Option<Pending>,
    mut response: Response,
) -> Response {
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
        // Boxed: rendering a page is far off the hot path, and inline its state would be
        // part of every request's future again.
        Box::pin(crate::pages::csrf_page(
            &shared.sec,
            &nonce,
            refused.0,
            &mut response,
        ))
        .await;
    }
    match (&shared.headers, pending) {
        (Some(h), Some(p)) => h.finish(p, response),
        _ => response,
    }
}

/// `SECURITY_MAX_BODY_SIZE`: a declared `Content-Length` above the limit is answered 413 at
/// once; any other body is cut off at the limit (the `Limited` wrapper in [`before_handler`]), so whoever
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
/// than an `async fn`: that would hold the steps' future twice (as its argument and inside
/// the `CatchUnwind`) and double the size of every request's future.
fn guarded(call: impl Future<Output = Response>) -> impl Future<Output = Response> {
    use futures_util::FutureExt as _;
    std::panic::AssertUnwindSafe(call)
        .catch_unwind()
        .map(|outcome| outcome.unwrap_or_else(crate::headers::panic_response))
}
