//! Authentication extractors.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{BasicOnly, Mechanisms, Rejection, SessionOrToken, TokenOnly};
use crate::authn::{self, CurrentUser};
use crate::envelope::wants_json;
use crate::security::Security;
use crate::session::now_f64;

pub(crate) fn security(parts: &Parts) -> Result<Security, Rejection> {
    parts
        .extensions
        .get::<Security>()
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
/// Basic, or a token's `fs_paa`) within `SECURITY_FRESHNESS`. A stale caller gets
/// Flask-Security's re-authentication answer (JSON 401 `reauth_required`, or a redirect to
/// `/verify?next=`). A negative `SECURITY_FRESHNESS` disables the check.
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
        let AuthRequired { user, .. } =
            AuthRequired::<SessionOrToken>::from_request_parts(parts, state).await?;
        let sec = security(parts)?;
        let within = sec.config().freshness_secs;
        if within < 0 || user.via == authn::Mechanism::Basic {
            return Ok(Self { user });
        }
        let fresh = user.fs_paa.is_some_and(|paa| {
            let age = now_f64() - paa;
            #[allow(clippy::cast_precision_loss)]
            let within = within as f64;
            -within < age && age < within
        });
        if fresh {
            return Ok(Self { user });
        }
        Err(Rejection::Stale {
            unified_signin: sec.config().unified_signin,
            wants_json: wants_json(&parts.headers),
            next: parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        })
    }
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
                    wants_json: wants_json(&parts.headers),
                    post_login_view: sec.config().post_login_view.clone(),
                })
            }
        }
    }
}
