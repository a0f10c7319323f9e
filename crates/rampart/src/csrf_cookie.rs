//! The optional readable CSRF cookie for single-page applications (`SECURITY_CSRF_COOKIE_NAME`,
//! e.g. `XSRF-TOKEN`): JavaScript reads it and sends its value back in the `X-XSRF-Token`
//! header (Angular and axios do this by themselves).
//!
//! Lifecycle, as Flask-Security's `csrf_cookie_handler` (session key `fs_cc`):
//! - **set** on `GET /login`, on every successful login and when a remember-me cookie signs
//!   the user in again (`fs_cc = "set"`, then `"sent"` once the cookie went out);
//! - **refreshed** on every response when `SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST` is on,
//!   and otherwise whenever the cookie the browser sent no longer validates (expired under
//!   `WTF_CSRF_TIME_LIMIT`, or from an earlier session);
//! - **deleted** on logout (`Max-Age=0`).
//!
//! The cookie is *not* HttpOnly (scripts must read it), `SameSite=Strict`, `Secure` and
//! `Path=/` by default (`SECURITY_CSRF_COOKIE`). It is a signed double-submit token bound to
//! the server-side session secret, never a naive unsigned double-submit: the value alone
//! authorizes nothing, and a cookie alone (without the header) is refused.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use crate::security::Security;
use crate::session::{AuthSession, SessionError};

/// Flask-Security's session key for the cookie state.
pub const FS_CC: &str = "fs_cc";

/// `SameSite` attribute of the CSRF cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict` (default).
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (needs `Secure`).
    None,
}

/// The cookie's name and attributes (`SECURITY_CSRF_COOKIE_NAME`, `SECURITY_CSRF_COOKIE`,
/// `SECURITY_CSRF_COOKIE_REFRESH_EACH_REQUEST`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrfCookie {
    /// The cookie name, e.g. `XSRF-TOKEN`.
    pub name: String,
    /// `SameSite` (default `Strict`).
    pub same_site: SameSite,
    /// `HttpOnly` (default false: scripts must read the cookie).
    pub http_only: bool,
    /// `Secure` (default true).
    pub secure: bool,
    /// `Path` (default `/`).
    pub path: String,
    /// `Domain` (default none: host-only).
    pub domain: Option<String>,
    /// Re-send the cookie on every response.
    pub refresh_each_request: bool,
}

impl CsrfCookie {
    /// Flask-Security's defaults for a cookie called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            same_site: SameSite::Strict,
            http_only: false,
            secure: true,
            path: "/".to_owned(),
            domain: None,
            refresh_each_request: false,
        }
    }

    fn attributes(&self) -> String {
        let mut a = format!("; Path={}", self.path);
        if let Some(d) = &self.domain {
            a.push_str("; Domain=");
            a.push_str(d);
        }
        a.push_str(match self.same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
        if self.secure {
            a.push_str("; Secure");
        }
        if self.http_only {
            a.push_str("; HttpOnly");
        }
        a
    }

    /// The `Set-Cookie` value carrying `token`.
    pub fn set_header(&self, token: &str) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("{}={token}{}", self.name, self.attributes())).ok()
    }

    /// The `Set-Cookie` value deleting the cookie.
    pub fn clear_header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!(
            "{}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT{}",
            self.name,
            self.attributes()
        ))
        .ok()
    }

    /// The value of this cookie in the request, if any.
    pub fn in_request<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        crate::session::session_cookie(headers, &self.name)
    }
}

/// Asks for the cookie to be (re)issued with this response (`fs_cc = "set"`); a no-op when no
/// cookie is configured.
///
/// # Errors
/// When the session store fails.
pub(crate) async fn request_set(sec: &Security, session: &AuthSession) -> Result<(), SessionError> {
    if sec.config().csrf_cookie.is_some() {
        session.0.insert(FS_CC, "set").await?;
    }
    Ok(())
}

/// The cookie's value as the request sent it (when a cookie is configured).
pub(crate) fn sent(sec: &Security, req: &Request) -> Option<String> {
    let cookie = sec.config().csrf_cookie.as_ref()?;
    cookie.in_request(req.headers()).map(str::to_owned)
}

/// After the handler: sends, refreshes or deletes the cookie as the session asks (a no-op
/// when no cookie is configured).
pub(crate) async fn finish(
    sec: &Security,
    sent: Option<&str>,
    session: &AuthSession,
    response: &mut Response,
) {
    let Some(cookie) = sec.config().csrf_cookie.as_ref() else {
        return;
    };
    match decide(sec, cookie, session, sent).await {
        Ok(Some(value)) => {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot maintain the CSRF cookie"),
    }
}

/// What to send: a new cookie, a deletion, or nothing.
async fn decide(
    sec: &Security,
    cookie: &CsrfCookie,
    session: &AuthSession,
    sent: Option<&str>,
) -> Result<Option<HeaderValue>, SessionError> {
    let state = session.0.get::<String>(FS_CC).await?;
    let send = match state.as_deref() {
        Some("clear") => {
            let _ = session.0.remove_value(FS_CC).await?;
            return Ok(cookie.clear_header());
        }
        Some("set") => {
            session.0.insert(FS_CC, "sent").await?;
            true
        }
        // Only sessions that were issued a cookie keep it up to date.
        Some(_) if cookie.refresh_each_request => true,
        Some(_) => match sent {
            Some(value) => sec
                .inner
                .csrf
                .validate(Some(session), Some(value), crate::csrf::max_age(sec))
                .await
                .is_err(),
            None => false,
        },
        None => false,
    };
    if !send {
        return Ok(None);
    }
    let token = sec.inner.csrf.token_for(session).await?;
    Ok(cookie.set_header(&token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_parsing() {
        let c = CsrfCookie::new("XSRF-TOKEN");
        let set = c
            .set_header("abc")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(
            set.as_deref(),
            Some("XSRF-TOKEN=abc; Path=/; SameSite=Strict; Secure")
        );
        let clear = c
            .clear_header()
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(clear.is_some_and(|v| v.starts_with("XSRF-TOKEN=; Max-Age=0")));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("session=1; XSRF-TOKEN=tok.en; other=2"),
        );
        assert_eq!(c.in_request(&h), Some("tok.en"));
    }
}
