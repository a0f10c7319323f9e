//! HTTP Basic: `Authorization: Basic base64(identity:password)`. The identity is an email (or a
//! username when usernames are enabled); the password goes through the password engine (off the
//! async runtime); the user must be active (and confirmed when confirmation is required). Basic
//! always counts as a fresh authentication. Attempts go through the login throttle like
//! `/login` (a throttled caller gets `429`), so Basic is no way around it.

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::{AuthnError, ClientAddr, CurrentUser, Mechanism, fresh_now};
use crate::security::Security;

/// The identity and password of a Basic `Authorization` header.
pub(crate) fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (identity, password) = text.split_once(':')?;
    Some((identity.to_owned(), password.to_owned()))
}

pub(crate) async fn authenticate(
    headers: &HeaderMap,
    addr: ClientAddr,
    sec: &Security,
) -> Result<Option<CurrentUser>, AuthnError> {
    let Some((identity, password)) = credentials(headers) else {
        return Ok(None);
    };
    let permit = sec
        .throttle()
        .attempt(crate::throttle::Action::Login, Some(&identity), addr)
        .await?;
    let store = sec.store();
    let mut user = store.find_user_by_email(&identity).await?;
    if user.is_none() && sec.config().username_enable {
        user = store.find_user_by_username(&identity).await?;
    }
    let Some(user) = user else {
        sec.passwords().dummy_verify().await;
        return Ok(None);
    };
    let Some(stored) = user.password.as_deref() else {
        sec.passwords().dummy_verify().await;
        return Ok(None);
    };
    let ok = sec
        .passwords()
        .verify(&password, stored)
        .await
        .is_ok_and(|v| v.ok);
    if !ok || !user.active || !crate::views::login::confirmation_ok(sec, &user) {
        return Ok(None);
    }
    if let Err(e) = permit.succeeded().await {
        tracing::warn!(error = %e, "could not record a successful login in the throttle");
    }
    Ok(Some(CurrentUser::new(
        std::sync::Arc::new(user),
        Mechanism::Basic,
        fresh_now(),
        sec,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn parses_basic_headers() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwQHNzOndvcmQ="),
        );
        assert_eq!(credentials(&h), Some(("user".into(), "p@ss:word".into())));
        for bad in ["Bearer abc", "Basic !!!", "Basic dXNlcg==", "Basic"] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(bad));
            assert_eq!(credentials(&h), None, "{bad}");
        }
    }
}
