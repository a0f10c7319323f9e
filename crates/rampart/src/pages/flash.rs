//! Flashed messages: a one-shot message store in the session (Flask's `flash()` and
//! `get_flashed_messages()`, under Flask's session key `_flashes`). A message flashed before a
//! redirect is shown by the next page that renders `security/_messages.html`, then forgotten.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::extract::Rejection;
use crate::session::SessionError;

/// Flask's session key of the flashed messages: a list of `(category, message)` pairs.
pub const FLASHES: &str = "_flashes";

/// At most this many messages wait in a session (the oldest go first), so a loop of redirects
/// cannot grow a session without bound.
pub const MAX_FLASHES: usize = 16;

/// Adds a message for the next page (`category` is `info`, `success`, `error` …).
///
/// # Errors
/// When the session store fails.
pub async fn flash(session: &Session, category: &str, message: &str) -> Result<(), SessionError> {
    let mut list: Vec<(String, String)> = session.get(FLASHES).await?.unwrap_or_default();
    list.push((category.to_owned(), message.to_owned()));
    if list.len() > MAX_FLASHES {
        let extra = list.len() - MAX_FLASHES;
        list.drain(..extra);
    }
    Ok(session.insert(FLASHES, list).await?)
}

/// Takes the waiting messages: they are removed from the session.
///
/// # Errors
/// When the session store fails.
pub async fn take(session: &Session) -> Result<Vec<(String, String)>, SessionError> {
    let list: Option<Vec<(String, String)>> = session.get(FLASHES).await?;
    match list {
        Some(list) => {
            let _ = session.remove_value(FLASHES).await?;
            Ok(list)
        }
        None => Ok(Vec::new()),
    }
}

/// An extractor for application handlers that flash: `flash.push("success", "Saved").await`.
#[derive(Debug, Clone)]
pub struct Flash(pub Session);

impl Flash {
    /// Adds a message for the next page; see [`flash`].
    ///
    /// # Errors
    /// When the session store fails.
    pub async fn push(&self, category: &str, message: &str) -> Result<(), SessionError> {
        flash(&self.0, category, message).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flash {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .map(Flash)
            .ok_or(Rejection::NotInstalled)
    }
}
