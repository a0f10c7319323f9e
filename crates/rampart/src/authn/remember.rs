//! Flask-Login's remember-me cookie: `remember_token = <fs_uniquifier>|<hex HMAC-SHA512(SECRET_KEY,
//! fs_uniquifier)>`, valid 365 days, HttpOnly. It signs the user in again after the browser
//! dropped its session cookie, and dies with `fs_uniquifier` rotation (password change, reset,
//! `reset-access`), since the uniquifier no longer names a user.

use axum::http::HeaderValue;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

/// Flask-Login's cookie name.
pub const COOKIE_NAME: &str = "remember_token";
/// Flask-Login's default duration: 365 days.
pub const DURATION_SECS: i64 = 365 * 24 * 3600;

/// Makes and checks remember-me cookies.
#[derive(Clone)]
pub struct RememberCookie {
    /// `SECRET_KEY` first (signs), then `SECRET_KEY_FALLBACKS` (still verify).
    keys: Vec<Vec<u8>>,
    secure: bool,
}

impl std::fmt::Debug for RememberCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RememberCookie")
    }
}

impl RememberCookie {
    /// Keyed with `SECRET_KEY`, as Flask-Login does.
    pub fn new(secret_key: &str, secure: bool) -> Self {
        Self {
            keys: vec![secret_key.as_bytes().to_vec()],
            secure,
        }
    }

    /// Also accepts cookies signed with these older keys (`SECRET_KEY_FALLBACKS`), so a key
    /// rotation does not sign out every remembered browser. New cookies are always signed
    /// with the current key.
    #[must_use]
    pub fn with_fallbacks<'k>(mut self, keys: impl IntoIterator<Item = &'k str>) -> Self {
        self.keys
            .extend(keys.into_iter().map(|k| k.as_bytes().to_vec()));
        self
    }

    fn mac(key: &[u8]) -> Option<Hmac<Sha512>> {
        Hmac::<Sha512>::new_from_slice(key).ok()
    }

    /// The cookie value for a user.
    pub fn value(&self, uniquifier: &str) -> String {
        let Some(mut mac) = self.keys.first().and_then(|k| Self::mac(k)) else {
            return String::new();
        };
        mac.update(uniquifier.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("{uniquifier}|{hex}")
    }

    /// The uniquifier of a genuine cookie value (constant-time digest comparison).
    pub fn verify(&self, value: &str) -> Option<String> {
        let (uid, hex) = value.rsplit_once('|')?;
        if uid.is_empty() || hex.len() != 128 {
            return None;
        }
        let digest: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<_>>()?;
        let genuine = self.keys.iter().any(|key| {
            Self::mac(key).is_some_and(|mut mac| {
                mac.update(uid.as_bytes());
                mac.verify_slice(&digest).is_ok()
            })
        });
        genuine.then(|| uid.to_owned())
    }

    /// `Set-Cookie` that stores the cookie for 365 days.
    pub fn set_header(&self, uniquifier: &str) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE_NAME}={}; Max-Age={DURATION_SECS}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.value(uniquifier)
        ))
        .ok()
    }

    /// `Set-Cookie` that deletes the cookie.
    pub fn clear_header(&self) -> HeaderValue {
        HeaderValue::from_static("remember_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
    }
}

/// The `remember_token` value in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let r = RememberCookie::new("secret", false);
        let v = r.value("abc123");
        assert_eq!(r.verify(&v).as_deref(), Some("abc123"));
        assert!(r.verify(&v.replace("abc123", "abc124")).is_none());
        let mut bytes = v.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        assert!(
            r.verify(&String::from_utf8(bytes).unwrap_or_default())
                .is_none()
        );
        assert!(
            RememberCookie::new("other", false)
                .verify(&r.value("abc123"))
                .is_none()
        );
        for junk in ["", "|", "abc", "abc|zz", "|00"] {
            assert!(r.verify(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn fallback_keys_verify_but_never_sign() {
        let old = RememberCookie::new("old-secret", false);
        let rotated = RememberCookie::new("new-secret", false).with_fallbacks(["old-secret"]);
        assert_eq!(rotated.verify(&old.value("u1")).as_deref(), Some("u1"));
        assert_eq!(
            rotated.value("u1"),
            RememberCookie::new("new-secret", false).value("u1")
        );
        let dropped = RememberCookie::new("new-secret", false);
        assert!(
            dropped.verify(&old.value("u1")).is_none(),
            "fallback removed"
        );
    }

    /// Flask-Login's `_cookie_digest`: `hmac.new(SECRET_KEY, uid, sha512).hexdigest()`.
    #[test]
    fn matches_flask_login() {
        let r = RememberCookie::new("secret", false);
        // python3 -c "import hmac,hashlib;print(hmac.new(b'secret',b'abc',hashlib.sha512).hexdigest())"
        let want = "abc|18c4d2edb7dc012d4ade387e587ab7c52f50a384529f3e368392a1b0b16183f4\
                    0a62fe814cba2a049d9b0e72b7aac932006a2f6d77fa7b76aede1bd63d888241";
        assert_eq!(r.value("abc"), want);
        assert_eq!(
            from_cookie_header("a=1; remember_token=x|y; b=2"),
            Some("x|y")
        );
        assert_eq!(from_cookie_header("a=1"), None);
    }
}
