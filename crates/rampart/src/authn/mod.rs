//! Authentication mechanisms — token, session, HTTP Basic — and the layer that prepares each
//! request for them.
//!
//! Resolution follows Flask-Security's `auth_required`: whatever order an endpoint lists its
//! mechanisms in, they are tried as token, then session, then Basic; the first that
//! authenticates wins. Each mechanism's result is cached in the request, so stacking several
//! extractors costs one look-up.

mod basic;
mod client;
pub mod remember;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_core::model::{Role, User};
use rampart_core::{DatastoreError, UserDatastore};
use tokio::sync::OnceCell;

pub use client::ClientAddr;

/// Flask-Security's token header (its default `SECURITY_TOKEN_AUTHENTICATION_HEADER`), as a
/// ready name: a look-up by string would parse the name on every request.
pub(crate) const AUTHENTICATION_TOKEN: axum::http::HeaderName =
    axum::http::HeaderName::from_static("authentication-token");

use crate::envelope::Envelope;
use crate::security::Security;
use crate::session::{AuthSession, SessionError, now_f64};

/// An authentication mechanism, named as in Flask-Security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `Authentication-Token` header, `auth_token` query parameter or JSON key.
    Token,
    /// The session cookie (and the remember-me cookie that restores a session).
    Session,
    /// HTTP Basic (`Authorization: Basic …`).
    Basic,
}

impl Mechanism {
    /// Flask-Security's name: `token`, `session` or `basic`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Session => "session",
            Self::Basic => "basic",
        }
    }
}

/// The authenticated caller.
#[derive(Clone)]
pub struct CurrentUser {
    /// The user row (shared: extractors and the per-request cache clone it cheaply).
    pub user: Arc<User>,
    /// How the caller authenticated.
    pub via: Mechanism,
    /// Time of primary authentication (epoch seconds) from the session or the token; Basic
    /// counts as now.
    pub fs_paa: Option<f64>,
    store: Arc<dyn UserDatastore>,
    roles: Arc<OnceCell<Arc<[Role]>>>,
}

impl std::fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("id", &self.user.id)
            .field("via", &self.via)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for CurrentUser {
    type Target = User;
    fn deref(&self) -> &User {
        &self.user
    }
}

impl CurrentUser {
    pub(crate) fn new(
        user: Arc<User>,
        via: Mechanism,
        fs_paa: Option<f64>,
        sec: &Security,
    ) -> Self {
        Self {
            user,
            via,
            fs_paa,
            store: Arc::clone(sec.store()),
            roles: Arc::new(OnceCell::new()),
        }
    }

    /// The user's roles (loaded once per request).
    ///
    /// # Errors
    /// When the datastore fails.
    pub async fn roles(&self) -> Result<&[Role], DatastoreError> {
        if self.roles.get().is_none()
            && let Some(hit) = self.store.cached_roles_of(self.user.id)
        {
            // A clone of this user may have set it meanwhile: the same roles either way.
            let _ = self.roles.set(hit);
        }
        self.roles
            .get_or_try_init(|| self.store.roles_of_shared(self.user.id))
            .await
            .map(|r| &**r)
    }

    /// Whether the user has a role.
    ///
    /// # Errors
    /// When the datastore fails.
    pub async fn has_role(&self, name: &str) -> Result<bool, DatastoreError> {
        Ok(self.roles().await?.iter().any(|r| r.name == name))
    }

    /// Whether one of the user's roles grants a permission.
    ///
    /// # Errors
    /// When the datastore fails.
    pub async fn has_permission(&self, name: &str) -> Result<bool, DatastoreError> {
        Ok(self
            .roles()
            .await?
            .iter()
            .any(|r| r.permissions.iter().any(|p| p == name)))
    }
}

/// What the authentication step leaves in each request, as one extension rather than one per
/// item (each extension is an allocation and a map insert on the hot path): the installed
/// [`Security`], the client address, the token the layer found, and each mechanism's outcome
/// once resolved.
#[derive(Clone)]
pub(crate) struct RequestCtx {
    sec: Security,
    addr: ClientAddr,
    token: Option<FoundToken>,
    resolved: Resolved,
}

