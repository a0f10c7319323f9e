//! Authentication extractors.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{BasicOnly, Mechanisms, Rejection, SessionOrToken, TokenOnly};
use crate::authn::{self, CurrentUser};
use crate::envelope::wants_json;
use crate::freshness;
use crate::security::Security;
use crate::session::AuthSession;

pub(crate) fn security(parts: &Parts) -> Result<Security, Rejection> {
    crate::authn::installed(&parts.extensions)
        .cloned()
        .ok_or(Rejection::NotInstalled)
}

/// Requires an authenticated caller by one of `M`'s mechanisms (default: session or token).
/// Dereferences to the [`CurrentUser`], which dereferences to the user row.
#[derive(Debug, Clone)]
pub struct AuthRequired<M: Mechanisms = SessionOrToken> {
    /// The caller.
    pub user: CurrentUser,
    _mechanisms: PhantomData<M>,
}

impl<M: Mechanisms> std::ops::Deref for AuthRequired<M> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl<M: Mechanisms, S: Send + Sync> FromRequestParts<S> for AuthRequired<M> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        let sec = security(parts)?;
        match authn::authenticate(parts, &sec, M::LIST).await? {
            Some(user) => {
                csrf(parts, &sec, &user).await?;
                Ok(Self {
                    user,
                    _mechanisms: PhantomData,
                })
            }
            None => Err(Rejection::unauthenticated(parts, &sec, M::LIST)),
        }
    }
}

/// The CSRF check of an authenticated request, as a rejection.
pub(crate) async fn csrf(
    parts: &mut Parts,
    sec: &Security,
    user: &CurrentUser,
) -> Result<(), Rejection> {
    authn::check_csrf(parts, sec, user)
        .await
        .map_err(|error| Rejection::Csrf {
            error,
            wants_json: wants_json(&parts.headers),
        })
}

/// `auth_token_required`: token only.
pub type AuthTokenRequired = AuthRequired<TokenOnly>;
/// `http_auth_required`: HTTP Basic only, answered with `WWW-Authenticate: Basic
/// realm="Login Required"`.
pub type HttpAuthRequired = AuthRequired<BasicOnly>;

/// Session or token authentication that is also **fresh**: primary authentication (password,
/// `/verify`, Basic, or a token's `fs_paa`) within `SECURITY_FRESHNESS`, or a session inside
/// its grace period (`SECURITY_FRESHNESS_GRACE_PERIOD`); see [`crate::freshness`]. A stale
/// caller gets Flask-Security's re-authentication answer (JSON 401 `reauth_required`, or a
/// redirect to `/verify?next=`). A negative `SECURITY_FRESHNESS` disables the check.
#[derive(Debug, Clone)]
pub struct FreshRequired {
    /// The caller.
    pub user: CurrentUser,
}

impl std::ops::Deref for FreshRequired {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl<S: Send + Sync> FromRequestParts<S> for FreshRequired {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let sec = security(parts)?;
        let window = freshness::Window::configured(sec.config());
        let user = fresh::<S, SessionOrToken>(parts, state, window).await?;
        Ok(Self { user })
    }
}

/// Like [`FreshRequired`] with its own window and grace period in seconds, and optionally
/// other mechanisms: `@auth_required(within=5, grace=0)` is `FreshWithin<300, 0>`, and
/// `@auth_required("token", "session", "basic", within=5)` is
/// `FreshWithin<300, 3600, AnyMechanism>` (Basic is always fresh).
#[derive(Debug, Clone)]
pub struct FreshWithin<
    const WITHIN_SECS: i64,
    const GRACE_SECS: i64,
    M: Mechanisms = SessionOrToken,
> {
    /// The caller.
    pub user: CurrentUser,
    _mechanisms: PhantomData<M>,
}

impl<const W: i64, const G: i64, M: Mechanisms> std::ops::Deref for FreshWithin<W, G, M> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.user
    }
}

impl<const W: i64, const G: i64, M: Mechanisms, S: Send + Sync> FromRequestParts<S>
    for FreshWithin<W, G, M>
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        let window = freshness::Window {
            within_secs: W,
            grace_secs: G,
        };
        let user = fresh::<S, M>(parts, state, window).await?;
        Ok(Self {
            user,
            _mechanisms: PhantomData,
        })
    }
}

/// Authenticates by one of `M`'s mechanisms, checks CSRF, then freshness for `window`.
async fn fresh<S: Send + Sync, M: Mechanisms>(
    parts: &mut Parts,
    state: &S,
    window: freshness::Window,
) -> Result<CurrentUser, Rejection> {
    let AuthRequired { user, .. } = AuthRequired::<M>::from_request_parts(parts, state).await?;
    let sec = security(parts)?;
    let session = parts
        .extensions
        .get::<tower_sessions::Session>()
        .cloned()
        .map(AuthSession);
    let allow_token = sec.config().freshness_allow_auth_token;
    let is_fresh = freshness::check(&user, session.as_ref(), window, allow_token)
        .await
        .map_err(|e| Rejection::Backend(e.into()))?;
    if is_fresh {
        return Ok(user);
    }
    let wants_json = wants_json(&parts.headers);
    let has_webauthn_verify_credential =
        wants_json && crate::webauthn::has_verify_credential(&sec, &user).await;
    Err(Rejection::Stale {
        has_webauthn_verify_credential,
        message: sec.messages().text("REAUTHENTICATION_REQUIRED"),
        unified_signin: sec.config().unified_signin,
        wants_json,
        next: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
    })
}

/// The caller if authenticated by session or token, else `None` (`current_user`).
#[derive(Debug, Clone)]
pub struct OptionalUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        let sec = security(parts)?;
        Ok(Self(
            authn::authenticate(parts, &sec, SessionOrToken::LIST).await?,
        ))
    }
}

/// `anonymous_user_required`: refuses signed-in callers (JSON 400, or a redirect to the
/// post-login view for browsers).
#[derive(Debug, Clone, Copy)]
pub struct AnonymousRequired;

impl<S: Send + Sync> FromRequestParts<S> for AnonymousRequired {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Rejection> {
        match OptionalUser::from_request_parts(parts, state).await? {
            OptionalUser(None) => Ok(Self),
            OptionalUser(Some(_)) => {
                let sec = security(parts)?;
                Err(Rejection::NotAnonymous {
                    message: sec.messages().text("ANONYMOUS_USER_REQUIRED"),
                    wants_json: wants_json(&parts.headers),
                    post_login_view: sec.config().post_login_view.clone(),
                })
            }
        }
    }
}
