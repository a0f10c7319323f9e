//! `POST /logout`: deletes the session and the remember-me cookie. JSON clients get
//! `200 {"meta":{"code":200},"response":{}}`, browsers a redirect to `next` (query or form
//! field) when the open-redirect guard allows it, else to the post-logout view. An off-site
//! `next` is ignored rather than refused: the user is signed out either way.

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
    let (mut parts, body) = req.into_parts();
    let Some(sec) = crate::authn::installed(&parts.extensions).cloned() else {
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
        if wants_json(&parts.headers) {
            return Rejection::Csrf {
                error,
                wants_json: true,
            }
            .into_response();
        }
        let user = current.as_ref().map(|u| u.user.clone());
        return confirm_page(&sec, &parts, user, error).await;
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
        let next = next_of(&parts, body).await;
        let target = next
            .filter(|n| crate::redirect::allowed(&sec, &parts.headers, n))
            .map_or_else(
                || sec.config().post_logout_view.clone(),
                |n| crate::redirect::quote_location(&n),
            );
        handlers::found(&target)
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, sec.inner.remember.clear_header());
    if let Some(clear) = sec
        .config()
        .csrf_cookie
        .as_ref()
        .and_then(|c| c.clear_header())
    {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// Flask-Security 5.9's answer to a browser logout without a valid CSRF token
/// (`SECURITY_LOGOUT_CSRF`): a 400 "confirm sign out" page whose form carries the token, so a
/// forged logout does nothing and the user can still sign out with one click.
async fn confirm_page(
    sec: &Security,
    parts: &axum::http::request::Parts,
    user: Option<std::sync::Arc<rampart_core::model::User>>,
    error: crate::csrf::CsrfError,
) -> Response {
    tracing::info!(reason = %error, "logout without a valid CSRF token");
    let form = crate::pages::Form::new()
        .submit("Sign Out")
        .errors([("", error.to_string())]);
    let page = crate::pages::Page::new("security/logout_user.html")
        .form("logout_form", &form)
        .status(StatusCode::BAD_REQUEST);
    crate::pages::PageContext::from_parts(sec, parts, user)
        .render(page)
        .await
}

/// `next` from the form body (which wins) or the query string.
async fn next_of(parts: &axum::http::request::Parts, body: axum::body::Body) -> Option<String> {
    let from_body = match axum::body::to_bytes(body, super::account::FORM_BODY_LIMIT).await {
        Ok(bytes) => super::form::Fields::parse(&parts.headers, &bytes)
            .ok()
            .and_then(|f| f.text("next")),
        Err(_) => None,
    };
    from_body.or_else(|| {
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    })
}