/// The auth token the layer found: the header's value as it came (a reference-counted view of
/// the request's bytes, not a copy), or a query or body value.
#[derive(Clone)]
enum FoundToken {
    Header(axum::http::HeaderValue),
    Text(String),
}

impl FoundToken {
    fn as_str(&self) -> &str {
        match self {
            Self::Header(v) => std::str::from_utf8(v.as_bytes()).unwrap_or_default(),
            Self::Text(t) => t,
        }
    }
}

/// The [`Security`] the layer put in the request (`None` outside [`Security::install`] and
/// [`middleware`]).
pub(crate) fn installed(ext: &axum::http::Extensions) -> Option<&Security> {
    ext.get::<RequestCtx>().map(|c| &c.sec)
}

/// The client address the layer computed (unknown outside the layer).
pub(crate) fn client_addr(ext: &axum::http::Extensions) -> ClientAddr {
    ext.get::<RequestCtx>().map_or(ClientAddr(None), |c| c.addr)
}

/// The installed [`Security`], for an application's handlers: `async fn h(sec: Security)`.
/// Outside [`Security::install`] the request is refused with a 500 (a wiring error).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Security {
    type Rejection = crate::extract::Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        installed(&parts.extensions)
            .cloned()
            .ok_or(crate::extract::Rejection::NotInstalled)
    }
}

/// The client address (the peer, or `X-Forwarded-For` behind `SECURITY_TRUSTED_PROXIES`
/// proxies), for an application's handlers; `ClientAddr(None)` when unknown.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &S,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(client_addr(&parts.extensions))
    }
}

/// Each mechanism's outcome for this request once resolved (`None`: not tried yet), in place
/// rather than in a vector that would be one more allocation per request.
#[derive(Clone, Default)]
struct Resolved {
    token: Option<Option<CurrentUser>>,
    session: Option<Option<CurrentUser>>,
    basic: Option<Option<CurrentUser>>,
}

impl Resolved {
    fn of(&self, mech: Mechanism) -> &Option<Option<CurrentUser>> {
        match mech {
            Mechanism::Token => &self.token,
            Mechanism::Session => &self.session,
            Mechanism::Basic => &self.basic,
        }
    }

    fn of_mut(&mut self, mech: Mechanism) -> &mut Option<Option<CurrentUser>> {
        match mech {
            Mechanism::Token => &mut self.token,
            Mechanism::Session => &mut self.session,
            Mechanism::Basic => &mut self.basic,
        }
    }
}

/// Why authentication could not be decided (not "unauthenticated": a failure).
#[derive(Debug, thiserror::Error)]
pub enum AuthnError {
    /// The datastore failed.
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// The session store failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Too many password attempts (HTTP Basic): answered `429` with `Retry-After`.
    #[error("too many attempts")]
    Throttled(std::time::Duration),
}

impl From<crate::throttle::ThrottleError> for AuthnError {
    fn from(e: crate::throttle::ThrottleError) -> Self {
        match e {
            crate::throttle::ThrottleError::Throttled { retry_after } => {
                Self::Throttled(retry_after)
            }
            crate::throttle::ThrottleError::Backend(e) => Self::Datastore(e),
        }
    }
}

impl IntoResponse for AuthnError {
    fn into_response(self) -> Response {
        if let Self::Throttled(retry_after) = self {
            return crate::throttle::throttled_json(retry_after);
        }
        tracing::error!(error = %self, "authentication failed on a backend error");
        Envelope::error(axum::http::StatusCode::SERVICE_UNAVAILABLE)
            .with_error("Service temporarily unavailable")
            .into_response()
    }
}

