//! `POST /logout`: deletes the session and the remember-me cookie. JSON clients get
//! `200 {"meta":{"code":200},"response":{}}`, browsers a redirect to the post-logout view.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::authn::{self, AuthnError};
use crate::envelope::{Envelope, wants_json};
use crate::extract::{Mechanisms, Rejection, SessionOrToken};
use crate::security::{Security, handlers};
use crate::session::AuthSession;

/// `POST /logout`.
pub(crate) async fn post(req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    let Some(sec) = parts.extensions.get::<Security>().cloned() else {
        return Rejection::NotInstalled.into_response();
    };
    let current = match authn::authenticate(&mut parts, &sec, SessionOrToken::LIST).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if sec.config().logout_csrf
        && let Some(user) = &current
        && let Err(error) = authn::check_csrf(&mut parts, &sec, user).await
    {
        return Rejection::Csrf {
            error,
            wants_json: wants_json(&parts.headers),
        }
        .into_response();
    }
    if let Some(session) = parts.extensions.get::<tower_sessions::Session>()
        && let Err(e) = AuthSession(session.clone()).logout().await
    {
        return AuthnError::from(e).into_response();
    }
    if let Some(user) = &current {
        tracing::info!(user_id = user.id, "user logged out");
        sec.events()
            .emit(crate::events::Event::UserLoggedOut { user_id: user.id });
    }
    let mut response = if wants_json(&parts.headers) {
        Envelope::ok(StatusCode::OK).into_response()
    } else {
        handlers::found(&sec.config().post_logout_view)
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, sec.inner.remember.clear_header());
    response
}
