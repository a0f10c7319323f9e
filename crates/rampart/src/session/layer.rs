//! The session layer: puts a lazy [`Session`] in every request and, after the response, saves
//! it and sets or deletes the session cookie.
//!
//! It keeps tower-sessions' semantics (a record is loaded only when a handler reads the
//! session, saved only when modified, the cookie deleted when the session ends up empty) but
//! reads the one cookie it needs straight from the `Cookie` header and writes `Set-Cookie`
//! itself, instead of parsing every cookie into a jar on every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::{Duration, OffsetDateTime};
use tower::{Layer, Service};
use tower_sessions::Session;
use tower_sessions::cookie::{Cookie, SameSite};
use tower_sessions::session::{Expiry, Id};

use super::DynSessionStore;
use crate::envelope::Envelope;

/// The session cookie's attributes.
#[derive(Debug, Clone)]
pub struct SessionCookie {
    /// Cookie name (`SESSION_COOKIE_NAME`, default `session`).
    pub name: String,
    /// `Secure` attribute (`SESSION_COOKIE_SECURE`).
    pub secure: bool,
    /// Idle lifetime of a session: its record expires this long after its last change, and the
    /// cookie carries the same `Max-Age`.
    pub lifetime: Duration,
}

/// Layer of [`SessionService`]; see the module documentation.
#[derive(Debug, Clone)]
#[must_use]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Arc<DynSessionStore>,
    cookie: SessionCookie,
}

impl SessionLayer {
    /// Sessions in `store`, identified by the cookie `cookie`.
    pub fn new(store: DynSessionStore, cookie: SessionCookie) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: Arc::new(store),
                cookie,
            }),
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;
    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service of [`SessionLayer`].
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for SessionService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let (session, had_cookie) = start(&shared.store, &shared.cookie, &mut req);
        // Only the service that was polled ready may be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            finish(&session, had_cookie, &shared.cookie, &mut response).await;
            Ok(response)
        })
    }
}

/// Before the handler: a lazy session for the request's cookie (nothing is loaded yet), put in
/// the request's extensions. Returns it and whether the request carried the cookie.
pub(crate) fn start(
    store: &Arc<DynSessionStore>,
    cookie: &SessionCookie,
    req: &mut Request,
) -> (Session, bool) {
    let value = session_cookie(req.headers(), &cookie.name);
    let id = value.and_then(|v| v.parse::<Id>().ok());
    let had_cookie = value.is_some();
    let session = Session::new(
        id,
        Arc::clone(store),
        Some(Expiry::OnInactivity(cookie.lifetime)),
    );
    req.extensions_mut().insert(session.clone());
    (session, had_cookie)
}

/// After the handler: save a modified session and set its cookie, or delete the cookie of a
/// session that ended up empty (logged out, unknown or expired id).
pub(crate) async fn finish(
    session: &Session,
    had_cookie: bool,
    cookie: &SessionCookie,
    res: &mut Response,
) {
    let modified = session.is_modified();
    if !had_cookie && !modified {
        return;
    }
    // Boxed: a request without a session (the token path) never gets here.
    Box::pin(write_back(session, had_cookie, modified, cookie, res)).await;
}

/// [`finish`] for a request that had or changed a session.
async fn write_back(
    session: &Session,
    had_cookie: bool,
    modified: bool,
    cookie: &SessionCookie,
    res: &mut Response,
) {
    if session.is_empty().await {
        if had_cookie {
            append(res, removal(cookie));
        }
        return;
    }
    if !modified || res.status().is_server_error() {
        return;
    }
    if let Err(error) = session.save().await {
        tracing::error!(%error, "cannot save the session");
        *res = Envelope::error(StatusCode::SERVICE_UNAVAILABLE)
            .with_error("Service temporarily unavailable")
            .into_response();
        return;
    }
    if let Some(id) = session.id() {
        append(res, set(cookie, id));
    }
}

fn append(res: &mut Response, cookie: Cookie<'_>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn base<'c>(cookie: &'c SessionCookie, value: String) -> Cookie<'c> {
    Cookie::build((cookie.name.as_str(), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(cookie.secure)
        .path("/")
        .build()
}

fn set(cookie: &SessionCookie, id: Id) -> Cookie<'_> {
    let mut c = base(cookie, id.to_string());
    c.set_max_age(cookie.lifetime);
    c
}

fn removal(cookie: &SessionCookie) -> Cookie<'_> {
    let mut c = base(cookie, String::new());
    c.set_max_age(Duration::ZERO);
    c.set_expires(OffsetDateTime::UNIX_EPOCH);
    c
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one, as a browser
/// sends the most specific first), without surrounding quotes. Every cookie Rampart reads
/// goes through this.
pub(crate) fn session_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v.trim_matches('"'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_cookie_only() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; session=abc"));
        h.append(header::COOKIE, HeaderValue::from_static("session=second"));
        assert_eq!(session_cookie(&h, "session"), Some("abc"));
        assert_eq!(session_cookie(&h, "sess"), None);
        assert_eq!(session_cookie(&HeaderMap::new(), "session"), None);
    }

    #[test]
    fn cookie_attributes() {
        let c = SessionCookie {
            name: "session".into(),
            secure: true,
            lifetime: Duration::seconds(60),
        };
        let set = set(&c, Id(7)).to_string();
        for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(set.contains(attr), "{set} lacks {attr}");
        }
        let gone = removal(&c).to_string();
        assert!(
            gone.starts_with("session=;") && gone.contains("Max-Age=0"),
            "{gone}"
        );
    }
}