/// Authenticates with the first of `mechanisms` (in token, session, Basic order) that works.
///
/// # Errors
/// [`AuthnError`] when a backend fails.
pub async fn authenticate(
    parts: &mut Parts,
    sec: &Security,
    mechanisms: &[Mechanism],
) -> Result<Option<CurrentUser>, AuthnError> {
    for mech in [Mechanism::Token, Mechanism::Session, Mechanism::Basic] {
        if !mechanisms.contains(&mech) {
            continue;
        }
        if let Some(user) = resolve(parts, sec, mech).await? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

async fn resolve(
    parts: &mut Parts,
    sec: &Security,
    mech: Mechanism,
) -> Result<Option<CurrentUser>, AuthnError> {
    let cached = parts
        .extensions
        .get::<RequestCtx>()
        .and_then(|s| s.resolved.of(mech).clone());
    if let Some(user) = cached {
        return Ok(user);
    }
    let user = match mech {
        Mechanism::Token => by_token(parts, sec).await?,
        Mechanism::Session => by_session(parts, sec).await?,
        Mechanism::Basic => {
            // Boxed: the password check's state is large and off the token/session path, and
            // an inline one would make every authenticating future as large.
            let addr = client_addr(&parts.extensions);
            Box::pin(basic::authenticate(&parts.headers, addr, sec)).await?
        }
    };
    if let Some(ctx) = parts.extensions.get_mut::<RequestCtx>() {
        *ctx.resolved.of_mut(mech) = Some(user.clone());
    }
    Ok(user)
}

async fn by_token(parts: &Parts, sec: &Security) -> Result<Option<CurrentUser>, AuthnError> {
    let Some(token) = parts
        .extensions
        .get::<RequestCtx>()
        .and_then(|s| s.token.as_ref())
        .map(FoundToken::as_str)
    else {
        return Ok(None);
    };
    let now = rampart_core::signing::unix_now();
    match sec
        .tokens()
        .authenticate_shared_at(token, sec.store().as_ref(), now)
        .await
    {
        Ok((user, claims)) => Ok(Some(CurrentUser::new(
            user,
            Mechanism::Token,
            claims.fs_paa,
            sec,
        ))),
        Err(crate::tokens::TokenError::Datastore(e)) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

async fn by_session(parts: &Parts, sec: &Security) -> Result<Option<CurrentUser>, AuthnError> {
    let Some(session) = parts.extensions.get::<tower_sessions::Session>() else {
        return Ok(None);
    };
    let session = AuthSession(session.clone());
    let Some(uid) = session.user_id().await? else {
        return Ok(None);
    };
    match rampart_core::datastore::user_by_uniquifier(sec.store().as_ref(), &uid).await? {
        Some(user) if user.active => {
            let paa = session.fs_paa().await?;
            Ok(Some(CurrentUser::new(user, Mechanism::Session, paa, sec)))
        }
        _ => Ok(None),
    }
}

/// The authentication layer: puts [`Security`] and the client address in the request, finds
/// the auth token (header, query, JSON body) and signs in remember-me callers.
/// ([`Security::install`] runs the same steps inside its combined layer.)
pub async fn middleware(
    axum::extract::State(sec): axum::extract::State<Security>,
    req: Request,
    next: Next,
) -> Response {
    let (req, restored) = match prepare(&sec, req).await {
        Ok(prepared) => prepared,
        Err(response) => return response,
    };
    let mut response = next.run(req).await;
    after(&sec, restored, &mut response);
    response
}

/// The layer's work before the handler; `Err` is the answer to a request that cannot go on.
/// The `Option<bool>` says whether a remember-me cookie restored the session (see
/// [`after`]).
pub(crate) async fn prepare(
    sec: &Security,
    req: Request,
) -> Result<(Request, Option<bool>), Response> {
    if let Some(refusal) = crate::csrf::cross_site_refusal(sec, &req) {
        return Err(refusal);
    }
    prepare_checked(sec, req).await
}

/// What [`prepare_now`] could do without waiting.
pub(crate) enum Start {
    /// Prepared: call the handler.
    Ready,
    /// Passed the cross-site check; [`prepare_checked`] must finish it (a body to read for
    /// tokens, or a remember-me cookie).
    Wait,
    /// Refused as cross-site.
    Refused(Response),
}

/// [`prepare`] without waiting, for a request that has no body to read and no remember-me
/// cookie (every GET of the hot path); others are left to [`prepare_checked`].
pub(crate) fn prepare_now(sec: &Security, req: &mut Request) -> Start {
    if let Some(refusal) = crate::csrf::cross_site_refusal(sec, req) {
        return Start::Refused(refusal);
    }
    if body_kind(req).is_some() || remember_cookie(req).is_some() {
        return Start::Wait;
    }
    let token = token_from_parts(req.headers(), req.uri().query());
    insert_ctx(req, sec, token);
    Start::Ready
}

/// Puts the request's [`RequestCtx`] in place: the installed `Security`, the client address
/// and the token found.
fn insert_ctx(req: &mut Request, sec: &Security, token: Option<FoundToken>) {
    let addr = ClientAddr::of(req, sec.config().trusted_proxies);
    req.extensions_mut().insert(RequestCtx {
        sec: sec.clone(),
        addr,
        token,
        resolved: Resolved::default(),
    });
}

/// [`prepare`] after its cross-site check.
pub(crate) async fn prepare_checked(
    sec: &Security,
    req: Request,
) -> Result<(Request, Option<bool>), Response> {
    let (mut req, token) = find_token(req, sec.config().max_body_size).await?;
    insert_ctx(&mut req, sec, token);
    let restored = remember_login(&mut req, sec)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((req, restored))
}

/// The layer's work after the handler: a remember cookie that no longer names an active user
/// is deleted.
pub(crate) fn after(sec: &Security, restored: Option<bool>, response: &mut Response) {
    if restored == Some(false) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, sec.inner.remember.clear_header());
    }
}

/// Finds the auth token (header, query, JSON key) and a `csrf_token` in a JSON or form body;
/// the body is buffered (up to `SECURITY_MAX_BODY_SIZE`, `limit`) and put back.
async fn find_token(req: Request, limit: usize) -> Result<(Request, Option<FoundToken>), Response> {
    let header_token = token_from_parts(req.headers(), req.uri().query());
    match body_kind(&req) {
        None => Ok((req, header_token)),
        // Boxed: reading a body is off the GET path, and its state would otherwise be part
        // of every request's future.
        Some(is_json) => Box::pin(with_body_tokens(req, limit, is_json, header_token)).await,
    }
}

/// `Some(is_json)` when the request has a JSON or form body to search for tokens.
fn body_kind(req: &Request) -> Option<bool> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return None;
    }
    let ct = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    if crate::envelope::is_json_content_type(ct) {
        return Some(true);
    }
    ct.get(..33)
        .is_some_and(|p| p.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        .then_some(false)
}

/// [`find_token`] for a request with a body: the header token wins over the body's.
async fn with_body_tokens(
    req: Request,
    limit: usize,
    is_json: bool,
    header_token: Option<FoundToken>,
) -> Result<(Request, Option<FoundToken>), Response> {
    let (mut req, body_token, body_csrf) = read_body_tokens(req, limit, is_json).await?;
    let token = header_token.or(body_token.filter(|t| !t.is_empty()).map(FoundToken::Text));
    if let Some(csrf) = body_csrf.filter(|t| !t.is_empty()) {
        req.extensions_mut().insert(crate::csrf::BodyToken(csrf));
    }
    Ok((req, token))
}

/// Buffers the body (413 past `limit`), reads its tokens and puts it back.
async fn read_body_tokens(
    req: Request,
    limit: usize,
    is_json: bool,
) -> Result<(Request, Option<String>, Option<String>), Response> {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Err(Envelope::error(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
            .with_error("Request body too large")
            .into_response());
    };
    let (token, csrf) = body_tokens(is_json, &bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), token, csrf))
}

