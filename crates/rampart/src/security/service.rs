//! The one layer [`Security::install`] puts around every route: security headers outermost,
//! then the session, then authentication (client address, auth token, remember-me).
//!
//! The three steps are also available as separate layers ([`crate::headers::SecurityHeaders`],
//! [`crate::session::SessionLayer`], [`crate::authn::middleware`]). Installed together they run
//! in one service, because axum wraps each route in every layer separately and clones the
//! whole stack below a layer on every call: one combined layer costs a fraction of three.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::{Layer, Service};

use super::Security;
use crate::headers::Prepared;
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
            let pending = shared.headers.as_ref().map(|h| h.begin(&mut req));
            let (session, had_cookie) = session::start(&shared.store, &shared.cookie, &mut req);
            let mut response = match crate::authn::prepare(&shared.sec, req).await {
                Ok((req, restored)) => {
                    let Ok(mut response) = inner.call(req).await;
                    crate::authn::after(&shared.sec, restored, &mut response);
                    response
                }
                Err(response) => response,
            };
            session::finish(&session, had_cookie, &shared.cookie, &mut response).await;
            if let (Some(h), Some(p)) = (&shared.headers, pending) {
                h.finish(p, &mut response);
            }
            Ok(response)
        })
    }
}