/// The `auth_token` (JSON only) and `csrf_token` of a JSON or form body: string values of
/// the top-level keys, or the first `csrf_token` field of a form (as the views read it).
pub(crate) fn body_tokens(is_json: bool, bytes: &[u8]) -> (Option<String>, Option<String>) {
    if is_json {
        let value = serde_json::from_slice::<serde_json::Value>(bytes).ok();
        let field = |k: &str| {
            value
                .as_ref()
                .and_then(|v| v.get(k)?.as_str().map(str::to_owned))
        };
        return (field("auth_token"), field("csrf_token"));
    }
    let csrf = url::form_urlencoded::parse(bytes)
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.into_owned());
    (None, csrf)
}

/// CSRF for an authenticated request: state-changing requests by a protected mechanism, or
/// carrying a signed-in session cookie, need a valid token. Checked once per request.
///
/// # Errors
/// The CSRF failure, answered as a 400.
pub(crate) async fn check_csrf(
    parts: &mut Parts,
    sec: &Security,
    user: &CurrentUser,
) -> Result<(), crate::csrf::CsrfError> {
    let c = sec.config();
    if !c.csrf_enabled
        || !crate::csrf::is_unsafe(&parts.method)
        || parts.extensions.get::<Checked>().is_some()
    {
        return Ok(());
    }
    // Boxed: only state-changing requests get here, and the check's futures would otherwise
    // be part of every authenticating extractor's future.
    Box::pin(check_csrf_needed(parts, sec, user)).await
}

/// Marks a request whose CSRF token [`check_csrf`] has accepted.
#[derive(Clone)]
struct Checked;

/// The part of [`check_csrf`] that runs for a state-changing request.
async fn check_csrf_needed(
    parts: &mut Parts,
    sec: &Security,
    user: &CurrentUser,
) -> Result<(), crate::csrf::CsrfError> {
    let c = sec.config();
    let mut needed = c.csrf_protect_mechanisms.contains(&user.via);
    if !needed && user.via != Mechanism::Session && has_session_cookie(parts, sec) {
        // A request carrying a signed-in session cookie is a session request for CSRF.
        needed = matches!(resolve(parts, sec, Mechanism::Session).await, Ok(Some(_)));
    }
    if !needed {
        return Ok(());
    }
    let session = parts
        .extensions
        .get::<tower_sessions::Session>()
        .cloned()
        .map(AuthSession);
    crate::csrf::validate_request(
        sec,
        session.as_ref(),
        &parts.headers,
        parts.extensions.get(),
    )
    .await?;
    parts.extensions.insert(Checked);
    Ok(())
}

fn has_session_cookie(parts: &Parts, sec: &Security) -> bool {
    crate::session::session_cookie(&parts.headers, &sec.config().session_cookie_name).is_some()
}

/// Header first, then the query parameter (Flask-Security lets a later source override an
/// earlier one; a request carrying two different tokens is unusual enough that Rampart simply
/// prefers the header).
fn token_from_parts(headers: &HeaderMap, query: Option<&str>) -> Option<FoundToken> {
    if let Some(v) = headers
        .get(AUTHENTICATION_TOKEN)
        // Present means used, as in Flask-Security (the header wins over the query even when
        // its value is no token); a value that is not UTF-8 reads as empty and fails.
        .filter(|v| !v.is_empty())
    {
        return Some(FoundToken::Header(v.clone()));
    }
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "auth_token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
        .map(FoundToken::Text)
}

/// Restores a session from the remember-me cookie: `Some(true)` when it did, `Some(false)` when
/// the cookie is dead, `None` when there was nothing to do.
async fn remember_login(req: &mut Request, sec: &Security) -> Result<Option<bool>, AuthnError> {
    let Some(value) = remember_cookie(req) else {
        return Ok(None);
    };
    // Boxed: only callers with a remember cookie get here.
    Box::pin(restore_remembered(req, sec, value)).await
}

/// The remember-me cookie's value, when the request carries one.
fn remember_cookie(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(remember::from_cookie_header)
        .map(str::to_owned)
}

/// [`remember_login`] for a request with a remember cookie (`value`).
async fn restore_remembered(
    req: &mut Request,
    sec: &Security,
    value: String,
) -> Result<Option<bool>, AuthnError> {
    let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() else {
        return Ok(None);
    };
    let session = AuthSession(session);
    if session.user_id().await?.is_some() {
        return Ok(None);
    }
    let Some(uid) = sec.inner.remember.verify(&value) else {
        return Ok(Some(false));
    };
    match sec.store().find_user_by_uniquifier(&uid).await? {
        Some(user) if user.active => {
            session.login(&user.fs_uniquifier, false).await?;
            crate::csrf_cookie::request_set(sec, &session).await?;
            tracing::info!(user_id = user.id, "signed in from the remember-me cookie");
            Ok(Some(true))
        }
        _ => Ok(Some(false)),
    }
}

/// Now as Flask-Security's `fs_paa` for mechanisms that are fresh by nature (Basic).
pub(crate) fn fresh_now() -> Option<f64> {
    Some(now_f64())
}
